/**
 * Validation of the raw configuration into a {@link BerthConfig}: registry:2's schema
 * (configuration/configuration.go and what registry/handlers/app.go reads from the untyped
 * `storage` maps), its defaults, and what Berth does not support yet. Sections with a module of
 * their own: `auth`/`berth.auth` (auth.ts), `storage.cache`/`redis` (cache.ts), `middleware`
 * (middleware.ts), `proxy`/`berth.proxy` (proxy.ts).
 */
import { isStorageDriverError } from '@berth/storage-driver';
import { availableDriverNames, driverEntry, STORAGE_DRIVERS } from '../drivers.ts';
import { splitHostPort } from './address.ts';
import { issuerEnabled, readAuth, readBerth } from './auth.ts';
import {
  checkCacheBackend,
  DEFAULT_BLOB_DESCRIPTOR_SIZE,
  readRedis,
  readStorageCache,
  type StorageCacheRead,
} from './cache.ts';
import { formatDuration } from './duration.ts';
import { STORAGE_OPTION_KEYS } from './env.ts';
import { readMiddleware } from './middleware.ts';
import { readProxy } from './proxy.ts';
import { isRawMap, pathKey, type RawConfig } from './raw.ts';
import { Diagnostics, type Section, sectionOf } from './reader.ts';
import type {
  BerthConfig,
  ClientAuth,
  HealthConfig,
  HttpConfig,
  LogConfig,
  LogLevel,
  MinimumTls,
  StorageConfig,
  StorageDriverConfig,
  TlsConfig,
  ValidationConfig,
} from './types.ts';

export { splitHostPort } from './address.ts';

/** registry:2's defaults. */
export const DEFAULTS: {
  readonly addr: string;
  readonly catalogMaxEntries: number;
  readonly tagsMaxTags: number;
  readonly uploadPurgingAgeMs: number;
  readonly uploadPurgingIntervalMs: number;
  readonly healthIntervalMs: number;
  readonly healthMinIntervalMs: number;
  readonly blobDescriptorSize: number;
} = {
  addr: ':5000',
  catalogMaxEntries: 1000,
  tagsMaxTags: 1000,
  uploadPurgingAgeMs: 168 * 3_600_000,
  uploadPurgingIntervalMs: 24 * 3_600_000,
  healthIntervalMs: 10_000,
  // Not registry:2's: it runs a check again as soon as the last one ends when the interval is
  // tiny (`interval: 10` is 10 ns), stat-ing storage back to back and keeping a core busy at
  // idle. A storage outage does not need to be noticed within less than a second.
  healthMinIntervalMs: 1000,
  blobDescriptorSize: DEFAULT_BLOB_DESCRIPTOR_SIZE,
};

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const CLIENT_AUTH: readonly ClientAuth[] = [
  'request-client-cert',
  'require-any-client-cert',
  'verify-client-cert-if-given',
  'require-and-verify-client-cert',
];
const MINIMUM_TLS: readonly MinimumTls[] = ['tls1.0', 'tls1.1', 'tls1.2', 'tls1.3'];

/** Go (IANA) cipher suite names registry:2 accepts → OpenSSL names. */
const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

/** Sections registry:2 knows that Berth accepts but ignores for now. */
const NOT_YET: Readonly<Record<string, string>> = {
  notifications: 'notifications are not supported yet: no events will be sent',
  policy: 'repository class policy is not supported yet (ignored: every media type is accepted)',
  reporting: 'error reporting (bugsnag, newrelic) is not supported (ignored)',
  compatibility: 'ignored: schema1 manifests are not supported (as in registry v3)',
};

