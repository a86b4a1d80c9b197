import { createHash, randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { isValidPath, ROOT_PATH, StorageDriverError } from '@berth/storage-driver';
import { Limiter } from './limiter.ts';

/**
 * Tag prefix of the files writers write to before `commit()` renames them over the target:
 * `<name>#pending-<id>`, one per writer, found again by `writer(path, { append: true })` (in
 * any process) by listing the target's directory. `#` can never occur in a valid storage
 * path, so no driver path can name one.
 */
export const PENDING_TAG = 'pending-';
/** Tag prefix of the temporary files `putContent` and commits rename into place: `<name>#tmp-<random>`. */
export const TEMP_TAG = 'tmp-';

/** The longest file name most filesystems allow (bytes; valid path components are ASCII). */
const NAME_MAX = 255;

/** A pending write's id: creation time in base 36 (9 digits, so ids sort by age), then random hex. */
const PENDING_ID = /^[0-9a-z]{9}[0-9a-f]{8}$/;
const PENDING_ID_LENGTH = 17;

function newPendingId(): string {
  return Date.now().toString(36).padStart(9, '0') + randomBytes(4).toString('hex');
}

/**
 * The hidden sibling name `<name>#<tag>`. When that would exceed {@link NAME_MAX} (a valid
 * component may itself be 255 characters), the name is shortened and a hash of the whole name
 * keeps it unique: `<prefix>#<hash>#<tag>`. Either way it is a pure function of the name and
 * the tag, so another process derives the same names.
 */
export function hiddenName(name: string, tag: string): string {
  const plain = `${name}#${tag}`;
  if (plain.length <= NAME_MAX) return plain;
  const suffix = `#${createHash('sha256').update(name).digest('hex').slice(0, 32)}#${tag}`;
  return name.slice(0, NAME_MAX - suffix.length) + suffix;
}

/** The part of every pending-write name of `name` before the id. */
function pendingPrefix(name: string): string {
  return hiddenName(name, PENDING_TAG + '0'.repeat(PENDING_ID_LENGTH)).slice(0, -PENDING_ID_LENGTH);
}

const VISIBLE_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * True when a directory entry is part of the store: its name is a valid path component.
 * Everything else is hidden from `list`, `stat` and `walk`: pending writes and temporary files
 * (`#`), and foreign entries such as `lost+found` at the root of a mounted volume.
 */
export function isVisibleName(name: string): boolean {
  return VISIBLE_NAME.test(name) && name !== '.' && name !== '..';
}

/** The errno code of a Node system error, if any. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for the errors that mean "nothing is stored at this path". */
export function isMissing(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A visible directory entry and what it is (symbolic links resolved). */
export interface Entry {
  readonly name: string;
  readonly kind: 'file' | 'dir';
}

function byName(a: Entry, b: Entry): number {
  // Sibling names hold no `/`, so code-unit order is `comparePaths` order.
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Errors from fsync on a directory that mean "this platform or filesystem cannot", not "failed". */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'ENOTSUP', 'EPERM', 'EACCES', 'EBADF']);

/**
 * The filesystem under one root directory: maps storage paths to absolute paths, bounds
 * concurrent calls (`maxthreads`) and provides the directory housekeeping the driver and its
 * writers share.
 */
export class Disk {
  /** Absolute root directory. */
  readonly root: string;
  /** Whether commits fsync. */
  readonly fsync: boolean;
  readonly #prefix: string;
  readonly #limiter: Limiter;

  constructor(rootdirectory: string, maxthreads: number, fsync: boolean) {
    this.root = resolve(rootdirectory);
    this.#prefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    this.#limiter = new Limiter(maxthreads);
    this.fsync = fsync;
  }

  /** Runs one filesystem call within the `maxthreads` bound. */
  call<T>(fn: () => Promise<T>): Promise<T> {
    return this.#limiter.run(fn);
  }

  /**
   * The absolute path of a storage path. `withBase` has validated it already; this checks
   * again so that no path can ever resolve outside the root.
   * @throws {StorageDriverError} `INVALID_PATH`
   */
  abs(path: string): string {
    if (path === ROOT_PATH) return this.root;
    const resolved = isValidPath(path) ? join(this.root, ...path.slice(1).split('/')) : undefined;
    if (resolved === undefined || !resolved.startsWith(this.#prefix)) {
      throw new StorageDriverError('INVALID_PATH', `invalid storage path: ${JSON.stringify(path)}`, { path });
    }
    return resolved;
  }

  /** A new, unique pending-write file name for `absFile`. */
  newPendingPath(absFile: string): string {
    return join(dirname(absFile), pendingPrefix(basename(absFile)) + newPendingId());
  }

  /**
   * The pending writes of `absFile` on disk, oldest first (usually none or one; more only
   * after writers of the same path raced).
   */
  async findPending(absFile: string): Promise<string[]> {
    const dir = dirname(absFile);
    const prefix = pendingPrefix(basename(absFile));
    let names: string[];
    try {
      names = await this.call(() => readdir(dir));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    return names
      .filter((name) => name.startsWith(prefix) && PENDING_ID.test(name.slice(prefix.length)))
      .sort()
      .map((name) => join(dir, name));
  }

  /** A fresh temporary name beside `absFile`. */
  tempPath(absFile: string): string {
    return join(dirname(absFile), hiddenName(basename(absFile), TEMP_TAG + randomBytes(6).toString('hex')));
  }

  /**
   * Runs `create` (which creates an entry in `absFile`'s directory), creating the directory
   * first when `create` fails with `ENOENT`. Retries if a concurrent cleanup removes the
   * freshly created directory before `create` runs.
   */
  async inDir<T>(absFile: string, create: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await create();
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT' || attempt >= 8) throw err;
      }
      await this.ensureDir(dirname(absFile));
    }
  }

  /** `mkdir -p`; with fsync on, also makes the new directory entries durable. */
  async ensureDir(absDir: string): Promise<void> {
    const first = await this.call(() => mkdir(absDir, { recursive: true, mode: 0o777 }));
    if (first === undefined || !this.fsync) return;
    // Each directory created lives as an entry in its parent: sync those parents, top down.
    const parents: string[] = [];
    for (let dir = absDir; ; dir = dirname(dir)) {
      parents.push(dirname(dir));
      if (dir === first || dirname(dir) === dir) break;
    }
    for (const parent of parents.reverse()) await this.syncDir(parent);
  }

  /** fsync a directory so entries created, renamed or removed in it are durable. */
  async syncDir(absDir: string): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await this.call(() => open(absDir, 'r'));
    } catch (err) {
      const code = errnoOf(err);
      if (code !== undefined && (DIR_SYNC_UNSUPPORTED.has(code) || code === 'ENOENT')) return;
      throw err;
    }
    try {
      await this.call(() => handle.sync());
    } catch (err) {
      const code = errnoOf(err);
      if (code === undefined || !DIR_SYNC_UNSUPPORTED.has(code)) throw err;
    } finally {
      await this.call(() => handle.close());
    }
  }

  /**
   * Removes `absDir` and then each parent up to (not including) the root while they are
   * empty, so a directory exists only while something is below it. `rmdir` only ever removes
   * an empty directory, so a concurrent writer's file is never lost; a writer whose directory
   * vanishes between its `mkdir` and its `open` retries (see {@link inDir}).
   */
  async pruneEmptyDirs(absDir: string): Promise<void> {
    for (let dir = absDir; dir !== this.root && dir.startsWith(this.#prefix); dir = dirname(dir)) {
      try {
        await this.call(() => rmdir(dir));
      } catch (err) {
        // ENOENT: someone else removed it; its parent may be empty now too.
        if (errnoOf(err) !== 'ENOENT') return;
      }
    }
  }

  /** What a directory entry is, following symbolic links; `undefined` for anything else. */
  async kindOf(entry: Dirent, absDir: string): Promise<'file' | 'dir' | undefined> {
    if (entry.isFile()) return 'file';
    if (entry.isDirectory()) return 'dir';
    if (!entry.isSymbolicLink()) return undefined;
    try {
      const target = await this.call(() => stat(join(absDir, entry.name)));
      return target.isFile() ? 'file' : target.isDirectory() ? 'dir' : undefined;
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'ELOOP') return undefined;
      throw err;
    }
  }

  /**
   * The visible entries of a directory in name order, or `undefined` when it is missing or
   * not a directory.
   */
  async readEntries(absDir: string): Promise<Entry[] | undefined> {
    let dirents: Dirent[];
    try {
      dirents = await this.call(() => readdir(absDir, { withFileTypes: true }));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    const entries: Entry[] = [];
    for (const dirent of dirents) {
      if (!isVisibleName(dirent.name)) continue;
      const kind = await this.kindOf(dirent, absDir);
      if (kind !== undefined) entries.push({ name: dirent.name, kind });
    }
    return entries.sort(byName);
  }

  /**
   * True when a visible file lies somewhere below `absDir`: its own files first, then its
   * subdirectories depth first, stopping at the first file found. One `readdir` per level
   * down to the first file (a single `readdir` call costs a third of `opendir` + `read` +
   * `close` on small directories, which most are).
   */
  async hasVisibleContent(absDir: string): Promise<boolean> {
    let dirents: Dirent[];
    try {
      dirents = await this.call(() => readdir(absDir, { withFileTypes: true }));
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'ELOOP') return false;
      throw err;
    }
    const dirs: string[] = [];
    const links: Dirent[] = [];
    for (const dirent of dirents) {
      if (!isVisibleName(dirent.name)) continue;
      if (dirent.isFile()) return true;
      if (dirent.isDirectory()) dirs.push(dirent.name);
      else if (dirent.isSymbolicLink()) links.push(dirent);
    }
    for (const link of links) {
      const kind = await this.kindOf(link, absDir);
      if (kind === 'file') return true;
      if (kind === 'dir') dirs.push(link.name);
    }
    for (const name of dirs) {
      if (await this.hasVisibleContent(join(absDir, name))) return true;
    }
    return false;
  }

  /** {@link hasVisibleContent} for a directory whose entries were already read. */
  async entriesHaveVisibleContent(absDir: string, entries: readonly Entry[]): Promise<boolean> {
    if (entries.some((entry) => entry.kind === 'file')) return true;
    for (const entry of entries) {
      if (await this.hasVisibleContent(join(absDir, entry.name))) return true;
    }
    return false;
  }
}
