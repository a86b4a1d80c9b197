/**
 * registry:2's Redis blob descriptor cache, made safe to depend on:
 *
 * - Same keys and shapes as registry:2 (see keys.ts), so both can share one Redis.
 * - Every call is bounded by a short timeout and the client has no offline queue. The first
 *   failure starts an outage: from then on Redis is not asked at all (lookups are misses at once,
 *   writes are dropped) until a background PING gets an answer, so a frozen or unreachable
 *   server costs one timeout, not one per request, and nothing piles up in memory.
 * - One key per command (a repository lookup is three commands sent together), so it runs on a
 *   Redis Cluster; the global `set` is a MULTI on one key, which a cluster allows.
 * - A `clear` that fails during an outage is remembered: this process answers a miss for that
 *   entry and replays the clear as soon as Redis answers again, so a deleted blob does not come
 *   back as "exists" after the outage (other processes may see it until the replay; README).
 */
import { type Digest, isDigest } from '@berth/digest';
import type {
  BlobDescriptor,
  BlobDescriptorCache,
  BlobDescriptorCacheStats,
  RepositoryBlobDescriptorCache,
} from '@berth/registry-core';
import type { Cluster, Redis } from 'ioredis';
import { createRedisClient, DEFAULT_COMMAND_TIMEOUT_MS, type RedisConnectionOptions } from './client.ts';
import { RedisCacheError } from './errors.ts';
import { FIELD_DIGEST, FIELD_MEDIA_TYPE, FIELD_SIZE, type KeyLayout, keyLayout } from './keys.ts';

/** Passed to the `outage` listeners, once per outage. */
export interface RedisOutageEvent {
  /** The first failure of the outage (`REDIS_CACHE_UNAVAILABLE` or `REDIS_CACHE_TIMEOUT`). */
  readonly error: RedisCacheError;
  /** When it started. */
  readonly since: Date;
}

/** Passed to the `recovered` listeners when Redis answers again after an outage. */
export interface RedisRecoveredEvent {
  /** How long the outage lasted, from its first failure to the successful probe. */
  readonly downMs: number;
  /** Clears that had failed during the outage and were now replayed. */
  readonly replayedClears: number;
  /** Clears still waiting (their replay failed; retried on the next probe). */
  readonly pendingClears: number;
}

/** Options every way of creating the cache shares. */
export interface RedisBlobDescriptorCacheCommonOptions {
  /**
   * Prepended to every key. Default: none, which is what registry:2 uses; set one only when
   * Berth has the database to itself or shares it with something else that is not registry:2.
   */
  readonly keyPrefix?: string;
  /** A lookup that takes longer is a miss. @default 250 (or the connection's `readTimeoutMs`) */
  readonly readTimeoutMs?: number;
  /** A write that takes longer is given up. @default 250 (or the connection's `writeTimeoutMs`) */
  readonly writeTimeoutMs?: number;
  /** How long `health()` may take, including waiting for a connection. @default 1000 */
  readonly healthTimeoutMs?: number;
  /** How often Redis is probed during an outage (and while clears wait for replay). @default 1000 */
  readonly probeIntervalMs?: number;
  /**
   * How many failed clears are remembered for replay. When more fail in one outage the cache
   * stops trusting itself: every lookup is a miss for the rest of the process' life
   * (`stats().untrusted`). @default 10000
   */
  readonly maxPendingClears?: number;
  /** Called once when an outage starts (the same as `on('outage', …)`). */
  readonly onOutage?: (event: RedisOutageEvent) => void;
  /** Called once when Redis answers again (the same as `on('recovered', …)`). */
  readonly onRecovered?: (event: RedisRecoveredEvent) => void;
}

/** The cache on a client the caller made (see the README for the settings it should have). */
export interface RedisBlobDescriptorCacheClientOptions extends RedisBlobDescriptorCacheCommonOptions {
  /**
   * A connected or connecting ioredis client. Give it `enableOfflineQueue: false` (as
   * {@link createRedisClient} does), or calls during an outage wait for their timeout instead of
   * failing at once.
   */
  readonly client: Redis | Cluster;
  /** Whether `close()` also closes `client`. @default false */
  readonly closeClient?: boolean;
}

