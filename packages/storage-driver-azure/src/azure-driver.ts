/**
 * # Design note: the Azure Blob Storage driver
 *
 * Driver path `/a/b` is the block blob `<rootdirectory>/a/b` of one container, the names
 * registry:2 uses, so either registry serves the other's data. Directories are name prefixes;
 * `list` and `walk` use hierarchy listings (delimiter `/`), paged.
 *
 * ## Upload strategy: block blobs, with the writer's state in the block ids
 *
 * A writer buffers bytes into blocks (8 MiB by default), stages each with `Put Block` (two in
 * flight), and `commit()` is one `Put Block List`. Staged blocks are invisible until that commit —
 * the blob keeps its old content, or does not exist — which is exactly the contract's "invisible
 * until commit", with an atomic replace at the end.
 *
 * What `close()` must leave for a resume, possibly in another process: which blocks, in which
 * order, how many bytes, and whether the write replaces the blob or continues it. Rather than a
 * side file (one more object per upload to write, hide from listings and clean up), all of it is
 * in the block ids (see `block-ids.ts`): every id carries a *generation*, a random *write id*,
 * the *base* (`n` starts empty, `c` continues the committed blocks), a *kind*, the writer
 * *session* with the position it started at, and a *sequence number*, fixed-width so every id
 * of a blob has the same length, as Azure requires.
 * `writer(path, { append: true })` makes one `Get Block List` call: the pending write is the
 * uncommitted write with the highest (generation, write id); its data blocks sorted by sequence
 * number give the order, and the sizes Azure reports with each block give `size`. A new write
 * takes a generation above every id on the blob (read from the same call, in the background), so
 * it supersedes an earlier pending write without touching it. So `close()` only has to stage
 * what is buffered — plus, for a write that has no bytes at all, a one-byte *marker* block so the
 * empty pending write exists.
 *
 * Azure's own rules shape the rest:
 * - **A commit discards every uncommitted block of the blob**, and Azure drops uncommitted
 *   blocks after 7 days. So a pending write is lost when someone else commits the same path (a
 *   racing writer: one of them wins wholly, the other's commit fails with `InvalidBlockList`) or
 *   after a week (registry:2 purges uploads older than 7 days anyway).
 * - **Appending to a committed blob** commits its committed block ids again, followed by the new
 *   ones: nothing is copied. A blob without a usable block list (written by `putContent`'s single
 *   `Put Blob`, or by another tool) is first downloaded into the new write's blocks; the registry
 *   never appends to such a blob, so this path stays simple instead of relying on
 *   `Put Block From URL` (which azurite does not implement).
 * - **Uncommitted blocks cannot be deleted.** `cancel()` stages a one-byte *cancellation* block
 *   under the write's id; a resume then finds no pending write (`PATH_NOT_FOUND`, or the committed
 *   blob). The alternative — commit an empty list, then delete the blob — would briefly show an
 *   empty file and could delete a blob another writer committed in between.
 * - A block that failed to stage (or was in flight when a process died) leaves a gap: a resume
 *   continues after the last block of the unbroken run from the start, and the new session's
 *   start position voids every older block from there on, even before it is overwritten — so a
 *   crash costs the bytes after the gap (the registry then reports the shorter upload offset),
 *   never mixes stale bytes in.
 * - At most 50,000 committed blocks per blob: with 8 MiB blocks that is ~390 GiB, but every
 *   `close()` flushes a (possibly small) block, so a write resumed more than ~50,000 times fails
 *   to commit.
 *
 * Append blobs (registry:2's writer) were the alternative: `Append Block` is visible at once, so
 * "invisible until commit" would need a temporary blob and a server-side copy at commit (a full
 * copy of every upload), and appends cannot be cancelled. Block blobs give atomic commits and
 * parallel block uploads for free.
 *
 * ## Other operations
 * - `move`: server-side `Copy Blob` (the source authorized by the shared key, or by a user
 *   delegation SAS with token credentials), polled until it completes,
 *   then the source is deleted. The copy keeps the committed block ids, so an append to the
 *   moved blob still reuses them.
 * - `delete` of a directory: flat listing of `<path>/`, deleted with blob batches (256 per
 *   request) where the service supports them, else one by one.
 * - `redirectURL`: a read-only SAS (shared key), or a user delegation SAS (Microsoft Entra
 *   credentials), valid for `redirectexpiry`.
 */
