/**
 * The S3 storage driver (`storage.s3`): Amazon S3 and S3-compatible stores (Ceph radosgw,
 * MinIO, …) through `@aws-sdk/client-s3`, with registry:2's keys and key layout.
 *
 * ## Design note: the upload strategy
 *
 * A write goes to an S3 **multipart upload on the target key**, so `commit()` is one
 * `CompleteMultipartUpload` — atomic, and nothing is visible before it (S3 never shows an
 * unfinished upload to `HeadObject`, `GetObject` or listings). Bytes are copied into a part
 * buffer of `chunksize` (≥ 5 MiB, S3's minimum for every part but the last); each full part
 * uploads in the background (up to 4 per writer) while the next one fills.
 *
 * The hard part is `close()`: the write must stay resumable by another process, but S3 cannot
 * read back the parts of an unfinished upload, and a part smaller than 5 MiB may only be the
 * last. So a close with less than a part buffered (a registry PATCH of a few hundred KiB, or
 * the tail of any chunk) stores those bytes as a separate **tail object**,
 * `<rootdirectory>/!berth/tails/<path>/<hash of the upload id>`, tagged with metadata
 * `berth-parts` / `berth-offset` = the number of parts and bytes it follows. Buffered bytes of
 * 5 MiB or more are simply uploaded as a part. The multipart upload itself (created even for a
 * zero-byte write) is what marks a pending write.
 *
 * `writer(path, { append: true })` in any process finds the pending upload with
 * `ListMultipartUploads` (prefix = the key, exact key match, the newest by initiation time;
 * older ones are aborted), reads its parts (`ListParts`: parts 1..n up to the first gap or
 * part below 5 MiB — what a crash or a failed commit can leave) and its tail object; the tail
 * is re-buffered only if it was written after exactly those parts, otherwise it is stale (its
 * bytes went into a later part) and is dropped. Writing resumes at part n + 1. Every state a
 * crash can leave is therefore a consistent prefix of what was written. (Parts after a gap —
 * a crash with parts in flight finishing out of order — are overwritten as the resumed write
 * reaches their numbers; until then radosgw, which refuses to complete an upload with parts it
 * is not given, cannot complete it.)
 *
 * With no pending upload, `append` continues the committed object: one below 5 MiB is read
 * into the buffer; a larger one seeds a new multipart upload with `UploadPartCopy` of itself
 * (server-side, parts of up to 5 GiB). A fresh (non-append) writer aborts every pending upload
 * of its key. `commit()` of a write that never filled a part is a single `PutObject` (then the
 * pending upload, if a close created one, is aborted); otherwise the buffer becomes the last
 * part and the upload is completed. `cancel()` aborts the upload and deletes the tail.
 *
 * tus-node-server's S3 store keeps an incomplete part the same way (an object beside the
 * upload); it needs an `.info` object too because its uploads have metadata of their own, which
 * a driver write does not.
 *
 * ## The rest
 *
 * Directories are key prefixes: `list` and `walk` are `ListObjectsV2` delimiter listings (walk
 * lists one directory at a time, skipping ahead with `StartAfter`); `stat` is `HeadObject`, else
 * a one-key listing. `delete` removes the key and everything below `<key>/` in batches of 1000
 * and aborts the pending uploads there. `move` is `CopyObject` (multipart `UploadPartCopy`
 * above `multipartcopythresholdsize`) then a delete. `redirectURL` presigns `GetObject` /
 * `HeadObject`. Names that are not valid storage path components (`!berth`) are never listed.
 */
import { Readable, Transform } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  comparePaths,
  type FileInfo,
  type FileWriter,
  isWithin,
  joinPath,
  type OperationOptions,
  pathNotFound,
  type ReaderOptions,
  type RedirectOptions,
  ROOT_PATH,
  type StorageDriver,
  StorageDriverError,
  type WalkOptions,
  type WriterOptions,
} from '@berth/storage-driver';
import { createS3Client, isNotFound, statusOf } from './client.ts';
import { BufferPool, discardUpload, listUploads, objectParamsFor, type S3Context } from './context.ts';
import { copyObject } from './copy.ts';
import { isValidName, KeyMapper } from './keys.ts';
import { MAX_PARTS_IN_FLIGHT, type ResolvedS3DriverOptions } from './options.ts';
import { S3Writer } from './s3-writer.ts';