/** The cache on a client it makes (and closes) itself from registry:2's `redis:` settings. */
export interface RedisBlobDescriptorCacheConnectionOptions
  extends RedisBlobDescriptorCacheCommonOptions,
    RedisConnectionOptions {
  readonly client?: undefined;
}

/** Options of {@link createRedisBlobDescriptorCache}: a ready client, or how to connect. */
export type RedisBlobDescriptorCacheOptions =
  | RedisBlobDescriptorCacheClientOptions
  | RedisBlobDescriptorCacheConnectionOptions;

/** The counters of a {@link RedisBlobDescriptorCache}. */
export interface RedisBlobDescriptorCacheStats extends BlobDescriptorCacheStats {
  /**
   * Lookups answered with a miss, including those that failed (`errors` counts those too), so
   * `hits + misses` is every lookup.
   */
  readonly misses: number;
  /** Whether an outage is going on (from its first failure until a probe succeeds). */
  readonly outage: boolean;
  /** Failed clears waiting for replay. */
  readonly pendingClears: number;
  /** Whether more clears failed than could be remembered: every lookup is then a miss. */
  readonly untrusted: boolean;
}

/** A {@link BlobDescriptorCache} on Redis, from {@link createRedisBlobDescriptorCache}. */
export interface RedisBlobDescriptorCache extends BlobDescriptorCache {
  /** The ioredis client it uses. */
  readonly client: Redis | Cluster;
  /** The key names it uses (with the prefix). */
  readonly keys: KeyLayout;
  /** Counters for metrics. */
  stats(): RedisBlobDescriptorCacheStats;
  /**
   * Resolves when Redis answers `PING` (every master, on a Cluster) within `healthTimeoutMs`,
   * waiting for a connection that is still being made.
   * @throws {RedisCacheError} `REDIS_CACHE_UNAVAILABLE`, `REDIS_CACHE_TIMEOUT` or `REDIS_CACHE_CLOSED`.
   */
  health(): Promise<void>;
  /** Listens to the start (`outage`) or the end (`recovered`) of outages; returns the unsubscribe. */
  on(event: 'outage', listener: (event: RedisOutageEvent) => void): () => void;
  on(event: 'recovered', listener: (event: RedisRecoveredEvent) => void): () => void;
  /** Stops probing and closes the client if the cache made it (or `closeClient` is set). Idempotent. */
  close(): Promise<void>;
}

/** {@link RedisBlobDescriptorCacheCommonOptions.healthTimeoutMs}'s default. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 1_000;
/** {@link RedisBlobDescriptorCacheCommonOptions.probeIntervalMs}'s default. */
export const DEFAULT_PROBE_INTERVAL_MS = 1_000;
/** {@link RedisBlobDescriptorCacheCommonOptions.maxPendingClears}'s default. */
export const DEFAULT_MAX_PENDING_CLEARS = 10_000;

/** Replays run this many clears at a time. */
const REPLAY_CONCURRENCY = 16;

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A reply error about the data (not the connection): the entry is unusable, Redis is fine. */
function isDataError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && /^WRONGTYPE\b/.test(error.message);
}

function asCacheError(error: unknown): RedisCacheError {
  if (error instanceof RedisCacheError) return error;
  const timeout = error instanceof Error && /timed? ?out/i.test(error.message);
  return new RedisCacheError(
    timeout ? 'REDIS_CACHE_TIMEOUT' : 'REDIS_CACHE_UNAVAILABLE',
    `redis cache: ${message(error)}`,
    { cause: error },
  );
}

/** Rejects with `REDIS_CACHE_TIMEOUT` when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new RedisCacheError('REDIS_CACHE_TIMEOUT', `redis cache: ${what} took more than ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Throws the first error of a MULTI's replies. */
function checkExec(replies: [error: Error | null, result: unknown][] | null): void {
  if (replies === null)
    throw new RedisCacheError('REDIS_CACHE_UNAVAILABLE', 'redis cache: MULTI was aborted');
  for (const [error] of replies) if (error) throw error;
}

