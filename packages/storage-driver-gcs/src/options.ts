import { InvalidParameterError, integerParameter, stringParameter } from '@berth/storage-driver';

/** The granularity GCS wants for upload chunks, and registry:2's rule for `chunksize`: 256 KiB. */
export const CHUNK_GRANULARITY: number = 256 * 1024;
/** registry:2's default `chunksize`: 5 MiB. */
export const DEFAULT_CHUNK_SIZE: number = 20 * CHUNK_GRANULARITY;
/** The largest `chunksize` Berth accepts (a writer holds up to a few chunks in memory): 1 GiB. */
export const MAX_CHUNK_SIZE: number = 1024 * 1024 * 1024;
/** registry:2's default `maxconcurrency`. */
export const DEFAULT_MAX_CONCURRENCY = 50;
/** Default `redirectexpiry` in seconds (20 minutes, as registry:2's signed URLs). */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS: number = 20 * 60;
/** The longest a V4 signed URL may live: 7 days. */
export const MAX_REDIRECT_EXPIRY_SECONDS: number = 7 * 24 * 3600;
/** Default number of parts one writer uploads at the same time. */
export const DEFAULT_UPLOAD_CONCURRENCY = 4;
/** Default `maxResults` of one listing page (the service's maximum). */
export const DEFAULT_PAGE_SIZE = 1000;

/**
 * `storage.gcs.credentials`: the fields of a service account key file (as registry:2 takes them),
 * or of an `authorized_user` file.
 */
export interface GcsCredentialsOptions {
  /** `service_account` (the default) or `authorized_user`. */
  type?: string;
  project_id?: string;
  private_key_id?: string;
  /** PEM private key, for `service_account`. */
  private_key?: string;
  /** Service account e-mail, for `service_account`. */
  client_email?: string;
  client_id?: string;
  /** For `authorized_user`. */
  client_secret?: string;
  /** For `authorized_user`. */
  refresh_token?: string;
  auth_uri?: string;
  token_uri?: string;
  auth_provider_x509_cert_url?: string;
  client_x509_cert_url?: string;
  universe_domain?: string;
}

/**
 * Options of the GCS driver: the keys of `storage.gcs` in `config.yml` (registry:2's names), plus
 * Berth's `endpoint` and `redirectexpiry` and two tuning knobs for code.
 */
export interface GcsDriverOptions {
  /** The bucket everything is stored in. It must exist. Required. */
  bucket?: string;
  /**
   * Path of a service account key file (JSON). Without `keyfile` and `credentials` the driver
   * uses Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, the metadata server, …).
   */
  keyfile?: string;
  /** A service account key given inline (its JSON fields). Takes precedence over `keyfile`. */
  credentials?: GcsCredentialsOptions;
  /**
   * Prefix of every object name, as registry:2 builds it: driver path `/a/b` is the object
   * `<rootdirectory without leading and trailing slashes>/a/b`.
   * @default '' (the bucket's root)
   */
  rootdirectory?: string;
  /**
   * Bytes a writer buffers before it uploads them as one part; a multiple of 256 KiB.
   * @default 5242880 (5 MiB)
   */
  chunksize?: number;
  /** Most requests the driver has in flight at once. @default 50 */
  maxconcurrency?: number;
  /** Prepended to the SDK's User-Agent. */
  useragent?: string;
  /**
   * Berth-only: the JSON API endpoint, for emulators and private endpoints. An `http:` endpoint
   * is taken for an emulator and sent no credentials; an `https:` one gets them.
   * @default 'https://storage.googleapis.com'
   */
  endpoint?: string;
  /** Berth-only: lifetime of the signed URLs `redirectURL` hands out, a Go duration. @default '20m' */
  redirectexpiry?: string;
  /** Parts one writer uploads at the same time (code only, not a config key). @default 4 */
  uploadConcurrency?: number;
  /** `maxResults` of one listing page (code only, not a config key). @default 1000 */
  pageSize?: number;
}

/** How the driver authenticates, decided from the options. */
export type GcsAuth =
  | { readonly kind: 'credentials'; readonly credentials: Readonly<GcsCredentialsOptions> }
  | { readonly kind: 'keyfile'; readonly keyFilename: string }
  | { readonly kind: 'default' };

