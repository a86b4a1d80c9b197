/**
 * `storage.cache` (the blob descriptor cache) and `redis`, in both dialects Berth reads:
 *
 * - registry 2.8: `redis.addr` (one server), `password`, `db`, `dialtimeout`/`readtimeout`/
 *   `writetimeout`, `pool.{maxidle,maxactive,idletimeout}` (redigo's pool) and `tls.enabled`.
 * - registry v3: the lower-cased fields of go-redis' `UniversalOptions` directly under `redis`
 *   (`addrs`, `username`, `mastername`, `poolsize`, `maxidleconns`, `connmaxidletime`, …) plus
 *   `tls.{certificate,key,clientcas}`. There is no `pool` section in v3.
 *
 * A file may mix them; the two names of one setting (`pool.maxidle` and `maxidleconns`) may not
 * both be set. Nothing here reads a password into a message.
 */

import { splitHostPort } from './address.ts';
import { formatPath } from './raw.ts';
import type { Diagnostics, Section } from './reader.ts';
import type {
  BlobDescriptorCacheKind,
  RedisConfig,
  RedisPoolConfig,
  RedisTlsConfig,
  StorageCacheConfig,
} from './types.ts';

/** `storage.cache.blobdescriptorsize`'s default (registry v3's `memory.DefaultSize`). */
export const DEFAULT_BLOB_DESCRIPTOR_SIZE = 10_000;

const CACHE_KINDS: readonly BlobDescriptorCacheKind[] = ['inmemory', 'redis'];

/** v3 (go-redis) keys Berth accepts and ignores, with the reason given in the warning. */
const IGNORED_REDIS_KEYS: Readonly<Record<string, string>> = {
  minretrybackoff: 'the retry backoff is not configurable (ignored)',
  maxretrybackoff: 'the retry backoff is not configurable (ignored)',
  pooltimeout: 'not supported (ignored)',
  poolfifo: 'not supported (ignored)',
  contexttimeoutenabled: 'a Go client option with no equivalent in Berth (ignored)',
  readonly: 'reading from replicas is not supported (ignored: every command goes to a primary)',
  routebylatency: 'reading from replicas is not supported (ignored: every command goes to a primary)',
  routerandomly: 'reading from replicas is not supported (ignored: every command goes to a primary)',
  disableindentity: 'not supported (ignored)',
  disableidentity: 'not supported (ignored)',
  identitysuffix: 'not supported (ignored)',
  unstableresp3: 'RESP3 is not supported (ignored)',
};

/** What {@link readStorageCache} read. */
export interface StorageCacheRead {
  readonly config: StorageCacheConfig;
  /** The key that chose the cache (`storage.cache.blobdescriptor` or the deprecated `layerinfo`). */
  readonly path: readonly string[];
}

/** Reads `storage.cache` (marks `cache` read in `storage`). */
export function readStorageCache(storage: Section): StorageCacheRead {
  const diag = storage.diagnostics;
  const cache = storage.section('cache');
  const current = cache.raw('blobdescriptor') !== undefined;
  const legacy = cache.raw('layerinfo') !== undefined;
  let key = 'blobdescriptor';
  if (legacy && !current) {
    key = 'layerinfo';
    diag.warn(cache.at('layerinfo'), 'deprecated: use storage.cache.blobdescriptor');
  } else if (legacy) {
    diag.warn(cache.at('layerinfo'), 'deprecated and ignored: storage.cache.blobdescriptor is set');
  }
  const blobDescriptor = cache.choice<BlobDescriptorCacheKind | 'none'>(key, CACHE_KINDS, 'none');

  const sizeSet = cache.raw('blobdescriptorsize') !== undefined;
  let blobDescriptorSize = cache.integer('blobdescriptorsize', DEFAULT_BLOB_DESCRIPTOR_SIZE);
  if (blobDescriptorSize < 0) {
    diag.warn(
      cache.at('blobdescriptorsize'),
      `${blobDescriptorSize} is read as no limit, as registry v3 reads a negative size; write 0`,
    );
  }
  if (blobDescriptorSize <= 0) blobDescriptorSize = Number.POSITIVE_INFINITY;
  if (sizeSet && blobDescriptor === 'none') {
    diag.warn(cache.at('blobdescriptorsize'), 'ignored: storage.cache.blobdescriptor is not set');
  }
  cache.finish();
  return { config: { blobDescriptor, blobDescriptorSize }, path: cache.at(key) };
}

/** What {@link readRedis} read. */
export interface RedisRead {
  /** The connection settings; `undefined` without a (valid) address. */
  readonly config: RedisConfig | undefined;
  /** Whether `redis.addr` or `redis.addrs` names at least one address (valid or not). */
  readonly addressed: boolean;
  /** Whether the `redis` section has any key. */
  readonly present: boolean;
}

