import { StorageDriverError } from './errors.ts';

/**
 * The shape of every storage path: one or more `/`-prefixed components of `A-Z a-z 0-9 . _ -`.
 * Components `.` and `..` are rejected on top of this pattern (see {@link isValidPath}).
 */
export const PATH_PATTERN: RegExp = /^(\/[A-Za-z0-9._-]+)+$/;

/** The root of a driver's namespace, accepted only by `list`, `walk` and `stat`. */
export const ROOT_PATH = '/';

/**
 * True when `path` is a valid storage path: matches {@link PATH_PATTERN} and has no `.` or `..`
 * component, so no driver can be made to resolve it outside its root.
 */
export function isValidPath(path: unknown): path is string {
  if (typeof path !== 'string' || !PATH_PATTERN.test(path)) return false;
  return !path.includes('/./') && !path.includes('/../') && !path.endsWith('/.') && !path.endsWith('/..');
}

/**
 * Throws `INVALID_PATH` unless `path` is valid; `allowRoot` also accepts `/`.
 * @throws {StorageDriverError} `INVALID_PATH`
 */
export function assertValidPath(path: unknown, allowRoot = false): asserts path is string {
  if (allowRoot && path === ROOT_PATH) return;
  if (!isValidPath(path)) {
    throw new StorageDriverError('INVALID_PATH', `invalid storage path: ${JSON.stringify(path)}`, {
      path: typeof path === 'string' ? path : undefined,
    });
  }
}

/** The parent directory of `path` (`/` for a top-level path). */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? ROOT_PATH : path.slice(0, slash);
}

/** The last component of `path`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a directory path (possibly `/`) and a child name. */
export function joinPath(dir: string, name: string): string {
  return dir === ROOT_PATH ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` equals `dir` or lies below it (`/a/b` is within `/a`, `/ab` is not). */
export function isWithin(path: string, dir: string): boolean {
  if (dir === ROOT_PATH) return true;
  return path === dir || (path.startsWith(dir) && path.charCodeAt(dir.length) === 47);
}

/**
 * Orders paths the way `walk` visits them: depth-first, siblings by name in code-unit order, a
 * directory before its children. This is component-wise comparison, which differs from plain
 * string order when a name contains a character below `/` (`/a/b/c` sorts before `/a/b.c`).
 */
export function comparePaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca === 47) return -1;
    if (cb === 47) return 1;
    return ca - cb;
  }
  return a.length - b.length;
}
