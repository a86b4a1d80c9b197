import {
  booleanParameter,
  InvalidParameterError,
  integerParameter,
  stringParameter,
} from '@berth/storage-driver';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The smallest part S3 accepts in a multipart upload (all parts but the last). */
export const MIN_PART_SIZE: number = 5 * MiB;
/** The largest part (and the largest single `CopyObject`) S3 accepts. */
export const MAX_PART_SIZE: number = 5 * GiB;
/** registry:2's default `chunksize`: 10 MiB. */
export const DEFAULT_CHUNK_SIZE: number = 10 * MiB;
/** registry:2's default `multipartcopychunksize`: 32 MiB. */
export const DEFAULT_MULTIPART_COPY_CHUNK_SIZE: number = 32 * MiB;
/** registry:2's default `multipartcopymaxconcurrency`. */
export const DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY = 100;
/** registry:2's default `multipartcopythresholdsize`: 32 MiB. */
export const DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE: number = 32 * MiB;
/** Default lifetime of presigned redirect URLs: 20 minutes, as registry:2. */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS = 1200;
/** The longest lifetime SigV4 allows for a presigned URL: 7 days. */
export const MAX_REDIRECT_EXPIRY_SECONDS: number = 7 * 24 * 3600;

/** Parts of one writer uploading at once; memory per writer is about (this + 1) × part size. */
export const MAX_PARTS_IN_FLIGHT = 4;
/**
 * Sockets kept per driver. Uploads run a few parts at once per writer and a registry serves
 * many clients, but an object store is better served by reusing a bounded pool than by opening
 * a connection per request.
 */
export const MAX_SOCKETS = 128;

/** How the AWS SDK computes request checksums and validates response checksums. */
export type ChecksumMode = 'when_required' | 'when_supported';

/**
 * Options of the S3 driver: the keys of `storage.s3` in `config.yml` (registry:2's names and
 * meanings), plus Berth's `checksummode` and `redirectexpiry`.
 */
export interface S3DriverOptions {
  /** Access key id. Omit (with `secretkey`) to use the AWS SDK's default credential chain. */
  accesskey?: string;
  /** Secret access key; required when `accesskey` is set. */
  secretkey?: string;
  /** Session token for temporary credentials given in `accesskey`/`secretkey`. */
  sessiontoken?: string;
  /**
   * The bucket's region. Required unless `regionendpoint` is set (S3-compatible stores).
   * @default 'us-east-1' when `regionendpoint` is set
   */
  region?: string;
  /**
   * Endpoint of an S3-compatible service (`https://minio.example:9000`, or `host:port`, which
   * gets `https://` or `http://` per `secure`). Do not set it for Amazon S3.
   */
  regionendpoint?: string;
  /**
   * Path-style addressing (`https://endpoint/bucket/key`) instead of virtual-hosted style.
   * @default true when `regionendpoint` is set (registry:2 2.8's behaviour), else false
   */
  forcepathstyle?: boolean;
  /** The bucket; it must exist. Required. */
  bucket: string;
  /**
   * Key prefix every path is stored under (`/registry` stores `/docker/…` at `registry/docker/…`).
   * @default '' (the bucket root)
   */
  rootdirectory?: string;
  /** Server-side encryption: SSE-S3 (`AES256`), or SSE-KMS when `keyid` is set. @default false */
  encrypt?: boolean;
  /** KMS key id for SSE-KMS; ignored unless `encrypt` is true. */
  keyid?: string;
  /** Use HTTPS. @default true */
  secure?: boolean;
  /** Skip TLS certificate verification (self-signed S3-compatible endpoints only). @default false */
  skipverify?: boolean;
  /** Accepted for registry:2 compatibility; requests are always signed with SigV4. @default true */
  v4auth?: boolean;
  /**
   * Size of the parts the writer uploads (at least 5 MiB). The part size grows by this much
   * after every 1000 parts so that very large files stay within S3's 10,000-part limit.
   * @default 10485760 (10 MiB)
   */
  chunksize?: number;
  /** Part size of multipart copies (`move` of large files). @default 33554432 (32 MiB) */
  multipartcopychunksize?: number;
  /** Parts of one multipart copy copied at once. @default 100 */
  multipartcopymaxconcurrency?: number;
  /**
   * Files larger than this are moved with a multipart copy (`UploadPartCopy`) instead of one
   * `CopyObject` (which S3 limits to 5 GiB anyway).
   * @default 33554432 (32 MiB)
   */
  multipartcopythresholdsize?: number;
  /** Storage class of every object; `NONE` sends none (for stores that reject the header). @default 'STANDARD' */
  storageclass?: string;
  /** `User-Agent` added to every S3 request. */
  useragent?: string;
  /** Use the dual-stack (IPv4 + IPv6) Amazon S3 endpoints. @default false */
  usedualstack?: boolean;
  /** Use the S3 Transfer Acceleration endpoints. @default false */
  accelerate?: boolean;
  /** Canned ACL of every object; `none` sends none (buckets with ACLs disabled). @default 'private' */
  objectacl?: string;
  /** `off`, or any registry:2 S3 log level: SDK requests are then logged to the console. @default 'off' */
  loglevel?: string;
  /**
   * Berth only. `when_required`: the AWS SDK adds checksums only where S3 requires them, and
   * sends plain `Content-Length` bodies — what S3-compatible stores (Ceph radosgw, older MinIO)
   * need: newer SDKs otherwise send `aws-chunked` bodies with trailing CRC32s, which radosgw
   * rejects and some stores save as part of the object. `when_supported`: the SDK default,
   * checksums on every request (Amazon S3).
   * @default 'when_required' when `regionendpoint` is set, else 'when_supported'
   */
  checksummode?: ChecksumMode;
  /**
   * Berth only. Lifetime of presigned redirect URLs, in seconds (or a duration such as `20m`),
   * when the caller does not give one. At most 7 days.
   * @default 1200 (20 minutes)
   */
  redirectexpiry?: number;
}