/** {@link GcsDriverOptions} validated, with every default filled in. */
export interface ResolvedGcsDriverOptions {
  readonly bucket: string;
  readonly auth: GcsAuth;
  /** The object-name prefix (no leading or trailing `/`; `''` for the bucket's root). */
  readonly rootPrefix: string;
  readonly chunkSize: number;
  readonly maxConcurrency: number;
  readonly userAgent: string | undefined;
  /** `undefined` for Google's endpoint. */
  readonly endpoint: string | undefined;
  readonly redirectExpirySeconds: number;
  readonly uploadConcurrency: number;
  readonly pageSize: number;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`100ms`, `1.5s`, `1h30m`) into milliseconds; a bare `0` is zero.
 * @throws {InvalidParameterError} naming `key`.
 */
export function parseDuration(value: unknown, key: string): number {
  const problem = `must be a duration such as 30s, 20m or 1h, got ${JSON.stringify(value)}`;
  if (value === 0 || value === '0') return 0;
  if (typeof value !== 'string') throw new InvalidParameterError(key, problem);
  const text = value.trim();
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (match === null) throw new InvalidParameterError(key, problem);
    total += Number(match[1]) * DURATION_UNITS[match[2]!]!;
    index = part.lastIndex;
  }
  if (index === 0) throw new InvalidParameterError(key, problem);
  return total;
}

/** GCS bucket names: 3–63 (or up to 222 with dots) of `a-z 0-9 - _ .`, starting and ending alphanumeric. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

const CREDENTIAL_KEYS: readonly (keyof GcsCredentialsOptions)[] = [
  'type',
  'project_id',
  'private_key_id',
  'private_key',
  'client_email',
  'client_id',
  'client_secret',
  'refresh_token',
  'auth_uri',
  'token_uri',
  'auth_provider_x509_cert_url',
  'client_x509_cert_url',
  'universe_domain',
];

function parseCredentials(value: unknown): GcsCredentialsOptions | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidParameterError(
      'credentials',
      'must be a mapping with the fields of a service account key (type, client_email, private_key, …)',
    );
  }
  const section = value as Readonly<Record<string, unknown>>;
  const credentials: GcsCredentialsOptions = {};
  for (const key of CREDENTIAL_KEYS) {
    let field: string | undefined;
    try {
      field = stringParameter(section, key);
    } catch (error) {
      throw new InvalidParameterError(`credentials.${key}`, (error as Error).message.replace(/^[^:]*: /, ''));
    }
    if (field !== undefined) credentials[key] = field;
  }
  return credentials;
}

/**
 * Validates a raw `storage.gcs` section. Values may be strings from `REGISTRY_STORAGE_GCS_*`
 * variables (`"5242880"`). Unknown keys are ignored, as registry:2 ignores them.
 * @throws {InvalidParameterError} naming the offending key (`credentials.private_key` for nested ones).
 *
 * @example
 * ```ts
 * const options = parseGcsParameters({ bucket: 'my-registry', keyfile: '/etc/berth/sa.json' });
 * ```
 */
