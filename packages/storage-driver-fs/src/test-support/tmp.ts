import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** A fresh directory under `os.tmpdir()`; remove it with {@link removeTempDir}. */
export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `berth-fs-${label}-`));
}

/** Removes a directory made by {@link makeTempDir}. */
export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Every real entry on disk that belongs to the storage path `path` below `root`: the entry
 * itself, everything below it, and its hidden siblings (`<name>#…`). Paths are relative to
 * `root`.
 */
export async function rawEntries(root: string, path: string): Promise<string[]> {
  const abs = join(root, path);
  const found: string[] = [];
  let siblings: string[];
  try {
    siblings = await readdir(dirname(abs));
  } catch {
    return found;
  }
  const name = basename(abs);
  for (const sibling of siblings) {
    if (sibling !== name && !sibling.startsWith(`${name}#`)) continue;
    const siblingAbs = join(dirname(abs), sibling);
    found.push(siblingAbs.slice(root.length));
    try {
      const below = await readdir(siblingAbs, { recursive: true });
      for (const entry of below) found.push(join(siblingAbs, entry).slice(root.length));
    } catch {
      // a file, not a directory
    }
  }
  return found.sort();
}

/** Entries of a directory, recursively, relative to it (`[]` when it is missing). */
export async function rawTree(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).sort();
  } catch {
    return [];
  }
}

/**
 * Every real entry the driver keeps for the storage path `path` of the store at `root`: in the
 * visible tree (as {@link rawEntries}), in the pending tree (`#berth/pending/<path>`, its
 * `<name>#pending-…` siblings; empty directories there do not count) and every temporary file (`#berth/tmp/…`, which is shared by
 * all paths: none may outlive the call that made it). Paths are relative to `root`.
 */
export async function rawLeftovers(root: string, path: string): Promise<string[]> {
  const shadow = join(root, '#berth');
  const pendingRoot = join(shadow, 'pending');
  // Empty pending directories are kept on purpose (shared by the writes of sibling paths); a
  // pending directory counts only while it holds something.
  const pending: string[] = [];
  for (const entry of await rawEntries(pendingRoot, path)) {
    const isEmptyDir = await readdir(join(pendingRoot, entry)).then(
      (children) => children.length === 0,
      () => false,
    );
    if (!isEmptyDir) pending.push(`/#berth/pending${entry}`);
  }
  const temp = (await rawTree(join(shadow, 'tmp'))).map((entry) => `/#berth/tmp/${entry}`);
  return [...(await rawEntries(root, path)), ...pending, ...temp].sort();
}

/**
 * Every file in the shadow tree below `root`'s `#berth` (pending writes, temporary files).
 * Directories are left out: empty pending directories are kept on purpose and hold nothing.
 */
export async function shadowEntries(root: string): Promise<string[]> {
  const shadow = join(root, '#berth');
  const files: string[] = [];
  for (const entry of await rawTree(shadow)) {
    const info = await lstat(join(shadow, entry)).catch(() => undefined);
    if (info !== undefined && !info.isDirectory()) files.push(entry);
  }
  return files;
}