/** The result of {@link validateConfig}. */
export interface Validated {
  readonly config: BerthConfig | undefined;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/** Validates `raw` (after environment overrides). Never throws for bad values: they are `errors`. */
export async function validateConfig(raw: RawConfig): Promise<Validated> {
  const diag = new Diagnostics(raw);
  const root = sectionOf(diag, [], raw.root);

  checkVersion(root);
  const log = readLog(root);
  const { config: storage, cache } = await readStorage(root);
  const middleware = await readMiddleware(root);
  const http = readHttp(root);
  const catalogMaxEntries = positiveOr(root.section('catalog'), 'maxentries', DEFAULTS.catalogMaxEntries);
  const tagsMaxTags = positiveOr(root.section('tags'), 'maxtags', DEFAULTS.tagsMaxTags);
  const validation = readValidation(root);
  const health = readHealth(root);
  const auth = readAuth(root, issuerEnabled(root));
  const berthSection = root.section('berth');
  const berth = readBerth(berthSection, auth);
  const proxy = readProxy(root, berthSection.section('proxy'));
  berthSection.finish();
  const redis = readRedis(root);
  checkCacheBackend(diag, cache, redis);
  if (storage?.redirect === false && middleware.storage.some((entry) => entry.name === 'redirect')) {
    diag.warn(
      ['storage', 'redirect', 'disable'],
      'blobs are served directly: the redirect storage middleware has no effect (as in registry:2)',
    );
  }
  for (const [key, message] of Object.entries(NOT_YET)) root.unsupported(key, message);
  root.finish();

  if (diag.errors.length > 0 || storage === undefined) {
    return { config: undefined, errors: diag.errors, warnings: diag.warnings };
  }
  const config: BerthConfig = {
    version: '0.1',
    log,
    storage,
    middleware,
    http,
    catalogMaxEntries,
    tagsMaxTags,
    validation,
    health,
    auth,
    berth,
    redis: redis.config,
    proxy,
  };
  return { config, errors: [], warnings: diag.warnings };
}

function checkVersion(root: Section): void {
  const version = root.string('version');
  if (version === undefined || version === '') {
    root.diagnostics.error(['version'], 'is required (write "version: 0.1" at the top of the file)');
  } else if (version !== '0.1') {
    root.diagnostics.error(
      ['version'],
      `unsupported configuration version ${JSON.stringify(version)} (Berth reads version 0.1)`,
    );
  }
}

function readLog(root: Section): LogConfig {
  const log = root.section('log');
  let level = log.choice('level', LOG_LEVELS, 'info');
  if (log.raw('level') === undefined && root.raw('loglevel') !== undefined) {
    level = root.choice('loglevel', LOG_LEVELS, 'info');
    root.diagnostics.warn(['loglevel'], 'deprecated: use log.level');
  } else if (root.raw('loglevel') !== undefined) {
    root.diagnostics.warn(['loglevel'], 'deprecated and ignored: log.level is set');
  }
  const formatter = log.choice('formatter', ['json', 'text', 'logstash'] as const, 'json');
  const fields = log.map('fields') ?? {};
  const accessLog = log.section('accesslog');
  const disabled = accessLog.boolean('disabled', false);
  accessLog.finish();
  log.unsupported('hooks', 'log hooks (mail) are not supported yet (ignored)');
  log.unsupported('reportcaller', 'not supported (ignored)');
  log.finish();
  return { level, formatter, fields, accessLog: { disabled } };
}

async function readStorage(
  root: Section,
): Promise<{ config: StorageConfig | undefined; cache: StorageCacheRead }> {
  const diag = root.diagnostics;
  const storage = root.section('storage');
  if (storage.value === undefined) {
    diag.error(
      ['storage'],
      'no storage driver configured (e.g. storage.filesystem.rootdirectory: /var/lib/registry)',
    );
    return { config: undefined, cache: readStorageCache(storage) };
  }
  const driverKeys = storage.keys().filter((key) => !STORAGE_OPTION_KEYS.has(key));
  let driver: StorageDriverConfig | undefined;
  if (driverKeys.length === 0) {
    diag.error(['storage'], `no storage driver configured (one of: ${availableDriverNames().join(', ')})`);
  } else if (driverKeys.length > 1) {
    const described = driverKeys.map((key) => {
      const variable = diag.raw.origins.get(pathKey(['storage', key]));
      return variable === undefined ? key : `${key} (from ${variable})`;
    });
    const fromEnv = driverKeys.find((key) => diag.raw.origins.has(pathKey(['storage', key])));
    diag.error(
      ['storage'],
      `exactly one storage driver must be configured, found ${described.join(', ')}` +
        (fromEnv === undefined
          ? ''
          : `; to switch drivers from the environment set REGISTRY_STORAGE=${fromEnv}`),
    );
    storage.accept(...driverKeys);
  } else {
    driver = await readDriver(storage, driverKeys[0]!);
  }

  const del = storage.section('delete');
  const deleteEnabled = del.boolean('enabled', false);
  del.finish();
  const redirectSection = storage.section('redirect');
  const redirectDisabled = redirectSection.boolean('disable', false);
  redirectSection.finish();
  const cache = readStorageCache(storage);

  const maintenance = storage.section('maintenance');
  const purging = maintenance.section('uploadpurging');
  const uploadPurging = {
    enabled: purging.boolean('enabled', true),
    ageMs: purging.duration('age', DEFAULTS.uploadPurgingAgeMs, { bareNumber: 'reject' }),
    intervalMs: purging.duration('interval', DEFAULTS.uploadPurgingIntervalMs, {
      bareNumber: 'reject',
      min: 1,
    }),
    dryRun: purging.boolean('dryrun', false),
  };
  purging.finish();
  const readonlySection = maintenance.section('readonly');
  const readOnly = readonlySection.boolean('enabled', false);
  readonlySection.finish();
  maintenance.finish();

  const tag = storage.section('tag');
  const limit =
    tag.raw('concurrencylimit') === undefined ? undefined : tag.integer('concurrencylimit', 1, { min: 1 });
  tag.finish();
  storage.finish();

  if (driver === undefined) return { config: undefined, cache };
  return {
    config: {
      driver,
      deleteEnabled,
      redirect: !redirectDisabled,
      maintenance: { uploadPurging, readOnly },
      tagConcurrencyLimit: limit,
      cache: cache.config,
    },
    cache,
  };
}

async function readDriver(storage: Section, name: string): Promise<StorageDriverConfig | undefined> {
  const diag = storage.diagnostics;
  const path = storage.at(name);
  const entry = driverEntry(name);
  const params = storage.raw(name);
  if (entry === undefined) {
    const known = Object.keys(STORAGE_DRIVERS).join(', ');
    diag.error(path, `unknown storage driver ${JSON.stringify(name)} (known: ${known})`);
    return undefined;
  }
  if (!entry.available) {
    diag.error(path, entry.reason);
    return undefined;
  }
  if (params !== undefined && !isRawMap(params)) {
    diag.error(path, 'must be a mapping of driver parameters');
    return undefined;
  }
  const raw = params ?? {};
  for (const key of Object.keys(raw)) {
    if (!entry.parameters.includes(key))
      diag.warn([...path, key], `unknown key (ignored by the ${name} driver)`);
  }
  const factory = await entry.load();
  try {
    return { name, options: factory.parseParameters(raw) };
  } catch (error) {
    if (isStorageDriverError(error, 'INVALID_PARAMETER')) {
      const parameter = (error as { parameter?: unknown }).parameter;
      if (typeof parameter === 'string') {
        const prefix = `${parameter}: `;
        const problem = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
        diag.error([...path, parameter], problem);
        return undefined;
      }
      diag.error(path, error.message);
      return undefined;
    }
    throw error;
  }
}

function readHttp(root: Section): HttpConfig {
  const diag = root.diagnostics;
  const http = root.section('http');
  const net = http.choice('net', ['tcp', 'unix'] as const, 'tcp');
  const addr = http.string('addr') || DEFAULTS.addr;
  if (net === 'tcp') checkTcpAddress(http, 'addr', addr);

  let prefix = http.string('prefix') ?? '';
  if (prefix !== '') {
    if (!prefix.startsWith('/')) prefix = `/${prefix}`;
    prefix = prefix.replace(/\/+$/, '');
  }

  const hostText = http.string('host');
  let host: string | undefined;
  if (hostText !== undefined && hostText !== '') {
    const parsed = URL.canParse(hostText) ? new URL(hostText) : undefined;
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      diag.error(
        http.at('host'),
        `must be an absolute http(s) URL such as "https://registry.example.com", got ${JSON.stringify(hostText)}`,
      );
    } else {
      host = hostText.replace(/\/+$/, '');
    }
  }

