import { createHash, randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { isValidPath, ROOT_PATH, StorageDriverError } from '@berth/storage-driver';
import { Limiter } from './limiter.ts';

/**
 * The shadow tree's top directory, `<rootdirectory>/#berth`: pending writes and temporary files
 * live below it, out of the visible tree. `#` can never occur in a valid storage path, so no
 * driver path can name it, and `list`/`walk` of `/` never show it; registry:2 never looks at
 * it (its paths all start with `docker/registry/v2/`).
 */
export const SHADOW_DIR = '#berth';

/**
 * Tag prefix of the files writers write to before `commit()` renames them over the target:
 * `<rootdirectory>/#berth/pending/<dirs of the path>/<name>#pending-<id>`, one per writer,
 * found again by `writer(path, { append: true })` (in any process) by listing that directory.
 */
export const PENDING_TAG = 'pending-';
/**
 * Tag prefix of the temporary files `putContent` (and an append's copy of a committed file)
 * write before renaming them into place: `<rootdirectory>/#berth/tmp/<name>#tmp-<random>`.
 */
export const TEMP_TAG = 'tmp-';

const { COPYFILE_FICLONE, COPYFILE_EXCL } = constants;

/** Age (ms) after which trash in `#berth/trash` counts as left by a killed process. */
const TRASH_SWEEP_AGE_MS = 60 * 60 * 1000;

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
 * Everything else is hidden from `list`, `stat` and `walk`: the shadow tree `#berth` at the
 * root, hidden files left by older versions or by a cross-device commit (`#`), and foreign
 * entries such as `lost+found` at the root of a mounted volume.
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

/** An error like the one a system call reports, for a file that disappeared under us. */
function enoent(what: string, file: string): Error {
  return Object.assign(new Error(`ENOENT: ${what} vanished: ${file}`), { code: 'ENOENT', path: file });
}

/** One fsync of a directory that callers share (see {@link Disk.syncDir}). */
interface DirSync {
  /** Set once the fsync has been handed to the kernel: later callers cannot join it. */
  issued: boolean;
  done: Promise<void>;
}

/** Errors from fsync on a directory that mean "this platform or filesystem cannot", not "failed". */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'ENOTSUP', 'EPERM', 'EACCES', 'EBADF']);

/**
 * The filesystem under one root directory: maps storage paths to absolute paths (in the visible
 * tree and in the shadow tree), bounds concurrent calls (`maxthreads`) and provides the
 * directory housekeeping the driver and its writers share.
 *
 * Layout: driver path `/a/b` is `<root>/a/b`. Its pending writes are
 * `<root>/#berth/pending/a/b#pending-<id>`; temporary files are `<root>/#berth/tmp/b#tmp-<random>`.
 * A visible directory is created only when a file is committed into it (putContent, a writer's
 * commit, move), so the visible tree holds nothing but committed files and the directories
 * leading to them.
 */
export class Disk {
  /** Absolute root directory. */
  readonly root: string;
  /** `<root>/#berth/pending`: mirrors the visible tree's directories, holds pending writes. */
  readonly pendingRoot: string;
  /** `<root>/#berth/tmp`: a flat directory of temporary files. */
  readonly tmpRoot: string;
  /** `<root>/#berth/trash`: directory trees moved out of the way on their way to removal. */
  readonly trashRoot: string;
  /** Whether commits fsync. */
  readonly fsync: boolean;
  /** Whether this instance has swept trash that a killed process left behind. */
  #trashSwept = false;
  readonly #prefix: string;
  readonly #shadowRoot: string;
  readonly #shadowPrefix: string;
  readonly #pendingPrefix: string;
  readonly #limiter: Limiter;
  /** Directory → the latest fsync of it asked for (see {@link syncDir}). */
  readonly #dirSyncs = new Map<string, DirSync>();

