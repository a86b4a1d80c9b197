/**
 * Berth on Ceph radosgw for the end-to-end tests: one radosgw per test file, Berth processes
 * started on a bucket of it with a registry:2-style `storage.s3` section.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningRadosgw, type RunningServer, startBerth } from '@berth/test-servers';

/** A fresh bucket name. */
export function s3Bucket(label: string): string {
  return `berth-e2e-${label}-${randomBytes(4).toString('hex')}`;
}

/**
 * The `config.yml` of a Berth storing in `bucket` of `rgw`: registry:2's keys, a rootdirectory,
 * S3's smallest part size (so that the test blobs span several parts), presigned redirects.
 */
export function s3ConfigYaml(rgw: RunningRadosgw, bucket: string, extraYaml = ''): string {
  const q = (value: string): string => JSON.stringify(value);
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  s3:',
    `    accesskey: ${q(rgw.accessKey)}`,
    `    secretkey: ${q(rgw.secretKey)}`,
    `    region: ${q(rgw.region)}`,
    `    regionendpoint: ${q(rgw.endpoint)}`,
    `    bucket: ${q(bucket)}`,
    '    rootdirectory: /registry',
    '    chunksize: 5242880',
    '  delete:',
    '    enabled: true',
    'http:',
    // Overridden with REGISTRY_HTTP_ADDR by startBerth.
    '  addr: 127.0.0.1:5000',
    // The same secret on every replica, so an upload started on one continues on another.
    '  secret: berth-e2e-s3-secret',
    extraYaml,
  ].join('\n');
}

/**
 * Starts Berth from source on `bucket` of `rgw` (`env`: e.g. `REGISTRY_*` overrides); `stop()`
 * also removes its config.
 */
export async function startBerthOnRadosgw(
  rgw: RunningRadosgw,
  bucket: string,
  extraYaml?: string,
  env?: NodeJS.ProcessEnv,
): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-s3-config-'));
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, s3ConfigYaml(rgw, bucket, extraYaml));
  let server: RunningServer;
  try {
    server = await startBerth({ configFile, ...(env === undefined ? {} : { env }) });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...server,
    stop: async (timeoutMs?: number) => {
      await server.stop(timeoutMs);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A `fetch` that does not follow redirects, with a timeout. */
export function fetchManual(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
}
