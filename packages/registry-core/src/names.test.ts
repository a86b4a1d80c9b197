import { describe, expect, it } from 'vitest';
import { assertRepositoryName, isValidRepositoryName, isValidTag } from './names.ts';

describe('repository names', () => {
  it.each([
    'alpine',
    'library/alpine',
    'a/b/c/d',
    'my-app',
    'my--app',
    'my_app',
    'my__app',
    'my.app',
    'a0/b1.c2_d3-e4',
    'x'.repeat(255),
  ])('accepts %s', (name) => {
    expect(isValidRepositoryName(name)).toBe(true);
  });

  it.each([
    '',
    '..',
    '.',
    'a/..',
    '../a',
    'a/./b',
    '%2e%2e',
    'a//b',
    '/a',
    'a/',
    'Alpine',
    'a___b',
    'a_.b',
    '-a',
    'a-',
    'a.',
    '_a',
    'a b',
    'a\\b',
    'a/_manifests',
    'x'.repeat(256),
  ])('rejects %j', (name) => {
    expect(isValidRepositoryName(name)).toBe(false);
    expect(() => assertRepositoryName(name)).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
  });
});

describe('tags', () => {
  it.each(['latest', 'v1.0', '_x', 'A-b_c.d', 'a'.repeat(128)])('accepts %s', (tag) => {
    expect(isValidTag(tag)).toBe(true);
  });
  it.each(['', '.a', '-a', 'a/b', 'a:b', 'a'.repeat(129), 'sha256:abc'])('rejects %j', (tag) => {
    expect(isValidTag(tag)).toBe(false);
  });
});
