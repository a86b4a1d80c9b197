import { readFile } from 'node:fs/promises';
import { InvalidParameterError } from '@berth/storage-driver';
import { type Bucket, IdempotencyStrategy, Storage, type StorageOptions } from '@google-cloud/storage';
import type { ResolvedGcsDriverOptions } from './options.ts';

/**
 * How `redirectURL` signs: with the private key of the configured service account (`key`),
 * through the IAM `signBlob` API with Application Default Credentials on Google Cloud (`iam`),
 * or not at all (`none`: an emulator without a key, or user credentials, which cannot sign).
 */
export type SigningMode = 'key' | 'iam' | 'none';

/** What the driver talks to. */
export interface GcsClients {
  readonly storage: Storage;
  readonly bucket: Bucket;
  readonly signing: SigningMode;
}

/** Retries of a failed request (the SDK backs off exponentially). */
const MAX_RETRIES = 5;

/** Reads a `keyfile` up front, so a missing or malformed file stops the server at start. */
async function readKeyfile(path: string): Promise<{ type?: unknown; private_key?: unknown }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidParameterError('keyfile', `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as { type?: unknown; private_key?: unknown };
  } catch (error) {
    throw new InvalidParameterError('keyfile', `${path} is not a JSON key file: ${(error as Error).message}`);
  }
}

/**
 * Builds the SDK client for `options`. Every operation the driver issues is idempotent in
 * effect (whole-object uploads under fresh or final names, deletes that tolerate 404, copies and
 * composes of immutable parts), so the SDK may retry all of them, not only those with
 * preconditions.
 */
export async function createClients(options: ResolvedGcsDriverOptions): Promise<GcsClients> {
  const { auth, endpoint } = options;
  // A plain-http endpoint is an emulator: it gets no credentials (there is no token server to
  // ask), while an https one (a private endpoint) is authenticated like Google's.
  const emulator = endpoint?.startsWith('http:') === true;
  const storageOptions: StorageOptions = {
    retryOptions: {
      autoRetry: true,
      maxRetries: MAX_RETRIES,
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
    ...(endpoint === undefined ? {} : { apiEndpoint: endpoint, useAuthWithCustomEndpoint: !emulator }),
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
  };
  let signing: SigningMode;
  if (auth.kind === 'credentials') {
    const { credentials } = auth;
    storageOptions.credentials = { ...credentials };
    if (credentials.project_id !== undefined) storageOptions.projectId = credentials.project_id;
    signing = credentials.type === 'service_account' ? 'key' : 'none';
  } else if (auth.kind === 'keyfile') {
    const key = await readKeyfile(auth.keyFilename);
    storageOptions.keyFilename = auth.keyFilename;
    signing = typeof key.private_key === 'string' ? 'key' : 'none';
  } else {
    signing = emulator ? 'none' : 'iam';
  }
  // Object operations need no project; an emulator without credentials would otherwise make the
  // SDK look for one.
  if (emulator && storageOptions.projectId === undefined) storageOptions.projectId = 'berth';
  const storage = new Storage(storageOptions);
  return { storage, bucket: storage.bucket(options.bucket), signing };
}
