/**
 * Berth's storage for `pnpm bench --storage KIND`: a temporary directory (`fs`), or a fresh local
 * storage server from `tooling/test-servers` on 127.0.0.1 with a fresh bucket — Ceph radosgw
 * (`s3`), azurite (`azure`), firebase-tools' storage emulator (`gcs`) — and the `storage:`
 * section of Berth's `config.yml` for it. Every storage server is stopped by PID.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  azuriteBlobEntryPoint,
  firebaseToolsDir,
  radosgwMissingTools,
  startAzurite,
  startGcsEmulator,
  startRadosgw,
} from '@berth/test-servers';

/** The storage kinds of `--storage`. */
export const STORAGE_KINDS: readonly ['fs', 's3', 'azure', 'gcs'] = ['fs', 's3', 'azure', 'gcs'];

/** One of {@link STORAGE_KINDS}. */
export type StorageKind = (typeof STORAGE_KINDS)[number];

const MiB = 1024 * 1024;

/**
 * `storage.gcs.chunksize` by default: the driver's maximum (1 GiB), so that the harness's 512 MiB
 * blob is never stored in more than one part and never composed (the emulator has no compose).
 */
export const DEFAULT_GCS_CHUNK_SIZE: number = 1024 * MiB;

/**
 * `storage.s3.multipartcopythresholdsize` on radosgw, as the S3 driver's README recommends for it:
 * radosgw's `CopyObject` shares the source's data, so every blob move is a metadata operation.
 */
export const RADOSGW_MULTIPART_COPY_THRESHOLD: number = 5 * 1024 * MiB;

/** Capacity of radosgw's in-memory OSD: a full harness run stores about 1.1 GiB, plus moves. */
const RADOSGW_MEMSTORE_BYTES = 8 * 1024 * MiB;

const quote = (value: string): string => JSON.stringify(value);

const redirectYaml = (redirect: boolean): string[] => ['  redirect:', `    disable: ${!redirect}`];

