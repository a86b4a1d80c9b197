import {
  booleanParameter,
  InvalidParameterError,
  integerParameter,
  stringParameter,
} from '@berth/storage-driver';

/** registry:2's default `realm`: the service is `https://<accountname>.blob.<realm>`. */
export const DEFAULT_REALM = 'core.windows.net';
/** registry:2's default `max_retries`. */
export const DEFAULT_MAX_RETRIES = 5;
/** registry:2's default `retry_delay`, in milliseconds (`100ms`). */
export const DEFAULT_RETRY_DELAY_MS = 100;
/** Default `redirectexpiry` in seconds (20 minutes, how long registry:2's SAS URLs live). */
export const DEFAULT_REDIRECT_EXPIRY_SECONDS: number = 20 * 60;
/** Default size of the blocks the writer stages: 8 MiB. */
export const DEFAULT_BLOCK_SIZE: number = 8 * 1024 * 1024;
/** Default number of blocks one writer stages at the same time. */
export const DEFAULT_UPLOAD_CONCURRENCY = 2;
/** Largest block Azure accepts (4000 MiB). */
export const MAX_BLOCK_SIZE: number = 4000 * 1024 * 1024;

/** The `credentials.type` values registry:2 knows. */
export type AzureCredentialsType = 'client_secret' | 'shared_key' | 'default_credentials';

/** `storage.azure.credentials`: how to authenticate when no connection string is given. */
export interface AzureCredentialsOptions {
  /**
   * `shared_key` (needs `accountkey`), `client_secret` (a Microsoft Entra app: `tenantid`,
   * `clientid`, `secret`) or `default_credentials` (`DefaultAzureCredential`: environment,
   * workload identity, managed identity, Azure CLI, …).
   * @default 'shared_key' when `accountkey` is set, else 'default_credentials'
   */
  type?: AzureCredentialsType;
  /** Application (client) id, for `client_secret`. */
  clientid?: string;
  /** Directory (tenant) id, for `client_secret`. */
  tenantid?: string;
  /** Client secret, for `client_secret`. */
  secret?: string;
}

/**
 * Options of the Azure driver: the keys of `storage.azure` in `config.yml` (registry:2's names),
 * plus Berth's `redirectexpiry` and two tuning knobs for code.
 */
export interface AzureDriverOptions {
  /** Storage account name. Required unless `connectionstring` is given. */
  accountname?: string;
  /** Account key (base64), for shared-key authentication and SAS redirects. */
  accountkey?: string;
  /** The container everything is stored in; created at start if it is missing. Required. */
  container?: string;
  /**
   * A connection string (`DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…` or with
   * `BlobEndpoint=…;SharedAccessSignature=…`). Takes precedence over every other way to
   * authenticate, as in registry:2.
   */
  connectionstring?: string;
  /**
   * The blob service endpoint, e.g. `https://acct.blob.core.windows.net` or azurite's
   * `http://127.0.0.1:10000/devstoreaccount1`.
   * @default `https://<accountname>.blob.<realm>`
   */
  serviceurl?: string;
  /** Domain suffix of the service (`core.chinacloudapi.cn`, `core.usgovcloudapi.net`). @default 'core.windows.net' */
  realm?: string;
  /**
   * Prefix of every blob name, as registry:2 builds it: driver path `/a/b` is the blob
   * `<rootdirectory without leading and trailing slashes>/a/b`.
   * @default '' (the container's root)
   */
  rootdirectory?: string;
  /** How to authenticate without a connection string. */
  credentials?: AzureCredentialsOptions;
  /** Retries of a failed request (and of a copy-status poll). @default 5 */
  max_retries?: number;
  /** Delay before the first retry, a Go duration such as `100ms`; it grows exponentially. @default '100ms' */
  retry_delay?: string;
  /** Accept any TLS certificate from the service (for test endpoints only). @default false */
  skipverify?: boolean;
  /** Lifetime of the SAS URLs `redirectURL` hands out, a Go duration. Berth-only. @default '20m' */
  redirectexpiry?: string;
  /** Size of the blocks the writer stages, in bytes (code only, not a config key). @default 8 MiB */
  blockSize?: number;
  /** Blocks one writer stages at the same time (code only, not a config key). @default 2 */
  uploadConcurrency?: number;
}

