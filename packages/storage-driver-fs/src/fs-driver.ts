import { constants, createReadStream } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type BaseOptions,
  comparePaths,
  type FileInfo,
  type FileWriter,
  isWithin,
  joinPath,
  type OperationOptions,
  type PutContentOptions,
  pathNotFound,
  type ReaderOptions,
  ROOT_PATH,
  type StorageDriver,
  StorageDriverError,
  type StorageDriverFactory,
  type WalkOptions,
  type WriterOptions,
  withBase,
} from '@berth/storage-driver';
import { Disk, type Entry, errnoOf, isMissing } from './disk.ts';
import { FsWriter } from './fs-writer.ts';
import {
  type FilesystemDriverOptions,
  parseFilesystemParameters,
  type ResolvedFilesystemDriverOptions,
  resolveFilesystemOptions,
} from './options.ts';
import { QuickReads } from './quick-reads.ts';

/** `highWaterMark` of reader streams: the size of each `read` call. See the README for why. */
export const READ_CHUNK_SIZE: number = 256 * 1024;

/** `getContent` reads files up to this size with one `read` (see there). */
const SMALL_READ = 4096;

/** How many entries of one directory `walk` prepares (stats or reads) ahead of the one it yields. */
const LOOKAHEAD = 16;

// Pending files are opened with O_APPEND: if two writers ever continue the same pending write
// at once (two processes handling the same upload), their bytes add up instead of overwriting
// each other at the same offsets, so the resulting size exposes the race to the caller rather
// than leaving same-sized mixed content behind a digest computed over one writer's bytes.
const { O_APPEND, O_CREAT, O_EXCL, O_RDWR } = constants;

/** What `walk` prepared for one entry ahead of yielding it. */
interface Prepared {
  readonly info: FileInfo;
  /** A directory's entries, to walk next. */
  readonly listing?: Listing;
}

interface WalkItem {
  readonly path: string;
  readonly abs: string;
  readonly entry: Entry;
  /**
   * The item is `startAfter` itself or a directory above it: not yielded, but walked into
   * (its children, or those after `startAfter`, come after `startAfter` in walk order).
   */
  readonly skipSelf: boolean;
  /** The `startAfter` to walk the item's children with. */
  readonly childStart: string | undefined;
}

/**
 * The entries of one directory a walk goes through, each prepared (stat'ed, or for a
 * directory, read) a little ahead of being yielded. `null` marks an entry already consumed.
 */
interface Listing {
  readonly items: readonly WalkItem[];
  readonly prepared: (Promise<Prepared | undefined> | null | undefined)[];
}

function fileInfo(path: string, size: number, modTime: Date, isDir: boolean): FileInfo {
  return { path, size: isDir ? 0 : size, modTime, isDir };
}

/** Maps "no such file" errors of read-side calls to `PATH_NOT_FOUND`; leaves the rest alone. */
function notFound(err: unknown, path: string): unknown {
  return isMissing(err) || errnoOf(err) === 'EISDIR' ? pathNotFound(path, err) : err;
}

/**
 * The local filesystem driver (`storage.filesystem`). Driver path `/a/b` is the file
 * `<rootdirectory>/a/b`, the layout registry:2 uses, so either can serve the other's data.
 *
 * Pending writes and temporary files live in a shadow tree, `<rootdirectory>/#berth`, so the
 * visible tree holds only committed files and their directories, and `list`, `stat` and `walk`
 * are plain `readdir`/`stat` calls. Names that are not valid path components (`#berth`,
 * `lost+found`) never show up; a directory with no visible entry is reported missing.
 */
export class FsDriver implements StorageDriver {
  readonly name: string = 'filesystem';
  readonly #disk: Disk;
  readonly #quick: QuickReads | undefined;

  constructor(options: ResolvedFilesystemDriverOptions) {
    this.#disk = new Disk(options.rootdirectory, options.maxthreads, options.fsync);
    this.#quick = options.quickreads ? new QuickReads() : undefined;
  }

  /** The absolute root directory. */
  get rootDirectory(): string {
    return this.#disk.root;
  }

