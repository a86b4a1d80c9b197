/**
 * Upload sessions (`POST`/`PATCH`/`PUT …/blobs/uploads/<uuid>`): where the bytes go, and how
 * their digest is known at the end without reading them back.
 *
 * ## Storage
 *
 * `_uploads/<uuid>/startedat` (RFC 3339, as registry:2; written by `create()`, not fsynced: losing
 * it in a crash only makes the client restart the blob) and `_uploads/<uuid>/data`, which is a
 * *pending* driver write for the whole life of the upload: the first `append()` with a byte starts
 * it (until then the upload is empty), every later one continues it with
 * `writer(path, { append: true })` and `close()`s it, so any process sharing the storage can
 * continue. `complete()` commits it and moves it to the blob path, after the digest is verified;
 * a crash at any point leaves either no blob or a complete, verified one. Berth's hashing state
 * lives under `_uploads/<uuid>/_berth/` (registry:2 ignores it; Berth never writes registry:2's
 * `hashstates/`, whose Go format it does not share).
 *
 * A blob sent whole to an empty upload (`complete(digest, chunk)`: a monolithic `PUT`, a single
 * `POST`) skips all that: its bytes go to a pending write of the blob's own path, hashed on the
 * way, committed only once the digest matches (see `#storeWhole`).
 *
 * ## Hashing: three modes
 *
 * 1. **Fast** (node:crypto, ~1.8 GB/s for sha256). An upload starts in fast mode. The process
 *    keeps the hasher in a bounded in-process LRU (`uploadHashers`, uuid → hasher whose `size`
 *    is the number of bytes it has hashed), so consecutive PATCHes on one process keep it. At
 *    the end of each fast PATCH the digest *of the bytes so far* is written to
 *    `_berth/digests/<alg>/<size>` (node:crypto's `Hash.copy()` makes that free). So the common
 *    monolithic push — one PATCH (or POST) with the whole blob, then the PUT, even when the PUT
 *    lands on another replica or after a restart — never re-reads the data.
 * 2. **Resumable** (`@berth/digest`'s WebAssembly hasher, ~0.3 GB/s, state saved to
 *    `_berth/hashstates/<alg>/<size>` at the end of every PATCH). A PATCH that arrives on a
 *    process which does not hold the hasher at exactly the upload's size (another replica, a
 *    restart, an evicted or stale entry) switches the upload to this mode: it loads the newest
 *    saved state ≤ size, rehashes the gap from the stored data, then continues. From then on
 *    every PATCH, on any process, finds a state at exactly its start offset: no more re-reads.
 * 3. **Re-read at `complete()`**, only when neither of the above covers the final size (the
 *    process died between writing the last bytes and saving their state, or the client's digest
 *    uses the other algorithm): commit, then hash what is missing with whichever is cheaper,
 *    the saved state plus the gap, or node:crypto over everything.
 *
 * ## Reading the gap of a pending write
 *
 * The pending data is invisible to `reader()`. Options considered:
 * - commit at the end of *every* PATCH and continue with `append` on the committed file: that
 *   contract is supported, but costs a copy of the whole file per chunk (the fs driver copies
 *   the committed file to a new pending one; S3 does a multipart copy). Rejected.
 * - store each chunk as its own readable file: then `complete()` must concatenate them into the
 *   blob, a full copy of every chunked upload. Rejected.
 * - **chosen**: keep the data pending, and commit it only at the moment of a switch to resumable
 *   mode (and in mode 3), read the gap from the committed file, then continue appending to it.
 *   The one copy that costs happens at most once per upload (the switch happens once: afterwards
 *   a saved state always exists at the current size, barring a crash mid-PATCH), only for
 *   uploads whose chunks actually move between processes after fast-mode bytes, and never for
 *   monolithic uploads. A committed `_uploads/<uuid>/data` is not a blob: nothing is visible at
 *   the blob path until the digest has been verified.
 *
 * ## One writer at a time
 *
 * Every operation that writes (`append`, `complete`, `cancel`) holds the upload exclusively:
 * within a process through `StoreContext.uploadLocks`, across processes through a claim
 * (`upload-claims.ts`). Holding it, the operation first re-reads what the request was answered
 * from — the upload still exists, its size is still the one the client's location names — since
 * another request may have changed both between `get()` and now. A request that finds the upload
 * claimed by another process is refused with `416 RANGE_INVALID` (the client asks for the status
 * and retries), one that finds it completed or cancelled with `404 BLOB_UPLOAD_UNKNOWN`, and
 * either leaves nothing behind. (registry:2 does not serialize at all: two PATCHes on one upload
 * may interleave their bytes.)
 */
