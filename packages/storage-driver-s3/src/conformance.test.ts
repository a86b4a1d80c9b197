// The shared driver suite, against a Ceph radosgw started for this file — or against a real
// bucket when BERTH_S3_TEST_BUCKET is set (region from AWS_REGION, credentials from the AWS SDK's
// default chain, everything under a fresh rootdirectory). Nothing is skipped.
import './test-support/sdk-conditions.ts';
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { describeStorageDriver } from '@berth/storage-driver-testsuite';
import { afterAll, beforeAll } from 'vitest';
import { createS3Driver } from './factory.ts';
import type { S3DriverOptions } from './options.ts';
import {
  driverOptions,
  type RunningRadosgw,
  rawClient,
  rawEntries,
  startRadosgw,
} from './test-support/radosgw.ts';

const MiB = 1024 * 1024;
const realBucket = process.env.BERTH_S3_TEST_BUCKET;
const bucket = realBucket ?? 'berth-conformance';
// A rootdirectory with slashes on both ends, as registry:2 configs often have it.
const rootdirectory = realBucket
  ? `/berth-conformance-${randomBytes(6).toString('hex')}/`
  : '/conformance/root/';

let rgw: RunningRadosgw | undefined;
let raw: S3Client | undefined;

beforeAll(async () => {
  if (realBucket) {
    raw = new S3Client({ region: process.env.AWS_REGION ?? 'us-east-1' });
  } else {
    rgw = await startRadosgw({ buckets: [bucket] });
    raw = rawClient(rgw);
  }
}, 120_000);

afterAll(async () => {
  raw?.destroy();
  await rgw?.stop();
});

function options(): S3DriverOptions {
  // The smallest part size S3 allows, so that the suite's writes cross part boundaries.
  const common = { rootdirectory, chunksize: 5 * MiB };
  if (realBucket) return { bucket, region: process.env.AWS_REGION ?? 'us-east-1', ...common };
  if (rgw === undefined) throw new Error('radosgw did not start');
  return driverOptions(rgw, bucket, common);
}

describeStorageDriver(realBucket ? 's3 (Amazon S3)' : 's3 (Ceph radosgw)', {
  create: async () => createS3Driver(options()),
  capabilities: { redirect: true, largeFileSize: 64 * MiB },
  rawLeftovers: (root) => rawEntries(raw!, bucket, rootdirectory, root),
});