  const secret = http.string('secret') || undefined;
  const relativeUrls = http.boolean('relativeurls', false);
  const drainTimeoutMs = http.duration('draintimeout', 0, { bareNumber: 'nanoseconds' });
  const headers = readHeaders(http);
  const tls = readTls(http);

  const debug = http.section('debug');
  const debugAddr = debug.string('addr') || undefined;
  if (debugAddr !== undefined) checkTcpAddress(debug, 'addr', debugAddr);
  const prometheus = debug.section('prometheus');
  const metricsEnabled = prometheus.boolean('enabled', false);
  const metricsPath = prometheus.string('path') || '/metrics';
  if (!metricsPath.startsWith('/') || metricsPath === '/debug/health')
    diag.error(
      prometheus.at('path'),
      `must be a path starting with /, other than /debug/health, got ${JSON.stringify(metricsPath)}`,
    );
  if (metricsEnabled && debugAddr === undefined)
    diag.warn(
      prometheus.at('enabled'),
      'metrics are served on the debug listener: set http.debug.addr (ignored)',
    );
  prometheus.finish();
  debug.finish();
  const metrics = { enabled: metricsEnabled && debugAddr !== undefined, path: metricsPath };

  const http2 = http.section('http2');
  http2.accept('disabled'); // Berth serves HTTP/1.1 only, so HTTP/2 is always "disabled".
  http2.finish();
  const h2c = http.section('h2c');
  if (h2c.boolean('enabled', false))
    diag.warn(h2c.at('enabled'), 'h2c is not supported yet: serving HTTP/1.1');
  h2c.finish();
  http.finish();

