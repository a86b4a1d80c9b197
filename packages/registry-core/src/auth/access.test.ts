import { describe, expect, it } from 'vitest';
import type { RegistryRoute } from '../app/route.ts';
import {
  type AccessRecord,
  accessDetail,
  accessRecordsFor,
  groupAccess,
  parseScopes,
  scopeParam,
} from './access.ts';

const pull = (name: string): AccessRecord => ({ type: 'repository', name, action: 'pull' });
const push = (name: string): AccessRecord => ({ type: 'repository', name, action: 'push' });
const del = (name: string): AccessRecord => ({ type: 'repository', name, action: 'delete' });
const none = (): undefined => undefined;

describe('accessRecordsFor (registry:2 appendAccessRecords)', () => {
  const manifest: RegistryRoute = { kind: 'manifest', name: 'a/b', reference: 'latest' };
  const blob: RegistryRoute = { kind: 'blob', name: 'a/b', digest: 'sha256:00' };
  const uploadStart: RegistryRoute = { kind: 'upload-start', name: 'a/b' };
  const upload: RegistryRoute = { kind: 'upload', name: 'a/b', uuid: 'u' };
  const tags: RegistryRoute = { kind: 'tags', name: 'a/b' };
  const referrers: RegistryRoute = { kind: 'referrers', name: 'a/b', digest: 'sha256:00' };

  it.each<[string, RegistryRoute, string, AccessRecord[]]>([
    ['GET /v2/', { kind: 'base' }, 'GET', []],
    ['HEAD /v2/', { kind: 'base' }, 'HEAD', []],
    ['GET _catalog', { kind: 'catalog' }, 'GET', [{ type: 'registry', name: 'catalog', action: '*' }]],
    ['GET manifest', manifest, 'GET', [pull('a/b')]],
    ['HEAD manifest', manifest, 'HEAD', [pull('a/b')]],
    ['PUT manifest', manifest, 'PUT', [pull('a/b'), push('a/b')]],
    ['DELETE manifest', manifest, 'DELETE', [del('a/b')]],
    ['GET blob', blob, 'GET', [pull('a/b')]],
    ['HEAD blob', blob, 'HEAD', [pull('a/b')]],
    ['DELETE blob', blob, 'DELETE', [del('a/b')]],
    ['POST upload', uploadStart, 'POST', [pull('a/b'), push('a/b')]],
    ['PATCH upload', upload, 'PATCH', [pull('a/b'), push('a/b')]],
    ['PUT upload', upload, 'PUT', [pull('a/b'), push('a/b')]],
    ['GET upload status', upload, 'GET', [pull('a/b')]],
    ['DELETE upload', upload, 'DELETE', [del('a/b')]],
    ['GET tags', tags, 'GET', [pull('a/b')]],
    ['GET referrers', referrers, 'GET', [pull('a/b')]],
    ['OPTIONS manifest (no records)', manifest, 'OPTIONS', []],
    ['lower-case method', manifest, 'get', [pull('a/b')]],
  ])('%s', (_label, route, method, expected) => {
    expect(accessRecordsFor(route, method, none)).toEqual(expected);
  });

  it('adds pull on `from` for a cross-repository mount', () => {
    const query = (name: string): string | undefined =>
      ({ mount: 'sha256:abc', from: 'library/source' })[name];
    expect(accessRecordsFor(uploadStart, 'POST', query)).toEqual([
      pull('a/b'),
      push('a/b'),
      pull('library/source'),
    ]);
  });

  it('ignores an empty or invalid `from` (the mount ignores it too)', () => {
    expect(accessRecordsFor(uploadStart, 'POST', (n) => (n === 'from' ? '' : undefined))).toHaveLength(2);
    expect(
      accessRecordsFor(uploadStart, 'POST', (n) => (n === 'from' ? 'Bad/Name' : undefined)),
    ).toHaveLength(2);
    expect(accessRecordsFor(uploadStart, 'POST', (n) => (n === 'from' ? 'x"y' : undefined))).toHaveLength(2);
  });

  it('catalog needs registry:catalog:* whatever the method', () => {
    expect(accessRecordsFor({ kind: 'catalog' }, 'HEAD', none)).toEqual([
      { type: 'registry', name: 'catalog', action: '*' },
    ]);
  });
});

describe('scopeParam', () => {
  it('groups actions per resource, sorted, resources separated by spaces', () => {
    expect(scopeParam([push('a'), pull('a'), pull('b')])).toBe('repository:a:pull,push repository:b:pull');
    expect(scopeParam([{ type: 'registry', name: 'catalog', action: '*' }])).toBe('registry:catalog:*');
    expect(scopeParam([])).toBe('');
  });

  it('writes a class in parentheses', () => {
    expect(scopeParam([{ type: 'repository', class: 'plugin', name: 'p', action: 'pull' }])).toBe(
      'repository(plugin):p:pull',
    );
  });
});

describe('parseScopes', () => {
  it('parses, splits on spaces, merges duplicates', () => {
    expect(
      parseScopes([
        'repository:a/b:pull,push',
        'repository:a/b:pull repository:c:delete',
        'registry:catalog:*',
      ]),
    ).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c', actions: ['delete'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('keeps a class and names containing colons', () => {
    expect(parseScopes(['repository(plugin):x:pull', 'repository:host:5000/x:pull'])).toEqual([
      { type: 'repository', class: 'plugin', name: 'x', actions: ['pull'] },
      { type: 'repository', name: 'host:5000/x', actions: ['pull'] },
    ]);
  });

  it.each(['', 'repository', 'repository:a', 'repository:a:', ':a:pull', 'repository::pull', 'Repo:a:pull'])(
    'skips malformed %j',
    (scope) => {
      expect(parseScopes([scope])).toEqual([]);
    },
  );
});

describe('groupAccess and accessDetail', () => {
  it('groups records by resource', () => {
    expect(groupAccess([pull('a'), push('a'), pull('a')])).toEqual([
      { type: 'repository', name: 'a', actions: ['pull', 'push'] },
    ]);
  });

  it("renders records like registry:2's auth.Access", () => {
    expect(accessDetail([pull('a')])).toEqual([{ Type: 'repository', Class: '', Name: 'a', Action: 'pull' }]);
  });
});
