import { isPathNotFound } from './errors.ts';
import { comparePaths, isWithin } from './paths.ts';
import type { FileInfo, StorageDriver, WalkOptions } from './types.ts';

/**
 * A `walk` built from `list` and `stat`, for drivers without a faster native listing. Yields
 * depth-first in `comparePaths` order; honours `descend`, `startAfter` (skipping whole subtrees
 * that lie before it without listing them) and early `break`.
 *
 * Entries deleted while the walk runs are skipped, never reported as errors.
 *
 * @example
 * ```ts
 * walk(path: string, options?: WalkOptions): AsyncIterable<FileInfo> {
 *   return walkFallback(this, path, options);
 * }
 * ```
 * @throws {StorageDriverError} `PATH_NOT_FOUND` when `path` is not a directory.
 */
export async function* walkFallback(
  driver: StorageDriver,
  path: string,
  options: WalkOptions = {},
): AsyncIterable<FileInfo> {
  const { descend, startAfter, signal } = options;
  const children = await driver.list(path, { signal });
  yield* walkChildren(driver, children, descend, startAfter, signal);
}

async function* walkChildren(
  driver: StorageDriver,
  children: string[],
  descend: WalkOptions['descend'],
  startAfter: string | undefined,
  signal: AbortSignal | undefined,
): AsyncIterable<FileInfo> {
  for (const child of children.sort(comparePaths)) {
    // The resume point itself or one of its ancestors: not yielded again, but what lies below it
    // may still come after the resume point (a directory's children follow it in walk order).
    const isOnStartPath = startAfter !== undefined && isWithin(startAfter, child);
    // Entirely before the resume point: skip without stat or list.
    if (startAfter !== undefined && !isOnStartPath && comparePaths(child, startAfter) <= 0) continue;

    let info: FileInfo;
    try {
      info = await driver.stat(child, { signal });
    } catch (err) {
      if (isPathNotFound(err)) continue;
      throw err;
    }
    if (!isOnStartPath) yield info;
    if (!info.isDir || (!isOnStartPath && descend && !descend(info))) continue;

    let grandchildren: string[];
    try {
      grandchildren = await driver.list(child, { signal });
    } catch (err) {
      if (isPathNotFound(err)) continue;
      throw err;
    }
    // Below the resume point itself everything comes after it.
    yield* walkChildren(
      driver,
      grandchildren,
      descend,
      child === startAfter ? undefined : startAfter,
      signal,
    );
  }
}