  return { addr, net, prefix, host, secret, relativeUrls, drainTimeoutMs, headers, tls, debugAddr, metrics };
}

/** Checks a Go `host:port` listen address (`:5000`, `0.0.0.0:5000`, `[::1]:5000`, `localhost:0`). */
function checkTcpAddress(section: Section, key: string, addr: string): void {
  const parsed = splitHostPort(addr);
  if (typeof parsed === 'string') section.diagnostics.error(section.at(key), parsed);
}

function readHeaders(http: Section): Record<string, string[]> {
  const diag = http.diagnostics;
  const raw = http.map('headers');
  const headers: Record<string, string[]> = {};
  if (raw === undefined) return headers;
  for (const [name, value] of Object.entries(raw)) {
    const path = [...http.at('headers'), name];
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      diag.error(path, 'is not a valid header name');
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    const out: string[] = [];
    values.forEach((item, i) => {
      const itemPath = Array.isArray(value) ? [...path, String(i)] : path;
      if (typeof item === 'string') out.push(item);
      else if (typeof item === 'number' || typeof item === 'boolean')
        out.push(diag.text(itemPath) ?? String(item));
      else if (item !== null && item !== undefined)
        diag.error(itemPath, 'must be a string or a list of strings');
    });
    for (const item of out) {
      if (/[\r\n\0]/.test(item)) diag.error(path, 'must not contain line breaks');
    }
    headers[name] = out;
  }
  return headers;
}