import { createHash, type Hash, randomUUID } from 'node:crypto';
import {
  type Algorithm,
  createResumableHasher,
  type Digest,
  digestOf,
  isAlgorithm,
  isDigest,
  isDigestError,
  loadResumableHasher,
  type ResumableHasher,
} from '@berth/digest';
import { baseName, type FileWriter, isPathNotFound } from '@berth/storage-driver';
import { BLOB_MEDIA_TYPE } from './blob-store.ts';
import { nextNonEmpty } from './chunks.ts';
import type { StoreContext } from './context.ts';
import { isRegistryError, RegistryError } from './errors.ts';
import { linkBlob } from './linked-blob-store.ts';
import { digestParts, orUndefined } from './links.ts';
import { pathFor } from './paths.ts';
import type { BlobDescriptor, FinalChunk, Upload, UploadStore } from './types.ts';
import { claimUpload, type UploadClaim } from './upload-claims.ts';

/**
 * A hasher of an upload's bytes, kept between requests in {@link StoreContext.uploadHashers}.
 * `size` is the number of bytes it has hashed, which must equal the upload's size to be used.
 */
export interface UploadHasher {
  /** `fast`: node:crypto, cannot be saved; `resumable`: state saved at the end of each PATCH. */
  readonly kind: 'fast' | 'resumable';
  readonly algorithm: Algorithm;
  readonly size: number;
  update(chunk: Uint8Array): void;
  /** The digest of the bytes hashed so far; the hasher stays usable. */
  peek(): Promise<Digest>;
  /** The resumable state (resumable hashers only). */
  save(): Uint8Array | undefined;
}

class FastHasher implements UploadHasher {
  readonly kind = 'fast';
  readonly algorithm: Algorithm;
  readonly #hash: Hash;
  #size = 0;

  constructor(algorithm: Algorithm) {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  get size(): number {
    return this.#size;
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
  }

  async peek(): Promise<Digest> {
    return `${this.algorithm}:${this.#hash.copy().digest('hex')}` as Digest;
  }

  save(): undefined {
    return undefined;
  }
}

class ResumableUploadHasher implements UploadHasher {
  readonly kind = 'resumable';
  readonly #inner: ResumableHasher;

  constructor(inner: ResumableHasher) {
    this.#inner = inner;
  }

  get algorithm(): Algorithm {
    return this.#inner.algorithm;
  }

  get size(): number {
    return this.#inner.size;
  }

  update(chunk: Uint8Array): void {
    this.#inner.update(chunk);
  }