/** How the driver authenticates, decided from the options. */
export type AzureAuth =
  | { readonly kind: 'connection_string'; readonly connectionString: string }
  | { readonly kind: 'shared_key'; readonly accountName: string; readonly accountKey: string }
  | {
      readonly kind: 'client_secret';
      readonly accountName: string;
      readonly tenantId: string;
      readonly clientId: string;
      readonly secret: string;
    }
  | { readonly kind: 'default_credentials'; readonly accountName: string };

/** {@link AzureDriverOptions} validated, with every default filled in. */
export interface ResolvedAzureDriverOptions {
  readonly container: string;
  readonly auth: AzureAuth;
  /** `undefined` with a connection string (the string names the endpoint). */
  readonly serviceUrl: string | undefined;
  /** The blob-name prefix (no leading or trailing `/`; `''` for the container's root). */
  readonly rootPrefix: string;
  readonly maxRetries: number;
  readonly retryDelayMs: number;
  readonly skipVerify: boolean;
  readonly redirectExpirySeconds: number;
  readonly blockSize: number;
  readonly uploadConcurrency: number;
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
 * Parses a Go duration (`100ms`, `1.5s`, `1h30m`) into milliseconds. A bare `0` is zero; other
 * bare numbers are rejected, as Go's `time.ParseDuration` rejects them.
 * @throws {InvalidParameterError} naming `key`.
 */
export function parseDuration(value: unknown, key: string): number {
  const problem = `must be a duration such as 100ms, 30s or 20m, got ${JSON.stringify(value)}`;
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

function durationParameter(raw: Readonly<Record<string, unknown>>, key: string, fallbackMs: number): number {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return fallbackMs;
  return parseDuration(value, key);
}

/** Azure's container-name rules: 3–63 of `a-z 0-9 -`, no leading, trailing or double `-`. */
const CONTAINER_NAME = /^(?:\$root|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$/;

const CREDENTIAL_TYPES: readonly AzureCredentialsType[] = [
  'client_secret',
  'shared_key',
  'default_credentials',
];

/**
 * Validates a raw `storage.azure` section. Values may be strings from `REGISTRY_STORAGE_AZURE_*`
 * variables (`"5"`, `"true"`). Unknown keys are ignored, as registry:2 ignores them.
 * @throws {InvalidParameterError} naming the offending key (`credentials.clientid` for nested ones).
 *
 * @example
 * ```ts
 * const options = parseAzureParameters({ accountname: 'acct', accountkey: key, container: 'registry' });
 * ```
 */
export function parseAzureParameters(raw: Readonly<Record<string, unknown>>): ResolvedAzureDriverOptions {
  const rawCredentials = raw.credentials;
  let credentials: AzureCredentialsOptions | undefined;
  if (rawCredentials !== undefined && rawCredentials !== null && rawCredentials !== '') {
    if (typeof rawCredentials !== 'object' || Array.isArray(rawCredentials)) {
      throw new InvalidParameterError('credentials', 'must be a mapping (type, clientid, tenantid, secret)');
    }
    const section = rawCredentials as Readonly<Record<string, unknown>>;
    const nested = (key: string): string | undefined => {
      try {
        return stringParameter(section, key);
      } catch (error) {
        throw new InvalidParameterError(
          `credentials.${key}`,
          (error as Error).message.replace(/^[^:]*: /, ''),
        );
      }
    };
    const type = nested('type');
    credentials = {
      ...(type === undefined ? {} : { type: type as AzureCredentialsType }),
      ...optional('clientid', nested('clientid')),
      ...optional('tenantid', nested('tenantid')),
      ...optional('secret', nested('secret')),
    };
  }
  return resolveAzureOptions(
    {
      ...optional('accountname', stringParameter(raw, 'accountname')),
      ...optional('accountkey', stringParameter(raw, 'accountkey')),
      ...optional('container', stringParameter(raw, 'container')),
      ...optional('connectionstring', stringParameter(raw, 'connectionstring')),
      ...optional('serviceurl', stringParameter(raw, 'serviceurl')),
      ...optional('realm', stringParameter(raw, 'realm')),
      ...optional('rootdirectory', stringParameter(raw, 'rootdirectory')),
      ...(credentials === undefined ? {} : { credentials }),
      max_retries: integerParameter(raw, 'max_retries', DEFAULT_MAX_RETRIES, { min: 0, max: 100 }),
      skipverify: booleanParameter(raw, 'skipverify', false),
    },
    {
      retryDelayMs: durationParameter(raw, 'retry_delay', DEFAULT_RETRY_DELAY_MS),
      redirectExpiryMs: durationParameter(raw, 'redirectexpiry', DEFAULT_REDIRECT_EXPIRY_SECONDS * 1000),
    },
  );
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/**
 * Validates options given in code and fills in the defaults.
 * @throws {InvalidParameterError} naming the offending key.
 */
export function resolveAzureOptions(
  options: AzureDriverOptions,
  parsed: { retryDelayMs?: number; redirectExpiryMs?: number } = {},
): ResolvedAzureDriverOptions {
  const container = options.container;
  if (container === undefined || container === '')
    throw new InvalidParameterError('container', 'is required');
  if (!CONTAINER_NAME.test(container)) {
    throw new InvalidParameterError(
      'container',
      `${JSON.stringify(container)} is not a valid container name (3-63 characters of a-z, 0-9 and single dashes)`,
    );
  }
  const auth = resolveAuth(options);
  let serviceUrl: string | undefined;
  if (auth.kind !== 'connection_string') {
    const realm = options.realm ?? DEFAULT_REALM;
    if (!/^[A-Za-z0-9.-]+$/.test(realm)) {
      throw new InvalidParameterError('realm', `must be a domain name such as ${DEFAULT_REALM}`);
    }
    serviceUrl = options.serviceurl ?? `https://${auth.accountName}.blob.${realm}`;
    let url: URL;
    try {
      url = new URL(serviceUrl);
    } catch {
      throw new InvalidParameterError('serviceurl', `must be a URL, got ${JSON.stringify(serviceUrl)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new InvalidParameterError('serviceurl', `must be an http or https URL, got ${url.protocol}`);
    }
    if (url.search !== '' || url.hash !== '') {
      throw new InvalidParameterError(
        'serviceurl',
        'must not have a query or fragment (use connectionstring for a SAS)',
      );
    }
    serviceUrl = serviceUrl.replace(/\/+$/, '');
  }
  const rootdirectory = options.rootdirectory ?? '';
  if (typeof rootdirectory !== 'string' || /[\0\\]/.test(rootdirectory)) {
    throw new InvalidParameterError('rootdirectory', 'must be a string without NUL or backslash characters');
  }
  const rootPrefix = rootdirectory.replace(/^\/+/, '').replace(/\/+$/, '');
  if (
    rootPrefix.split('/').some((part) => part === '' || part === '.' || part === '..') &&
    rootPrefix !== ''
  ) {
    throw new InvalidParameterError(
      'rootdirectory',
      `has an empty, . or .. component: ${JSON.stringify(rootdirectory)}`,
    );
  }
  const maxRetries = options.max_retries ?? DEFAULT_MAX_RETRIES;
  if (!Number.isSafeInteger(maxRetries) || maxRetries < 0 || maxRetries > 100) {
    throw new InvalidParameterError(
      'max_retries',
      `must be an integer from 0 to 100, got ${String(maxRetries)}`,
    );
  }
  const retryDelayMs = parsed.retryDelayMs ?? parseDuration(options.retry_delay ?? '100ms', 'retry_delay');
  const redirectExpiryMs =
    parsed.redirectExpiryMs ?? parseDuration(options.redirectexpiry ?? '20m', 'redirectexpiry');
  const redirectExpirySeconds = Math.floor(redirectExpiryMs / 1000);
  if (redirectExpirySeconds < 1 || redirectExpirySeconds > 7 * 24 * 3600) {
    throw new InvalidParameterError('redirectexpiry', 'must be from 1s to 168h (a SAS lives at most 7 days)');
  }
  const skipVerify = options.skipverify ?? false;
  if (typeof skipVerify !== 'boolean') throw new InvalidParameterError('skipverify', 'must be true or false');
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isSafeInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new InvalidParameterError('blockSize', `must be an integer from 1 to ${MAX_BLOCK_SIZE}`);
  }
  const uploadConcurrency = options.uploadConcurrency ?? DEFAULT_UPLOAD_CONCURRENCY;
  if (!Number.isSafeInteger(uploadConcurrency) || uploadConcurrency < 1 || uploadConcurrency > 64) {
    throw new InvalidParameterError('uploadConcurrency', 'must be an integer from 1 to 64');
  }
  return {
    container,
    auth,
    serviceUrl,
    rootPrefix,
    maxRetries,
    retryDelayMs,
    skipVerify,
    redirectExpirySeconds,
    blockSize,
    uploadConcurrency,
  };
}

function resolveAuth(options: AzureDriverOptions): AzureAuth {
  if (options.connectionstring !== undefined && options.connectionstring !== '') {
    if (!/(^|;)\s*(AccountName|BlobEndpoint|UseDevelopmentStorage)\s*=/i.test(options.connectionstring)) {
      throw new InvalidParameterError(
        'connectionstring',
        'is not an Azure Storage connection string (no AccountName, BlobEndpoint or UseDevelopmentStorage)',
      );
    }
    return { kind: 'connection_string', connectionString: options.connectionstring };
  }
  const accountName = options.accountname;
  if (accountName === undefined || accountName === '') {
    throw new InvalidParameterError('accountname', 'is required (or give a connectionstring)');
  }
  if (!/^[a-z0-9]{3,24}$/.test(accountName)) {
    throw new InvalidParameterError(
      'accountname',
      `${JSON.stringify(accountName)} is not a storage account name (3-24 of a-z and 0-9)`,
    );
  }
  const credentials = options.credentials ?? {};
  const type = credentials.type ?? (options.accountkey ? 'shared_key' : 'default_credentials');
  if (!CREDENTIAL_TYPES.includes(type)) {
    throw new InvalidParameterError(
      'credentials.type',
      `must be one of ${CREDENTIAL_TYPES.join(', ')}, got ${JSON.stringify(type)}`,
    );
  }
  switch (type) {
    case 'shared_key': {
      const accountKey = options.accountkey;
      if (accountKey === undefined || accountKey === '') {
        throw new InvalidParameterError('accountkey', 'is required for shared_key credentials');
      }
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey)) {
        throw new InvalidParameterError('accountkey', 'must be the base64 account key');
      }
      return { kind: 'shared_key', accountName, accountKey };
    }
    case 'client_secret': {
      const missing = (['tenantid', 'clientid', 'secret'] as const).find(
        (key) => credentials[key] === undefined || credentials[key] === '',
      );
      if (missing !== undefined) {
        throw new InvalidParameterError(
          `credentials.${missing}`,
          'is required for client_secret credentials',
        );
      }
      return {
        kind: 'client_secret',
        accountName,
        tenantId: credentials.tenantid!,
        clientId: credentials.clientid!,
        secret: credentials.secret!,
      };
    }
    default:
      return { kind: 'default_credentials', accountName };
  }
}
