import { describe, expect, it } from 'vitest';
import { isRegistryError } from '../errors.ts';
import { parseRoute } from './route.ts';

function nameInvalid(path: string, prefix = ''): void {
  try {
    parseRoute(path, prefix);
  } catch (err) {
    expect(isRegistryError(err) && err.code).toBe('NAME_INVALID');
    return;
  }
  throw new Error(`${path} was accepted`);
}

describe('parseRoute', () => {
  it.each([
    ['/v2', { kind: 'base' }],
    ['/v2/', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/_catalog/', { kind: 'catalog' }],
    ['/v2/library/alpine/tags/list', { kind: 'tags', name: 'library/alpine' }],
    ['/v2/library/alpine/tags/list/', { kind: 'tags', name: 'library/alpine' }],
    ['/v2/a/b/c/manifests/latest', { kind: 'manifest', name: 'a/b/c', reference: 'latest' }],
    ['/v2/a/manifests/latest/', { kind: 'manifest', name: 'a', reference: 'latest' }],
    ['/v2/a/manifests/sha256:abc', { kind: 'manifest', name: 'a', reference: 'sha256:abc' }],
    ['/v2/a/manifests/sha256%3Aabc', { kind: 'manifest', name: 'a', reference: 'sha256:abc' }],
    ['/v2/a/blobs/sha256:abc', { kind: 'blob', name: 'a', digest: 'sha256:abc' }],
    ['/v2/a/blobs/uploads/', { kind: 'upload-start', name: 'a' }],
    ['/v2/a/blobs/uploads', { kind: 'upload-start', name: 'a' }],
    ['/v2/a/blobs/uploads/1f-2e', { kind: 'upload', name: 'a', uuid: '1f-2e' }],
    ['/v2/a/blobs/uploads/1f-2e/', { kind: 'upload', name: 'a', uuid: '1f-2e' }],
    ['/v2/a/referrers/sha256:abc', { kind: 'referrers', name: 'a', digest: 'sha256:abc' }],
    // Names may end in a route keyword: the last occurrence decides.
    ['/v2/x/manifests/manifests/v1', { kind: 'manifest', name: 'x/manifests', reference: 'v1' }],
    ['/v2/x/blobs/blobs/uploads/', { kind: 'upload-start', name: 'x/blobs' }],
    ['/v2/x/tags/list/tags/list', { kind: 'tags', name: 'x/tags/list' }],
    ['/v2/a__b/c-d/e.f/tags/list', { kind: 'tags', name: 'a__b/c-d/e.f' }],
  ])('%s', (path, expected) => {
    expect(parseRoute(path, '')).toEqual(expected);
  });

  it.each([
    '/',
    '/v1/',
    '/v2x',
    '/v3/',
    '/v2/a',
    '/v2/a/',
    '/v2/a/manifests',
    '/v2/a/manifests/',
    '/v2/a/tags',
    '/v2/a/blobs/a/b',
    '/favicon.ico',
  ])('%s is no endpoint', (path) => {
    expect(parseRoute(path, '')).toBeUndefined();
  });

  it.each([
    '/v2/../etc/tags/list',
    '/v2/a/../b/tags/list',
    '/v2/a/./b/tags/list',
    '/v2/%2e%2e/etc/tags/list',
    '/v2/a/%2E%2e/tags/list',
    '/v2/a/.%2e/tags/list',
    '/v2/a/%2e/tags/list',
    '/v2/a/manifests/..',
    '/v2/..',
    '/v2/a//b/tags/list',
    '/v2//a/tags/list',
    '/v2/A/tags/list',
    '/v2/library/Alpine/manifests/latest',
    '/v2/a%2fb/tags/list',
    '/v2/a%2Fb/tags/list',
    '/v2/%61/tags/list',
    '/v2/a-/tags/list',
    '/v2/-a/tags/list',
    '/v2/a..b/tags/list',
    `/v2/${'a'.repeat(256)}/tags/list`,
    `/v2/${'a/'.repeat(127)}ab/blobs/uploads/`,
  ])('%s → NAME_INVALID', (path) => {
    nameInvalid(path);
  });

  it('accepts a name of exactly 255 characters', () => {
    const name = `${'a/'.repeat(127)}a`;
    expect(name).toHaveLength(255);
    expect(parseRoute(`/v2/${name}/tags/list`, '')).toEqual({ kind: 'tags', name });
  });

  it('serves only below the prefix', () => {
    expect(parseRoute('/registry/v2/', '/registry')).toEqual({ kind: 'base' });
    expect(parseRoute('/registry/v2/a/tags/list', '/registry')).toEqual({ kind: 'tags', name: 'a' });
    expect(parseRoute('/v2/', '/registry')).toBeUndefined();
    expect(parseRoute('/registryx/v2/', '/registry')).toBeUndefined();
    nameInvalid('/registry/v2/../a/tags/list', '/registry');
  });
});
