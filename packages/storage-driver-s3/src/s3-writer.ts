import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { type FileWriter, pathNotFound } from '@berth/storage-driver';
import { isNotFound } from './client.ts';
import {
  completedParts,
  deleteQuietly,
  discardUpload,
  listParts,
  listUploads,
  type PendingUpload,
  type S3Context,
  type UploadedPart,
} from './context.ts';
import { copySource, runLimited } from './copy.ts';
import { MAX_PART_SIZE, MAX_PARTS_IN_FLIGHT, MIN_PART_SIZE } from './options.ts';

/** Tail object metadata: how many parts the tail follows, and how many bytes they hold. */
const META_PARTS = 'berth-parts';
const META_OFFSET = 'berth-offset';

/** First capacity of the part buffer of a writer that has not filled a part yet. */
const INITIAL_BUFFER = 256 * 1024;

/** Part size for part number `n`: `chunksize`, one `chunksize` more after every 1000 parts. */
function partSizeFor(chunksize: number, partNumber: number): number {
  return Math.min(MAX_PART_SIZE, chunksize * (1 + Math.floor((partNumber - 1) / 1000)));
}

/** Where a writer starts. */
interface WriterStart {
  readonly uploadId: string | undefined;
  readonly parts: readonly UploadedPart[];
  /** Bytes not in any part yet (a tail object's content, or a small committed file's). */
  readonly buffered: Uint8Array | undefined;
  /** Whether a tail object (valid or stale) exists for `uploadId`. */
  readonly tailExists: boolean;
  /** Whether the start state differs from what is stored (a fresh write not yet stored). */
  readonly dirty: boolean;
}

/**
 * A write to one S3 key (see the design note in `s3-driver.ts`). Full parts upload in the
 * background while later bytes are buffered; `close()` leaves the multipart upload plus, for
 * the bytes that did not fill a part, a tail object; `commit()` completes the upload (or puts
 * a small file with one `PutObject`); `cancel()` aborts it.
 */
export class S3Writer implements FileWriter {
  readonly #ctx: S3Context;
  readonly #path: string;
  readonly #key: string;
  #uploadId: string | undefined;
  /** Uploaded parts by number; after a drain they are exactly 1..n, all at least 5 MiB. */
  readonly #parts = new Map<number, UploadedPart>();
  #nextPart: number;
  #buffer: Buffer | undefined;
  #buffered = 0;
  #size: number;
  readonly #inflight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  #tailExists: boolean;
  #dirty: boolean;
  /** A part has been filled in this session: the stream is large, allocate whole parts. */
  #streaming = false;

  private constructor(ctx: S3Context, path: string, start: WriterStart) {
    this.#ctx = ctx;
    this.#path = path;
    this.#key = ctx.keys.key(path);
    this.#uploadId = start.uploadId;
    for (const part of start.parts) this.#parts.set(part.PartNumber, part);
    this.#nextPart = start.parts.length + 1;
    this.#size = start.parts.reduce((sum, part) => sum + part.Size, 0);
    this.#tailExists = start.tailExists;
    this.#dirty = start.dirty;
    if (start.buffered !== undefined && start.buffered.byteLength > 0) {
      this.#reserve(start.buffered.byteLength);
      this.#buffer!.set(start.buffered);
      this.#buffered = start.buffered.byteLength;
      this.#size += start.buffered.byteLength;
    }
  }

