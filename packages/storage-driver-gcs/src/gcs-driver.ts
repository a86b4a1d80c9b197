/**
 * # Design note: the Google Cloud Storage driver
 *
 * Driver path `/a/b` is the object `<rootdirectory>/a/b` of one bucket, the names registry:2
 * uses, so either registry serves the other's data. Directories are name prefixes; `list` and
 * `walk` use delimiter listings (`/`), paged.
 *
 * ## Upload strategy: part objects in a hidden tree, put together at commit
 *
 * A writer buffers bytes into chunks of `chunksize` (5 MiB by default) and uploads each full chunk
 * as a *part*: an ordinary object named `<root>/~berth-pending/<path>/~<write id>/<seq>` (see
 * `keys.ts`; `~` is not allowed in driver paths, so no part can ever be mistaken for a file, and
 * the hidden tree is one top-level prefix that `list('/')` filters out). `close()` uploads the
 * buffered rest as one more part (or, for a write with no bytes, an empty part 0), so a pending
 * write is nothing but its parts: `writer(path, { append: true })` in any process lists
 * `…/<path>/~`, takes the newest write id that has a part 0, and continues after the unbroken run
 * of parts from 0 (parts after a gap — uploads in flight when a process died — are deleted, so
 * stale bytes are never mixed in). `commit()` makes the content appear at the path in one step,
 * the cheapest way the parts allow:
 *
 * - no part yet (a write that fits one chunk and was never closed — `putContent`-sized data,
 *   monolithic pushes of small blobs): one upload straight to the path;
 * - exactly one non-empty part and nothing buffered: one server-side copy (a rewrite within the
 *   bucket, which Google does without moving data);
 * - everything fits one chunk: the parts are read back and uploaded with the rest as one object
 *   (at most `chunksize` through the registry; the object is an ordinary one with an MD5);
 * - otherwise: the rest becomes a last part and the parts are **composed** into the path —
 *   32 sources per request, through intermediate objects below the write's prefix for more
 *   (`compose-plan.ts`: 103 parts of a 512 MiB blob take 4 requests).
 *
 * Then the write's objects are deleted, part 0 first: a write without part 0 is garbage, never a
 * pending write, so a crash half-way through the cleanup cannot resurrect a committed write. A
 * new write deletes the older writes of its path (a writer without `append` starts empty);
 * `cancel()` deletes the write's parts. Appending to a committed file copies it server-side into
 * part 0 of a new write, so the pending write is self-contained whatever happens to the file
 * until the commit. `delete` of a directory also deletes the pending writes below it.
 *
 * Why not resumable upload sessions (registry:2's choice)? A session accepts only chunks that are
 * multiples of 256 KiB except the last, so `close()` would have to keep the unaligned rest
 * somewhere else anyway (registry:2 writes it to the target path, where it is visible); its bytes
 * cannot be read back or reused, so appending to a committed file means streaming the whole file
 * through the registry again; its URI is a bearer credential that would have to be stored in the
 * bucket; and it expires after a week. Parts are plain objects: listable, sized, deletable,
 * readable, and what is stored is exactly what a resume sees. The price is the compose request(s)
 * at commit and a delete per part — and that compose, like multi-chunk resumable uploads, is
 * implemented by no server that runs locally (firebase-tools' emulator answers 501), so that one
 * branch (`GcsWriter.#compose`) is tested only against real GCS.
 *
 * ## Other operations
 * - `reader`: the object's metadata first (a missing path rejects before any stream exists, and
 *   an offset at or past the end is an empty stream rather than Google's 416), then a ranged GET.
 * - `move`: a server-side copy (rewrite) and a delete of the source.
 * - `delete`: the object, everything below `<path>/` (flat listing), and the pending writes at and
 *   below the path; `PATH_NOT_FOUND` when there was neither a file nor a directory.
 * - `redirectURL`: a V4 signed URL (`GET`/`HEAD`), valid for `redirectexpiry`, signed with the
 *   service account's key, or through IAM `signBlob` with Application Default Credentials.
 */