  constructor(rootdirectory: string, maxthreads: number, fsync: boolean) {
    this.root = resolve(rootdirectory);
    this.#prefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    this.#shadowRoot = this.#prefix + SHADOW_DIR;
    this.#shadowPrefix = this.#shadowRoot + sep;
    this.pendingRoot = join(this.#shadowRoot, 'pending');
    this.#pendingPrefix = this.pendingRoot + sep;
    this.tmpRoot = join(this.#shadowRoot, 'tmp');
    this.trashRoot = join(this.#shadowRoot, 'trash');
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

  /**
   * The place of a storage path in the pending tree (`<root>/#berth/pending/<path>`): the
   * pending writes of `path` are `<name>#pending-<id>` files beside it, and those of paths
   * below it are inside it.
   * @throws {StorageDriverError} `INVALID_PATH`
   */
  shadow(path: string): string {
    const abs = this.abs(path);
    return abs === this.root ? this.pendingRoot : join(this.pendingRoot, abs.slice(this.#prefix.length));
  }

  /** A new, unique pending-write file name for the storage path whose {@link shadow} is `shadowFile`. */
  newPendingPath(shadowFile: string): string {
    return join(dirname(shadowFile), pendingPrefix(basename(shadowFile)) + newPendingId());
  }

  /**
   * The pending writes of the storage path whose {@link shadow} is `shadowFile`, oldest first
   * (usually none or one; more only after writers of the same path raced); `undefined` when
   * the pending directory that would hold them does not exist.
   */
  async findPending(shadowFile: string): Promise<string[] | undefined> {
    const dir = dirname(shadowFile);
    const prefix = pendingPrefix(basename(shadowFile));
    let names: string[];
    try {
      names = await this.call(() => readdir(dir));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    return names
      .filter((name) => name.startsWith(prefix) && PENDING_ID.test(name.slice(prefix.length)))
      .sort()
      .map((name) => join(dir, name));
  }

  /** Removes files, ignoring those already gone. */
  async unlinkAll(files: readonly string[]): Promise<void> {
    for (const file of files) {
      await this.call(() => unlink(file)).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
    }
  }

  /**
   * Discards every pending write at or below the storage path `path`: its own pending files
   * and the whole pending directory mirroring it. The parent pending directory stays (see
   * {@link pruneEmptyDirs}).
   */
  async discardPending(path: string): Promise<void> {
    const shadow = this.shadow(path);
    if (shadow === this.pendingRoot) return;
    // One `readdir` of the parent finds the path's own pending files, and tells whether there
    // can be anything at all (usually not: then that is the only call).
    const own = await this.findPending(shadow);
    if (own === undefined) return;
    await this.removeTree(shadow);
    await this.unlinkAll(own);
  }

  /**
   * Removes the directory tree `absDir` (a file is unlinked), ignoring it when missing.
   *
   * A recursive `rm` in place races any writer that creates an entry below `absDir` meanwhile:
   * the final `rmdir` then fails with `ENOTEMPTY`. So the tree is first renamed, atomically,
   * into {@link trashRoot} and removed from there, where no writer looks. A writer that
   * publishes after the rename recreates its directory and lands in a fresh tree, which this
   * removal then does not touch: the removal is ordered before that write. Across filesystems
   * (`absDir` below a symbolic link to another, `EXDEV`) the tree is removed in place, retrying
   * while concurrent writers refill it.
   *
   * Trash left by a process killed between the rename and the removal is swept by the next
   * removal in any process once it is an hour old.
   */
  async removeTree(absDir: string): Promise<void> {
    const trash = join(
      this.trashRoot,
      `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(8).toString('hex')}`,
    );
    let moved = false;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.call(() => rename(absDir, trash));
        moved = true;
        break;
      } catch (err) {
        const code = errnoOf(err);
        if (code === 'ENOENT' && attempt < 8) {
          // Either `absDir` is gone (nothing to do) or the trash directory does not exist yet.
          if (!(await this.exists(absDir))) return;
          await this.ensureDir(this.trashRoot, false);
          continue;
        }
        if (code === 'ENOTDIR') {
          await this.unlinkAll([absDir]);
          return;
        }
        if (code !== 'EXDEV' && code !== 'EBUSY' && code !== 'EPERM' && code !== 'EACCES') throw err;
        break;
      }
    }
    if (moved) {
      await this.call(() => rm(trash, { recursive: true, force: true }));
    } else {
      await this.call(() => rm(absDir, { recursive: true, force: true, maxRetries: 8, retryDelay: 5 }));
    }
    if (!this.#trashSwept) {
      this.#trashSwept = true;
      await this.#sweepTrash(Date.now() - TRASH_SWEEP_AGE_MS);
    }
  }

  /** Removes trash entries named before `before` (ms): what killed processes left behind. */
  async #sweepTrash(before: number): Promise<void> {
    let names: string[];
    try {
      names = await this.call(() => readdir(this.trashRoot));
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const name of names) {
      const made = Number.parseInt(name.slice(0, 9), 36);
      if (!Number.isFinite(made) || made >= before) continue;
      await this.call(() => rm(join(this.trashRoot, name), { recursive: true, force: true }));
    }
  }

  /** A fresh temporary name (in {@link tmpRoot}) for content on its way to `absFile`. */
  tempPath(absFile: string): string {
    return join(this.tmpRoot, hiddenName(basename(absFile), TEMP_TAG + randomBytes(8).toString('hex')));
  }

  /**
   * Runs `create` (which creates an entry in `absFile`'s directory), creating the directory
   * first when `create` fails with `ENOENT`. Retries if a concurrent cleanup removes the
   * freshly created directory before `create` runs. `sync` as for {@link ensureDir}.
   */
  async inDir<T>(absFile: string, create: () => Promise<T>, sync: boolean = this.fsync): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await create();
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT' || attempt >= 8) throw err;
      }
      await this.ensureDir(dirname(absFile), sync);
    }
  }

  /**
   * Copies the file `source` to a new temporary file and returns its name. `PATH_NOT_FOUND`-style
   * `ENOENT` when `source` is missing; the temporary directory is created only when needed.
   */
  async copyToTemp(source: string): Promise<string> {
    const temp = this.tempPath(source);
    for (let attempt = 0; ; attempt++) {
      try {
        // A reflink where the filesystem supports it.
        await this.call(() => copyFile(source, temp, COPYFILE_FICLONE | COPYFILE_EXCL));
        return temp;
      } catch (err) {
        await this.call(() => unlink(temp)).catch(() => {});
        if (errnoOf(err) !== 'ENOENT' || attempt >= 8 || !(await this.exists(source))) throw err;
      }
      await this.ensureDir(this.tmpRoot, false);
    }
  }

  /**
   * `mkdir -p`. With `sync` (default: when fsync is on), also makes the new directory entries
   * durable. The shadow tree's directories are created without, but when such a call creates
   * the root directory itself (the first write of a new store), the root's entry and those
   * above it are still made durable, as for any write's directories. True when it created a
   * directory, false when `absDir` was there already.
   */
  async ensureDir(absDir: string, sync: boolean = this.fsync): Promise<boolean> {
    let first: string | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        first = await this.call(() => mkdir(absDir, { recursive: true, mode: 0o777 }));
        break;
      } catch (err) {
        // A recursive mkdir racing a concurrent prune of the same directories reports ENOENT
        // (a parent it created or found vanished before the child's mkdir) or ENOTDIR (it
        // found a component existing, then could not stat it): try again. A real file in the
        // way keeps failing, and the last attempt reports it.
        const code = errnoOf(err);
        if ((code !== 'ENOTDIR' && code !== 'ENOENT') || attempt >= 8) throw err;
      }
    }
    if (first === undefined) return false;
    let last: string;
    if (!this.fsync) return true;
    if (sync) last = absDir;
    else if (first === this.root || this.#prefix.startsWith(first + sep)) last = this.root;
    else return true;
    // Each directory created lives as an entry in its parent: sync those parents.
    const parents: string[] = [];
    for (let dir = last; ; dir = dirname(dir)) {
      parents.push(dirname(dir));
      if (dir === first || dirname(dir) === dir) break;
    }
    // Together: concurrent fsyncs share the filesystem's journal commits, so the chain costs
    // about one fsync of latency, not one per level. All complete before the caller renames.
    await Promise.all(parents.map((parent) => this.syncDir(parent)));
    return true;
  }