  /**
   * Opens a writer: a fresh one discards every pending write of the path; `append` continues
   * the newest pending write (discarding older ones), else the committed object.
   * @throws {StorageDriverError} `PATH_NOT_FOUND` for `append` with nothing to continue.
   */
  static async open(ctx: S3Context, path: string, append: boolean, signal?: AbortSignal): Promise<S3Writer> {
    const key = ctx.keys.key(path);
    const uploads = (await listUploads(ctx, key, signal)).filter((upload) => upload.key === key);
    if (!append) {
      await Promise.all(uploads.map((upload) => discardUpload(ctx, path, upload, signal)));
      return new S3Writer(ctx, path, {
        uploadId: undefined,
        parts: [],
        buffered: undefined,
        tailExists: false,
        dirty: true,
      });
    }
    const [newest, ...older] = uploads;
    if (newest !== undefined) {
      const start = await S3Writer.#resumeUpload(ctx, path, newest, signal);
      await Promise.all(older.map((upload) => discardUpload(ctx, path, upload, signal)));
      if (start !== undefined) return new S3Writer(ctx, path, start);
    }
    return new S3Writer(ctx, path, await S3Writer.#continueObject(ctx, path, signal));
  }

  /**
   * The state of a pending upload: its parts 1..n up to the first missing or small one, plus
   * its tail object if that was written after exactly those parts. `undefined` if it vanished.
   */
  static async #resumeUpload(
    ctx: S3Context,
    path: string,
    upload: PendingUpload,
    signal: AbortSignal | undefined,
  ): Promise<WriterStart | undefined> {
    const tailKey = ctx.keys.tailKey(path, upload.uploadId);
    let listed: UploadedPart[];
    let tail: { bytes: Uint8Array; parts: number; offset: number } | undefined;
    try {
      [listed, tail] = await Promise.all([
        listParts(ctx, upload.key, upload.uploadId, signal),
        S3Writer.#readTail(ctx, tailKey, signal),
      ]);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    // A part can be missing after a crash with parts in flight, and a small part is the last
    // part of a commit that failed: neither is part of the resumable state.
    const parts: UploadedPart[] = [];
    for (const part of listed) {
      if (part.PartNumber !== parts.length + 1 || part.Size < MIN_PART_SIZE) break;
      parts.push(part);
    }
    const offset = parts.reduce((sum, part) => sum + part.Size, 0);
    const valid = tail !== undefined && tail.parts === parts.length && tail.offset === offset;
    return {
      uploadId: upload.uploadId,
      parts,
      buffered: valid ? tail!.bytes : undefined,
      tailExists: tail !== undefined,
      dirty: false,
    };
  }

  static async #readTail(
    ctx: S3Context,
    tailKey: string,
    signal: AbortSignal | undefined,
  ): Promise<{ bytes: Uint8Array; parts: number; offset: number } | undefined> {
    try {
      const out = await ctx.client.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: tailKey }), {
        abortSignal: signal,
      });
      const bytes = out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
      const parts = Number(out.Metadata?.[META_PARTS]);
      const offset = Number(out.Metadata?.[META_OFFSET]);
      return { bytes, parts: Number.isSafeInteger(parts) ? parts : -1, offset };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Continues a committed object: a small one is read into the buffer; a larger one seeds a
   * new multipart upload with server-side copies of itself (`UploadPartCopy`).
   */
  static async #continueObject(
    ctx: S3Context,
    path: string,
    signal: AbortSignal | undefined,
  ): Promise<WriterStart> {
    const key = ctx.keys.key(path);
    let size: number;
    let etag: string | undefined;
    try {
      const head = await ctx.client.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: key }), {
        abortSignal: signal,
      });
      size = head.ContentLength ?? 0;
      etag = head.ETag;
    } catch (err) {
      if (isNotFound(err)) throw pathNotFound(path, err);
      throw err;
    }
    const fresh = { uploadId: undefined, parts: [], buffered: undefined, tailExists: false, dirty: false };
    if (size === 0) return fresh;
    if (size < MIN_PART_SIZE) {
      try {
        const out = await ctx.client.send(
          new GetObjectCommand({ Bucket: ctx.bucket, Key: key, ...(etag ? { IfMatch: etag } : {}) }),
          { abortSignal: signal },
        );
        const bytes = out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
        return { ...fresh, buffered: bytes };
      } catch (err) {
        if (isNotFound(err)) throw pathNotFound(path, err);
        throw err;
      }
    }
    const created = await ctx.client.send(
      new CreateMultipartUploadCommand({
        Bucket: ctx.bucket,
        Key: key,
        ChecksumAlgorithm: ctx.checksumAlgorithm,
        ...ctx.objectParams,
      }),
      { abortSignal: signal },
    );
    const uploadId = created.UploadId!;
    try {
      // As few parts as S3 allows (at most 5 GiB each), so the copy costs few requests.
      const count = Math.ceil(size / MAX_PART_SIZE);
      const partSize = Math.ceil(size / count);
      const parts = await runLimited(count, ctx.options.multipartcopymaxconcurrency, async (i) => {
        const start = i * partSize;
        const end = Math.min(size, start + partSize) - 1;
        const out = await ctx.client.send(
          new UploadPartCopyCommand({
            Bucket: ctx.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: i + 1,
            CopySource: copySource(ctx.bucket, key),
            CopySourceRange: `bytes=${start}-${end}`,
            ...(etag ? { CopySourceIfMatch: etag } : {}),
          }),
          { abortSignal: signal },
        );
        return {
          PartNumber: i + 1,
          ETag: out.CopyPartResult?.ETag ?? '',
          Size: end - start + 1,
          ChecksumCRC32: out.CopyPartResult?.ChecksumCRC32,
        };
      });
      return { uploadId, parts, buffered: undefined, tailExists: false, dirty: false };
    } catch (err) {
      await discardUpload(ctx, path, { key, uploadId }).catch(() => {});
      if (isNotFound(err)) throw pathNotFound(path, err);
      throw err;
    }
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#throwFailure();
    this.#dirty = true;
    let offset = 0;
    while (offset < chunk.byteLength) {
      const partSize = partSizeFor(this.#ctx.options.chunksize, this.#nextPart);
      const n = Math.min(partSize - this.#buffered, chunk.byteLength - offset);
      this.#reserve(this.#buffered + n);
      this.#buffer!.set(chunk.subarray(offset, offset + n), this.#buffered);
      this.#buffered += n;
      this.#size += n;
      offset += n;
      if (this.#buffered === partSize) {
        this.#streaming = true;
        await this.#startPart();
        while (this.#inflight.size >= MAX_PARTS_IN_FLIGHT) await Promise.race(this.#inflight);
        this.#throwFailure();
      }
    }
  }

  async close(): Promise<void> {
    try {
      await this.#drain();
      if (this.#dirty) await this.#persist();
    } finally {
      this.#release();
    }
  }

  async commit(): Promise<void> {
    try {
      await this.#drain();
      if (this.#parts.size === 0) {
        await this.#putWhole();
      } else {
        await this.#complete();
      }
    } catch (err) {
      // Keep the write pending, as the contract asks of a failed commit (best effort).
      try {
        await this.#drain();
        await this.#persist();
      } catch {
        // the original error says more
      }
      this.#release();
      throw err;
    }
    this.#release();
  }

  async cancel(): Promise<void> {
    await Promise.allSettled(this.#inflight);
    this.#release();
    if (this.#uploadId !== undefined) {
      await discardUpload(this.#ctx, this.#path, { key: this.#key, uploadId: this.#uploadId });
    }
  }

  /** Grows the buffer to hold `needed` bytes (whole parts at once for a large stream). */
  #reserve(needed: number): void {
    if (this.#buffer !== undefined && this.#buffer.byteLength >= needed) return;
    const partSize = partSizeFor(this.#ctx.options.chunksize, this.#nextPart);
    const capacity = this.#streaming
      ? partSize
      : Math.min(partSize, Math.max(needed, INITIAL_BUFFER, 2 * (this.#buffer?.byteLength ?? 0)));
    const grown =
      capacity === this.#ctx.buffers.size
        ? this.#ctx.buffers.take()
        : Buffer.allocUnsafe(Math.max(capacity, needed));
    if (this.#buffer !== undefined && this.#buffered > 0) this.#buffer.copy(grown, 0, 0, this.#buffered);
    this.#giveBack(this.#buffer);
    this.#buffer = grown;
  }

  #giveBack(buffer: Buffer | undefined): void {
    if (buffer !== undefined) this.#ctx.buffers.give(buffer);
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /** Waits for the parts in flight; rejects with the first failure. */
  async #drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.race(this.#inflight);
    this.#throwFailure();
  }

  async #ensureUpload(): Promise<string> {
    if (this.#uploadId === undefined) {
      const out = await this.#ctx.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.#ctx.bucket,
          Key: this.#key,
          ChecksumAlgorithm: this.#ctx.checksumAlgorithm,
          ...this.#ctx.objectParams,
        }),
      );
      this.#uploadId = out.UploadId!;
    }
    return this.#uploadId;
  }

  /** Starts uploading the buffered bytes as the next part (in the background). */
  async #startPart(): Promise<void> {
    const uploadId = await this.#ensureUpload();
    const buffer = this.#buffer!;
    const body = buffer.subarray(0, this.#buffered);
    const partNumber = this.#nextPart++;
    this.#buffer = undefined;
    this.#buffered = 0;
    const upload = this.#uploadPart(uploadId, partNumber, body)
      .then((part) => {
        this.#parts.set(partNumber, part);
      })
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => {
        this.#inflight.delete(upload);
        this.#giveBack(buffer);
      });
    this.#inflight.add(upload);
  }

  async #uploadPart(uploadId: string, partNumber: number, body: Uint8Array): Promise<UploadedPart> {
    const out = await this.#ctx.client.send(
      new UploadPartCommand({
        Bucket: this.#ctx.bucket,
        Key: this.#key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.byteLength,
        ChecksumAlgorithm: this.#ctx.checksumAlgorithm,
      }),
    );
    return {
      PartNumber: partNumber,
      ETag: out.ETag ?? '',
      Size: body.byteLength,
      ChecksumCRC32: out.ChecksumCRC32,
    };
  }

  /**
   * Stores the state so that `append` resumes it: the multipart upload (created even for zero
   * bytes: it is what marks the pending write), the buffered bytes as a part when they are
   * enough for one, else as the tail object (tagged with the parts it follows).
   */
  async #persist(): Promise<void> {
    const uploadId = await this.#ensureUpload();
    if (this.#buffered >= MIN_PART_SIZE) {
      await this.#startPart();
      await this.#drain();
    }
    const tailKey = this.#ctx.keys.tailKey(this.#path, uploadId);
    if (this.#buffered > 0) {
      const offset = [...this.#parts.values()].reduce((sum, part) => sum + part.Size, 0);
      await this.#ctx.client.send(
        new PutObjectCommand({
          Bucket: this.#ctx.bucket,
          Key: tailKey,
          Body: this.#buffer!.subarray(0, this.#buffered),
          ContentLength: this.#buffered,
          Metadata: { [META_PARTS]: String(this.#parts.size), [META_OFFSET]: String(offset) },
          ...this.#ctx.objectParams,
        }),
      );
      this.#tailExists = true;
    } else if (this.#tailExists) {
      await deleteQuietly(this.#ctx, tailKey);
      this.#tailExists = false;
    }
    this.#dirty = false;
  }

  /** Commits a write that never filled a part: one `PutObject`, then drops the pending upload. */
  async #putWhole(): Promise<void> {
    await this.#ctx.client.send(
      new PutObjectCommand({
        Bucket: this.#ctx.bucket,
        Key: this.#key,
        Body: this.#buffer === undefined ? new Uint8Array(0) : this.#buffer.subarray(0, this.#buffered),
        ContentLength: this.#buffered,
        ...this.#ctx.objectParams,
      }),
    );
    if (this.#uploadId !== undefined) {
      await discardUpload(this.#ctx, this.#path, { key: this.#key, uploadId: this.#uploadId });
    }
  }

  /** Uploads the buffered bytes as the last part and completes the multipart upload. */
  async #complete(): Promise<void> {
    const uploadId = await this.#ensureUpload();
    const parts = [...this.#parts.values()].sort((a, b) => a.PartNumber - b.PartNumber);
    if (this.#buffered > 0) {
      // Not added to #parts: if completing fails, #persist() stores these bytes again.
      parts.push(await this.#uploadPart(uploadId, this.#nextPart, this.#buffer!.subarray(0, this.#buffered)));
    }
    await this.#ctx.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.#ctx.bucket,
        Key: this.#key,
        UploadId: uploadId,
        MultipartUpload: { Parts: completedParts(parts) },
      }),
    );
    if (this.#tailExists) await deleteQuietly(this.#ctx, this.#ctx.keys.tailKey(this.#path, uploadId));
  }

  #release(): void {
    this.#giveBack(this.#buffer);
    this.#buffer = undefined;
    this.#buffered = 0;
  }
}
