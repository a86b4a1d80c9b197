import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type ObjectCannedACL,
  type S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { isNotFound } from './client.ts';
import type { KeyMapper } from './keys.ts';
import type { ResolvedS3DriverOptions } from './options.ts';

/**
 * Part buffers of the common size (`chunksize`), kept for reuse: allocating a fresh 10 MiB
 * buffer per part costs page faults and garbage collection that are a noticeable share of the
 * CPU of an upload. At most `max` are kept; they are dropped after a minute without use.
 */
export class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #free: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }

  /** A buffer of `size` bytes (contents undefined). */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer from {@link take} that nothing references any more. */
  give(buffer: Buffer): void {
    if (buffer.byteLength !== this.size || this.#free.length >= this.#max) return;
    this.#free.push(buffer);
    this.#timer?.refresh();
    this.#timer ??= setTimeout(() => {
      this.#free.length = 0;
      this.#timer = undefined;
    }, 60_000).unref();
  }
}

/** What the driver and its writers share. */
export interface S3Context {
  readonly client: S3Client;
  readonly bucket: string;
  readonly keys: KeyMapper;
  readonly options: ResolvedS3DriverOptions;
  /** Parameters of every request that creates an object (ACL, storage class, encryption). */
  readonly objectParams: ObjectParams;
  /**
   * `CRC32` with `checksummode: when_supported`: multipart uploads are created with it, so that
   * S3 accepts the per-part checksums the SDK then sends, and completed with them.
   */
  readonly checksumAlgorithm: 'CRC32' | undefined;
  /** Buffers of `chunksize` bytes for the writers' parts. */
  readonly buffers: BufferPool;
}

/** The object-creation parameters derived from the options. */
export interface ObjectParams {
  ContentType: string;
  ACL?: ObjectCannedACL;
  StorageClass?: StorageClass;
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
}

/** {@link ObjectParams} for the options. */
export function objectParamsFor(options: ResolvedS3DriverOptions): ObjectParams {
  const params: ObjectParams = { ContentType: 'application/octet-stream' };
  // Validated against the canned ACLs by resolveS3Options.
  if (options.objectacl !== undefined) params.ACL = options.objectacl as ObjectCannedACL;
  if (options.storageclass !== undefined) params.StorageClass = options.storageclass as StorageClass;
  if (options.encrypt) {
    params.ServerSideEncryption = options.keyid === undefined ? 'AES256' : 'aws:kms';
    if (options.keyid !== undefined) params.SSEKMSKeyId = options.keyid;
  }
  return params;
}

/** One unfinished multipart upload. */
export interface PendingUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated: number;
}

/** One uploaded part. */
export interface UploadedPart {
  readonly PartNumber: number;
  readonly ETag: string;
  readonly Size: number;
  /** The part's CRC32, when the upload was created with `ChecksumAlgorithm: 'CRC32'`. */
  readonly ChecksumCRC32?: string | undefined;
}

/** The `Parts` of a `CompleteMultipartUpload` request. */
export function completedParts(
  parts: readonly UploadedPart[],
): { PartNumber: number; ETag: string; ChecksumCRC32?: string }[] {
  return parts.map(({ PartNumber, ETag, ChecksumCRC32 }) =>
    ChecksumCRC32 === undefined ? { PartNumber, ETag } : { PartNumber, ETag, ChecksumCRC32 },
  );
}

/**
 * Every unfinished multipart upload whose key starts with `prefix` (all pages), newest first
 * (ties broken by upload id, so every process picks the same one).
 */
export async function listUploads(
  ctx: S3Context,
  prefix: string,
  signal: AbortSignal | undefined,
): Promise<PendingUpload[]> {
  const uploads: PendingUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await ctx.client.send(
      new ListMultipartUploadsCommand({
        Bucket: ctx.bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
      { abortSignal: signal },
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      uploads.push({
        key: upload.Key,
        uploadId: upload.UploadId,
        initiated: upload.Initiated?.getTime() ?? 0,
      });
    }
    if (!page.IsTruncated || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined))
      break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  return uploads.sort(
    (a, b) => b.initiated - a.initiated || (a.uploadId < b.uploadId ? 1 : a.uploadId > b.uploadId ? -1 : 0),
  );
}

/** Every part of an upload (all pages), by part number. Rejects with the SDK's 404 when it is gone. */
export async function listParts(
  ctx: S3Context,
  key: string,
  uploadId: string,
  signal: AbortSignal | undefined,
): Promise<UploadedPart[]> {
  const parts: UploadedPart[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await ctx.client.send(
      new ListPartsCommand({ Bucket: ctx.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
      { abortSignal: signal },
    );
    for (const part of page.Parts ?? []) {
      if (part.PartNumber === undefined || part.ETag === undefined) continue;
      parts.push({
        PartNumber: part.PartNumber,
        ETag: part.ETag,
        Size: part.Size ?? 0,
        ChecksumCRC32: part.ChecksumCRC32,
      });
    }
    if (!page.IsTruncated || page.NextPartNumberMarker === undefined) break;
    marker = page.NextPartNumberMarker;
  }
  return parts.sort((a, b) => a.PartNumber - b.PartNumber);
}

/** Deletes an object; a missing one is fine. */
export async function deleteQuietly(ctx: S3Context, key: string, signal?: AbortSignal): Promise<void> {
  try {
    await ctx.client.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: key }), { abortSignal: signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Discards a pending write: aborts its multipart upload and deletes its tail object. Either
 * being gone already is fine.
 */
export async function discardUpload(
  ctx: S3Context,
  path: string,
  upload: Pick<PendingUpload, 'key' | 'uploadId'>,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await ctx.client.send(
      new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: upload.key, UploadId: upload.uploadId }),
      { abortSignal: signal },
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await deleteQuietly(ctx, ctx.keys.tailKey(path, upload.uploadId), signal);
}