import { Readable } from 'node:stream';
import {
  type BaseOptions,
  comparePaths,
  type FileInfo,
  type FileWriter,
  isValidPath,
  isWithin,
  type OperationOptions,
  pathNotFound,
  type ReaderOptions,
  type RedirectOptions,
  ROOT_PATH,
  type StorageDriver,
  StorageDriverError,
  type StorageDriverFactory,
  type WalkOptions,
  type WriterOptions,
  withBase,
} from '@berth/storage-driver';
import { createClients, type GcsClients } from './client.ts';
import { isNotFound, statusOf } from './errors.ts';
import {
  deleteObjects,
  openAppendWrite,
  openNewWrite,
  uploadObject,
  type WriterSetup,
} from './gcs-writer.ts';
import { ObjectKeys } from './keys.ts';
import { Limiter } from './limiter.ts';
import { firstObject, listDirectory, listFlat } from './listing.ts';
import {
  type GcsDriverOptions,
  parseGcsParameters,
  type ResolvedGcsDriverOptions,
  resolveGcsOptions,
} from './options.ts';
import { openReadStream, readObject } from './read-stream.ts';
import { signUrl } from './signer.ts';

const EPOCH = new Date(0);

/** One entry of a directory listing. */
interface Entry {
  readonly path: string;
  readonly isDir: boolean;
  readonly size: number;
  readonly modTime: Date;
}

/**
 * The Google Cloud Storage driver (`storage.gcs`). Create it with {@link createGcsDriver} or
 * through {@link gcsDriverFactory}; see the design note at the top of this file.
 */
export class GcsDriver implements StorageDriver {
  readonly name = 'gcs';
  readonly #options: ResolvedGcsDriverOptions;
  readonly #clients: GcsClients;
  readonly #keys: ObjectKeys;
  readonly #limiter: Limiter;

  constructor(options: ResolvedGcsDriverOptions, clients: GcsClients) {
    this.#options = options;
    this.#clients = clients;
    this.#keys = new ObjectKeys(options.rootPrefix);
    this.#limiter = new Limiter(options.maxConcurrency);
  }

  /** The object name of a driver path (registry:2's mapping). */
  objectName(path: string): string {
    return this.#keys.object(path);
  }