/** Keys per `DeleteObjects` request: S3's maximum. */
const DELETE_BATCH = 1000;

/**
 * A listing's `LastModified` cut to whole seconds, as `HeadObject`'s `Last-Modified` header (an
 * HTTP date) gives it: `stat` and `walk` must agree on a file's modTime to the millisecond (AWS
 * lists whole seconds anyway; radosgw lists milliseconds).
 */
function wholeSeconds(time: Date | undefined): Date {
  if (time === undefined) return EPOCH;
  return new Date(Math.floor(time.getTime() / 1000) * 1000);
}

/** `modTime` of directories, which S3 does not track. */
const EPOCH = new Date(0);

/** One child of a directory, from a delimiter listing. */
interface Child {
  readonly info: FileInfo;
}

function bytesOf(content: Uint8Array): Buffer {
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}

/** A stream that drops the first `count` bytes (for stores that ignore `Range`). */
function skipBytes(count: number): Transform {
  let left = count;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (left >= chunk.byteLength) {
        left -= chunk.byteLength;
        callback();
      } else {
        const rest = left === 0 ? chunk : chunk.subarray(left);
        left = 0;
        callback(null, rest);
      }
    },
  });
}

/**
 * The S3 driver. Create it with `createS3Driver` or `s3DriverFactory.create`, which wrap it
 * with `withBase` (path validation, error codes, writer states).
 */
export class S3Driver implements StorageDriver {
  readonly name: string = 's3';
  readonly #ctx: S3Context;

