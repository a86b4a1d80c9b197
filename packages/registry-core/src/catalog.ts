import {
  baseName,
  comparePaths,
  isPathNotFound,
  parentPath,
  type StorageDriver,
} from '@berth/storage-driver';
import { isValidRepositoryName } from './names.ts';
import { pathFor } from './paths.ts';
import type { Page } from './types.ts';
import { parseStartedAt } from './upload-store.ts';

/** The directory whose presence makes a directory a repository, as in registry:2 (v3). */
const REPOSITORY_MARKER = '_manifests';

/**
 * Repository names after `last`, at most `n`, found by walking `repositories/`.
 *
 * A directory is a repository when it contains `_manifests` (registry:2's rule; a repository
 * with only blobs or uploads is not listed, as in registry:2). Directories starting with `_` are
 * never descended into. Names come in registry:2's catalog order, component-wise (`a`, `a/b`,
 * `a-b`: `/` sorts before every other character), and the walk starts right after `last`, so
 * page N does not re-walk pages 1..N-1. `more` is true only when another repository follows.
 *
 * Unlike registry:2, a repository is listed in order even when it has a nested repository
 * whose first component starts with a digit (`a` and `a/0b`): such children are visited before
 * `a/_manifests`, so `a` is decided (one `stat`) when the first of them is seen.
 */
export async function listRepositories(
  driver: StorageDriver,
  options: { n: number; last?: string },
): Promise<Page<string>> {
  const root = pathFor({ kind: 'repositories' });
  const n = Math.max(0, Math.floor(options.n));
  const last = options.last === '' ? undefined : options.last;
  const items: string[] = [];
  let more = false;
  const decided = new Set<string>();

  /** Records repository `name`; false when the page is full (and `more` is now known). */
  const found = (name: string): boolean => {
    if (decided.has(name)) return true;
    decided.add(name);
    if (!isValidRepositoryName(name)) return true;
    if (last !== undefined && comparePaths(name, last) <= 0) return true;
    if (items.length < n) {
      items.push(name);
      return true;
    }
    more = true;
    return false;
  };

  const walk = driver.walk(root, {
    descend: (dir) => !baseName(dir.path).startsWith('_'),
    ...(last !== undefined && isValidRepositoryName(last) ? { startAfter: `${root}/${last}` } : {}),
  });
  try {
    for await (const info of walk) {
      const relative = info.path.slice(root.length + 1);
      const name = baseName(info.path);
      if (name === REPOSITORY_MARKER) {
        const repo = parentPath(relative);
        if (repo !== '/' && !found(repo)) break;
        continue;
      }
      if (!info.isDir || name.startsWith('_')) continue;
      // A child that sorts before `_manifests` is visited before its parent's marker: decide
      // the parent now, so it is listed before its children.
      const slash = relative.lastIndexOf('/');
      if (slash > 0 && name < REPOSITORY_MARKER) {
        const parent = relative.slice(0, slash);
        if (!decided.has(parent)) {
          if (await isDirectory(driver, `${root}/${parent}/${REPOSITORY_MARKER}`)) {
            if (!found(parent)) break;
          } else {
            decided.add(parent);
          }
        }
      }
    }
  } catch (err) {
    if (!isPathNotFound(err)) throw err; // no repositories at all
  }
  return { items, more };
}

async function isDirectory(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    return (await driver.stat(path)).isDir;
  } catch (err) {
    if (isPathNotFound(err)) return false;
    throw err;
  }
}

/** Options of {@link purgeUploads}. */
export interface PurgeUploadsOptions {
  /** Uploads started more than this many milliseconds before `now` are purged. */
  readonly olderThanMs: number;
  /** Only report what would be purged. @default false */
  readonly dryRun?: boolean;
  /** The current time, in ms since the epoch. @default Date.now() */
  readonly now?: number;
}

/**
 * Deletes the uploads of every repository started more than `olderThanMs` ago
 * (`storage.maintenance.uploadpurging`) and returns their `<name>/<uuid>`.
 *
 * The age comes from `startedat`. registry:2 never purges an upload whose `startedat` is
 * missing or unreadable, so such directories (left by a crash mid-create, or damaged) stay
 * forever; Berth ages them by the upload directory's modification time instead.
 */
export async function purgeUploads(driver: StorageDriver, options: PurgeUploadsOptions): Promise<string[]> {
  const root = pathFor({ kind: 'repositories' });
  const cutoff = (options.now ?? Date.now()) - options.olderThanMs;
  const expired: { path: string; label: string }[] = [];

  const isUploadDir = (path: string): boolean => baseName(parentPath(path)) === '_uploads';
  const walk = driver.walk(root, {
    descend: (dir) => {
      if (isUploadDir(dir.path)) return false;
      const name = baseName(dir.path);
      return name.startsWith('_') ? name === '_uploads' : true;
    },
  });
  try {
    for await (const info of walk) {
      if (!info.isDir || !isUploadDir(info.path)) continue;
      const uploadsDir = parentPath(info.path);
      const repo = parentPath(uploadsDir);
      if (repo === root || !repo.startsWith(`${root}/`)) continue;
      const name = repo.slice(root.length + 1);
      const id = baseName(info.path);
      let startedAt: Date | undefined;
      try {
        startedAt = parseStartedAt(await driver.getContent(`${info.path}/startedat`));
      } catch (err) {
        if (!isPathNotFound(err)) throw err;
      }
      const time = (startedAt ?? info.modTime).getTime();
      if (time < cutoff) expired.push({ path: info.path, label: `${name}/${id}` });
    }
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }

  const purged: string[] = [];
  for (const { path, label } of expired) {
    if (options.dryRun !== true) {
      try {
        await driver.delete(path);
      } catch (err) {
        if (!isPathNotFound(err)) throw err;
        continue;
      }
    }
    purged.push(label);
  }
  return purged;
}