function validDescriptor(descriptor: BlobDescriptor): boolean {
  return (
    typeof descriptor === 'object' &&
    descriptor !== null &&
    isDigest(descriptor.digest) &&
    Number.isSafeInteger(descriptor.size) &&
    descriptor.size >= 0 &&
    typeof descriptor.mediaType === 'string'
  );
}

/** A global descriptor from `HMGET digest size mediatype`, or `undefined` unless all three are sound. */
function parseDescriptor(reply: (string | null)[]): BlobDescriptor | undefined {
  const [digest, size, mediaType] = reply;
  // registry:2 treats a missing digest or size as a miss (an old `length` field migrates that
  // way); a missing media type is a miss here too rather than a descriptor with an invented one.
  if (digest == null || size == null || mediaType == null) return undefined;
  if (!isDigest(digest) || !/^\d{1,16}$/.test(size)) return undefined;
  const bytes = Number(size);
  if (!Number.isSafeInteger(bytes)) return undefined;
  return { digest, size: bytes, mediaType };
}

/**
 * A Cluster is healthy when every node that owns slots (per `CLUSTER SLOTS`) answers PING and
 * `cluster_state` is `ok`. Pinging the masters the client knows is not enough: ioredis forgets a
 * master whose connection died, while its slots stay unreachable until the cluster fails over.
 */