  constructor(options: ResolvedS3DriverOptions) {
    this.#ctx = {
      client: createS3Client(options),
      bucket: options.bucket,
      keys: new KeyMapper(options.rootdirectory),
      options,
      objectParams: objectParamsFor(options),
      checksumAlgorithm: options.checksummode === 'when_supported' ? 'CRC32' : undefined,
      buffers: new BufferPool(options.chunksize, MAX_PARTS_IN_FLIGHT + 1),
    };
  }

  /** The options in use, defaults filled in. */
  get options(): ResolvedS3DriverOptions {
    return this.#ctx.options;
  }

  async getContent(path: string, options?: OperationOptions): Promise<Uint8Array> {
    const { client, bucket, keys } = this.#ctx;
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keys.key(path) }), {
        abortSignal: options?.signal,
      });
      return out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
    } catch (err) {
      if (isNotFound(err)) throw pathNotFound(path, err);
      throw err;
    }
  }

  async putContent(path: string, content: Uint8Array, options?: OperationOptions): Promise<void> {
    const { client, bucket, keys, objectParams } = this.#ctx;
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: keys.key(path),
        Body: bytesOf(content),
        ContentLength: content.byteLength,
        ...objectParams,
      }),
      { abortSignal: options?.signal },
    );
  }

  async reader(path: string, options?: ReaderOptions): Promise<Readable> {
    const { client, bucket, keys } = this.#ctx;
    const offset = options?.offset ?? 0;
    const key = keys.key(path);
    try {
      const out = await client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
        }),
        { abortSignal: options?.signal },
      );
      const body = (out.Body as Readable | undefined) ?? Readable.from([]);
      // A store that ignores Range answers 200 with the whole object.
      if (offset > 0 && out.ContentRange === undefined && statusOf(out) !== 206) {
        return body.pipe(skipBytes(offset));
      }
      return body;
    } catch (err) {
      if (isNotFound(err)) throw pathNotFound(path, err);
      // 416: the offset is at or past the end of an existing object, which reads as empty.
      if (statusOf(err) === 416) return Readable.from([]);
      throw err;
    }
  }

  async writer(path: string, options?: WriterOptions): Promise<FileWriter> {
    return S3Writer.open(this.#ctx, path, options?.append ?? false, options?.signal);
  }

  async stat(path: string, options?: OperationOptions): Promise<FileInfo> {
    const { client, bucket, keys } = this.#ctx;
    const signal = options?.signal;
    if (path === ROOT_PATH) return { path, size: 0, modTime: EPOCH, isDir: true };
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.key(path) }), {
        abortSignal: signal,
      });
      return { path, size: head.ContentLength ?? 0, modTime: head.LastModified ?? EPOCH, isDir: false };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: keys.dirPrefix(path), MaxKeys: 1 }),
      { abortSignal: signal },
    );
    const first = page.Contents?.[0];
    if (first === undefined) throw pathNotFound(path);
    return { path, size: 0, modTime: wholeSeconds(first.LastModified), isDir: true };
  }

  async list(path: string, options?: OperationOptions): Promise<string[]> {
    const children = await this.#children(path, undefined, options?.signal);
    if (children.length === 0 && path !== ROOT_PATH) throw pathNotFound(path);
    return children.map((child) => child.info.path);
  }

  /**
   * The direct children of a directory (all pages of a delimiter listing), in walk order.
   * `startAfterName` skips the names that sort before it (a hint: callers still filter).
   */
  async #children(dir: string, startAfterName: string | undefined, signal: AbortSignal | undefined) {
    const { client, bucket, keys } = this.#ctx;
    const prefix = keys.dirPrefix(dir);
    const found = new Map<string, Child>();
    let token: string | undefined;
    for (;;) {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: '/',
          ContinuationToken: token,
          ...(token === undefined && startAfterName !== undefined
            ? { StartAfter: `${prefix}${startAfterName}` }
            : {}),
        }),
        { abortSignal: signal },
      );
      for (const common of page.CommonPrefixes ?? []) {
        const name = common.Prefix?.slice(prefix.length, -1);
        if (name === undefined || !isValidName(name)) continue;
        const path = joinPath(dir, name);
        found.set(`${name}/`, { info: { path, size: 0, modTime: EPOCH, isDir: true } });
      }
      for (const object of page.Contents ?? []) {
        const name = object.Key?.slice(prefix.length);
        if (name === undefined || !isValidName(name)) continue;
        const path = joinPath(dir, name);
        found.set(name, {
          info: { path, size: object.Size ?? 0, modTime: wholeSeconds(object.LastModified), isDir: false },
        });
      }
      if (!page.IsTruncated || page.NextContinuationToken === undefined) break;
      token = page.NextContinuationToken;
    }
    // A name that is both a file and a prefix (written by something else): keep the file.
    const children = new Map<string, Child>();
    for (const [name, child] of found) {
      const plain = name.endsWith('/') ? name.slice(0, -1) : name;
      const existing = children.get(plain);
      if (existing === undefined || existing.info.isDir) children.set(plain, child);
    }
    return [...children.values()].sort((a, b) => comparePaths(a.info.path, b.info.path));
  }

  async move(source: string, destination: string, options?: OperationOptions): Promise<void> {
    const { client, bucket, keys } = this.#ctx;
    const signal = options?.signal;
    const sourceKey = keys.key(source);
    let size: number;
    let etag: string | undefined;
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: sourceKey }), {
        abortSignal: signal,
      });
      size = head.ContentLength ?? 0;
      etag = head.ETag;
    } catch (err) {
      if (isNotFound(err)) throw pathNotFound(source, err);
      throw err;
    }
    if (source === destination) return;
    await copyObject(this.#ctx, sourceKey, keys.key(destination), size, etag, signal);
    await this.#deleteKeys([sourceKey], signal);
  }

  async delete(path: string, options?: OperationOptions): Promise<void> {
    const { client, bucket, keys } = this.#ctx;
    const signal = options?.signal;
    const key = keys.key(path);
    const below = keys.dirPrefix(path);
    const [exists, keysBelow] = await Promise.all([
      client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }).then(
        () => true,
        (err: unknown) => {
          if (isNotFound(err)) return false;
          throw err;
        },
      ),
      this.#keysBelow(below, signal),
    ]);
    if (!exists && keysBelow.length === 0) throw pathNotFound(path);
    await this.#deleteKeys(exists ? [key, ...keysBelow] : keysBelow, signal);
    // Pending writes of the path and below it, and their tail objects (also orphaned ones).
    const uploads = (await listUploads(this.#ctx, key, signal)).filter(
      (upload) => upload.key === key || upload.key.startsWith(below),
    );
    for (const upload of uploads) {
      await discardUpload(this.#ctx, keys.path(upload.key), upload, signal);
    }
    const tails = await this.#keysBelow(keys.tailPrefix(path), signal);
    await this.#deleteKeys(tails, signal);
  }

  /** Every key starting with `prefix` (all pages, no delimiter). */
  async #keysBelow(prefix: string, signal: AbortSignal | undefined): Promise<string[]> {
    const { client, bucket } = this.#ctx;
    const found: string[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) found.push(object.Key);
      if (!page.IsTruncated || page.NextContinuationToken === undefined) break;
      token = page.NextContinuationToken;
    }
    return found;
  }

  /** `DeleteObjects` in batches of 1000; rejects if S3 reports a key it could not delete. */
  async #deleteKeys(keys: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    const { client, bucket } = this.#ctx;
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
        { abortSignal: signal },
      );
      const failed = (out.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new StorageDriverError(
          'DRIVER_ERROR',
          `s3: could not delete ${failed.length} key(s), e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim(),
        );
      }
    }
  }

  async redirectURL(path: string, options?: RedirectOptions): Promise<string | undefined> {
    const { client, bucket, keys } = this.#ctx;
    const input = { Bucket: bucket, Key: keys.key(path) };
    const command = options?.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
    return getSignedUrl(client, command, {
      expiresIn: options?.expiresIn ?? this.#ctx.options.redirectexpiry,
    });
  }

  walk(path: string, options?: WalkOptions): AsyncIterable<FileInfo> {
    return this.#walk(path, options ?? {});
  }

  async *#walk(path: string, options: WalkOptions): AsyncIterable<FileInfo> {
    const { startAfter, signal } = options;
    const skipTo = nameToSkipTo(path, startAfter);
    const children = await this.#children(path, skipTo, signal);
    if (children.length === 0 && path !== ROOT_PATH) {
      // Nothing after the resume point, or nothing at all: only the latter is an error.
      if (skipTo === undefined || (await this.#children(path, undefined, signal)).length === 0) {
        throw pathNotFound(path);
      }
      return;
    }
    yield* this.#walkChildren(children, startAfter, options);
  }

  async *#walkChildren(
    children: readonly Child[],
    startAfter: string | undefined,
    options: WalkOptions,
  ): AsyncIterable<FileInfo> {
    const { descend, signal } = options;
    for (const { info } of children) {
      // startAfter itself or a directory above it: not yielded, but what lies below it may
      // still come after it in walk order.
      const onStartPath = startAfter !== undefined && isWithin(startAfter, info.path);
      if (startAfter !== undefined && !onStartPath && comparePaths(info.path, startAfter) <= 0) continue;
      if (!onStartPath) yield info;
      if (!info.isDir || (!onStartPath && descend !== undefined && !descend(info))) continue;
      const below = info.path === startAfter ? undefined : startAfter;
      const grandchildren = await this.#children(info.path, nameToSkipTo(info.path, below), signal);
      yield* this.#walkChildren(grandchildren, below, options);
    }
  }
}

/** The child name of `dir` on the way to `startAfter`, if `startAfter` lies below `dir`. */
function nameToSkipTo(dir: string, startAfter: string | undefined): string | undefined {
  if (startAfter === undefined || startAfter === dir || !isWithin(startAfter, dir)) return undefined;
  const rest = startAfter.slice(dir === ROOT_PATH ? 1 : dir.length + 1);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest : rest.slice(0, slash);
}