  #file(path: string) {
    return this.#clients.bucket.file(this.#keys.object(path));
  }

  #writerSetup(path: string): WriterSetup {
    return {
      bucket: this.#clients.bucket,
      keys: this.#keys,
      limiter: this.#limiter,
      path,
      chunkSize: this.#options.chunkSize,
      uploadConcurrency: this.#options.uploadConcurrency,
      pageSize: this.#options.pageSize,
    };
  }

  async getContent(path: string, options?: OperationOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    try {
      return await this.#limiter.run(() => readObject(this.#file(path), { validation: false }));
    } catch (error) {
      if (isNotFound(error)) throw pathNotFound(path, error);
      throw error;
    }
  }

  async putContent(path: string, content: Uint8Array, options?: OperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    await uploadObject(
      { bucket: this.#clients.bucket, limiter: this.#limiter },
      this.#keys.object(path),
      content,
    );
  }

  async reader(path: string, options?: ReaderOptions): Promise<Readable> {
    const offset = options?.offset ?? 0;
    const file = this.#file(path);
    let size: number;
    try {
      const [metadata] = await this.#limiter.run(() => file.getMetadata());
      size = Number(metadata.size ?? 0);
    } catch (error) {
      if (isNotFound(error)) throw pathNotFound(path, error);
      throw error;
    }
    options?.signal?.throwIfAborted();
    if (offset >= size) return Readable.from([]);
    // No CRC32C check of the stream: it covers whole objects only, and the registry's content
    // digests are what clients verify.
    return openReadStream(file, { start: offset, validation: false, decompress: false });
  }

  async writer(path: string, options?: WriterOptions): Promise<FileWriter> {
    const setup = this.#writerSetup(path);
    return options?.append ? openAppendWrite(setup, options.signal) : openNewWrite(setup);
  }

  async stat(path: string, options?: OperationOptions): Promise<FileInfo> {
    if (path !== ROOT_PATH) {
      try {
        const [metadata] = await this.#limiter.run(() => this.#file(path).getMetadata());
        return {
          path,
          size: Number(metadata.size ?? 0),
          modTime: metadata.updated === undefined ? EPOCH : new Date(metadata.updated),
          isDir: false,
        };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      options?.signal?.throwIfAborted();
      const first = await firstObject(this.#clients.bucket, this.#limiter, this.#keys.dir(path));
      if (first === undefined) throw pathNotFound(path);
      return { path, size: 0, modTime: first.updated, isDir: true };
    }
    const children = await this.#children(path, options);
    const newest = Math.max(0, ...children.map((entry) => entry.modTime.getTime()));
    return { path, size: 0, modTime: new Date(newest), isDir: true };
  }

  /** The direct children of a directory (unsorted, visible ones only); `[]` when there are none. */
  async #children(path: string, options?: OperationOptions): Promise<Entry[]> {
    const prefix = this.#keys.dir(path);
    const { objects, prefixes } = await listDirectory(
      this.#clients.bucket,
      this.#limiter,
      prefix,
      this.#options.pageSize,
      options?.signal,
    );
    const entries: Entry[] = [];
    // Names no driver path can have are not entries: the hidden tree of pending writes (`~` is
    // not a path character), a console-made `dir/` placeholder, names with other characters.
    for (const sub of prefixes) {
      const entryPath = this.#keys.pathOf(sub);
      if (isValidPath(entryPath)) entries.push({ path: entryPath, isDir: true, size: 0, modTime: EPOCH });
    }
    for (const object of objects) {
      if (object.name === prefix) continue;
      const entryPath = this.#keys.pathOf(object.name);
      if (isValidPath(entryPath)) {
        entries.push({ path: entryPath, isDir: false, size: object.size, modTime: object.updated });
      }
    }
    return entries;
  }

  async list(path: string, options?: OperationOptions): Promise<string[]> {
    const children = await this.#children(path, options);
    if (children.length === 0 && path !== ROOT_PATH) throw pathNotFound(path);
    return children.map((entry) => entry.path);
  }

  async move(source: string, destination: string, options?: OperationOptions): Promise<void> {
    const from = this.#file(source);
    try {
      if (source === destination) {
        await this.#limiter.run(() => from.getMetadata());
        return;
      }
      options?.signal?.throwIfAborted();
      await this.#limiter.run(() => from.copy(this.#file(destination)));
    } catch (error) {
      if (isNotFound(error)) throw pathNotFound(source, error);
      throw error;
    }
    try {
      await this.#limiter.run(() => from.delete());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async delete(path: string, options?: OperationOptions): Promise<void> {
    const { bucket } = this.#clients;
    const setup = { bucket, limiter: this.#limiter };
    const signal = options?.signal;
    const deleteFile = (async () => {
      try {
        await this.#limiter.run(() => this.#file(path).delete());
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    })();
    // Listing and deleting page by page keeps memory flat for a directory of any size.
    let below = 0;
    try {
      for await (const page of listFlat(
        bucket,
        this.#limiter,
        this.#keys.dir(path),
        this.#options.pageSize,
        signal,
      )) {
        below += page.length;
        await deleteObjects(
          setup,
          page.map((object) => object.name),
        );
      }
    } finally {
      // Settled before this method returns, whatever happens to the listing.
      await deleteFile.catch(() => false);
    }
    if (!(await deleteFile) && below === 0) throw pathNotFound(path);
    // Pending writes at and below the path go with it.
    for await (const page of listFlat(
      bucket,
      this.#limiter,
      this.#keys.pendingTree(path),
      this.#options.pageSize,
      signal,
    )) {
      await deleteObjects(
        setup,
        page.map((object) => object.name),
      );
    }
  }

  async redirectURL(path: string, options?: RedirectOptions): Promise<string | undefined> {
    if (this.#clients.signing === 'none') return undefined;
    return signUrl(this.#clients.storage, {
      bucket: this.#options.bucket,
      object: this.#keys.object(path),
      method: options?.method ?? 'GET',
      expiresIn: options?.expiresIn ?? this.#options.redirectExpirySeconds,
    });
  }

  walk(path: string, options?: WalkOptions): AsyncIterable<FileInfo> {
    return this.#walk(path, options ?? {});
  }

  async *#walk(path: string, options: WalkOptions): AsyncIterable<FileInfo> {
    const children = await this.#children(path, options);
    if (children.length === 0 && path !== ROOT_PATH) throw pathNotFound(path);
    yield* this.#walkChildren(children, options, options.startAfter);
  }

  /** Depth-first over `children` (one directory's entries) in `comparePaths` order. */
  async *#walkChildren(
    children: Entry[],
    options: WalkOptions,
    startAfter: string | undefined,
  ): AsyncIterable<FileInfo> {
    children.sort((a, b) => comparePaths(a.path, b.path));
    for (const entry of children) {
      // `startAfter` itself or a directory above it: not yielded again, but walked into.
      const onStartPath = startAfter !== undefined && isWithin(startAfter, entry.path);
      if (startAfter !== undefined && !onStartPath && comparePaths(entry.path, startAfter) <= 0) continue;
      const info: FileInfo = {
        path: entry.path,
        size: entry.size,
        modTime: entry.modTime,
        isDir: entry.isDir,
      };
      if (!onStartPath) yield info;
      if (!entry.isDir || (!onStartPath && options.descend && !options.descend(info))) continue;
      const below = await this.#children(entry.path, options);
      yield* this.#walkChildren(below, options, entry.path === startAfter ? undefined : startAfter);
    }
  }
}

/**
 * Creates a GCS driver, already wrapped with `withBase`. Checks that the bucket can be listed
 * (a missing bucket or missing rights stop the server at start, not at the first push).
 *
 * @example
 * ```ts
 * const driver = await createGcsDriver({ bucket: 'my-registry', keyfile: '/etc/berth/sa.json' });
 * await driver.putContent('/hello', new TextEncoder().encode('world'));
 * ```
 * @throws {InvalidParameterError} naming the offending option.
 * @throws {StorageDriverError} `DRIVER_ERROR` when the bucket cannot be listed.
 */
export async function createGcsDriver(
  options: GcsDriverOptions | ResolvedGcsDriverOptions,
  base?: BaseOptions,
): Promise<StorageDriver> {
  const resolved = 'auth' in options ? options : resolveGcsOptions(options);
  const clients = await createClients(resolved);
  const driver = new GcsDriver(resolved, clients);
  try {
    await firstObject(clients.bucket, new Limiter(1), new ObjectKeys(resolved.rootPrefix).dir(ROOT_PATH));
  } catch (error) {
    const status = statusOf(error);
    throw new StorageDriverError(
      'DRIVER_ERROR',
      `gcs: cannot list bucket ${resolved.bucket}${status === undefined ? '' : ` (HTTP ${status})`}: ${(error as Error).message}`,
      { cause: error, driver: 'gcs' },
    );
  }
  return withBase(driver, base);
}

/** The factory for `storage.gcs`. */
export const gcsDriverFactory: StorageDriverFactory<ResolvedGcsDriverOptions> = {
  name: 'gcs',
  parseParameters: parseGcsParameters,
  create: (options: ResolvedGcsDriverOptions): Promise<StorageDriver> => createGcsDriver(options),
};
