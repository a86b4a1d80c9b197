/**
 * From registry:2's `redis:` configuration (both dialects) to an ioredis client. The option
 * names follow the config keys; the README has the mapping table.
 */
import { readFileSync } from 'node:fs';
import { type ConnectionOptions, rootCertificates } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { RedisCacheError } from './errors.ts';

/** registry:2's `redis.tls` (distribution v3): file paths, as in its config. */
export interface RedisTlsOptions {
  /** Whether to use TLS at all (registry:2.8's `tls.enabled`). @default true when `tls` is given */
  readonly enabled?: boolean;
  /** Path of the client certificate (PEM), for mutual TLS: `tls.certificate`. */
  readonly certificate?: string;
  /** Path of the client certificate's private key (PEM): `tls.key`. */
  readonly key?: string;
  /**
   * Paths of CA bundles (PEM) to trust besides Node's built-in roots (distribution v3's
   * `tls.clientcas`, which v3 never applies to the server's certificate, so v3 setups that work
   * verify Redis against the usual roots).
   */
  readonly rootcas?: readonly string[];
}

/** registry:2's `redis.pool`. ioredis multiplexes one connection per node, so it has no effect. */
export interface RedisPoolOptions {
  /** `pool.maxidle`. Accepted for config compatibility; no effect. */
  readonly maxIdle?: number;
  /** `pool.maxactive`. Accepted for config compatibility; no effect. */
  readonly maxActive?: number;
  /** `pool.idletimeout` in ms. Accepted for config compatibility; no effect. */
  readonly idleTimeoutMs?: number;
}

/**
 * How to reach Redis: registry:2's `redis:` section as a typed object. One address is a single
 * node; `masterName` makes the addresses Sentinels; several addresses without `masterName` are
 * the seed nodes of a Redis Cluster.
 */
export interface RedisConnectionOptions {
  /**
   * `host:port` (`[v6addr]:port`; the port defaults to 6379): registry:2's `addr` as a one-element
   * list, or distribution v3's `addrs`.
   */
  readonly addrs: readonly string[];
  /** ACL user (Redis 6+): `username`. */
  readonly username?: string;
  /** `password`. */
  readonly password?: string;
  /** Database number: `db`. Must be 0 (or absent) for a Cluster. @default 0 */
  readonly db?: number;
  /** Sentinel mode, the name of the monitored master: `mastername`. */
  readonly masterName?: string;
  /** User to authenticate to the Sentinels with (not in registry:2's config). Default: none. */
  readonly sentinelUsername?: string;
  /** Password of the Sentinels (not in registry:2's config). Default: none. */
  readonly sentinelPassword?: string;
  /** TLS to Redis (and to the Sentinels): `tls`. Default: plain TCP. */
  readonly tls?: RedisTlsOptions;
  /** Connect timeout in ms: `dialtimeout`. @default 1000 */
  readonly dialTimeoutMs?: number;
  /**
   * Timeout of a lookup in ms: `readtimeout`. A lookup that takes longer is a miss.
   * @default 250
   */
  readonly readTimeoutMs?: number;
  /**
   * Timeout of a write (`set`, `clear`) in ms: `writetimeout`. A write that takes longer is
   * dropped (a `clear` is remembered and retried, see the README). @default 250
   */
  readonly writeTimeoutMs?: number;
  /** `pool`: accepted for config compatibility, no effect (see {@link RedisPoolOptions}). */
  readonly pool?: RedisPoolOptions;
  /** `CLIENT SETNAME` of each connection: v3's `clientname`. @default 'berth' */
  readonly clientName?: string;
}

/** {@link RedisConnectionOptions.dialTimeoutMs}'s default. */
export const DEFAULT_DIAL_TIMEOUT_MS = 1_000;
/** {@link RedisConnectionOptions.readTimeoutMs}'s and `writeTimeoutMs`'s default. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 250;

/** What {@link redisClientOptions} chose: the mode and the ioredis constructor arguments. */
export type RedisClientPlan =
  | { readonly mode: 'single'; readonly options: RedisOptions }
  | { readonly mode: 'sentinel'; readonly options: RedisOptions }
  | {
      readonly mode: 'cluster';
      readonly nodes: readonly { readonly host: string; readonly port: number }[];
      readonly options: ClusterOptions;
    };

/**
 * Parses `host:port`, `[v6]:port` or a bare host (port 6379).
 * @throws {RedisCacheError} `REDIS_CACHE_INVALID_OPTIONS` for anything else.
 */
export function parseRedisAddress(address: string): { host: string; port: number } {
  const text = address.trim();
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    host = close > 0 ? text.slice(1, close) : '';
    const rest = close > 0 ? text.slice(close + 1) : '';
    if (rest !== '' && !rest.startsWith(':')) host = '';
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) {
      // A bare IPv6 address without brackets: no port.
      host = text;
    } else {
      host = colon >= 0 ? text.slice(0, colon) : text;
      portText = colon >= 0 ? text.slice(colon + 1) : undefined;
    }
  }
  const port = portText === undefined ? 6379 : Number(portText);
  if (host === '' || !/^\d+$/.test(portText ?? '6379') || port < 1 || port > 65_535) {
    throw new RedisCacheError(
      'REDIS_CACHE_INVALID_OPTIONS',
      `redis: ${JSON.stringify(address)} is not a host:port address`,
    );
  }
  return { host, port };
}