  async getContent(path: string, options?: OperationOptions): Promise<Uint8Array> {
    const disk = this.#disk;
    const abs = disk.abs(path);
    const signal = options?.signal;
    let handle: FileHandle;
    try {
      signal?.throwIfAborted();
      const quick = this.#quick?.readSmall(abs, SMALL_READ);
      if (quick !== undefined) return quick;
      handle = await disk.call(() => open(abs, 'r'));
    } catch (err) {
      throw notFound(err, path);
    }
    try {
      // Most files read whole are links and manifests of a few hundred bytes: one positional
      // read of up to SMALL_READ bytes usually gets everything (a short read of a regular file
      // is its end), which saves `readFile`'s fstat round trip. Larger files continue with
      // `readFile` from the start (the handle's position is still 0).
      const buffer = Buffer.allocUnsafe(SMALL_READ);
      const { bytesRead } = await disk.call(() => handle.read(buffer, 0, SMALL_READ, 0));
      signal?.throwIfAborted();
      if (bytesRead < SMALL_READ) return Uint8Array.prototype.slice.call(buffer, 0, bytesRead);
      return await disk.call(() => handle.readFile({ signal }));
    } catch (err) {
      throw notFound(err, path);
    } finally {
      // Not awaited: a read-only descriptor has nothing left to report; the bound still applies.
      void disk.call(() => handle.close()).catch(() => {});
    }
  }

  async putContent(path: string, content: Uint8Array, options?: PutContentOptions): Promise<void> {
    const disk = this.#disk;
    const target = disk.abs(path);
    const temp = disk.tempPath(target);
    const sync = disk.fsync && options?.durable !== false;
    try {
      await disk.inDir(
        temp,
        () =>
          disk.call(() =>
            writeFile(temp, content, { flag: 'wx', mode: 0o666, flush: sync, signal: options?.signal }),
          ),
        false,
      );
      if (!(await disk.publish(temp, target, sync))) throw disk.tempVanished(temp);
    } catch (err) {
      await disk.call(() => unlink(temp)).catch(() => {});
      throw err;
    }
  }

