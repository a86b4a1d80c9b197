/**
 * Where the tests of this package run: against real Google Cloud Storage when
 * `GOOGLE_APPLICATION_CREDENTIALS` (a service account key file) and `BERTH_GCS_TEST_BUCKET` are
 * set — each test file below a fresh `rootdirectory` in that bucket, removed afterwards — else
 * against firebase-tools' storage emulator started on 127.0.0.1 for the test file and stopped by
 * PID (each test file in a fresh bucket, which the emulator creates on first use).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { type Bucket, Storage } from '@google-cloud/storage';
import {
  type GcsEmulatorServer,
  startGcsEmulator,
} from '../../../../tooling/test-servers/src/gcs-emulator.ts';
import type { GcsCredentialsOptions, GcsDriverOptions } from '../options.ts';

/** Why a test that needs compose does not run on the emulator. */
export const NEEDS_COMPOSE =
  'needs GCS compose, which the firebase-tools storage emulator does not implement (501); runs against real GCS (GOOGLE_APPLICATION_CREDENTIALS + BERTH_GCS_TEST_BUCKET)';
/** Why a test that checks signatures does not run on the emulator. */
export const NEEDS_SIGNATURE_CHECKS =
  'needs signed-URL signature checks, which the firebase-tools storage emulator does not do (it serves any URL); runs against real GCS (GOOGLE_APPLICATION_CREDENTIALS + BERTH_GCS_TEST_BUCKET)';

/** True when the tests run against real GCS. */
export function onRealGcs(): boolean {
  return Boolean(process.env.GOOGLE_APPLICATION_CREDENTIALS && process.env.BERTH_GCS_TEST_BUCKET);
}

/** A bucket namespace to test against. */
export interface TestBackend {
  readonly kind: 'emulator' | 'gcs';
  /** The emulator's endpoint; `undefined` on real GCS. */
  readonly endpoint: string | undefined;
  readonly bucketName: string;
  /** The object-name prefix this test file owns (`''` on the emulator, whose bucket is fresh). */
  readonly rootPrefix: string;
  /** A raw SDK handle on the bucket, to look behind the driver. */
  readonly bucket: Bucket;
  /** Driver options on this namespace (the default credentials of the backend). */
  options(extra?: GcsDriverOptions): GcsDriverOptions;
  /** Options with inline service account credentials, which can sign URLs (a local key on the emulator). */
  signingOptions(extra?: GcsDriverOptions): GcsDriverOptions;
  /** Names of every object below `prefix` (relative to the bucket). */
  objectNames(prefix?: string): Promise<string[]>;
  /** Deletes everything this test file stored, and stops the emulator. */
  stop(): Promise<void>;
}

let localKey: GcsCredentialsOptions | undefined;

/** A service account that exists nowhere, with a freshly generated key (it signs; nothing verifies it). */
export function localServiceAccount(): GcsCredentialsOptions {
  if (localKey === undefined) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    localKey = {
      type: 'service_account',
      project_id: 'berth-test',
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: 'berth-test@berth-test.iam.gserviceaccount.com',
      client_id: '1',
    };
  }
  return localKey;
}

/** Starts the emulator, or uses real GCS when its environment is set. */
export async function startBackend(label: string): Promise<TestBackend> {
  const suffix = randomBytes(5).toString('hex');
  let emulator: GcsEmulatorServer | undefined;
  let storage: Storage;
  let bucketName: string;
  let rootPrefix: string;
  if (onRealGcs()) {
    bucketName = process.env.BERTH_GCS_TEST_BUCKET!;
    rootPrefix = `berth-test/${label}-${suffix}`;
    storage = new Storage({ keyFilename: process.env.GOOGLE_APPLICATION_CREDENTIALS! });
  } else {
    bucketName = `berth-${label}-${suffix}`;
    rootPrefix = '';
    emulator = await startGcsEmulator({ bucket: bucketName });
    storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: emulator.projectId });
  }
  const bucket = storage.bucket(bucketName);
  const base = (extra: GcsDriverOptions): GcsDriverOptions => ({
    bucket: bucketName,
    ...(rootPrefix === '' ? {} : { rootdirectory: `/${rootPrefix}` }),
    ...(emulator === undefined ? {} : { endpoint: emulator.endpoint }),
    ...extra,
  });
  const objectNames = async (prefix = rootPrefix === '' ? '' : `${rootPrefix}/`) => {
    const [files] = await bucket.getFiles({ prefix });
    return files.map((file) => file.name);
  };
  return {
    kind: emulator === undefined ? 'gcs' : 'emulator',
    endpoint: emulator?.endpoint,
    bucketName,
    rootPrefix,
    bucket,
    options: (extra = {}) =>
      base(
        emulator === undefined ? { keyfile: process.env.GOOGLE_APPLICATION_CREDENTIALS!, ...extra } : extra,
      ),
    signingOptions: (extra = {}) =>
      emulator === undefined
        ? base({ keyfile: process.env.GOOGLE_APPLICATION_CREDENTIALS!, ...extra })
        : base({ credentials: localServiceAccount(), ...extra }),
    objectNames,
    stop: async () => {
      try {
        if (emulator === undefined) {
          for (const name of await objectNames()) await bucket.file(name).delete({ ignoreNotFound: true });
        }
      } finally {
        await emulator?.stop();
      }
    },
  };
}
