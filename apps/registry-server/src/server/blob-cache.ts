/**
 * What the server keeps in or through Redis: the blob descriptor cache
 * `storage.cache.blobdescriptor` configures (none, registry:2's `inmemory`, or `redis`, shared
 * with every replica, registry:2 itself and `berth gc`), and the storage change feed that keeps
 * the in-process read caches of every replica right.
 */
import {
  createRedisBlobDescriptorCache,
  createRedisChangeFeed,
  createRedisClient,
  isRedisCacheError,
  type RedisBlobDescriptorCache,
  type RedisBlobDescriptorCacheStats,
  type RedisChangeFeed,
} from '@berth/cache-redis';
import {
  type BlobDescriptorCache,
  type BlobDescriptorCacheStats,
  createInMemoryBlobDescriptorCache,
} from '@berth/registry-core';
import type { BerthConfig, RedisConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { StartupError } from './errors.ts';

/** An open blob descriptor cache and how to close it. */
export interface OpenedBlobDescriptorCache {
  /** `inmemory` or `redis`. */
  readonly kind: 'inmemory' | 'redis';
  readonly cache: BlobDescriptorCache;
  /** The Redis connection of a `redis` cache (shared with the change feed). */
  readonly client?: RedisBlobDescriptorCache['client'];
  /** Hits, misses and errors so far (Redis: with its outage state). */
  stats(): BlobDescriptorCacheStats | RedisBlobDescriptorCacheStats;
  /**
   * Resolves once Redis answers (bounded by its health timeout, 1 s), so the first requests
   * find the connection made; when it does not answer, logs that and resolves all the same —
   * the registry serves from storage until Redis is back.
   */
  ready(): Promise<void>;
  /** Closes the Redis connection; nothing for `inmemory`. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the cache `config` configures, or `undefined` for none. A Redis outage is logged once
 * when it starts and once when it ends (never with the password); meanwhile lookups are misses
 * answered from storage, so no request fails for it.
 * @throws {StartupError} when a Redis TLS file cannot be read or the options are invalid.
 */
export function openBlobDescriptorCache(
  config: Pick<BerthConfig, 'storage' | 'redis'>,
  logger: Pick<Logger, 'info' | 'warn'>,
): OpenedBlobDescriptorCache | undefined {
  const { blobDescriptor, blobDescriptorSize } = config.storage.cache;
  if (blobDescriptor === 'none') return undefined;
  if (blobDescriptor === 'inmemory') {
    const cache = createInMemoryBlobDescriptorCache({
      size: Number.isFinite(blobDescriptorSize) ? blobDescriptorSize : Number.MAX_SAFE_INTEGER,
    });
    logger.info('blob descriptor cache: inmemory', { size: blobDescriptorSize });
    return {
      kind: 'inmemory',
      cache,
      stats: () => cache.stats(),
      ready: async () => {},
      close: async () => {},
    };
  }
  const redis = config.redis;
  // The config loader refuses `blobdescriptor: redis` without a `redis:` address already.
  if (redis === undefined)
    throw new StartupError('storage.cache.blobdescriptor: redis needs redis.addr or redis.addrs');
  let cache: ReturnType<typeof createRedisBlobDescriptorCache>;
  try {
    cache = createRedisBlobDescriptorCache({
      ...redisConnectionOptions(redis),
      onOutage: (event) =>
        logger.warn('redis unreachable: blob descriptor lookups are answered from storage until it is back', {
          code: event.error.code,
          error: event.error.message,
        }),
      onRecovered: (event) =>
        logger.info('redis reachable again: blob descriptor cache in use', {
          downMs: event.downMs,
          replayedClears: event.replayedClears,
          pendingClears: event.pendingClears,
        }),
    });
  } catch (err) {
    if (isRedisCacheError(err)) throw new StartupError(`redis: ${err.message}`);
    throw err;
  }
  logger.info('blob descriptor cache: redis', { topology: redis.topology, addrs: redis.addrs.join(',') });
  if (Object.values(redis.pool).some((value) => value !== undefined)) {
    logger.warn('redis pool settings have no effect: the client keeps one multiplexed connection per node');
  }
  return {
    kind: 'redis',
    cache,
    client: cache.client,
    stats: () => cache.stats(),
    ready: () =>
      cache.health().catch((err: unknown) => {
        logger.warn(
          'redis not reachable at startup: blob descriptor lookups are answered from storage until it is',
          {
            error: (err as Error).message,
          },
        );
      }),
    close: () => cache.close(),
  };
}

/**
 * How long the in-process read caches (links, blob sizes) may answer when every process shares
 * the Redis change feed: removals are heard at once, so this only bounds an entry whose removal
 * announcement was lost without the subscription dropping.
 */
export const SHARED_READ_CACHE_TTL_MS = 60_000;

/** An open change feed and how to close it. */
export interface OpenedChangeFeed {
  readonly feed: RedisChangeFeed;
  /** Resolves once the feed is subscribed, or after 1 s all the same (it keeps trying). */
  ready(): Promise<void>;
  /** Closes the feed, and the Redis connection it opened (not the cache's). Idempotent. */
  close(): Promise<void>;
}

/**
 * The storage change feed on the configured Redis (`undefined` without a `redis:` section): on
 * the blob descriptor cache's connection when that is Redis, else on a connection of its own.
 */
export function openChangeFeed(
  config: Pick<BerthConfig, 'redis'>,
  cache: OpenedBlobDescriptorCache | undefined,
): OpenedChangeFeed | undefined {
  const redis = config.redis;
  if (redis === undefined) return undefined;
  const shared = cache?.client;
  let client = shared;
  if (client === undefined) {
    try {
      client = createRedisClient(redisConnectionOptions(redis));
    } catch (err) {
      if (isRedisCacheError(err)) throw new StartupError(`redis: ${err.message}`);
      throw err;
    }
    // Reported through the feed's `connected`; the default handler would print every retry.
    client.on('error', () => {});
  }
  const feed = createRedisChangeFeed({ client });
  const own = shared === undefined ? client : undefined;
  return {
    feed,
    ready: async () => {
      const deadline = Date.now() + 1_000;
      while (!feed.connected && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
    },
    close: async () => {
      await feed.close();
      own?.disconnect();
    },
  };
}

/** `redis:` as `@berth/cache-redis` takes it. */
function redisConnectionOptions(redis: RedisConfig) {
  return {
    addrs: redis.addrs,
    db: redis.db,
    ...(redis.username === undefined ? {} : { username: redis.username }),
    ...(redis.password === undefined ? {} : { password: redis.password }),
    ...(redis.masterName === undefined ? {} : { masterName: redis.masterName }),
    ...(redis.sentinelUsername === undefined ? {} : { sentinelUsername: redis.sentinelUsername }),
    ...(redis.sentinelPassword === undefined ? {} : { sentinelPassword: redis.sentinelPassword }),
    ...(redis.clientName === undefined ? {} : { clientName: redis.clientName }),
    ...(redis.dialTimeoutMs === undefined ? {} : { dialTimeoutMs: redis.dialTimeoutMs }),
    ...(redis.readTimeoutMs === undefined ? {} : { readTimeoutMs: redis.readTimeoutMs }),
    ...(redis.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: redis.writeTimeoutMs }),
    ...(redis.tls === undefined
      ? {}
      : {
          tls: {
            ...(redis.tls.certificate === undefined ? {} : { certificate: redis.tls.certificate }),
            ...(redis.tls.key === undefined ? {} : { key: redis.tls.key }),
            rootcas: redis.tls.rootCAs,
          },
        }),
  };
}