/** `storage:` for the filesystem driver at `rootDirectory`. */
export function fsStorageYaml(rootDirectory: string, redirect = true): string {
  return [
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${quote(rootDirectory)}`,
    ...redirectYaml(redirect),
  ].join('\n');
}

/** Where an S3 bucket is and how to sign for it. */
export interface S3Location {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
}

/**
 * `storage:` for the S3 driver on an S3-compatible endpoint: registry:2's keys, the driver's
 * defaults (10 MiB parts, path-style, checksums only where required) and the radosgw
 * recommendation of the driver's README ({@link RADOSGW_MULTIPART_COPY_THRESHOLD}).
 */
export function s3StorageYaml(location: S3Location, redirect = true): string {
  return [
    'storage:',
    '  s3:',
    `    accesskey: ${quote(location.accessKey)}`,
    `    secretkey: ${quote(location.secretKey)}`,
    `    region: ${quote(location.region)}`,
    `    regionendpoint: ${quote(location.endpoint)}`,
    `    bucket: ${quote(location.bucket)}`,
    `    multipartcopythresholdsize: ${RADOSGW_MULTIPART_COPY_THRESHOLD}`,
    ...redirectYaml(redirect),
  ].join('\n');
}

/** Where an Azure container is and the shared key for it. */
export interface AzureLocation {
  readonly serviceUrl: string;
  readonly accountName: string;
  readonly accountKey: string;
  readonly container: string;
}

/** `storage:` for the Azure driver (shared-key auth, which also signs the SAS redirects). */
export function azureStorageYaml(location: AzureLocation, redirect = true): string {
  return [
    'storage:',
    '  azure:',
    `    accountname: ${quote(location.accountName)}`,
    `    accountkey: ${quote(location.accountKey)}`,
    `    container: ${quote(location.container)}`,
    `    serviceurl: ${quote(location.serviceUrl)}`,
    ...redirectYaml(redirect),
  ].join('\n');
}

/** Where a GCS bucket is. */
export interface GcsLocation {
  readonly endpoint: string;
  readonly bucket: string;
  /** A service account key file, which signs the redirect URLs. */
  readonly keyfile: string;
  readonly chunkSize: number;
}

/** `storage:` for the GCS driver on an emulator endpoint. */
export function gcsStorageYaml(location: GcsLocation, redirect = true): string {
  return [
    'storage:',
    '  gcs:',
    `    bucket: ${quote(location.bucket)}`,
    `    endpoint: ${quote(location.endpoint)}`,
    `    keyfile: ${quote(location.keyfile)}`,
    `    chunksize: ${location.chunkSize}`,
    ...redirectYaml(redirect),
  ].join('\n');
}

/** The `storage:` YAML with the values of secret keys replaced, for reports. */
export function redactStorageYaml(yaml: string): string {
  return yaml.replace(/^(\s*(?:secretkey|accountkey|accesskey):\s*).*$/gm, '$1"<redacted>"');
}

/** Options of {@link startStorage}. */
export interface StorageOptions {
  /** `!storage.redirect.disable`. Default true. */
  readonly redirect?: boolean;
  /** `storage.gcs.chunksize`. Default {@link DEFAULT_GCS_CHUNK_SIZE}. */
  readonly gcsChunkSize?: number;
}

/** Started storage for Berth. */
export interface BenchStorage {
  readonly kind: StorageKind;
  /** The `storage:` section of Berth's `config.yml` (top level, starting with `storage:`). */
  readonly yaml: string;
  /** What was started, e.g. `radosgw http://127.0.0.1:41234, bucket berth-bench-0a1b2c3d`. */
  readonly description: string;
  /** PIDs of the storage server's processes (none for `fs`). */
  readonly pids: readonly number[];
  /** The storage server's last output lines (empty for `fs`). */
  logTail(lines?: number): string;
  /** Stops the storage server by PID and removes its temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Why storage `kind` cannot be started on this machine (its server is not installed), or
 * `undefined`. The message says what to install.
 */
export function storageMissing(kind: StorageKind): string | undefined {
  switch (kind) {
    case 'fs':
      return undefined;
    case 's3': {
      const missing = radosgwMissingTools();
      return missing.length === 0
        ? undefined
        : `--storage s3 needs Ceph radosgw, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not on PATH ` +
            '(apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd)';
    }
    case 'azure':
      try {
        const entryPoint = azuriteBlobEntryPoint();
        return existsSync(entryPoint)
          ? undefined
          : `--storage azure needs azurite, but ${entryPoint} does not exist (run pnpm install)`;
      } catch (error) {
        return `--storage azure needs azurite: ${(error as Error).message}`;
      }
    case 'gcs':
      try {
        firebaseToolsDir();
        return undefined;
      } catch (error) {
        return `--storage gcs needs firebase-tools' storage emulator: ${(error as Error).message}`;
      }
  }
}

const freshName = (): string => `berth-bench-${randomBytes(4).toString('hex')}`;

/**
 * Starts empty storage of `kind` for Berth: a temporary directory, or a local storage server on
 * 127.0.0.1 with a fresh bucket (container).
 *
 * @throws {Error} when the server is not installed ({@link storageMissing}) or does not come up
 */
export async function startStorage(kind: StorageKind, options: StorageOptions = {}): Promise<BenchStorage> {
  const missing = storageMissing(kind);
  if (missing !== undefined) throw new Error(missing);
  const redirect = options.redirect ?? true;
  switch (kind) {
    case 'fs': {
      const dir = mkdtempSync(join(tmpdir(), 'berth-bench-fs-'));
      const data = join(dir, 'data');
      mkdirSync(data);
      return {
        kind,
        yaml: fsStorageYaml(data, redirect),
        description: `filesystem ${data}`,
        pids: [],
        logTail: () => '',
        stop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }
    case 's3': {
      const bucket = freshName();
      const rgw = await startRadosgw({ buckets: [bucket], memstoreBytes: RADOSGW_MEMSTORE_BYTES });
      return {
        kind,
        yaml: s3StorageYaml({ ...rgw, bucket }, redirect),
        description: `radosgw ${rgw.endpoint} (memstore OSD), bucket ${bucket}`,
        pids: [rgw.pids.mon, rgw.pids.osd, rgw.pids.rgw],
        logTail: (lines) => rgw.logs(lines),
        stop: () => rgw.stop(),
      };
    }
    case 'azure': {
      const container = freshName();
      // --silent: no access-log line per request piped into this process.
      const azurite = await startAzurite({ silent: true });
      return {
        kind,
        yaml: azureStorageYaml(
          {
            serviceUrl: azurite.blobEndpoint,
            accountName: azurite.accountName,
            accountKey: azurite.accountKey,
            container,
          },
          redirect,
        ),
        description: `azurite ${azurite.blobEndpoint} (in memory), container ${container}`,
        pids: [azurite.pid],
        logTail: (lines) => azurite.logs(lines),
        stop: () => azurite.stop(),
      };
    }
    case 'gcs': {
      const chunkSize = options.gcsChunkSize ?? DEFAULT_GCS_CHUNK_SIZE;
      const bucket = freshName();
      const dir = mkdtempSync(join(tmpdir(), 'berth-bench-gcs-'));
      try {
        const keyfile = join(dir, 'service-account.json');
        writeFileSync(keyfile, JSON.stringify(localServiceAccount()), { mode: 0o600 });
        // The emulator refuses request bodies over 130 MB; a part of the driver can be a chunk.
        const emulator = await startGcsEmulator({
          bucket,
          maxRequestBytes: Math.max(130_000_000, chunkSize + MiB),
        });
        return {
          kind,
          yaml: gcsStorageYaml({ endpoint: emulator.endpoint, bucket, keyfile, chunkSize }, redirect),
          description: `firebase-tools storage emulator ${emulator.endpoint}, bucket ${bucket}`,
          pids: [emulator.pid],
          logTail: (lines) => emulator.logs(lines),
          stop: async () => {
            try {
              await emulator.stop();
            } finally {
              rmSync(dir, { recursive: true, force: true });
            }
          },
        };
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

/**
 * A service account that exists nowhere, with a freshly generated key: Berth signs its redirect
 * URLs with it; the emulator serves signed URLs without checking them.
 */
function localServiceAccount(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    type: 'service_account',
    project_id: 'berth-bench',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'berth-bench@berth-bench.iam.gserviceaccount.com',
    client_id: '1',
    token_uri: 'https://oauth2.googleapis.com/token',
  };
}