function invalid(message: string): RedisCacheError {
  return new RedisCacheError('REDIS_CACHE_INVALID_OPTIONS', `redis: ${message}`);
}

function nonNegativeInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw invalid(`${name} must be a non-negative integer, got ${value}`);
  }
}

function positiveMs(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw invalid(`${name} must be a positive number of milliseconds, got ${value}`);
  }
}

function readTlsFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RedisCacheError(
      'REDIS_CACHE_TLS_FILE',
      `redis: cannot read ${option} ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

function tlsOptions(tls: RedisTlsOptions | undefined): ConnectionOptions | undefined {
  if (tls === undefined || tls.enabled === false) return undefined;
  if ((tls.certificate === undefined) !== (tls.key === undefined)) {
    throw invalid('tls.certificate and tls.key must be given together');
  }
  const options: ConnectionOptions = {};
  if (tls.certificate !== undefined) options.cert = readTlsFile('tls.certificate', tls.certificate);
  if (tls.key !== undefined) options.key = readTlsFile('tls.key', tls.key);
  if (tls.rootcas !== undefined && tls.rootcas.length > 0) {
    options.ca = [...rootCertificates, ...tls.rootcas.map((path) => readTlsFile('tls.rootcas', path))];
  }
  return options;
}

/** Reconnect soon, but not in a busy loop: 50 ms, 100 ms, … up to 1 s between attempts. */
function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 50, 1_000);
}

/**
 * The ioredis constructor arguments for `options` (and which kind of client), with the settings
 * a cache needs: no offline queue (a call while disconnected fails at once instead of waiting),
 * one retry of a command interrupted by a disconnect, a command timeout of
 * `max(readTimeoutMs, writeTimeoutMs)`, auto-pipelining, and reconnects every ≤ 1 s forever.
 * TLS files are read here, synchronously.
 *
 * @throws {RedisCacheError} `REDIS_CACHE_INVALID_OPTIONS` naming the option, or
 *   `REDIS_CACHE_TLS_FILE` when a TLS file cannot be read.
 */
export function redisClientOptions(options: RedisConnectionOptions): RedisClientPlan {
  if (!Array.isArray(options.addrs) || options.addrs.length === 0) {
    throw invalid('addrs must name at least one host:port');
  }
  nonNegativeInteger('db', options.db);
  positiveMs('dialTimeoutMs', options.dialTimeoutMs);
  positiveMs('readTimeoutMs', options.readTimeoutMs);
  positiveMs('writeTimeoutMs', options.writeTimeoutMs);
  const addresses = options.addrs.map(parseRedisAddress);
  const tls = tlsOptions(options.tls);
  const commandTimeout = Math.max(
    options.readTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    options.writeTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  );
  const common: RedisOptions = {
    connectTimeout: options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
    commandTimeout,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    connectionName: options.clientName ?? 'berth',
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(tls === undefined ? {} : { tls }),
  };
  if (options.masterName !== undefined) {
    if (options.masterName === '') throw invalid('masterName must not be empty');
    return {
      mode: 'sentinel',
      options: {
        ...common,
        enableOfflineQueue: false,
        db: options.db ?? 0,
        name: options.masterName,
        role: 'master',
        sentinels: addresses,
        sentinelCommandTimeout: commandTimeout,
        sentinelRetryStrategy: reconnectDelay,
        retryStrategy: reconnectDelay,
        ...(options.sentinelUsername === undefined ? {} : { sentinelUsername: options.sentinelUsername }),
        ...(options.sentinelPassword === undefined ? {} : { sentinelPassword: options.sentinelPassword }),
        ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
      },
    };
  }
  if (addresses.length === 1) {
    const [address] = addresses as [{ host: string; port: number }];
    return {
      mode: 'single',
      options: {
        ...common,
        ...address,
        enableOfflineQueue: false,
        db: options.db ?? 0,
        retryStrategy: reconnectDelay,
      },
    };
  }
  if ((options.db ?? 0) !== 0) {
    throw invalid(`db must be 0 for a Redis Cluster (several addrs and no masterName), got ${options.db}`);
  }
  return {
    mode: 'cluster',
    nodes: addresses,
    options: {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: commandTimeout * 4,
      redisOptions: common,
    },
  };
}

/**
 * An ioredis client for `options` (see {@link redisClientOptions}): a `Redis` for a single node
 * or Sentinel, a `Cluster` for several addresses. It starts connecting at once.
 *
 * @example
 * ```ts
 * const client = createRedisClient({ addrs: ['127.0.0.1:6379'], password: 'secret', db: 1 });
 * ```
 * @throws {RedisCacheError} as {@link redisClientOptions} does.
 */
export function createRedisClient(options: RedisConnectionOptions): Redis | Cluster {
  const plan = redisClientOptions(options);
  if (plan.mode === 'cluster') return new Cluster([...plan.nodes], plan.options);
  return new Redis(plan.options);
}