/** {@link S3DriverOptions} with every default filled in. */
export interface ResolvedS3DriverOptions {
  readonly accesskey: string | undefined;
  readonly secretkey: string | undefined;
  readonly sessiontoken: string | undefined;
  readonly region: string;
  /** Always with a scheme. */
  readonly regionendpoint: string | undefined;
  readonly forcepathstyle: boolean;
  readonly bucket: string;
  readonly rootdirectory: string;
  readonly encrypt: boolean;
  readonly keyid: string | undefined;
  readonly secure: boolean;
  readonly skipverify: boolean;
  readonly v4auth: boolean;
  readonly chunksize: number;
  readonly multipartcopychunksize: number;
  readonly multipartcopymaxconcurrency: number;
  readonly multipartcopythresholdsize: number;
  /** `undefined` for `NONE`. */
  readonly storageclass: string | undefined;
  readonly useragent: string | undefined;
  readonly usedualstack: boolean;
  readonly accelerate: boolean;
  /** `undefined` for `none`. */
  readonly objectacl: string | undefined;
  readonly loglevel: string;
  readonly checksummode: ChecksumMode;
  readonly redirectexpiry: number;
}

const STORAGE_CLASSES: ReadonlySet<string> = new Set([
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'GLACIER_IR',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'EXPRESS_ONEZONE',
  'NONE',
]);

const OBJECT_ACLS: ReadonlySet<string> = new Set([
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
  'none',
]);

const LOG_LEVELS: ReadonlySet<string> = new Set([
  'off',
  'debug',
  'debugwithsigning',
  'debugwithhttpbody',
  'debugwithrequestretries',
  'debugwithrequesterrors',
  'debugwitheventstreambody',
]);

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds from a number of seconds or a Go-style duration (`20m`, `1h30m`, `90s`). */
function parseSeconds(key: string, value: unknown): number {
  let seconds: number | undefined;
  if (typeof value === 'number') {
    seconds = value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d+$/.test(text)) {
      seconds = Number(text);
    } else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
      seconds = 0;
      for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
        seconds += Number(amount) * DURATION_UNITS[unit!]!;
      }
    }
  }
  if (seconds === undefined || !Number.isFinite(seconds)) {
    throw new InvalidParameterError(
      key,
      `must be a number of seconds or a duration such as "20m", got ${JSON.stringify(value)}`,
    );
  }
  seconds = Math.round(seconds);
  if (seconds < 1 || seconds > MAX_REDIRECT_EXPIRY_SECONDS) {
    throw new InvalidParameterError(
      key,
      `must be between 1 second and 7 days (${MAX_REDIRECT_EXPIRY_SECONDS} s), got ${seconds} s`,
    );
  }
  return seconds;
}

