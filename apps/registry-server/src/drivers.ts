/**
 * The storage drivers the server knows, by `storage.<name>` key, and the storage middlewares, by
 * the `name` of a `middleware.storage` entry. Each entry imports its package only when it is
 * configured, so an unused cloud SDK is never loaded; nothing registers itself on import.
 */
import type { StorageDriverFactory, StorageMiddlewareFactory } from '@berth/storage-driver';

/** A driver the server can load. */
export interface AvailableDriver {
  readonly available: true;
  /** Imports the driver package and returns its factory. */
  load(): Promise<StorageDriverFactory<unknown>>;
  /** The keys of `storage.<name>` the driver reads (others get an "unknown key" warning). */
  readonly parameters: readonly string[];
}

/** A registry:2 driver Berth does not have yet. */
export interface MissingDriver {
  readonly available: false;
  readonly reason: string;
}

export type DriverEntry = AvailableDriver | MissingDriver;

/** The keys of `storage.s3` (registry:2's, plus Berth's `checksummode` and `redirectexpiry`). */
const S3_PARAMETERS: readonly string[] = [
  'accesskey',
  'secretkey',
  'sessiontoken',
  'region',
  'regionendpoint',
  'forcepathstyle',
  'bucket',
  'rootdirectory',
  'encrypt',
  'keyid',
  'secure',
  'skipverify',
  'v4auth',
  'chunksize',
  'multipartcopychunksize',
  'multipartcopymaxconcurrency',
  'multipartcopythresholdsize',
  'storageclass',
  'useragent',
  'usedualstack',
  'accelerate',
  'objectacl',
  'loglevel',
  'checksummode',
  'redirectexpiry',
];

/** Name → driver. */
export const STORAGE_DRIVERS: Readonly<Record<string, DriverEntry>> = {
  filesystem: {
    available: true,
    load: async () =>
      (await import('@berth/storage-driver-fs')).filesystemDriverFactory as StorageDriverFactory<unknown>,
    parameters: ['rootdirectory', 'maxthreads', 'fsync', 'quickreads'],
  },
  inmemory: {
    available: true,
    load: async () =>
      (await import('@berth/storage-driver')).inMemoryDriverFactory as StorageDriverFactory<unknown>,
    parameters: [],
  },
  s3: {
    available: true,
    load: async () =>
      (await import('@berth/storage-driver-s3')).s3DriverFactory as StorageDriverFactory<unknown>,
    parameters: S3_PARAMETERS,
  },
  // registry:2's older name of the S3 driver.
  s3aws: {
    available: true,
    load: async () =>
      (await import('@berth/storage-driver-s3')).s3DriverFactory as StorageDriverFactory<unknown>,
    parameters: S3_PARAMETERS,
  },
  gcs: {
    available: true,
    load: async () =>
      (await import('@berth/storage-driver-gcs')).gcsDriverFactory as StorageDriverFactory<unknown>,
    parameters: [
      'bucket',
      'keyfile',
      'credentials',
      'rootdirectory',
      'chunksize',
      'maxconcurrency',
      'useragent',
      'endpoint',
      'redirectexpiry',
    ],
  },
  azure: {
    available: true,
    load: async () =>
      (await import('@berth/storage-driver-azure')).azureDriverFactory as StorageDriverFactory<unknown>,
    parameters: [
      'accountname',
      'accountkey',
      'container',
      'connectionstring',
      'serviceurl',
      'realm',
      'rootdirectory',
      'credentials',
      'max_retries',
      'retry_delay',
      'skipverify',
      'redirectexpiry',
    ],
  },
};

/** Looks up a driver by its configuration key. */
export function driverEntry(name: string): DriverEntry | undefined {
  return Object.hasOwn(STORAGE_DRIVERS, name) ? STORAGE_DRIVERS[name] : undefined;
}

/** The names of the drivers that can be used. */
export function availableDriverNames(): string[] {
  return Object.entries(STORAGE_DRIVERS)
    .filter(([, entry]) => entry.available)
    .map(([name]) => name);
}

/** A storage middleware the server can apply. */
export interface AvailableMiddleware {
  readonly available: true;
  /** Imports the middleware's package and returns its factory. */
  load(): Promise<StorageMiddlewareFactory<unknown>>;
  /** The keys of the entry's `options` it reads (others get an "unknown key" warning). */
  readonly parameters: readonly string[];
}

/** A registry:2 storage middleware Berth does not have. */
export interface MissingMiddleware {
  readonly available: false;
  readonly reason: string;
}

export type MiddlewareEntry = AvailableMiddleware | MissingMiddleware;

/** `middleware.storage[].name` → middleware. */
export const STORAGE_MIDDLEWARES: Readonly<Record<string, MiddlewareEntry>> = {
  redirect: {
    available: true,
    load: async () =>
      (await import('@berth/storage-driver')).redirectMiddlewareFactory as StorageMiddlewareFactory<unknown>,
    parameters: ['baseurl'],
  },
  cloudfront: {
    available: false,
    reason:
      'the cloudfront storage middleware (CloudFront URLs signed with an AWS key pair) is not supported; ' +
      'Berth refuses to start rather than send downloads around the CDN (use redirect for an unsigned CDN)',
  },
};

/** Looks up a storage middleware by the `name` of its entry. */
export function middlewareEntry(name: string): MiddlewareEntry | undefined {
  return Object.hasOwn(STORAGE_MIDDLEWARES, name) ? STORAGE_MIDDLEWARES[name] : undefined;
}