  /** True when something exists at `abs` (a dangling symbolic link counts). */
  async exists(abs: string): Promise<boolean> {
    try {
      await this.call(() => lstat(abs));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /**
   * Commits `source` (a file in the shadow tree) as `target`: renames it over `target`,
   * creating `target`'s directory (`mkdir -p`, made durable when fsync is on) if it is
   * missing, then fsyncs that directory when fsync is on. Returns `false`, changing nothing,
   * when `source` is gone.
   *
   * When `target` lies across a symbolic link on another filesystem (`EXDEV`), the file is
   * copied to a temporary name beside `target` (fsynced when fsync is on) and renamed from
   * there, which is as atomic; `source` is then removed.
   *
   * Any failure leaves `source` in place and removes the directories it created.
   *
   * `sync: false` (a non-durable `putContent`) skips the directory fsyncs.
   */
  async publish(source: string, target: string, sync: boolean = this.fsync): Promise<boolean> {
    const dir = dirname(target);
    let created = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.call(() => rename(source, target));
          break;
        } catch (err) {
          const code = errnoOf(err);
          if (code === 'EXDEV') {
            if (await this.#publishAcross(source, target)) break;
            if (created) await this.pruneEmptyDirs(dir);
            return false;
          }
          if (code !== 'ENOENT' || attempt >= 8) throw err;
        }
        // ENOENT: the target's directory is missing (not created yet, or removed by a
        // concurrent cleanup since), or the source is gone. Only when the directory turns
        // out to be there already is it worth asking which.
        if (await this.ensureDir(dir, sync)) created = true;
        else if (!(await this.exists(source))) {
          if (created) await this.pruneEmptyDirs(dir);
          return false;
        }
      }
    } catch (err) {
      if (created) await this.pruneEmptyDirs(dir).catch(() => {});
      throw err;
    }
    if (this.fsync && sync) await this.syncDir(dir);
    return true;
  }