function endpointWithScheme(endpoint: string | undefined, secure: boolean): string | undefined {
  if (endpoint === undefined) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)
    ? endpoint
    : `${secure ? 'https' : 'http'}://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidParameterError(
      'regionendpoint',
      `must be a URL or host[:port], got ${JSON.stringify(endpoint)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidParameterError(
      'regionendpoint',
      `must be an http or https URL, got ${JSON.stringify(endpoint)}`,
    );
  }
  return withScheme.replace(/\/+$/, '');
}

function choice(
  key: string,
  value: string | undefined,
  allowed: ReadonlySet<string>,
  fallback: string,
): string {
  if (value === undefined) return fallback;
  if (!allowed.has(value)) {
    throw new InvalidParameterError(
      key,
      `must be one of ${[...allowed].join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checksumMode(value: string | undefined, fallback: ChecksumMode): ChecksumMode {
  if (value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (lower === 'when_required' || lower === 'when_supported') return lower;
  throw new InvalidParameterError(
    'checksummode',
    `must be when_required or when_supported, got ${JSON.stringify(value)}`,
  );
}

function sizeParameter(raw: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number) {
  return integerParameter(raw, key, fallback, { min, max: MAX_PART_SIZE });
}

/**
 * Validates a raw `storage.s3` section the way registry:2 reads it. Values from
 * `REGISTRY_STORAGE_S3_*` environment variables may be strings (`"true"`, `"10485760"`); a
 * number given for a string key (a numeric bucket name) is stringified. Unknown keys are
 * ignored, as registry:2 ignores them.
 * @throws {InvalidParameterError} naming the offending key.
 */
export function parseS3Parameters(raw: Readonly<Record<string, unknown>>): ResolvedS3DriverOptions {
  const str = (key: string): string | undefined => stringParameter(raw, key);
  const options: S3DriverOptions = {
    bucket: stringParameter(raw, 'bucket', true),
    accesskey: str('accesskey'),
    secretkey: str('secretkey'),
    sessiontoken: str('sessiontoken'),
    region: str('region'),
    regionendpoint: str('regionendpoint'),
    rootdirectory: str('rootdirectory') ?? '',
    encrypt: booleanParameter(raw, 'encrypt', false),
    keyid: str('keyid'),
    secure: booleanParameter(raw, 'secure', true),
    skipverify: booleanParameter(raw, 'skipverify', false),
    v4auth: booleanParameter(raw, 'v4auth', true),
    chunksize: sizeParameter(raw, 'chunksize', DEFAULT_CHUNK_SIZE, MIN_PART_SIZE),
    multipartcopychunksize: sizeParameter(
      raw,
      'multipartcopychunksize',
      DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
      MIN_PART_SIZE,
    ),
    multipartcopymaxconcurrency: integerParameter(
      raw,
      'multipartcopymaxconcurrency',
      DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
      { min: 1, max: 10_000 },
    ),
    multipartcopythresholdsize: sizeParameter(
      raw,
      'multipartcopythresholdsize',
      DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
      0,
    ),
    storageclass: str('storageclass'),
    useragent: str('useragent'),
    usedualstack: booleanParameter(raw, 'usedualstack', false),
    accelerate: booleanParameter(raw, 'accelerate', false),
    objectacl: str('objectacl'),
    loglevel: str('loglevel'),
  };
  const forcepathstyle = raw.forcepathstyle;
  if (forcepathstyle !== undefined && forcepathstyle !== null && forcepathstyle !== '') {
    options.forcepathstyle = booleanParameter(raw, 'forcepathstyle', false);
  }
  const mode = str('checksummode');
  if (mode !== undefined) options.checksummode = checksumMode(mode, 'when_required');
  const expiry = raw.redirectexpiry;
  if (expiry !== undefined && expiry !== null && expiry !== '') {
    options.redirectexpiry = parseSeconds('redirectexpiry', expiry);
  }
  return resolveS3Options(options);
}

/**
 * Fills in defaults and validates options given in code.
 * @throws {InvalidParameterError} naming the offending key.
 */
export function resolveS3Options(options: S3DriverOptions): ResolvedS3DriverOptions {
  const bucket = options.bucket;
  if (typeof bucket !== 'string' || bucket.trim() === '') {
    throw new InvalidParameterError('bucket', 'is required');
  }
  if ((options.accesskey === undefined) !== (options.secretkey === undefined)) {
    throw new InvalidParameterError(
      options.accesskey === undefined ? 'accesskey' : 'secretkey',
      'accesskey and secretkey must be given together (or neither, for the AWS credential chain)',
    );
  }
  const secure = options.secure ?? true;
  const regionendpoint = endpointWithScheme(options.regionendpoint, secure);
  const region = options.region ?? (regionendpoint === undefined ? undefined : 'us-east-1');
  if (region === undefined || region.trim() === '') {
    throw new InvalidParameterError('region', 'is required (unless regionendpoint is set)');
  }
  const rootdirectory = options.rootdirectory ?? '';
  if (rootdirectory.includes('\0')) {
    throw new InvalidParameterError('rootdirectory', 'must not contain a NUL character');
  }
  const size = (key: keyof S3DriverOptions, value: number | undefined, fallback: number, min: number) => {
    const resolved = value ?? fallback;
    if (!Number.isSafeInteger(resolved) || resolved < min || resolved > MAX_PART_SIZE) {
      throw new InvalidParameterError(
        key,
        `must be an integer between ${min} and ${MAX_PART_SIZE}, got ${String(resolved)}`,
      );
    }
    return resolved;
  };
  const concurrency = options.multipartcopymaxconcurrency ?? DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new InvalidParameterError(
      'multipartcopymaxconcurrency',
      `must be a positive integer, got ${String(concurrency)}`,
    );
  }
  const storageclass = choice(
    'storageclass',
    options.storageclass?.toUpperCase(),
    STORAGE_CLASSES,
    'STANDARD',
  );
  const objectacl = choice('objectacl', options.objectacl?.toLowerCase(), OBJECT_ACLS, 'private');
  const loglevel = choice('loglevel', options.loglevel?.toLowerCase(), LOG_LEVELS, 'off');
  const redirectexpiry =
    options.redirectexpiry === undefined
      ? DEFAULT_REDIRECT_EXPIRY_SECONDS
      : parseSeconds('redirectexpiry', options.redirectexpiry);
  return {
    accesskey: options.accesskey,
    secretkey: options.secretkey,
    sessiontoken: options.sessiontoken,
    region,
    regionendpoint,
    forcepathstyle: options.forcepathstyle ?? regionendpoint !== undefined,
    bucket,
    rootdirectory,
    encrypt: options.encrypt ?? false,
    keyid: options.keyid,
    secure,
    skipverify: options.skipverify ?? false,
    v4auth: options.v4auth ?? true,
    chunksize: size('chunksize', options.chunksize, DEFAULT_CHUNK_SIZE, MIN_PART_SIZE),
    multipartcopychunksize: size(
      'multipartcopychunksize',
      options.multipartcopychunksize,
      DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
      MIN_PART_SIZE,
    ),
    multipartcopymaxconcurrency: concurrency,
    multipartcopythresholdsize: size(
      'multipartcopythresholdsize',
      options.multipartcopythresholdsize,
      DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
      0,
    ),
    storageclass: storageclass === 'NONE' ? undefined : storageclass,
    useragent: options.useragent,
    usedualstack: options.usedualstack ?? false,
    accelerate: options.accelerate ?? false,
    objectacl: objectacl === 'none' ? undefined : objectacl,
    loglevel,
    checksummode: checksumMode(
      options.checksummode,
      regionendpoint === undefined ? 'when_supported' : 'when_required',
    ),
    redirectexpiry,
  };
}

/** The keys of `storage.s3` this driver reads (others are ignored). */
export const S3_PARAMETER_KEYS: readonly string[] = [
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