  async peek(): Promise<Digest> {
    return (await loadResumableHasher(this.#inner.save())).digest();
  }

  save(): Uint8Array {
    return this.#inner.save();
  }
}

/**
 * How many times faster node:crypto is than the resumable hasher (measured in
 * packages/digest/README.md): decides, when `complete()` must read, whether to continue a saved
 * state over the gap or to hash everything with node:crypto.
 */
const FAST_TO_RESUMABLE_SPEED: Readonly<Record<Algorithm, number>> = { sha256: 6, sha512: 1.7 };

/** Upload ids Berth accepts: anything registry:2 or Berth generates that is a safe path component. */
const UPLOAD_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Upload bookkeeping need not survive a power loss: without `startedat` the client restarts the
 * blob (the upload is unknown); without a saved hash state or digest the data is re-read.
 * Nothing a client was told is stored lost: blobs and links are written durably.
 */
const SCRATCH = { durable: false } as const;

/** registry:2's `startedat`: RFC 3339 in UTC with whole seconds (`2006-01-02T15:04:05Z`). */
function formatStartedAt(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses a `startedat` file; `undefined` when it is not a date. */
export function parseStartedAt(bytes: Uint8Array): Date | undefined {
  const text = decoder.decode(bytes).trim();
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function uploadUnknown(uuid: string, cause?: unknown): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid }, { cause });
}

function isRegistryErrorCode(err: unknown, code: string): boolean {
  return isRegistryError(err) && err.code === code;
}

function rangeInvalid(expected: number, size: number): RegistryError {
  return new RegistryError('RANGE_INVALID', `upload is at offset ${size}, not ${expected}`, {
    offset: expected,
    size,
  });
}

function uploadBusy(size: number): RegistryError {
  return new RegistryError(
    'RANGE_INVALID',
    'upload is busy: another request is writing to it; ask for its status and retry',
    { offset: size, size },
  );
}

/** Creates the upload store of repository `name` (validated by the caller). */
export function createUploadStore(ctx: StoreContext, name: string): UploadStore {
  return {
    async create(options = {}) {
      const algorithm = options.algorithm ?? 'sha256';
      if (!isAlgorithm(algorithm)) {
        throw new RegistryError(
          'DIGEST_INVALID',
          `unsupported digest algorithm ${JSON.stringify(algorithm)}`,
          {
            algorithm,
          },
        );
      }
      const uuid = randomUUID();
      const startedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const upload = new StoredUpload(ctx, name, uuid, startedAt, algorithm, 0);
      await upload.start();
      return upload;
    },

    async get(uuid, state) {
      if (!UPLOAD_ID.test(uuid)) throw uploadUnknown(uuid);
      const { driver } = ctx;
      // One round trip: the size read opens and closes its own writer whatever the others find.
      const [startedAtBytes, algorithmBytes, size] = await Promise.all([
        orUndefined(driver.getContent(pathFor({ kind: 'uploadStartedAt', name, id: uuid }))),
        orUndefined(driver.getContent(pathFor({ kind: 'berthUploadAlgorithm', name, id: uuid }))),
        storedSize(ctx, pathFor({ kind: 'uploadData', name, id: uuid }), uuid).then(
          (value) => ({ value }),
          // No data yet (or any more): with `startedat` there, checked below, the upload is empty.
          (error: unknown) => (isRegistryErrorCode(error, 'BLOB_UPLOAD_UNKNOWN') ? { value: 0 } : { error }),
        ),
      ]);
      if (startedAtBytes === undefined) throw uploadUnknown(uuid);
      if ('error' in size) throw size.error;
      const algorithm = algorithmBytes === undefined ? 'sha256' : decoder.decode(algorithmBytes).trim();
      if (!isAlgorithm(algorithm)) {
        throw new RegistryError('BLOB_UPLOAD_INVALID', `upload has unknown digest algorithm ${algorithm}`, {
          uuid,
        });
      }
      if (state.offset !== undefined && size.value !== state.offset) {
        throw rangeInvalid(state.offset, size.value);
      }
      const startedAt = parseStartedAt(startedAtBytes) ?? state.startedAt;
      return new StoredUpload(ctx, name, uuid, startedAt, algorithm, size.value);
    },
  };
}

/** Opens the upload's data for appending (the pending write, else the committed file). */
async function openData(ctx: StoreContext, dataPath: string, uuid: string): Promise<FileWriter> {
  try {
    return await ctx.driver.writer(dataPath, { append: true });
  } catch (err) {
    if (isPathNotFound(err)) throw uploadUnknown(uuid, err);
    throw err;
  }
}

/** The size of the upload's stored data. @throws `BLOB_UPLOAD_UNKNOWN` when there is none. */
async function storedSize(ctx: StoreContext, dataPath: string, uuid: string): Promise<number> {
  const writer = await openData(ctx, dataPath, uuid);
  const size = writer.size;
  await writer.close();
  return size;
}

class StoredUpload implements Upload {
  readonly name: string;
  readonly uuid: string;
  readonly startedAt: Date;
  readonly algorithm: Algorithm;
  readonly #ctx: StoreContext;
  readonly #key: string;
  readonly #dataPath: string;
  #size: number;
  /** The claim held by the running write (see `#exclusive`). */
  #claim: UploadClaim | undefined;