  /** {@link publish} across filesystems: copy beside the target, then rename. */
  async #publishAcross(source: string, target: string): Promise<boolean> {
    const local = join(
      dirname(target),
      hiddenName(basename(target), TEMP_TAG + randomBytes(8).toString('hex')),
    );
    try {
      await this.call(() => copyFile(source, local, COPYFILE_FICLONE | COPYFILE_EXCL));
      if (this.fsync) {
        const handle = await this.call(() => open(local, 'r+'));
        try {
          await this.call(() => handle.datasync());
        } finally {
          await this.call(() => handle.close());
        }
      }
      await this.call(() => rename(local, target));
    } catch (err) {
      await this.call(() => unlink(local)).catch(() => {});
      if (errnoOf(err) === 'ENOENT' && !(await this.exists(source))) return false;
      throw err;
    }
    await this.unlinkAll([source]);
    return true;
  }

  /** Fails with `ENOENT` for a temporary file that {@link publish} found gone. */
  tempVanished(temp: string): Error {
    return enoent('temporary file', temp);
  }

  /**
   * fsync a directory so entries created, renamed or removed in it are durable.
   *
   * Concurrent calls for one directory share an fsync: a call joins one that has not yet been
   * issued to the kernel (everything its caller did before calling is then covered), else it
   * starts a new one once the fsync in flight has finished. The directories every push touches
   * (`_manifests/revisions/sha256`, `_layers/sha256`, `tags`) are synced once for all the pushes
   * that arrive together, instead of once each.
   */
  syncDir(absDir: string): Promise<void> {
    const current = this.#dirSyncs.get(absDir);
    if (current !== undefined && !current.issued) return current.done;
    const entry: DirSync = { issued: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        if (current !== undefined) await current.done.catch(() => {});
        await this.#syncDirNow(absDir, entry);
      } finally {
        if (this.#dirSyncs.get(absDir) === entry) this.#dirSyncs.delete(absDir);
      }
    })();
    this.#dirSyncs.set(absDir, entry);
    return entry.done;
  }

  async #syncDirNow(absDir: string, entry: DirSync): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await this.call(() => open(absDir, 'r'));
    } catch (err) {
      entry.issued = true;
      const code = errnoOf(err);
      if (code !== undefined && (DIR_SYNC_UNSUPPORTED.has(code) || code === 'ENOENT')) return;
      throw err;
    }
    try {
      await this.call(() => {
        // From here on, a new caller needs a new fsync: this one may already be running.
        entry.issued = true;
        return handle.sync();
      });
    } catch (err) {
      const code = errnoOf(err);
      if (code === undefined || !DIR_SYNC_UNSUPPORTED.has(code)) throw err;
    } finally {
      await this.call(() => handle.close());
    }
  }

  /**
   * Removes `absDir` if it is empty. In the visible tree, then each parent while they are
   * empty, so a directory exists only while something is below it (up to, not including, the
   * root). In the pending tree only `absDir` itself: its parents are shared by every write of
   * the paths beside it (all blobs of one `sha256/<xx>`, all uploads of a repository), so
   * keeping them saves a `mkdir` chain and an `rmdir` chain per write; empty pending
   * directories hold no data and are not visible. `#berth` and its top directories are kept,
   * like the root. `rmdir` only ever removes an empty directory, so a concurrent writer's file
   * is never lost; a writer whose directory vanishes between its `mkdir` and its `open`
   * retries (see {@link inDir} and {@link ensureDir}).
   */
  async pruneEmptyDirs(absDir: string): Promise<void> {
    if (absDir.startsWith(this.#pendingPrefix)) {
      await this.call(() => rmdir(absDir)).catch(() => {});
      return;
    }
    if (absDir === this.#shadowRoot || absDir.startsWith(this.#shadowPrefix)) return;
    const top = this.#prefix;
    for (let dir = absDir; dir.startsWith(top); dir = dirname(dir)) {
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
   * not a directory. One `readdir`; only symbolic links cost a `stat` more.
   */
  async readEntries(absDir: string): Promise<Entry[] | undefined> {
    let dirents: Dirent[];
    try {
      dirents = await this.call(() => readdir(absDir, { withFileTypes: true }));
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'ELOOP') return undefined;
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
   * True when the directory `absDir` has at least one visible entry (the rule that makes a
   * directory exist for the driver). One `readdir` of `absDir` itself, none of its children.
   */
  async hasVisibleEntry(absDir: string): Promise<boolean> {
    let dirents: Dirent[];
    try {
      dirents = await this.call(() => readdir(absDir, { withFileTypes: true }));
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === 'ELOOP') return false;
      throw err;
    }
    const links: Dirent[] = [];
    for (const dirent of dirents) {
      if (!isVisibleName(dirent.name)) continue;
      if (dirent.isFile() || dirent.isDirectory()) return true;
      if (dirent.isSymbolicLink()) links.push(dirent);
    }
    for (const link of links) {
      if ((await this.kindOf(link, absDir)) !== undefined) return true;
    }
    return false;
  }
}