/** Reads the `redis` section (both dialects). */
export function readRedis(root: Section): RedisRead {
  const redis = root.section('redis');
  const diag = redis.diagnostics;

  const { addrs, addressed, valid } = readAddresses(redis);
  const username = redis.string('username') || undefined;
  const password = redis.string('password') || undefined;
  let db = redis.integer('db', 0, { min: 0 });
  const masterName = redis.string('mastername') || undefined;
  const sentinelUsername = redis.string('sentinelusername') || undefined;
  const sentinelPassword = redis.string('sentinelpassword') || undefined;
  const clientName = redis.string('clientname') || undefined;
  if (clientName !== undefined && /\s/.test(clientName)) {
    diag.error(redis.at('clientname'), 'must not contain spaces (Redis refuses such a client name)');
  }
  const timeout = (key: string): number | undefined => {
    const ms = redis.duration(key, 0, { bareNumber: 'nanoseconds' });
    return ms > 0 ? ms : undefined;
  };
  const dialTimeoutMs = timeout('dialtimeout');
  const readTimeoutMs = timeout('readtimeout');
  const writeTimeoutMs = timeout('writetimeout');
  const maxRetries = optionalCount(redis, 'maxretries', -1);
  const maxRedirects = optionalCount(redis, 'maxredirects', -1);
  readProtocol(redis);
  const pool = readPool(redis);
  const tls = readRedisTls(redis);
  for (const [key, message] of Object.entries(IGNORED_REDIS_KEYS)) redis.unsupported(key, message);
  redis.finish();

  const topology = masterName !== undefined ? 'sentinel' : addrs.length > 1 ? 'cluster' : 'single';
  if (topology === 'cluster' && db !== 0) {
    diag.warn(redis.at('db'), `${db} is ignored: a Redis Cluster has only database 0`);
    db = 0;
  }
  if (masterName === undefined) {
    if (sentinelUsername !== undefined)
      diag.warn(redis.at('sentinelusername'), 'ignored without redis.mastername');
    if (sentinelPassword !== undefined)
      diag.warn(redis.at('sentinelpassword'), 'ignored without redis.mastername');
  }

  const present = redis.present;
  if (!valid || addrs.length === 0) return { config: undefined, addressed, present };
  return {
    config: {
      addrs,
      topology,
      username,
      password,
      db,
      masterName,
      sentinelUsername,
      sentinelPassword,
      clientName,
      dialTimeoutMs,
      readTimeoutMs,
      writeTimeoutMs,
      maxRetries: maxRetries === -1 ? 0 : maxRetries,
      maxRedirects: maxRedirects === -1 ? 0 : maxRedirects,
      pool,
      tls,
    },
    addressed,
    present,
  };
}

/**
 * The checks between `storage.cache` and `redis`: a Redis cache needs an address (registry v3
 * panics at start without one, distribution/distribution#4486); a `redis` section without one
 * is ignored.
 */
export function checkCacheBackend(diag: Diagnostics, cache: StorageCacheRead, redis: RedisRead): void {
  if (cache.config.blobDescriptor === 'redis' && !redis.addressed) {
    diag.error(
      cache.path,
      `"redis" needs a Redis server: set redis.addr (registry 2.8) or redis.addrs (registry v3)`,
    );
  } else if (redis.present && !redis.addressed) {
    diag.warn(['redis'], 'ignored: no redis.addr or redis.addrs');
  }
}

/** `redis.addr` (2.8) or `redis.addrs` (v3), each checked as `host:port`. */
function readAddresses(redis: Section): { addrs: string[]; addressed: boolean; valid: boolean } {
  const diag = redis.diagnostics;
  const single = redis.string('addr') || undefined;
  const listIsArray = Array.isArray(redis.raw('addrs'));
  const listed = redis.strings('addrs');
  if (single !== undefined && listed.length > 0) {
    diag.error(
      redis.at('addrs'),
      `cannot be combined with redis.addr${diag.origin(redis.at('addr'))} (registry 2.8's single ` +
        'address): keep one',
    );
    return { addrs: [], addressed: true, valid: false };
  }
  const entries =
    single !== undefined
      ? [{ path: redis.at('addr'), addr: single }]
      : listed.map((addr, i) => ({
          path: listIsArray ? [...redis.at('addrs'), String(i)] : redis.at('addrs'),
          addr,
        }));
  let valid = true;
  for (const { path, addr } of entries) {
    const problem = addressProblem(addr);
    if (problem !== undefined) {
      diag.error(path, problem);
      valid = false;
    }
  }
  return { addrs: entries.map((entry) => entry.addr), addressed: entries.length > 0, valid };
}

