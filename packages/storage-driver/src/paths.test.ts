import { describe, expect, it } from 'vitest';
import { isStorageDriverError } from './errors.ts';
import {
  assertValidPath,
  baseName,
  comparePaths,
  isValidPath,
  isWithin,
  joinPath,
  PATH_PATTERN,
  parentPath,
  ROOT_PATH,
} from './paths.ts';

describe('isValidPath', () => {
  it.each([
    '/a',
    '/a/b',
    '/a.b',
    '/-_.x',
    '/...',
    '/.x',
    '/x.',
    '/a..b',
    '/A/a',
    '/0/9',
    '/docker/registry/v2/blobs/sha256/ab/abcdef/data',
    `/${'n'.repeat(255)}`,
  ])('accepts %j', (path) => {
    expect(isValidPath(path)).toBe(true);
    expect(() => assertValidPath(path)).not.toThrow();
  });

  it.each([
    '',
    '/',
    'a',
    'a/b',
    '/a/',
    '//a',
    '/a//b',
    '/a/../b',
    '/..',
    '/.',
    '/a/.',
    '/a/..',
    '/./a',
    '/../a',
    '/a b',
    '/a%2e',
    '/a\\b',
    '/ä',
    '/a\n',
    '/a\u0000',
    '/a:b',
    ' /a',
    '/a ',
  ])('rejects %j', (path) => {
    expect(isValidPath(path)).toBe(false);
  });

  it.each([undefined, null, 42, {}, ['/a'], new String('/a')])('rejects the non-string %j', (value) => {
    expect(isValidPath(value)).toBe(false);
  });

  it('PATH_PATTERN alone allows dot components, which isValidPath rejects on top', () => {
    expect(PATH_PATTERN.test('/a/../b')).toBe(true);
    expect(isValidPath('/a/../b')).toBe(false);
  });
});

describe('assertValidPath', () => {
  it('throws INVALID_PATH with the path attached', () => {
    try {
      assertValidPath('/a b');
      expect.unreachable();
    } catch (err) {
      expect(isStorageDriverError(err, 'INVALID_PATH')).toBe(true);
      expect((err as { path?: string }).path).toBe('/a b');
    }
  });

  it('accepts / only with allowRoot', () => {
    expect(() => assertValidPath(ROOT_PATH)).toThrow(/invalid storage path/);
    expect(() => assertValidPath(ROOT_PATH, true)).not.toThrow();
    expect(() => assertValidPath('//', true)).toThrow();
  });

  it('leaves path undefined for a non-string', () => {
    try {
      assertValidPath(42);
      expect.unreachable();
    } catch (err) {
      expect((err as { path?: string }).path).toBeUndefined();
    }
  });
});

describe('comparePaths', () => {
  it.each([
    ['/a', '/a', 0],
    ['/a', '/b', -1],
    ['/a', '/a/b', -1],
    ['/a/b', '/a.b', -1],
    ['/a/b', '/a-b', -1],
    ['/a/b/c', '/a/b.c', -1],
    ['/a/z', '/aa', -1],
    ['/A', '/a', -1],
    ['/ab', '/a/b', 1],
    ['/b', '/a/z/z', 1],
  ] as const)('compares %s with %s as %i', (a, b, sign) => {
    expect(Math.sign(comparePaths(a, b))).toBe(sign);
    expect(Math.sign(comparePaths(b, a))).toBe(-sign || 0);
  });

  it('sorts into walk order: a directory, then its subtree, then its later siblings', () => {
    const paths = ['/r/bc', '/r/b.c', '/r/b/d/e', '/r/b', '/r/b-c', '/r/a', '/r/b/c', '/r/b/d', '/r/c'];
    expect(paths.sort(comparePaths)).toEqual([
      '/r/a',
      '/r/b',
      '/r/b/c',
      '/r/b/d',
      '/r/b/d/e',
      '/r/b-c',
      '/r/b.c',
      '/r/bc',
      '/r/c',
    ]);
  });

  it('differs from plain string order only where a name has a character below /', () => {
    const plain = ['/a/b', '/a.b'].sort();
    expect(plain).toEqual(['/a.b', '/a/b']);
    expect(['/a.b', '/a/b'].sort(comparePaths)).toEqual(['/a/b', '/a.b']);
  });
});

describe('path helpers', () => {
  it('parentPath', () => {
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/a/b')).toBe('/a');
    expect(parentPath('/a/b/c.d')).toBe('/a/b');
  });

  it('baseName', () => {
    expect(baseName('/a')).toBe('a');
    expect(baseName('/a/b.c')).toBe('b.c');
  });

  it('joinPath', () => {
    expect(joinPath('/', 'a')).toBe('/a');
    expect(joinPath('/a', 'b')).toBe('/a/b');
  });

  it('isWithin treats /ab as outside /a', () => {
    expect(isWithin('/a', '/a')).toBe(true);
    expect(isWithin('/a/b', '/a')).toBe(true);
    expect(isWithin('/ab', '/a')).toBe(false);
    expect(isWithin('/a.b', '/a')).toBe(false);
    expect(isWithin('/a', '/a/b')).toBe(false);
    expect(isWithin('/anything', '/')).toBe(true);
  });
});