  constructor(
    ctx: StoreContext,
    name: string,
    uuid: string,
    startedAt: Date,
    algorithm: Algorithm,
    size: number,
  ) {
    this.#ctx = ctx;
    this.name = name;
    this.uuid = uuid;
    this.startedAt = startedAt;
    this.algorithm = algorithm;
    this.#size = size;
    this.#key = `${name}@${uuid}`;
    this.#dataPath = pathFor({ kind: 'uploadData', name, id: uuid });
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Writes `startedat` (and the algorithm when not sha256). The data write starts with the
   * first byte: an upload without data is empty.
   */
  async start(): Promise<void> {
    const { driver } = this.#ctx;
    const writes: Promise<unknown>[] = [
      driver.putContent(
        pathFor({ kind: 'uploadStartedAt', name: this.name, id: this.uuid }),
        encoder.encode(formatStartedAt(this.startedAt)),
        SCRATCH,
      ),
    ];
    if (this.algorithm !== 'sha256') {
      writes.push(
        driver.putContent(
          pathFor({ kind: 'berthUploadAlgorithm', name: this.name, id: this.uuid }),
          encoder.encode(this.algorithm),
          SCRATCH,
        ),
      );
    }
    await Promise.all(writes);
  }

  /**
   * Opens the data for appending at `size` bytes; for an empty upload without data yet, a new
   * write.
   */
  async #openWriter(size: number): Promise<FileWriter> {
    try {
      return await openData(this.#ctx, this.#dataPath, this.uuid);
    } catch (err) {
      if (size !== 0 || !isRegistryErrorCode(err, 'BLOB_UPLOAD_UNKNOWN')) throw err;
      return this.#ctx.driver.writer(this.#dataPath);
    }
  }

  async append(source: AsyncIterable<Uint8Array>, expectedStart?: number): Promise<number> {
    const start = this.#size;
    if (expectedStart !== undefined && expectedStart !== start) throw rangeInvalid(expectedStart, start);
    // Wait for the first byte before touching storage, claim included: an empty body (a final
    // PUT without a chunk) must not make another process switch this upload to resumable mode.
    const chunks = source[Symbol.asyncIterator]();
    const first = await nextNonEmpty(chunks);
    if (first.done) return start;
    try {
      return await this.#exclusive(() => this.#append(chunks, first));
    } catch (err) {
      await chunks.return?.().catch(() => {});
      throw err;
    }
  }

  /**
   * Runs `fn` holding this upload exclusively (see "One writer at a time" in the module comment),
   * once the upload is known to still exist at the size this object was loaded with.
   */
  #exclusive<T>(fn: (exists: boolean) => Promise<T>, options: { forCancel?: boolean } = {}): Promise<T> {
    return this.#ctx.uploadLocks.run(this.#key, async () => {
      const { claim, checked } = await claimUpload(this.#ctx.driver, this.name, this.uuid, {
        check: () => this.#readState(),
      });
      if (claim === undefined) throw uploadBusy(this.#size);
      this.#claim = claim;
      try {
        return await fn(this.#verifyState(checked, options.forCancel === true));
      } finally {
        this.#claim = undefined;
        // Best effort: a claim left behind is stale, and ignored, after CLAIM_TTL_MS.
        await claim.release().catch(() => {});
      }
    });
  }

