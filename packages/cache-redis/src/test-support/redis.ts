import type { BlobDescriptorCacheSubject } from '@berth/cache-testsuite';
import { e2eSkipReason } from '@berth/test-servers';
import {
  createRedisBlobDescriptorCache,
  type RedisBlobDescriptorCache,
  type RedisBlobDescriptorCacheOptions,
} from '../index.ts';

/** Why the tests on a single node or Sentinel cannot run here (throws under CI instead). */
export const redisSkip: string | undefined = e2eSkipReason(['redis-server']);
/** Why the Cluster tests cannot run here (throws under CI instead). */
export const clusterSkip: string | undefined = e2eSkipReason(['redis-server', 'redis-cli']);

/** `title`, with the skip reason appended when there is one. */
export function titled(title: string, skip: string | undefined): string {
  return skip === undefined ? title : `${title} (skipped: ${skip})`;
}

/** A cache that has answered PING (so the first lookups do not race the connection). */
export async function connectedCache(
  options: RedisBlobDescriptorCacheOptions,
): Promise<RedisBlobDescriptorCache> {
  const cache = createRedisBlobDescriptorCache(options);
  try {
    await cache.health();
  } catch (error) {
    await cache.close();
    throw error;
  }
  return cache;
}

/** A `create` for the conformance suite: a new connected cache each call, closed after the suite. */
export function suiteSubject(
  options: () => RedisBlobDescriptorCacheOptions,
): () => Promise<BlobDescriptorCacheSubject> {
  return async () => {
    const cache = await connectedCache({ healthTimeoutMs: 5_000, ...options() });
    return { cache, stats: () => cache.stats(), clean: () => cache.close() };
  };
}
