import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { completedParts, type S3Context } from './context.ts';
import { MAX_PART_SIZE } from './options.ts';

/** The `x-amz-copy-source` value for a key (URL-encoded, slashes kept). */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/**
 * Runs `task(0)`…`task(count - 1)` with at most `limit` running at once and returns their
 * results in order. Stops starting new tasks after the first failure and rejects with it once
 * the running ones have settled.
 */
export async function runLimited<T>(
  count: number,
  limit: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      try {
        results[index] = await task(index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * Copies `sourceKey` (of `size` bytes) over `destinationKey` inside the bucket: one `CopyObject`
 * up to `multipartcopythresholdsize` (and never above S3's 5 GiB limit for it), else a
 * multipart upload of `UploadPartCopy` parts of `multipartcopychunksize`, up to
 * `multipartcopymaxconcurrency` at once. The destination changes atomically, when the copy
 * completes.
 */
export async function copyObject(
  ctx: S3Context,
  sourceKey: string,
  destinationKey: string,
  size: number,
  etag: string | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const { client, bucket, options, objectParams } = ctx;
  const source = copySource(bucket, sourceKey);
  const ifMatch = etag === undefined ? {} : { CopySourceIfMatch: etag };
  if (size <= options.multipartcopythresholdsize && size <= MAX_PART_SIZE) {
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: destinationKey,
        CopySource: source,
        MetadataDirective: 'REPLACE',
        ...ifMatch,
        ...objectParams,
      }),
      { abortSignal: signal },
    );
    return;
  }
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: destinationKey,
      ChecksumAlgorithm: ctx.checksumAlgorithm,
      ...objectParams,
    }),
    { abortSignal: signal },
  );
  const uploadId = created.UploadId!;
  try {
    // S3 allows 10,000 parts: larger parts for a file that would need more.
    const chunk = Math.max(options.multipartcopychunksize, Math.ceil(size / 10_000));
    const count = Math.ceil(size / chunk);
    const parts = await runLimited(count, options.multipartcopymaxconcurrency, async (i) => {
      const start = i * chunk;
      const end = Math.min(size, start + chunk) - 1;
      const out = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: destinationKey,
          UploadId: uploadId,
          PartNumber: i + 1,
          CopySource: source,
          CopySourceRange: `bytes=${start}-${end}`,
          ...ifMatch,
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
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: destinationKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: completedParts(parts) },
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: destinationKey, UploadId: uploadId }))
      .catch(() => {});
    throw err;
  }
}