import { Readable } from 'node:stream';
import type { BlobItem, BlockBlobClient } from '@azure/storage-blob';
import {
  type BaseOptions,
  comparePaths,
  type FileInfo,
  type FileWriter,
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
import { openAppendWrite, openNewWrite } from './azure-writer.ts';
import { type AzureClients, createClients } from './client.ts';
import { codeOf, isNotFound, statusOf } from './errors.ts';
import {
  type AzureDriverOptions,
  parseAzureParameters,
  type ResolvedAzureDriverOptions,
  resolveAzureOptions,
} from './options.ts';

/** Page size of listings (the service's maximum). */
const PAGE_SIZE = 5000;
/** Blobs per batch delete request (the service's maximum). */
const BATCH_SIZE = 256;
/** Single deletes in flight when batches are not available. */
const DELETE_CONCURRENCY = 16;
/** Lifetime of the SAS a copy reads its source through. */
const COPY_SOURCE_SAS_SECONDS = 3600;
/** The longest pause between two polls of a pending copy (a copy within an account is usually done at once). */
const MAX_COPY_POLL_DELAY_MS = 2000;

const EPOCH = new Date(0);

function signalOption(options: OperationOptions | undefined): { abortSignal?: AbortSignal } {
  return options?.signal === undefined ? {} : { abortSignal: options.signal };
}

/** One entry of a directory listing. */
interface Entry {
  readonly path: string;
  readonly isDir: boolean;
  readonly size: number;
  readonly modTime: Date;
}

/**
 * The Azure Blob Storage driver (`storage.azure`). Create it with {@link createAzureDriver} or
 * through {@link azureDriverFactory}; see the design note at the top of this file.
 */
export class AzureDriver implements StorageDriver {
  readonly name = 'azure';
  readonly #options: ResolvedAzureDriverOptions;
  readonly #clients: AzureClients;
  /** Set once a batch request was refused; later deletes go one by one. */
  #batchUnsupported = false;

  constructor(options: ResolvedAzureDriverOptions, clients: AzureClients) {
    this.#options = options;
    this.#clients = clients;
  }

  /** The blob name of a driver path (registry:2's mapping). */
  blobName(path: string): string {
    const { rootPrefix } = this.#options;
    return rootPrefix === '' ? path.slice(1) : `${rootPrefix}${path}`;
  }

  /** The name prefix of everything below a directory path. */
  #dirPrefix(path: string): string {
    const { rootPrefix } = this.#options;
    if (path === ROOT_PATH) return rootPrefix === '' ? '' : `${rootPrefix}/`;
    return `${this.blobName(path)}/`;
  }

  /** The driver path of a blob name or prefix below the root. */
  #pathOf(name: string): string {
    const root = this.#dirPrefix(ROOT_PATH);
    return `/${name.slice(root.length).replace(/\/$/, '')}`;
  }

  #blob(path: string): BlockBlobClient {
    return this.#clients.container.getBlockBlobClient(this.blobName(path));
  }

  async getContent(path: string, options?: OperationOptions): Promise<Uint8Array> {
    const parts: Buffer[] = [];
    for await (const chunk of await this.reader(path, options)) parts.push(chunk as Buffer);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async putContent(path: string, content: Uint8Array, options?: OperationOptions): Promise<void> {
    const body = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    const blob = this.#blob(path);
    const put = () =>
      blob.upload(body, body.byteLength, {
        ...signalOption(options),
        blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
      });
    try {
      await put();
    } catch (error) {
      // Very old registry:2 versions wrote small files as append blobs, which one `Put Blob`
      // cannot replace with a block blob: delete and write again, as registry:2 does.
      if (statusOf(error) !== 409 || codeOf(error) !== 'InvalidBlobType') throw error;
      await blob.deleteIfExists(signalOption(options));
      await put();
    }
  }

  async reader(path: string, options?: ReaderOptions): Promise<Readable> {
    const offset = options?.offset ?? 0;
    try {
      const response = await this.#blob(path).download(offset, undefined, {
        ...signalOption(options),
        maxRetryRequests: this.#options.maxRetries,
      });
      const body = response.readableStreamBody;
      if (body === undefined)
        throw new StorageDriverError('DRIVER_ERROR', 'download returned no body', { path });
      return body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw pathNotFound(path, error);
      // The blob exists, and the offset is at or past its end.
      if (statusOf(error) === 416) return Readable.from([]);
      throw error;
    }
  }

  async writer(path: string, options?: WriterOptions): Promise<FileWriter> {
    const setup = {
      client: this.#blob(path),
      path,
      blockSize: this.#options.blockSize,
      concurrency: this.#options.uploadConcurrency,
    };
    return options?.append ? openAppendWrite(setup, options.signal) : openNewWrite(setup);
  }

  async stat(path: string, options?: OperationOptions): Promise<FileInfo> {
    if (path !== ROOT_PATH) {
      try {
        const properties = await this.#blob(path).getProperties(signalOption(options));
        return {
          path,
          size: properties.contentLength ?? 0,
          modTime: properties.lastModified ?? EPOCH,
          isDir: false,
        };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const first = await this.#firstBlobBelow(path, options);
    if (first === undefined && path !== ROOT_PATH) throw pathNotFound(path);
    return { path, size: 0, modTime: first?.properties.lastModified ?? EPOCH, isDir: true };
  }

  async #firstBlobBelow(path: string, options?: OperationOptions): Promise<BlobItem | undefined> {
    const pages = this.#clients.container
      .listBlobsFlat({ prefix: this.#dirPrefix(path), ...signalOption(options) })
      .byPage({ maxPageSize: 1 });
    for await (const page of pages) {
      const item = page.segment.blobItems[0];
      if (item !== undefined) return item;
      if (!page.continuationToken) break;
    }
    return undefined;
  }

  /** The direct children of a directory (unsorted); `[]` when there are none. */
  async #children(path: string, options?: OperationOptions): Promise<Entry[]> {
    const entries: Entry[] = [];
    const pages = this.#clients.container
      .listBlobsByHierarchy('/', { prefix: this.#dirPrefix(path), ...signalOption(options) })
      .byPage({ maxPageSize: PAGE_SIZE });
    for await (const page of pages) {
      for (const prefix of page.segment.blobPrefixes ?? []) {
        entries.push({ path: this.#pathOf(prefix.name), isDir: true, size: 0, modTime: EPOCH });
      }
      for (const item of page.segment.blobItems) {
        entries.push({
          path: this.#pathOf(item.name),
          isDir: false,
          size: item.properties.contentLength ?? 0,
          modTime: item.properties.lastModified ?? EPOCH,
        });
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
    const from = this.#blob(source);
    if (source === destination) {
      try {
        await from.getProperties(signalOption(options));
        return;
      } catch (error) {
        throw isNotFound(error) ? pathNotFound(source, error) : error;
      }
    }
    const to = this.#blob(destination);
    const sourceUrl = await this.#copySource(from, this.blobName(source), options);
    try {
      const poller = await to.beginCopyFromURL(sourceUrl, {
        ...signalOption(options),
        intervalInMs: Math.min(Math.max(this.#options.retryDelayMs, 50), MAX_COPY_POLL_DELAY_MS),
      });
      const result = await poller.pollUntilDone();
      if (result.copyStatus !== undefined && result.copyStatus !== 'success') {
        throw new StorageDriverError(
          'DRIVER_ERROR',
          `copy of ${source} to ${destination}: ${result.copyStatus}`,
          {
            path: source,
          },
        );
      }
    } catch (error) {
      if (isNotFound(error)) throw pathNotFound(source, error);
      throw error;
    }
    try {
      await from.delete({ ...signalOption(options), deleteSnapshots: 'include' });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async delete(path: string, options?: OperationOptions): Promise<void> {
    try {
      await this.#blob(path).delete({ ...signalOption(options), deleteSnapshots: 'include' });
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    let deleted = 0;
    const pages = this.#clients.container
      .listBlobsFlat({ prefix: this.#dirPrefix(path), ...signalOption(options) })
      .byPage({ maxPageSize: PAGE_SIZE });
    for await (const page of pages) {
      const names = page.segment.blobItems.map((item) => item.name);
      await this.#deleteBlobs(names, options);
      deleted += names.length;
    }
    if (deleted === 0) throw pathNotFound(path);
  }

  /** Deletes blobs by name, ignoring those already gone. */
  async #deleteBlobs(names: readonly string[], options?: OperationOptions): Promise<void> {
    let rest = names;
    if (!this.#batchUnsupported && names.length > 1) {
      const batch = this.#clients.container.getBlobBatchClient();
      for (let start = 0; start < names.length; start += BATCH_SIZE) {
        const clients = names
          .slice(start, start + BATCH_SIZE)
          .map((name) => this.#clients.container.getBlobClient(name));
        let response: Awaited<ReturnType<typeof batch.deleteBlobs>>;
        try {
          response = await batch.deleteBlobs(clients, {
            ...signalOption(options),
            deleteSnapshots: 'include',
          });
        } catch (error) {
          const status = statusOf(error);
          if (status === undefined || (status >= 500 && status !== 501)) throw error;
          // The account or endpoint does not take batches (e.g. a SAS without the rights):
          // fall back to single deletes from here on.
          this.#batchUnsupported = true;
          rest = names.slice(start);
          break;
        }
        for (const sub of response.subResponses) {
          if (sub.status >= 300 && sub.status !== 404) {
            throw new StorageDriverError(
              'DRIVER_ERROR',
              `batch delete of ${sub._request.url}: ${sub.status} ${sub.errorCode ?? sub.statusMessage}`,
            );
          }
        }
        rest = names.slice(start + BATCH_SIZE);
      }
    }
    const queue = [...rest];
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        try {
          await this.#clients.container
            .getBlobClient(name)
            .delete({ ...signalOption(options), deleteSnapshots: 'include' });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, queue.length) }, worker));
  }

  async #signedUrl(
    client: BlockBlobClient,
    blobName: string,
    seconds: number,
    options?: OperationOptions,
  ): Promise<string> {
    const { signer } = this.#clients;
    if (signer === undefined) return client.url;
    const sas = await signer.sign(blobName, new Date(Date.now() + seconds * 1000), options?.signal);
    return `${client.url}${client.url.includes('?') ? '&' : '?'}${sas}`;
  }

  /**
   * The URL a copy reads its source from. With a shared key the copy request's own signature
   * authorizes reading a source in the same account, so the plain URL does (and azurite, given a
   * SAS source, verifies it by downloading the whole blob into a string, which fails from
   * 512 MiB on). Token credentials get a user delegation SAS for the source.
   */
  async #copySource(client: BlockBlobClient, blobName: string, options?: OperationOptions): Promise<string> {
    const { signer } = this.#clients;
    if (signer === undefined || signer.kind === 'shared_key') return client.url;
    return this.#signedUrl(client, blobName, COPY_SOURCE_SAS_SECONDS, options);
  }

  async redirectURL(path: string, options?: RedirectOptions): Promise<string | undefined> {
    if (this.#clients.signer === undefined) return undefined;
    const seconds = options?.expiresIn ?? this.#options.redirectExpirySeconds;
    return this.#signedUrl(this.#blob(path), this.blobName(path), seconds, options);
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
 * Creates an Azure driver, already wrapped with `withBase`. Creates the container if it is
 * missing (a refusal for lack of rights is ignored: the container then has to exist).
 *
 * @example
 * ```ts
 * const driver = await createAzureDriver({
 *   accountname: 'myaccount',
 *   accountkey: process.env.AZURE_STORAGE_KEY,
 *   container: 'registry',
 * });
 * await driver.putContent('/hello', new TextEncoder().encode('world'));
 * ```
 * @throws {InvalidParameterError} naming the offending option.
 */
export async function createAzureDriver(
  options: AzureDriverOptions | ResolvedAzureDriverOptions,
  base?: BaseOptions,
): Promise<StorageDriver> {
  const resolved = 'auth' in options ? options : resolveAzureOptions(options);
  const clients = await createClients(resolved);
  try {
    await clients.container.createIfNotExists();
  } catch (error) {
    const status = statusOf(error);
    if (status !== 403 && status !== 409) throw error;
  }
  return withBase(new AzureDriver(resolved, clients), base);
}

/** The factory for `storage.azure`. */
export const azureDriverFactory: StorageDriverFactory<ResolvedAzureDriverOptions> = {
  name: 'azure',
  parseParameters: parseAzureParameters,
  create: (options: ResolvedAzureDriverOptions): Promise<StorageDriver> => createAzureDriver(options),
};