function readTls(http: Section): TlsConfig | undefined {
  const diag = http.diagnostics;
  const tls = http.section('tls');
  const certificate = tls.string('certificate') || undefined;
  const key = tls.string('key') || undefined;
  const clientCAs = tls.strings('clientcas');
  const clientAuthText = tls.string('clientauth');
  let clientAuth: ClientAuth | undefined;
  if (clientAuthText !== undefined && clientAuthText !== '') {
    if ((CLIENT_AUTH as readonly string[]).includes(clientAuthText))
      clientAuth = clientAuthText as ClientAuth;
    else
      diag.error(
        tls.at('clientauth'),
        `must be one of ${CLIENT_AUTH.join(', ')}, got ${JSON.stringify(clientAuthText)}`,
      );
  }
  const minimumTls = tls.choice('minimumtls', MINIMUM_TLS, 'tls1.2');
  if (minimumTls === 'tls1.0' || minimumTls === 'tls1.1') {
    diag.warn(tls.at('minimumtls'), `${minimumTls} is insecure (registry v3 accepts only tls1.2 and tls1.3)`);
  }
  const cipherSuites: string[] = [];
  tls.strings('ciphersuites').forEach((name, i) => {
    const openssl = CIPHER_SUITES[name];
    if (openssl === undefined) {
      diag.error([...tls.at('ciphersuites'), String(i)], `unknown TLS cipher suite ${JSON.stringify(name)}`);
    } else {
      cipherSuites.push(openssl);
    }
  });
  if (cipherSuites.length > 0 && minimumTls === 'tls1.3') {
    diag.warn(
      tls.at('ciphersuites'),
      'ignored: cipher suites cannot be configured with tls1.3 (as in registry:2)',
    );
    cipherSuites.length = 0;
  }
  const letsencrypt = tls.section('letsencrypt');
  const cacheFile = letsencrypt.string('cachefile');
  letsencrypt.accept('email', 'hosts', 'directoryurl');
  letsencrypt.finish();
  tls.finish();

  if (cacheFile !== undefined && cacheFile !== '') {
    if (certificate === undefined) {
      // Serving plain HTTP instead would be a silent downgrade: refuse to start.
      diag.error(
        letsencrypt.at('cachefile'),
        "Let's Encrypt is not supported yet: configure http.tls.certificate and key",
      );
    } else {
      diag.warn(letsencrypt.path, 'ignored: http.tls.certificate is set');
    }
  }
  if (certificate === undefined && key === undefined) {
    if (clientCAs.length > 0 || clientAuth !== undefined) {
      diag.error(tls.path, 'clientcas/clientauth need http.tls.certificate and http.tls.key');
    }
    return undefined;
  }
  if (certificate === undefined) {
    diag.error(tls.at('certificate'), 'is required when http.tls.key is set');
    return undefined;
  }
  if (key === undefined) {
    diag.error(tls.at('key'), 'is required when http.tls.certificate is set');
    return undefined;
  }
  if (
    clientAuth !== undefined &&
    clientAuth !== 'request-client-cert' &&
    clientAuth !== 'require-any-client-cert' &&
    clientCAs.length === 0
  ) {
    diag.error(tls.at('clientauth'), `${clientAuth} needs http.tls.clientcas`);
  }
  return {
    certificate,
    key,
    clientCAs,
    clientAuth: clientAuth ?? (clientCAs.length > 0 ? 'require-and-verify-client-cert' : undefined),
    minimumTls,
    cipherSuites,
  };
}

/** registry:2 reads 0 or a negative `maxentries`/`maxtags` as the default. */
function positiveOr(section: Section, key: string, fallback: number): number {
  const value = section.integer(key, fallback);
  section.finish();
  return value > 0 ? value : fallback;
}

function readValidation(root: Section): ValidationConfig {
  const diag = root.diagnostics;
  const validation = root.section('validation');
  const enabledSet = validation.raw('enabled') !== undefined;
  const enabled = validation.boolean('enabled', false);
  if (enabledSet) diag.warn(validation.at('enabled'), 'deprecated: use validation.disabled');
  const disabledFlag = validation.boolean('disabled', false);
  // registry:2: `if !Enabled { Enabled = !Disabled }`.
  const disabled = !enabled && disabledFlag;

  const manifests = validation.section('manifests');
  const urls = manifests.section('urls');
  const compile = (key: 'allow' | 'deny'): RegExp[] =>
    urls.strings(key).flatMap((pattern, i) => {
      try {
        return [new RegExp(pattern)];
      } catch (error) {
        diag.error([...urls.at(key), String(i)], `invalid regular expression: ${(error as Error).message}`);
        return [];
      }
    });
  const allow = compile('allow');
  const deny = compile('deny');
  urls.finish();

  const indexes = manifests.section('indexes');
  const platforms = indexes.choice('platforms', ['all', 'none', 'list'] as const, 'all');
  const platformList: { os: string; architecture: string }[] = [];
  for (const item of indexes.list('platformlist')) {
    const entry = sectionOf(diag, item.path, item.value);
    const os = entry.string('os') ?? '';
    const architecture = entry.string('architecture') ?? '';
    entry.finish();
    if (os === '' && architecture === '') diag.error(item.path, 'needs os and/or architecture');
    else platformList.push({ os, architecture });
  }
  if (platforms === 'none') {
    diag.warn(
      indexes.at('platforms'),
      'image index completeness is not validated (experimental in registry:2)',
    );
  }
  indexes.finish();
  manifests.finish();
  validation.finish();
  return { disabled, urls: { allow, deny }, indexes: { platforms, platformList } };
}