/** Why `addr` is not a Redis `host:port`, or `undefined`. Never quotes what may hold credentials. */
function addressProblem(addr: string): string | undefined {
  if (addr.trim() === '') return 'must not be empty (use "host:port")';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(addr) || addr.includes('@')) {
    return 'must be "host:port", not a URL (set redis.username, redis.password and redis.tls instead)';
  }
  if (addr.includes(',')) {
    return (
      `must be one "host:port", got ${JSON.stringify(addr)}: list several addresses as a YAML list ` +
      '(redis.addrs: [a:6379, b:6379], or REGISTRY_REDIS_ADDRS_0, _1, …)'
    );
  }
  if (!addr.startsWith('[') && !addr.includes(':')) {
    return `missing port in address ${JSON.stringify(addr)} (use "${addr}:6379")`;
  }
  const parsed = splitHostPort(addr);
  if (typeof parsed === 'string') return parsed;
  if (parsed.host === '') return `missing host in address ${JSON.stringify(addr)} (use "localhost:6379")`;
  if (parsed.port === 0)
    return `port 0 in address ${JSON.stringify(addr)} (Redis listens on 6379 by default)`;
  return undefined;
}

/** An integer of at least `min`, or `undefined` when absent. */
function optionalCount(section: Section, key: string, min: number): number | undefined {
  if (section.raw(key) === undefined) return undefined;
  const value = section.integer(key, Number.NaN, { min });
  return Number.isNaN(value) ? undefined : value;
}

/** An optional duration, read as a Go `time.Duration` (bare numbers are nanoseconds). */
function optionalDuration(section: Section, key: string): number | undefined {
  if (section.raw(key) === undefined) return undefined;
  const ms = section.duration(key, Number.NaN, { bareNumber: 'nanoseconds' });
  return Number.isNaN(ms) ? undefined : ms;
}

/** v3's `protocol`: 2 (RESP2) is what Berth speaks; 3 is accepted with a warning. */
function readProtocol(redis: Section): void {
  const protocol = optionalCount(redis, 'protocol', 0);
  if (protocol === undefined || protocol === 0 || protocol === 2) return;
  if (protocol === 3) {
    redis.diagnostics.warn(redis.at('protocol'), 'RESP3 is not supported: Berth speaks RESP2 (ignored)');
  } else {
    redis.diagnostics.error(redis.at('protocol'), `must be 2 or 3, got ${protocol}`);
  }
}

/** One setting with a 2.8 name in `pool` and a v3 name in `redis`: at most one may be set. */
function either<T>(
  pool: Section,
  legacyKey: string,
  redis: Section,
  key: string,
  read: (section: Section, key: string) => T | undefined,
): T | undefined {
  const legacySet = pool.raw(legacyKey) !== undefined;
  const currentSet = redis.raw(key) !== undefined;
  if (legacySet && currentSet) {
    const diag = redis.diagnostics;
    diag.error(
      redis.at(key),
      `cannot be combined with ${formatPath(pool.at(legacyKey))}${diag.origin(pool.at(legacyKey))} ` +
        '(the registry 2.8 name of the same setting): keep one',
    );
    return undefined;
  }
  return legacySet ? read(pool, legacyKey) : read(redis, key);
}

function readPool(redis: Section): RedisPoolConfig {
  const pool = redis.section('pool');
  const count = (section: Section, key: string) => optionalCount(section, key, 0);
  const config: RedisPoolConfig = {
    size: count(redis, 'poolsize'),
    minIdle: count(redis, 'minidleconns'),
    maxIdle: either(pool, 'maxidle', redis, 'maxidleconns', count),
    maxActive: either(pool, 'maxactive', redis, 'maxactiveconns', count),
    idleTimeoutMs: either(pool, 'idletimeout', redis, 'connmaxidletime', optionalDuration),
    maxLifetimeMs: optionalDuration(redis, 'connmaxlifetime'),
  };
  pool.finish();
  return config;
}

/**
 * `redis.tls`: 2.8's `enabled`, v3's `certificate`, `key` and `clientcas`. As in v3, a client
 * certificate turns TLS on; `clientcas` alone does not (v3 connects in plain text then).
 */
function readRedisTls(redis: Section): RedisTlsConfig | undefined {
  const diag = redis.diagnostics;
  const tls = redis.section('tls');
  const enabledSet = tls.raw('enabled') !== undefined;
  const enabled = tls.boolean('enabled', false);
  const certificate = tls.string('certificate') || undefined;
  const key = tls.string('key') || undefined;
  const rootCAs = tls.strings('clientcas');
  tls.finish();

  if (certificate !== undefined && key === undefined) {
    diag.error(tls.at('key'), 'is required when redis.tls.certificate is set');
    return undefined;
  }
  if (key !== undefined && certificate === undefined) {
    diag.error(tls.at('certificate'), 'is required when redis.tls.key is set');
    return undefined;
  }
  const clientCertificate = certificate !== undefined;
  if (clientCertificate && enabledSet && !enabled) {
    diag.warn(tls.at('enabled'), 'ignored: redis.tls.certificate turns TLS on (as in registry v3)');
  }
  if (!clientCertificate && !enabled) {
    if (rootCAs.length > 0) {
      diag.warn(
        tls.at('clientcas'),
        'ignored: TLS is off without redis.tls.certificate and key or redis.tls.enabled: true ' +
          '(registry v3 connects in plain text too)',
      );
    }
    return undefined;
  }
  return { certificate, key, rootCAs };
}
