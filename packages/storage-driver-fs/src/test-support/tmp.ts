import { mkdtemp, readdir, rm } from 'node:fs/promises';
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
 * itself, everything below it, and its hidden siblings (`<name>#pending`, `<name>#tmp-…`).
 * Paths are relative to `root`.
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
