/**
 * One radosgw per test file (it starts in about 1.5 s), from the repository's test-server
 * harness. Imported by relative path: this package does not depend on `@berth/test-servers`.
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { type RunningRadosgw, startRadosgw } from '../../../../tooling/test-servers/src/radosgw.ts';
import { KeyMapper } from '../keys.ts';
import type { S3DriverOptions } from '../options.ts';

export type { RunningRadosgw };
export { startRadosgw };

/** Driver options for `bucket` on a running radosgw. */
export function driverOptions(
  rgw: RunningRadosgw,
  bucket: string,
  extra: Partial<S3DriverOptions> = {},
): S3DriverOptions {
  return {
    bucket,
    region: rgw.region,
    regionendpoint: rgw.endpoint,
    accesskey: rgw.accessKey,
    secretkey: rgw.secretKey,
    ...extra,
  };
}

/** A plain SDK client for looking at what the driver stored. */
export function rawClient(rgw: RunningRadosgw): S3Client {
  return new S3Client({
    region: rgw.region,
    endpoint: rgw.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Everything stored for the storage path `root` and below, as the bucket has it: objects,
 * multipart uploads, and the writer's tail objects.
 */
export async function rawEntries(
  client: S3Client,
  bucket: string,
  rootdirectory: string,
  root: string,
): Promise<string[]> {
  const keys = new KeyMapper(rootdirectory);
  const key = keys.key(root);
  const found: string[] = [];
  for (const prefix of [key, keys.tailPrefix(root)]) {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        const k = object.Key ?? '';
        if (prefix !== key || k === key || k.startsWith(`${key}/`)) found.push(`object ${k}`);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  for (const upload of uploads.Uploads ?? []) {
    const k = upload.Key ?? '';
    if (k === key || k.startsWith(`${key}/`)) found.push(`multipart upload ${k} ${upload.UploadId}`);
  }
  return found;
}
