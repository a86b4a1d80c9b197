/**
 * Access records: what a request needs, derived from its route and method exactly as
 * registry:2 derives them (registry/handlers/app.go `appendAccessRecords`), and the `scope`
 * strings of the Docker token protocol that carry them.
 */
import type { RegistryRoute } from '../app/route.ts';
import { isValidRepositoryName } from '../names.ts';

/** A typed, named resource: `repository` + a repository name, or `registry` + `catalog`. */
export interface AccessResource {
  /** `repository`, `registry`, or another type a token server knows. */
  readonly type: string;
  /** The resource class, e.g. `plugin` in `repository(plugin):name:pull`. */
  readonly class?: string;
  readonly name: string;
}

/** One action on one resource: `repository:library/alpine:pull`. */
export interface AccessRecord extends AccessResource {
  /** `pull`, `push`, `delete`, or `*` (the catalog). */
  readonly action: string;
}

/** A resource with the actions requested or granted on it (one `scope`, one entry of a token's `access` claim). */
export interface ResourceActions extends AccessResource {
  readonly actions: readonly string[];
}

/** The repository actions registry:2 knows. */
export const REPOSITORY_ACTIONS: readonly ['pull', 'push', 'delete'] = ['pull', 'push', 'delete'];

/** The access record of `GET /v2/_catalog`. */
export const CATALOG_ACCESS: AccessRecord = { type: 'registry', name: 'catalog', action: '*' };

function repositoryRecords(name: string, method: string): AccessRecord[] {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return [{ type: 'repository', name, action: 'pull' }];
    case 'POST':
    case 'PUT':
    case 'PATCH':
      return [
        { type: 'repository', name, action: 'pull' },
        { type: 'repository', name, action: 'push' },
      ];
    case 'DELETE':
      return [{ type: 'repository', name, action: 'delete' }];
    default:
      return [];
  }
}

/**
 * The access records a request needs, as registry:2 derives them:
 *
 * | request | records |
 * | --- | --- |
 * | `GET`/`HEAD` on a repository endpoint | `repository:<name>:pull` |
 * | `POST`/`PUT`/`PATCH` | `repository:<name>:pull` and `push` |
 * | `DELETE` | `repository:<name>:delete` |
 * | any other method | none |
 * | `?from=<repo>` (cross-repository mount) | also `repository:<from>:pull` |
 * | `/v2/_catalog` | `registry:catalog:*` |
 * | `/v2/` | none (callers still have to authenticate) |
 *
 * A `from` that is no valid repository name adds nothing: Berth ignores it for the mount too
 * (registry:2 would ask for access to the invalid name).
 *
 * @param query - reads one query parameter of the request.
 *
 * @example
 * ```ts
 * accessRecordsFor({ kind: 'upload-start', name: 'b' }, 'POST', (k) => ({ mount: 'sha256:…', from: 'a' })[k]);
 * // pull+push on b, pull on a
 * ```
 */
export function accessRecordsFor(
  route: RegistryRoute,
  method: string,
  query: (name: string) => string | undefined,
): AccessRecord[] {
  switch (route.kind) {
    case 'base':
      return [];
    case 'catalog':
      return [CATALOG_ACCESS];
    default: {
      const records = repositoryRecords(route.name, method.toUpperCase());
      const from = query('from');
      if (from !== undefined && from !== '' && isValidRepositoryName(from)) {
        records.push({ type: 'repository', name: from, action: 'pull' });
      }
      return records;
    }
  }
}

function resourceKey(resource: AccessResource): string {
  return `${resource.type}\u0000${resource.class ?? ''}\u0000${resource.name}`;
}

function typeWithClass(resource: AccessResource): string {
  return resource.class === undefined || resource.class === ''
    ? resource.type
    : `${resource.type}(${resource.class})`;
}

/** Groups records by resource, keeping the order of first appearance and each action once. */
export function groupAccess(records: readonly AccessRecord[]): ResourceActions[] {
  const byResource = new Map<string, { resource: AccessResource; actions: string[] }>();
  for (const record of records) {
    const key = resourceKey(record);
    let entry = byResource.get(key);
    if (entry === undefined) {
      const resource: AccessResource =
        record.class === undefined
          ? { type: record.type, name: record.name }
          : { type: record.type, class: record.class, name: record.name };
      entry = { resource, actions: [] };
      byResource.set(key, entry);
    }
    if (!entry.actions.includes(record.action)) entry.actions.push(record.action);
  }
  return [...byResource.values()].map(({ resource, actions }) => ({ ...resource, actions }));
}

/**
 * The `scope` parameter of a Bearer challenge for `records`: one `type:name:action,action` per
 * resource, separated by spaces (`repository:a/b:pull,push registry:catalog:*`). Actions are
 * sorted, as registry:2 sorts them. Empty for no records.
 */
export function scopeParam(records: readonly AccessRecord[]): string {
  return groupAccess(records)
    .map((entry) => `${typeWithClass(entry)}:${entry.name}:${[...entry.actions].sort().join(',')}`)
    .join(' ');
}

/**
 * Parses scopes of the Docker token protocol (`repository:library/alpine:pull,push`,
 * `repository(plugin):x:pull`, `registry:catalog:*`); several may be given in one string,
 * separated by spaces. The type ends at the first `:`, the actions start after the last one.
 * Malformed scopes are skipped; duplicates are merged.
 */
export function parseScopes(scopes: readonly string[]): ResourceActions[] {
  const records: AccessRecord[] = [];
  for (const text of scopes) {
    for (const scope of text.split(' ')) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first <= 0 || last === first || last === scope.length - 1) continue;
      const typeText = scope.slice(0, first);
      const name = scope.slice(first + 1, last);
      if (name === '') continue;
      const classMatch = /^([a-z0-9]+)\(([a-z0-9]+)\)$/.exec(typeText);
      if (classMatch === null && !/^[a-z0-9]+$/.test(typeText)) continue;
      const type = classMatch === null ? typeText : classMatch[1]!;
      const cls = classMatch === null ? undefined : classMatch[2]!;
      for (const action of scope.slice(last + 1).split(',')) {
        if (action === '') continue;
        records.push(cls === undefined ? { type, name, action } : { type, class: cls, name, action });
      }
    }
  }
  return groupAccess(records);
}

/**
 * The `detail` of an `UNAUTHORIZED`/`DENIED` error: the access records as registry:2 renders
 * them (Go's `auth.Access` without JSON tags).
 */
export function accessDetail(
  records: readonly AccessRecord[],
): { Type: string; Class: string; Name: string; Action: string }[] {
  return records.map((record) => ({
    Type: record.type,
    Class: record.class ?? '',
    Name: record.name,
    Action: record.action,
  }));
}