  async reader(path: string, options?: ReaderOptions): Promise<Readable> {
    const abs = this.#disk.abs(path);
    let handle: FileHandle;
    try {
      handle = await this.#disk.call(() => open(abs, 'r'));
    } catch (err) {
      throw notFound(err, path);
    }
    try {
      const info = await this.#disk.call(() => handle.stat());
      if (!info.isFile()) throw pathNotFound(path);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    return createReadStream(abs, {
      fd: handle,
      start: options?.offset ?? 0,
      highWaterMark: READ_CHUNK_SIZE,
      autoClose: true,
      ...(options?.signal ? { signal: options.signal } : {}),
    });
  }

  async writer(path: string, options?: WriterOptions): Promise<FileWriter> {
    const disk = this.#disk;
    const target = disk.abs(path);
    const shadow = disk.shadow(path);
    // Pending writes of this path, oldest first. All but the one this writer continues are
    // discarded: a new writer supersedes every earlier pending write of its path.
    const found = await disk.findPending(shadow);
    const earlier = found ?? [];
    const { pending, handle } = options?.append
      ? await this.#resume(path, target, shadow, earlier.at(-1))
      : await this.#create(shadow, found !== undefined);
    try {
      await disk.unlinkAll(earlier.filter((stale) => stale !== pending));
      const size = options?.append ? (await disk.call(() => handle.stat())).size : 0;
      return new FsWriter(disk, path, target, pending, handle, size);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  /**
   * A new, empty pending file, creating its directory in the pending tree if needed (right
   * away when `dirExists` is false: no point in trying the `open` first).
   */
  async #create(shadow: string, dirExists: boolean): Promise<{ pending: string; handle: FileHandle }> {
    const disk = this.#disk;
    const pending = disk.newPendingPath(shadow);
    if (!dirExists) await disk.ensureDir(dirname(pending), false);
    const handle = await disk.inDir(
      pending,
      () => disk.call(() => open(pending, O_RDWR | O_APPEND | O_CREAT | O_EXCL, 0o666)),
      false,
    );
    return { pending, handle };
  }

  /** The newest pending write, else a pending copy of the committed file. */
  async #resume(
    path: string,
    target: string,
    shadow: string,
    newest: string | undefined,
  ): Promise<{ pending: string; handle: FileHandle }> {
    const disk = this.#disk;
    const existing = newest === undefined ? undefined : await this.#openExisting(newest);
    if (newest !== undefined && existing !== undefined) return { pending: newest, handle: existing };
    // Copy under a temporary name first, so a crash mid-copy never leaves a truncated
    // pending write.
    let temp: string;
    try {
      temp = await disk.copyToTemp(target);
    } catch (err) {
      throw notFound(err, path);
    }
    const pending = disk.newPendingPath(shadow);
    try {
      await disk.inDir(pending, () => disk.call(() => rename(temp, pending)), false);
    } catch (err) {
      await disk.call(() => unlink(temp)).catch(() => {});
      await disk.pruneEmptyDirs(dirname(pending));
      throw err;
    }
    const handle = await this.#openExisting(pending);
    if (handle === undefined) throw pathNotFound(path);
    return { pending, handle };
  }

  async #openExisting(file: string): Promise<FileHandle | undefined> {
    try {
      return await this.#disk.call(() => open(file, O_RDWR | O_APPEND));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async stat(path: string): Promise<FileInfo> {
    const abs = this.#disk.abs(path);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = this.#quick?.stat(abs) ?? (await this.#disk.call(() => stat(abs)));
    } catch (err) {
      // The root always exists, even before the first write creates its directory.
      if (path === ROOT_PATH && isMissing(err)) return fileInfo(path, 0, new Date(), true);
      throw notFound(err, path);
    }
    if (info.isFile()) return fileInfo(path, info.size, info.mtime, false);
    if (info.isDirectory() && (path === ROOT_PATH || (await this.#disk.hasVisibleEntry(abs)))) {
      return fileInfo(path, 0, info.mtime, true);
    }
    throw pathNotFound(path);
  }

  async list(path: string): Promise<string[]> {
    const entries = await this.#disk.readEntries(this.#disk.abs(path));
    if (entries === undefined || entries.length === 0) {
      if (path === ROOT_PATH) return [];
      throw pathNotFound(path);
    }
    return entries.map((entry) => joinPath(path, entry.name));
  }

  async move(source: string, destination: string): Promise<void> {
    const disk = this.#disk;
    const from = disk.abs(source);
    const to = disk.abs(destination);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await disk.call(() => stat(from));
    } catch (err) {
      throw notFound(err, source);
    }
    if (info.isDirectory()) {
      if (!(await disk.hasVisibleEntry(from))) throw pathNotFound(source);
      throw new StorageDriverError('UNSUPPORTED', `cannot move directory ${source}`, { path: source });
    }
    if (!info.isFile()) throw pathNotFound(source);
    if (from === to) return;
    await disk.inDir(to, async () => {
      try {
        await disk.call(() => rename(from, to));
      } catch (err) {
        // ENOENT is either the source gone (report it) or the destination's directory
        // missing (inDir creates it and retries).
        if (errnoOf(err) === 'ENOENT' && !(await this.#exists(from))) throw pathNotFound(source, err);
        throw err;
      }
    });
    if (disk.fsync) {
      await disk.syncDir(dirname(to));
      if (dirname(from) !== dirname(to)) await disk.syncDir(dirname(from));
    }
    await disk.pruneEmptyDirs(dirname(from));
  }

  async #exists(abs: string): Promise<boolean> {
    try {
      await this.#disk.call(() => stat(abs));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async delete(path: string): Promise<void> {
    const disk = this.#disk;
    const abs = disk.abs(path);
    let info: Awaited<ReturnType<typeof stat>> | undefined;
    try {
      info = await disk.call(() => stat(abs));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    const stored =
      info !== undefined && (info.isFile() || (info.isDirectory() && (await disk.hasVisibleEntry(abs))));
    // A symbolic link is removed itself (rename and unlink do not follow it), and nothing
    // below a directory follows links either.
    if (stored) {
      if (info?.isDirectory()) await disk.removeTree(abs);
      else await disk.unlinkAll([abs]);
    }
    // Pending writes at or below the path go with it (so purging an upload directory discards
    // its pending data), even when nothing committed is stored there.
    await disk.discardPending(path);
    if (!stored) throw pathNotFound(path);
    await disk.pruneEmptyDirs(dirname(abs));
  }

  async redirectURL(): Promise<string | undefined> {
    return undefined;
  }

  async *walk(path: string, options: WalkOptions = {}): AsyncIterable<FileInfo> {
    const abs = this.#disk.abs(path);
    const entries = await this.#disk.readEntries(abs);
    if (entries === undefined || entries.length === 0) {
      if (path === ROOT_PATH) return;
      throw pathNotFound(path);
    }
    yield* this.#walkListing(this.#listing(path, abs, entries, options.startAfter), options.descend);
  }

  /** The walk items of a directory's entries, with those before `startAfter` left out. */
  #listing(
    dirPath: string,
    absDir: string,
    entries: readonly Entry[],
    startAfter: string | undefined,
  ): Listing {
    const items: WalkItem[] = [];
    for (const entry of entries) {
      const path = joinPath(dirPath, entry.name);
      const aboveStart = startAfter !== undefined && path !== startAfter && isWithin(startAfter, path);
      const atStart = path === startAfter;
      // Entirely before the resume point: skipped without reading it.
      if (startAfter !== undefined && !aboveStart && !atStart && comparePaths(path, startAfter) < 0) continue;
      if ((aboveStart || atStart) && entry.kind === 'file') continue;
      const skipSelf = aboveStart || atStart;
      const childStart = aboveStart ? startAfter : undefined;
      items.push({ path, abs: join(absDir, entry.name), entry, skipSelf, childStart });
    }
    return { items, prepared: new Array(items.length) };
  }

  /** Starts preparing the items of `listing` from `from` to `from + LOOKAHEAD`. */
  #prefetch(listing: Listing, from: number, filesOnly: boolean): void {
    const end = Math.min(listing.items.length, from + LOOKAHEAD + 1);
    for (let j = from; j < end; j++) {
      const item = listing.items[j]!;
      if (listing.prepared[j] !== undefined || (filesOnly && item.entry.kind !== 'file')) continue;
      const promise = this.#prepare(item);
      promise.catch(() => {});
      listing.prepared[j] = promise;
    }
  }

  async *#walkListing(listing: Listing, descend: WalkOptions['descend']): AsyncGenerator<FileInfo> {
    const { items, prepared } = listing;
    for (let i = 0; i < items.length; i++) {
      // Filesystem calls have a high fixed cost (a thread-pool round trip): keep a few of
      // them in flight instead of making one at a time.
      this.#prefetch(listing, i, false);
      const item = items[i]!;
      const ready = await (prepared[i] ?? undefined);
      prepared[i] = null;
      if (ready === undefined) continue;
      if (ready.listing === undefined) {
        yield ready.info;
        continue;
      }
      if (!item.skipSelf) {
        yield ready.info;
        if (descend && !descend(ready.info)) continue;
      }
      yield* this.#walkListing(ready.listing, descend);
    }
  }

  /**
   * Stats one walk entry; for a directory, also reads it and starts preparing its first
   * files. `undefined` when the entry vanished or is a directory with no visible entry.
   */
  async #prepare(item: WalkItem): Promise<Prepared | undefined> {
    const disk = this.#disk;
    try {
      if (item.entry.kind === 'file') {
        const info = await disk.call(() => stat(item.abs));
        return info.isFile() ? { info: fileInfo(item.path, info.size, info.mtime, false) } : undefined;
      }
      const [entries, info] = await Promise.all([
        disk.readEntries(item.abs),
        item.skipSelf ? undefined : disk.call(() => stat(item.abs)),
      ]);
      if (entries === undefined || entries.length === 0) return undefined;
      const listing = this.#listing(item.path, item.abs, entries, item.childStart);
      this.#prefetch(listing, 0, true);
      return { info: fileInfo(item.path, 0, info?.mtime ?? new Date(0), true), listing };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }
}

/**
 * Creates a filesystem driver, already wrapped with `withBase`. Nothing is touched on disk
 * until the first write, which creates the root directory.
 *
 * @example
 * ```ts
 * const driver = createFilesystemDriver({ rootdirectory: '/var/lib/registry' });
 * await driver.putContent('/hello', new TextEncoder().encode('world'));
 * ```
 * @throws {InvalidParameterError} for a malformed option.
 */
export function createFilesystemDriver(
  options: FilesystemDriverOptions = {},
  base?: BaseOptions,
): StorageDriver {
  return withBase(new FsDriver(resolveFilesystemOptions(options)), base);
}

/** The factory for `storage.filesystem`. */
export const filesystemDriverFactory: StorageDriverFactory<FilesystemDriverOptions> = {
  name: 'filesystem',
  parseParameters(raw: Readonly<Record<string, unknown>>): FilesystemDriverOptions {
    return parseFilesystemParameters(raw);
  },
  async create(options: FilesystemDriverOptions): Promise<StorageDriver> {
    return createFilesystemDriver(options);
  },
};