function readHealth(root: Section): HealthConfig {
  const health = root.section('health');
  const driver = health.section('storagedriver');
  const enabled = driver.boolean('enabled', false);
  let intervalMs = driver.duration('interval', DEFAULTS.healthIntervalMs, { bareNumber: 'nanoseconds' });
  if (intervalMs > 0 && intervalMs < DEFAULTS.healthMinIntervalMs) {
    driver.diagnostics.warn(
      driver.at('interval'),
      `${formatDuration(intervalMs)} is below the minimum of ${formatDuration(DEFAULTS.healthMinIntervalMs)}: ` +
        `the check runs every ${formatDuration(DEFAULTS.healthMinIntervalMs)}`,
    );
    intervalMs = DEFAULTS.healthMinIntervalMs;
  }
  const threshold = driver.integer('threshold', 0, { min: 0 });
  driver.finish();
  const files = health.list('file').map(({ path, value }) => {
    const item = sectionOf(health.diagnostics, path, value);
    const file = item.string('file') ?? '';
    if (file === '')
      item.diagnostics.error(item.at('file'), 'is required: the file whose existence fails the check');
    const timing = checkTiming(item);
    item.finish();
    return { file, ...timing };
  });
  const http = health.list('http').map(({ path, value }) => {
    const item = sectionOf(health.diagnostics, path, value);
    const uri = item.string('uri') ?? '';
    if (!/^https?:\/\//i.test(uri) || !URL.canParse(uri))
      item.diagnostics.error(
        item.at('uri'),
        `must be an http:// or https:// URL, got ${JSON.stringify(uri)}`,
      );
    const headers = readHeaders(item);
    const statusCode = item.integer('statuscode', 200, { min: 100, max: 599 });
    const timing = checkTiming(item);
    const timeoutMs =
      item.duration('timeout', timing.intervalMs, { bareNumber: 'nanoseconds' }) || timing.intervalMs;
    item.finish();
    return { uri, headers, statusCode, timeoutMs, ...timing };
  });
  const tcp = health.list('tcp').map(({ path, value }) => {
    const item = sectionOf(health.diagnostics, path, value);
    const addr = item.string('addr') ?? '';
    checkTcpAddress(item, 'addr', addr);
    const timing = checkTiming(item);
    const timeoutMs =
      item.duration('timeout', timing.intervalMs, { bareNumber: 'nanoseconds' }) || timing.intervalMs;
    item.finish();
    return { addr, timeoutMs, ...timing };
  });
  health.finish();
  return {
    storageDriver: {
      enabled,
      intervalMs: intervalMs > 0 ? intervalMs : DEFAULTS.healthIntervalMs,
      threshold: threshold > 0 ? threshold : 1,
    },
    files,
    http,
    tcp,
  };
}

/** `interval` (default 10s, 0 → default) and `threshold` (0 → 1) of one `health.file|http|tcp` entry. */
function checkTiming(item: Section): { intervalMs: number; threshold: number } {
  const intervalMs = item.duration('interval', DEFAULTS.healthIntervalMs, { bareNumber: 'nanoseconds' });
  const threshold = item.integer('threshold', 0, { min: 0 });
  return {
    intervalMs:
      intervalMs > 0 ? Math.max(intervalMs, DEFAULTS.healthMinIntervalMs) : DEFAULTS.healthIntervalMs,
    threshold: threshold > 0 ? threshold : 1,
  };
}