export function parseGcsParameters(raw: Readonly<Record<string, unknown>>): ResolvedGcsDriverOptions {
  const credentials = parseCredentials(raw.credentials);
  const redirectExpiry = raw.redirectexpiry;
  return resolveGcsOptions(
    {
      ...optional('bucket', stringParameter(raw, 'bucket')),
      ...optional('keyfile', stringParameter(raw, 'keyfile')),
      ...optional('rootdirectory', stringParameter(raw, 'rootdirectory')),
      ...optional('useragent', stringParameter(raw, 'useragent')),
      ...optional('endpoint', stringParameter(raw, 'endpoint')),
      ...(credentials === undefined ? {} : { credentials }),
      chunksize: integerParameter(raw, 'chunksize', DEFAULT_CHUNK_SIZE),
      maxconcurrency: integerParameter(raw, 'maxconcurrency', DEFAULT_MAX_CONCURRENCY),
    },
    redirectExpiry === undefined || redirectExpiry === null || redirectExpiry === ''
      ? undefined
      : parseDuration(redirectExpiry, 'redirectexpiry'),
  );
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function integerIn(value: unknown, key: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidParameterError(key, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Validates options given in code and fills in the defaults.
 * @throws {InvalidParameterError} naming the offending key.
 */
export function resolveGcsOptions(
  options: GcsDriverOptions,
  redirectExpiryMs?: number,
): ResolvedGcsDriverOptions {
  const bucket = options.bucket;
  if (bucket === undefined || bucket === '') throw new InvalidParameterError('bucket', 'is required');
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw new InvalidParameterError('bucket', `${JSON.stringify(bucket)} is not a valid bucket name`);
  }
  const rootdirectory = options.rootdirectory ?? '';
  if (typeof rootdirectory !== 'string' || /[\0\\\r\n]/.test(rootdirectory)) {
    throw new InvalidParameterError(
      'rootdirectory',
      'must be a string without NUL, backslash or line breaks',
    );
  }
  const rootPrefix = rootdirectory.replace(/^\/+/, '').replace(/\/+$/, '');
  if (
    rootPrefix !== '' &&
    rootPrefix.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new InvalidParameterError(
      'rootdirectory',
      `has an empty, . or .. component: ${JSON.stringify(rootdirectory)}`,
    );
  }
  const chunkSize = options.chunksize ?? DEFAULT_CHUNK_SIZE;
  integerIn(chunkSize, 'chunksize', CHUNK_GRANULARITY, MAX_CHUNK_SIZE);
  if (chunkSize % CHUNK_GRANULARITY !== 0) {
    throw new InvalidParameterError(
      'chunksize',
      `must be a multiple of ${CHUNK_GRANULARITY} (256 KiB), got ${chunkSize}`,
    );
  }
  const maxConcurrency = integerIn(
    options.maxconcurrency ?? DEFAULT_MAX_CONCURRENCY,
    'maxconcurrency',
    1,
    10_000,
  );
  const userAgent = options.useragent;
  if (userAgent !== undefined && (typeof userAgent !== 'string' || /[\r\n]/.test(userAgent))) {
    throw new InvalidParameterError('useragent', 'must be a single-line string');
  }
  let endpoint = options.endpoint;
  if (endpoint !== undefined && endpoint !== '') {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new InvalidParameterError('endpoint', `must be a URL, got ${JSON.stringify(endpoint)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new InvalidParameterError('endpoint', `must be an http or https URL, got ${url.protocol}`);
    }
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new InvalidParameterError('endpoint', 'must not have a query, fragment or user info');
    }
    endpoint = endpoint.replace(/\/+$/, '');
  } else {
    endpoint = undefined;
  }
  const expiryMs = redirectExpiryMs ?? parseDuration(options.redirectexpiry ?? '20m', 'redirectexpiry');
  const redirectExpirySeconds = Math.floor(expiryMs / 1000);
  if (redirectExpirySeconds < 1 || redirectExpirySeconds > MAX_REDIRECT_EXPIRY_SECONDS) {
    throw new InvalidParameterError(
      'redirectexpiry',
      'must be from 1s to 168h (a V4 signed URL lives at most 7 days)',
    );
  }
  const uploadConcurrency = integerIn(
    options.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    'uploadConcurrency',
    1,
    64,
  );
  const pageSize = integerIn(options.pageSize ?? DEFAULT_PAGE_SIZE, 'pageSize', 1, DEFAULT_PAGE_SIZE);
  return {
    bucket,
    auth: resolveAuth(options),
    rootPrefix,
    chunkSize,
    maxConcurrency,
    userAgent,
    endpoint,
    redirectExpirySeconds,
    uploadConcurrency,
    pageSize,
  };
}

function resolveAuth(options: GcsDriverOptions): GcsAuth {
  const { credentials, keyfile } = options;
  if (credentials !== undefined) {
    const type = credentials.type ?? 'service_account';
    const required =
      type === 'service_account'
        ? (['client_email', 'private_key'] as const)
        : type === 'authorized_user'
          ? (['client_id', 'client_secret', 'refresh_token'] as const)
          : undefined;
    if (required === undefined) {
      throw new InvalidParameterError(
        'credentials.type',
        `must be service_account or authorized_user, got ${JSON.stringify(type)}`,
      );
    }
    for (const key of required) {
      if (credentials[key] === undefined || credentials[key] === '') {
        throw new InvalidParameterError(`credentials.${key}`, `is required for ${type} credentials`);
      }
    }
    if (type === 'service_account' && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(credentials.private_key!)) {
      throw new InvalidParameterError('credentials.private_key', 'must be a PEM private key');
    }
    return { kind: 'credentials', credentials: { ...credentials, type } };
  }
  if (keyfile !== undefined && keyfile !== '') return { kind: 'keyfile', keyFilename: keyfile };
  return { kind: 'default' };
}