  /** Whether the upload exists, and its stored size: read once the upload is claimed. */
  async #readState(): Promise<{ exists: boolean; size: number }> {
    const { driver } = this.#ctx;
    const [startedAt, size] = await Promise.all([
      orUndefined(driver.stat(pathFor({ kind: 'uploadStartedAt', name: this.name, id: this.uuid }))),
      storedSize(this.#ctx, this.#dataPath, this.uuid).catch((error: unknown) => {
        if (isRegistryErrorCode(error, 'BLOB_UPLOAD_UNKNOWN')) return 0;
        throw error;
      }),
    ]);
    return { exists: startedAt !== undefined, size };
  }

  /**
   * Checks that the upload still exists (`BLOB_UPLOAD_UNKNOWN`) and still has the size this
   * object knows (`RANGE_INVALID`): another request may have changed both since `get()`. For a
   * cancel, which works with any earlier location, the size is taken as it is, and a missing
   * upload is reported (`false`) instead: what is left of it is still removed.
   */
  #verifyState(state: { exists: boolean; size: number }, forCancel: boolean): boolean {
    if (!state.exists) {
      this.#ctx.uploadHashers.delete(this.#key);
      if (forCancel) return false;
      throw uploadUnknown(this.uuid);
    }
    if (forCancel) this.#size = state.size;
    else if (state.size !== this.#size) throw rangeInvalid(this.#size, state.size);
    return true;
  }

  /**
   * Appends `next` and the rest of `chunks` at the upload's current size; the caller holds the
   * upload (`#exclusive`).
   */
  async #append(chunks: AsyncIterator<Uint8Array>, first: IteratorResult<Uint8Array>): Promise<number> {
    const start = this.#size;
    let next = first;
    if (next.done) return start;

    let hasher: UploadHasher;
    let writer: FileWriter;
    try {
      hasher = await this.#acquireHasher(start);
      writer = await this.#openWriter(start);
    } catch (err) {
      await chunks.return?.().catch(() => {});
      throw err;
    }
    if (writer.size !== start) {
      await writer.close();
      await chunks.return?.().catch(() => {});
      throw rangeInvalid(start, writer.size);
    }

    let failure: unknown;
    let writeFailed = false;
    try {
      while (!next.done) {
        const chunk = next.value;
        // Hash while the driver writes; if the write fails the hasher is discarded below.
        const written = writer.write(chunk);
        hasher.update(chunk);
        try {
          await written;
        } catch (err) {
          writeFailed = true;
          throw err;
        }
        next = await chunks.next();
      }
    } catch (err) {
      failure = err;
      await chunks.return?.().catch(() => {});
    }
    try {
      await writer.close();
    } catch (err) {
      writeFailed = true;
      failure ??= err;
    }

    if (writeFailed) {
      // What reached storage is unknown: drop the hasher; the next request rehashes.
      this.#size = await storedSize(this.#ctx, this.#dataPath, this.uuid).catch(() => this.#size);
    } else {
      this.#size = writer.size;
      if (hasher.size === writer.size) {
        await this.#persist(hasher);
        this.#ctx.uploadHashers.set(this.#key, hasher);
      }
    }
    if (failure !== undefined) throw failure;
    return this.#size;
  }

  /** Saves what another process needs to continue without re-reading (best effort). */
  async #persist(hasher: UploadHasher): Promise<void> {
    if (hasher.size === 0) return;
    const { driver } = this.#ctx;
    const common = { name: this.name, id: this.uuid, algorithm: hasher.algorithm, offset: hasher.size };
    try {
      const state = hasher.save();
      if (state !== undefined) {
        await driver.putContent(pathFor({ kind: 'berthHashState', ...common }), state, SCRATCH);
      } else {
        await driver.putContent(
          pathFor({ kind: 'berthUploadDigest', ...common }),
          encoder.encode(await hasher.peek()),
          SCRATCH,
        );
      }
    } catch {
      // Losing this only costs a re-read later; the bytes themselves are stored.
    }
  }

  /** A hasher positioned at exactly `size` bytes of this upload (see the module comment). */
  async #acquireHasher(size: number): Promise<UploadHasher> {
    const cached = this.#ctx.uploadHashers.take(this.#key);
    if (cached !== undefined && cached.size === size && cached.algorithm === this.algorithm) return cached;
    if (size === 0) return new FastHasher(this.algorithm);

    // Resumable mode: continue the newest saved state, rehashing the gap after it if any.
    const saved = await this.#newestState(size);
    if (saved !== undefined && saved.size === size) return saved;
    const hasher = saved ?? new ResumableUploadHasher(await createResumableHasher(this.algorithm));
    await this.#commitData(size);
    await this.#hashStored(hasher, hasher.size, size);
    await this.#persist(hasher);
    return hasher;
  }

  /** The newest valid saved state of this upload's algorithm at or below `size`. */
  async #newestState(size: number): Promise<UploadHasher | undefined> {
    const { driver } = this.#ctx;
    const common = { name: this.name, id: this.uuid, algorithm: this.algorithm };
    const names = await orUndefined(driver.list(pathFor({ kind: 'berthHashStates', ...common })));
    if (names === undefined) return undefined;
    const offsets = names
      .map(baseName)
      .filter((name) => /^[1-9]\d{0,15}$/.test(name))
      .map(Number)
      .filter((offset) => offset <= size)
      .sort((a, b) => b - a);
    for (const offset of offsets) {
      const state = await orUndefined(
        driver.getContent(pathFor({ kind: 'berthHashState', ...common, offset })),
      );
      if (state === undefined) continue;
      try {
        const inner = await loadResumableHasher(state, { algorithm: this.algorithm, size: offset });
        return new ResumableUploadHasher(inner);
      } catch (err) {
        if (isDigestError(err, 'HASH_STATE_INVALID')) continue;
        throw err;
      }
    }
    return undefined;
  }

  /**
   * Makes the first `size` bytes of the data readable at the upload's data path by committing
   * the pending write (skipped when a committed file of that size is already there). Later
   * appends continue from the committed file.
   */
  async #commitData(size: number): Promise<void> {
    const { driver } = this.#ctx;
    const info = await orUndefined(driver.stat(this.#dataPath));
    if (info !== undefined && !info.isDir && info.size === size) return;
    const writer = await this.#openWriter(size);
    if (writer.size !== size) {
      await writer.close();
      throw rangeInvalid(size, writer.size);
    }
    await writer.commit();
  }

  /** Feeds bytes `[from, to)` of the committed data to `hasher`. */
  async #hashStored(hasher: UploadHasher, from: number, to: number): Promise<void> {
    if (from >= to) return;
    let remaining = to - from;
    const stream = await this.#ctx.driver.reader(this.#dataPath, { offset: from });
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      if (chunk.byteLength >= remaining) {
        hasher.update(chunk.byteLength === remaining ? chunk : chunk.subarray(0, remaining));
        remaining = 0;
        break;
      }
      hasher.update(chunk);
      remaining -= chunk.byteLength;
    }
    if (remaining > 0) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `upload data ends ${remaining} bytes early`, {
        uuid: this.uuid,
      });
    }
  }

  complete(digest: Digest, chunk?: FinalChunk): Promise<BlobDescriptor> {
    return this.#exclusive(async () => {
      if (chunk !== undefined) {
        const start = this.#size;
        if (chunk.expectedStart !== undefined && chunk.expectedStart !== start) {
          throw rangeInvalid(chunk.expectedStart, start);
        }
        if (start === 0) {
          const whole = await this.#storeWhole(chunk.source, digest);
          if (whole !== undefined) return whole;
        } else {
          const chunks = chunk.source[Symbol.asyncIterator]();
          await this.#append(chunks, await nextNonEmpty(chunks));
        }
      }
      return this.#complete(digest);
    });
  }

  /**
   * The whole blob in one request (a monolithic `PUT`, or a single `POST`), on an empty upload:
   * the bytes go straight to a write of the blob's own path, hashed on the way, and are
   * committed there only once the digest matches; nothing is stored in the upload, so no copy
   * or rename of the data, no saved hash state and no `startedat` reads follow. On a mismatch
   * or a failed stream the write is discarded and the upload stays empty, so the client can
   * retry with the same location. Concurrent pushes of the same blob each write their own
   * pending copy; the commits replace the file with identical, verified bytes.
   *
   * `undefined` when the body was empty: the caller completes the empty upload as usual.
   */
  async #storeWhole(source: AsyncIterable<Uint8Array>, digest: Digest): Promise<BlobDescriptor | undefined> {
    const { algorithm, encoded } = digestParts(digest);
    const { driver } = this.#ctx;
    const chunks = source[Symbol.asyncIterator]();
    let next = await nextNonEmpty(chunks);
    if (next.done) return undefined;

    const hash = createHash(algorithm);
    let size = 0;
    let writer: FileWriter;
    try {
      writer = await driver.writer(pathFor({ kind: 'blobData', algorithm, encoded }));
    } catch (err) {
      await chunks.return?.().catch(() => {});
      throw err;
    }
    try {
      while (!next.done) {
        const chunk = next.value;
        const written = writer.write(chunk);
        hash.update(chunk);
        size += chunk.byteLength;
        await written;
        next = await chunks.next();
      }
    } catch (err) {
      await chunks.return?.().catch(() => {});
      await writer.cancel().catch(() => {});
      throw err;
    }
    const actual = `${algorithm}:${hash.digest('hex')}` as Digest;
    if (actual !== digest) {
      await writer.cancel().catch(() => {});
      throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${digest}`, {
        digest,
        size,
      });
    }
    await writer.commit();
    const descriptor = { digest, size, mediaType: BLOB_MEDIA_TYPE };
    await linkBlob(this.#ctx, this.name, descriptor);
    await this.#remove();
    return descriptor;
  }

  async #complete(digest: Digest): Promise<BlobDescriptor> {
    const { algorithm, encoded } = digestParts(digest);
    const { driver, blobs } = this.#ctx;
    const size = this.#size;

    let committed = false;
    const known = await this.#knownDigest(algorithm, size);
    let actual = known.digest;
    if (actual === undefined) {
      // Mode 3: read what no saved state covers.
      await this.#commitData(size);
      committed = true;
      const saved = known.saved;
      const gap = size - (saved?.size ?? 0);
      const hasher =
        saved !== undefined && gap * FAST_TO_RESUMABLE_SPEED[algorithm] < size
          ? saved
          : new FastHasher(algorithm);
      await this.#hashStored(hasher, hasher.size, size);
      actual = await hasher.peek();
      await this.#persistDigest(algorithm, size, actual);
    }
    if (actual !== digest) {
      throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${digest}`, {
        digest,
        size,
      });
    }

    const existing = await blobs.stat(digest).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'BLOB_UNKNOWN') return undefined;
      throw err;
    });
    if (existing === undefined || existing.size !== size) {
      if (!committed) await this.#commitData(size);
      await driver.move(this.#dataPath, pathFor({ kind: 'blobData', algorithm, encoded }));
    }
    const descriptor = { digest, size, mediaType: BLOB_MEDIA_TYPE };
    await linkBlob(this.#ctx, this.name, descriptor);
    await this.#remove();
    return descriptor;
  }

  /**
   * The digest of the first `size` bytes in `algorithm` if it is known without reading the
   * data; otherwise the newest saved state below `size` to continue from, if any.
   */
  async #knownDigest(algorithm: Algorithm, size: number): Promise<{ digest?: Digest; saved?: UploadHasher }> {
    if (size === 0) return { digest: digestOf(new Uint8Array(0), algorithm) };
    const cached = this.#ctx.uploadHashers.get(this.#key);
    if (cached !== undefined && cached.size === size && cached.algorithm === algorithm) {
      return { digest: await cached.peek() };
    }
    const { driver } = this.#ctx;
    const recorded = await orUndefined(
      driver.getContent(
        pathFor({ kind: 'berthUploadDigest', name: this.name, id: this.uuid, algorithm, offset: size }),
      ),
    );
    if (recorded !== undefined) {
      const text = decoder.decode(recorded).trim();
      if (isDigest(text) && text.startsWith(`${algorithm}:`)) return { digest: text };
    }
    if (algorithm !== this.algorithm) return {};
    const saved = await this.#newestState(size);
    if (saved === undefined) return {};
    return saved.size === size ? { digest: await saved.peek() } : { saved };
  }

  async #persistDigest(algorithm: Algorithm, size: number, digest: Digest): Promise<void> {
    try {
      await this.#ctx.driver.putContent(
        pathFor({ kind: 'berthUploadDigest', name: this.name, id: this.uuid, algorithm, offset: size }),
        encoder.encode(digest),
        SCRATCH,
      );
    } catch {
      // best effort, as in #persist
    }
  }

  cancel(): Promise<void> {
    return this.#exclusive(
      async (exists) => {
        await this.#remove();
        // Completed or cancelled by another request since it was loaded.
        if (!exists) throw uploadUnknown(this.uuid);
      },
      { forCancel: true },
    );
  }

  /** Deletes the upload directory (the claim in it too) and any pending data write; idempotent. */
  async #remove(): Promise<void> {
    this.#ctx.uploadHashers.delete(this.#key);
    const { driver } = this.#ctx;
    try {
      await driver.delete(pathFor({ kind: 'upload', name: this.name, id: this.uuid }));
      await this.#claim?.removedWithUpload();
    } catch (err) {
      if (!isPathNotFound(err)) throw err;
      // Nothing visible left; a pending write may still be (its directory shows nothing else).
      try {
        const writer = await driver.writer(this.#dataPath, { append: true });
        await writer.cancel();
      } catch (cancelErr) {
        if (!isPathNotFound(cancelErr)) throw cancelErr;
      }
    }
  }
}
