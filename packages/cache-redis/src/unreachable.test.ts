/** The cache with nothing listening at its address: no Redis server needed. */
import { createServer } from 'node:net';
import type { Digest } from '@berth/digest';
import { describe, expect, it } from 'vitest';
import { createRedisBlobDescriptorCache, isRedisCacheError, type RedisOutageEvent } from './index.ts';

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 1;
}

const digest = (n: number): Digest => `sha256:${n.toString(16).padStart(64, '0')}` as Digest;
const descriptor = (n: number) => ({ digest: digest(n), size: n, mediaType: 'application/octet-stream' });

describe('redis cache with Redis unreachable', () => {
  it('misses, drops writes, reports one outage and rejects health with a code', async () => {
    const outages: RedisOutageEvent[] = [];
    const cache = createRedisBlobDescriptorCache({
      addrs: [`127.0.0.1:${await closedPort()}`],
      healthTimeoutMs: 300,
      onOutage: (event) => outages.push(event),
    });
    try {
      const started = performance.now();
      for (let i = 0; i < 20; i++) {
        expect(await cache.stat(digest(i))).toBeUndefined();
        expect(await cache.repository('a/b').stat(digest(i))).toBeUndefined();
        await cache.set(digest(i), descriptor(i));
        await cache.repository('a/b').set(digest(i), descriptor(i));
      }
      expect(performance.now() - started).toBeLessThan(1_000);
      const error = await cache.health().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isRedisCacheError(error) && error.code).toBe('REDIS_CACHE_UNAVAILABLE');
      expect(outages).toHaveLength(1);
      expect(cache.stats()).toMatchObject({ hits: 0, misses: 40, outage: true });
      expect(cache.stats().errors).toBeGreaterThanOrEqual(80);
    } finally {
      await cache.close();
    }
    expect(await cache.stat(digest(1))).toBeUndefined();
    await expect(cache.health()).rejects.toMatchObject({ code: 'REDIS_CACHE_CLOSED' });
  });

  it('stops trusting itself when more clears fail than it can remember', async () => {
    const cache = createRedisBlobDescriptorCache({
      addrs: [`127.0.0.1:${await closedPort()}`],
      maxPendingClears: 2,
    });
    try {
      await cache.clear(digest(1));
      await cache.repository('a/b').clear(digest(1));
      expect(cache.stats()).toMatchObject({ pendingClears: 2, untrusted: false });
      await cache.clear(digest(1)); // the same entry again: still remembered
      expect(cache.stats()).toMatchObject({ pendingClears: 2, untrusted: false });
      await cache.clear(digest(2));
      expect(cache.stats()).toMatchObject({ pendingClears: 2, untrusted: true });
    } finally {
      await cache.close();
    }
  });

  it('refuses contradictory options with REDIS_CACHE_INVALID_OPTIONS', () => {
    expect(() => createRedisBlobDescriptorCache({ addrs: ['a:1', 'b:2'], db: 3 })).toThrow(
      expect.objectContaining({ code: 'REDIS_CACHE_INVALID_OPTIONS' }),
    );
    expect(() => createRedisBlobDescriptorCache({ addrs: ['127.0.0.1:1'], readTimeoutMs: -1 })).toThrow(
      /readTimeoutMs/,
    );
  });
});