async function pingCluster(cluster: Cluster): Promise<void> {
  const unavailable = (why: string) => new RedisCacheError('REDIS_CACHE_UNAVAILABLE', `redis cache: ${why}`);
  const known = new Map(
    cluster.nodes('all').map((node) => [`${node.options.host}:${node.options.port}`, node]),
  );
  let slots: unknown;
  let info: unknown;
  let lastError: unknown;
  for (const node of cluster.nodes('master')) {
    try {
      [slots, info] = await Promise.all([node.cluster('SLOTS'), node.cluster('INFO')]);
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (slots === undefined)
    throw unavailable(`no cluster master answers (${message(lastError ?? 'none known')})`);
  const state = typeof info === 'string' ? /cluster_state:(\w+)/.exec(info)?.[1] : undefined;
  if (state !== 'ok') throw unavailable(`cluster_state is ${state ?? 'unknown'}`);
  const owners = new Set<string>();
  for (const range of slots as [number, number, [string, number, ...unknown[]]][]) {
    const [host, port] = range[2];
    owners.add(`${host}:${port}`);
  }
  await Promise.all(
    [...owners].map((owner) => {
      const node = known.get(owner);
      if (node === undefined) throw unavailable(`no connection to the slot owner ${owner}`);
      return node.ping();
    }),
  );
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RedisCacheError(
      'REDIS_CACHE_INVALID_OPTIONS',
      `redis cache: ${name} must be positive, got ${value}`,
    );
  }
  return value;
}

/**
 * registry:2's `storage.cache.blobdescriptor: redis` for Berth: blob descriptors and repository
 * links in Redis (single node, Sentinel or Cluster), shared by every replica and by registry:2
 * itself. Lookups never fail and never hang: an error or a timeout is a miss, a failed write is
 * counted and dropped. Invalid digests and descriptors are ignored (a lookup of one is a miss).
 *
 * @example
 * ```ts
 * const cache = createRedisBlobDescriptorCache({ addrs: ['127.0.0.1:6379'], readTimeoutMs: 250 });
 * cache.on('outage', ({ error }) => log.warn({ code: error.code }, 'redis cache unavailable'));
 * cache.on('recovered', ({ downMs }) => log.info({ downMs }, 'redis cache back'));
 * await cache.repository('team/app').set(digest, { digest, size: 1234, mediaType: 'application/octet-stream' });
 * await cache.repository('team/app').stat(digest); // the descriptor
 * await cache.close();
 * ```
 * @throws {RedisCacheError} `REDIS_CACHE_INVALID_OPTIONS` (or `REDIS_CACHE_TLS_FILE`) for bad options.
 */
export function createRedisBlobDescriptorCache(
  options: RedisBlobDescriptorCacheOptions,
): RedisBlobDescriptorCache {
  // Every option is checked before a client is made, so a bad option leaks no connection.
  const readTimeoutMs = positive('readTimeoutMs', options.readTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS);
  const writeTimeoutMs = positive('writeTimeoutMs', options.writeTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS);
  const healthTimeoutMs = positive('healthTimeoutMs', options.healthTimeoutMs, DEFAULT_HEALTH_TIMEOUT_MS);
  const probeIntervalMs = positive('probeIntervalMs', options.probeIntervalMs, DEFAULT_PROBE_INTERVAL_MS);
  const maxPendingClears = positive('maxPendingClears', options.maxPendingClears, DEFAULT_MAX_PENDING_CLEARS);
  const keys = keyLayout(options.keyPrefix ?? '');
  const owned = options.client === undefined;
  const client: Redis | Cluster =
    options.client ?? createRedisClient(options as RedisBlobDescriptorCacheConnectionOptions);
  const closeClient = owned || (options as RedisBlobDescriptorCacheClientOptions).closeClient === true;

  let hits = 0;
  let misses = 0;
  let errors = 0;
  let closed = false;
  let untrusted = false;
  let outageSince: number | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let probing: Promise<void> | undefined;
  const outageListeners = new Set<(event: RedisOutageEvent) => void>();
  const recoveredListeners = new Set<(event: RedisRecoveredEvent) => void>();
  if (options.onOutage) outageListeners.add(options.onOutage);
  if (options.onRecovered) recoveredListeners.add(options.onRecovered);

  /**
   * Clears that failed, by entry (`g <digest>` or `r <name> <digest>`), with the commands that
   * redo them. While an entry is here, this process answers a miss for it.
   */
  const pendingClears = new Map<string, () => Promise<unknown>>();
  const globalEntry = (digest: Digest): string => `g ${digest}`;
  const repositoryEntry = (name: string, digest: Digest): string => `r ${name} ${digest}`;

  const emit = <E>(listeners: Set<(event: E) => void>, event: E): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not break the cache.
      }
    }
  };

  const startProbing = (): void => {
    if (closed || probeTimer !== undefined) return;
    probeTimer = setInterval(() => void probe(), probeIntervalMs);
    probeTimer.unref();
  };
  const stopProbing = (): void => {
    if (probeTimer !== undefined) clearInterval(probeTimer);
    probeTimer = undefined;
  };

  /** Records a failed call: starts an outage (once) unless the error is about the data. */
  const failed = (error: unknown): void => {
    errors++;
    if (!isDataError(error)) markOutage(error);
  };
  const markOutage = (error: unknown): void => {
    if (closed) return;
    if (outageSince === undefined) {
      outageSince = Date.now();
      emit(outageListeners, { error: asCacheError(error), since: new Date(outageSince) });
    }
    startProbing();
  };

  /** Redis answered a probe: replay what is pending and end the outage (unless the replay failed). */
  const answered = async (): Promise<void> => {
    const { replayed, interrupted } = await replay();
    if (interrupted) return;
    if (outageSince !== undefined) {
      const downMs = Date.now() - outageSince;
      outageSince = undefined;
      emit(recoveredListeners, { downMs, replayedClears: replayed, pendingClears: pendingClears.size });
    }
    if (pendingClears.size === 0) stopProbing();
  };

  const replay = async (): Promise<{ replayed: number; interrupted: boolean }> => {
    let replayed = 0;
    let interrupted = false;
    const queue = [...pendingClears];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined && !closed; next = queue.shift()) {
        const [entry, redo] = next;
        try {
          await within(redo(), writeTimeoutMs, 'replaying a clear');
          // A newer failure of the same clear replaced the function: keep that one.
          if (pendingClears.get(entry) === redo) pendingClears.delete(entry);
          replayed++;
        } catch (error) {
          errors++;
          if (isDataError(error)) {
            // The key is not a hash (or set) at all, so no lookup can hit on it: nothing to clear.
            if (pendingClears.get(entry) === redo) pendingClears.delete(entry);
          } else {
            interrupted = true;
            queue.length = 0;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(REPLAY_CONCURRENCY, queue.length) }, worker));
    return { replayed, interrupted };
  };

  const probe = (): Promise<void> => {
    probing ??= (async () => {
      try {
        await ping();
        await answered();
      } catch {
        // Still down; the next tick tries again.
      } finally {
        probing = undefined;
      }
    })();
    return probing;
  };

  /** Waits (bounded by the caller) for the client to be ready, then pings every master. */
  const ping = async (): Promise<void> => {
    if (client.status === 'end') {
      throw new RedisCacheError('REDIS_CACHE_UNAVAILABLE', 'redis cache: the client was closed');
    }
    const work = (async () => {
      if (client.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const settle = (error?: RedisCacheError): void => {
            clearTimeout(timer);
            client.off('ready', ready);
            client.off('end', end);
            if (error) reject(error);
            else resolve();
          };
          const ready = (): void => settle();
          const end = (): void =>
            settle(new RedisCacheError('REDIS_CACHE_UNAVAILABLE', 'redis cache: the client was closed'));
          const timer = setTimeout(
            () =>
              settle(
                new RedisCacheError(
                  'REDIS_CACHE_UNAVAILABLE',
                  `redis cache: not connected (${client.status}) after ${healthTimeoutMs} ms`,
                ),
              ),
            healthTimeoutMs,
          );
          client.once('ready', ready);
          client.once('end', end);
        });
      }
      if (isCluster(client)) {
        await pingCluster(client);
      } else {
        await client.ping();
      }
    })();
    try {
      await within(work, healthTimeoutMs, 'PING');
    } catch (error) {
      throw asCacheError(error);
    }
  };

  // Notice an outage (and a reconnect) even while no request is made.
  const onClose = (): void =>
    markOutage(new RedisCacheError('REDIS_CACHE_UNAVAILABLE', 'redis cache: connection lost'));
  const onNodeError = (error: unknown): void => markOutage(error);
  const onReady = (): void => {
    if (outageSince !== undefined || pendingClears.size > 0) void probe();
  };
  // ioredis prints unhandled 'error' events; the outage listeners report them instead.
  const onError = (): void => {};
  client.on('error', onError);
  client.on('close', onClose);
  client.on('ready', onReady);
  if (isCluster(client)) client.on('node error', onNodeError);

  const lookup = async (
    entries: readonly string[],
    run: () => Promise<BlobDescriptor | undefined>,
  ): Promise<BlobDescriptor | undefined> => {
    let result: BlobDescriptor | undefined;
    if (outageSince !== undefined && !closed) {
      // During an outage Redis is not asked at all until a probe gets an answer: a frozen or
      // unreachable server would otherwise cost every lookup the whole timeout.
      errors++;
    } else if (!closed && !untrusted && !entries.some((entry) => pendingClears.has(entry))) {
      try {
        result = await within(run(), readTimeoutMs, 'a lookup');
      } catch (error) {
        failed(error);
      }
    }
    if (result === undefined) misses++;
    else hits++;
    return result;
  };

  const write = async (run: () => Promise<unknown>): Promise<void> => {
    if (closed) return;
    if (outageSince !== undefined) {
      errors++;
      return;
    }
    try {
      await within(run(), writeTimeoutMs, 'a write');
    } catch (error) {
      failed(error);
    }
  };

  /** Runs a clear; when it fails for want of Redis, remembers it for replay. */
  const clearing = async (entry: string, run: () => Promise<unknown>): Promise<void> => {
    if (closed) return;
    const remember = (): void => {
      if (pendingClears.has(entry) || pendingClears.size < maxPendingClears) pendingClears.set(entry, run);
      else untrusted = true;
      startProbing();
    };
    if (outageSince !== undefined) {
      errors++;
      remember();
      return;
    }
    try {
      await within(run(), writeTimeoutMs, 'a clear');
      pendingClears.delete(entry);
    } catch (error) {
      failed(error);
      if (!isDataError(error)) remember();
    }
  };

  const statGlobal = async (digest: Digest): Promise<BlobDescriptor | undefined> =>
    parseDescriptor(await client.hmget(keys.blob(digest), FIELD_DIGEST, FIELD_SIZE, FIELD_MEDIA_TYPE));

  /** registry:2's global `SetDescriptor`: digest and size always, the media type only if unset. */
  const setGlobal = async (digest: Digest, descriptor: BlobDescriptor): Promise<void> => {
    const key = keys.blob(digest);
    checkExec(
      await client
        .multi()
        .hset(key, FIELD_DIGEST, descriptor.digest, FIELD_SIZE, String(descriptor.size))
        .hsetnx(key, FIELD_MEDIA_TYPE, descriptor.mediaType)
        .exec(),
    );
  };

  const cache: RedisBlobDescriptorCache = {
    client,
    keys,

    stat(digest) {
      if (!isDigest(digest)) return lookup([], async () => undefined);
      return lookup([globalEntry(digest)], () => statGlobal(digest));
    },

    async set(digest, descriptor) {
      if (!isDigest(digest) || !validDescriptor(descriptor)) return;
      await write(() => setGlobal(digest, descriptor));
    },

    async clear(digest) {
      if (!isDigest(digest)) return;
      const key = keys.blob(digest);
      await clearing(globalEntry(digest), () => client.hdel(key, FIELD_DIGEST, FIELD_SIZE, FIELD_MEDIA_TYPE));
    },

    repository(name): RepositoryBlobDescriptorCache {
      const setKey = keys.repositorySet(name);
      return {
        stat(digest) {
          if (!isDigest(digest)) return lookup([], async () => undefined);
          return lookup([globalEntry(digest), repositoryEntry(name, digest)], async () => {
            // Three keys in (possibly) three slots: three commands, sent together.
            const [member, global, mediaType] = await Promise.all([
              client.sismember(setKey, digest),
              statGlobal(digest),
              client.hget(keys.repositoryBlob(name, digest), FIELD_MEDIA_TYPE),
            ]);
            if (member !== 1 || global === undefined || mediaType === null) return undefined;
            // The repository's media type overrides the global one unless empty (registry:2's rule).
            return mediaType === '' ? global : { ...global, mediaType };
          });
        },

        async set(digest, descriptor) {
          if (!isDigest(digest) || !validDescriptor(descriptor)) return;
          await write(() =>
            Promise.all([
              client.sadd(setKey, digest),
              setGlobal(digest, descriptor),
              client.hset(keys.repositoryBlob(name, digest), FIELD_MEDIA_TYPE, descriptor.mediaType),
            ]),
          );
        },

        async clear(digest) {
          if (!isDigest(digest)) return;
          const hashKey = keys.repositoryBlob(name, digest);
          // Two keys in two slots: two commands, no MULTI (which a cluster would refuse).
          await clearing(repositoryEntry(name, digest), () =>
            Promise.all([client.srem(setKey, digest), client.del(hashKey)]),
          );
        },
      };
    },

    stats: () => ({
      hits,
      misses,
      errors,
      outage: outageSince !== undefined,
      pendingClears: pendingClears.size,
      untrusted,
    }),

    async health() {
      if (closed) throw new RedisCacheError('REDIS_CACHE_CLOSED', 'redis cache: closed');
      await ping();
      if (outageSince !== undefined || pendingClears.size > 0) await answered();
    },

    on(event: 'outage' | 'recovered', listener: (event: never) => void): () => void {
      const listeners = (event === 'outage' ? outageListeners : recoveredListeners) as Set<typeof listener>;
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      if (closed) return;
      closed = true;
      stopProbing();
      client.off('close', onClose);
      client.off('ready', onReady);
      if (isCluster(client)) client.off('node error', onNodeError);
      if (closeClient && client.status !== 'end') {
        try {
          await within(client.quit(), healthTimeoutMs, 'QUIT');
        } catch {
          client.disconnect();
        }
      }
      client.off('error', onError);
    },
  };
  return cache;
}
