/**
 * Outages of a real Redis: the server is stopped by PID mid-test (and, separately, frozen with
 * SIGSTOP so it holds the connection but never answers). Lookups must be quick misses, writes
 * must not throw, health must reject with a code, one `outage` and one `recovered` event must be
 * emitted, and a clear that failed during the outage must be replayed once Redis is back, so the
 * deleted blob's entry does not survive the outage. The server persists with an append-only file
 * here, so what was cached before the outage is still there after the restart, as with a
 * production Redis that restarts or fails over.
 */
import { randomBytes } from 'node:crypto';
import type { Digest } from '@berth/digest';
import { type RunningRedis, startRedis } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  RedisBlobDescriptorCache,
  RedisCacheError,
  RedisOutageEvent,
  RedisRecoveredEvent,
} from './index.ts';
import { connectedCache, redisSkip, titled } from './test-support/redis.ts';

const OCTET = 'application/octet-stream';
const READ_TIMEOUT_MS = 250;
const newDigest = (): Digest => `sha256:${randomBytes(32).toString('hex')}` as Digest;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed<T>(action: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await action();
  return { value, ms: performance.now() - started };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(redisSkip)(titled('redis cache during an outage', redisSkip), () => {
  let redis: RunningRedis;
  let cache: RedisBlobDescriptorCache;
  const outages: RedisOutageEvent[] = [];
  const recoveries: RedisRecoveredEvent[] = [];

  beforeAll(async () => {
    redis = await startRedis({ extraConfig: ['appendonly yes', 'appendfsync always'] });
    cache = await connectedCache({
      addrs: [redis.address],
      readTimeoutMs: READ_TIMEOUT_MS,
      writeTimeoutMs: READ_TIMEOUT_MS,
      healthTimeoutMs: 500,
      probeIntervalMs: 200,
      onOutage: (event) => outages.push(event),
    });
    cache.on('recovered', (event) => recoveries.push(event));
  });
  afterAll(async () => {
    await cache?.close();
    await redis?.stop();
  });

  it('stopped server: quick misses, writes resolve, health rejects, then it recovers and replays clears', async () => {
    const kept = newDigest();
    const deleted = newDigest();
    const repository = cache.repository('outage/app');
    await repository.set(kept, { digest: kept, size: 1, mediaType: OCTET });
    await repository.set(deleted, { digest: deleted, size: 2, mediaType: OCTET });
    expect(await repository.stat(deleted)).toBeDefined();

    const pid = redis.pid;
    await redis.kill();
    expect(() => process.kill(pid, 0)).toThrow();

    // Lookups during the outage.
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      const global = await timed(() => cache.stat(kept));
      const linked = await timed(() => repository.stat(kept));
      expect(global.value).toBeUndefined();
      expect(linked.value).toBeUndefined();
      times.push(global.ms, linked.ms);
    }
    console.log(
      `[cache-redis] lookup during outage: ${median(times).toFixed(2)} ms median, ${Math.max(...times).toFixed(2)} ms max (${times.length} lookups, server stopped)`,
    );
    expect(median(times)).toBeLessThan(20);
    expect(Math.max(...times)).toBeLessThan(READ_TIMEOUT_MS + 100);

    // Writes do not throw; the clear of the deleted blob is remembered.
    const writes = await timed(async () => {
      await cache.set(newDigest(), { digest: newDigest(), size: 3, mediaType: OCTET });
      await repository.set(newDigest(), { digest: newDigest(), size: 3, mediaType: OCTET });
      await cache.clear(deleted);
      await repository.clear(deleted);
    });
    expect(writes.ms).toBeLessThan(4 * (READ_TIMEOUT_MS + 100));

    const health = await timed(() =>
      cache.health().then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    expect((health.value as RedisCacheError | undefined)?.code).toMatch(
      /^REDIS_CACHE_(UNAVAILABLE|TIMEOUT)$/,
    );
    expect(health.ms).toBeLessThan(1_000);

    expect(outages).toHaveLength(1);
    expect(outages[0]!.error.code).toMatch(/^REDIS_CACHE_/);
    const during = cache.stats();
    expect(during.outage).toBe(true);
    expect(during.errors).toBeGreaterThan(0);
    expect(during.pendingClears).toBe(2);

    // Back up, with the data from before the outage (append-only file).
    await redis.restart();
    await until(() => recoveries.length > 0, 10_000, 'the recovered event');
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]!.replayedClears).toBe(2);
    expect(recoveries[0]!.pendingClears).toBe(0);
    console.log(
      `[cache-redis] outage lasted ${recoveries[0]!.downMs} ms; ${recoveries[0]!.replayedClears} clears replayed`,
    );
    await cache.health();
    expect(outages).toHaveLength(1);

    // The deleted blob does not come back; the rest is served again.
    expect(await redis.command(['EXISTS', `blobs::${deleted}`])).toBe(0);
    expect(await redis.command(['SISMEMBER', 'repository::outage/app::blobs', deleted])).toBe(0);
    expect(await repository.stat(deleted)).toBeUndefined();
    expect(await repository.stat(kept)).toEqual({ digest: kept, size: 1, mediaType: OCTET });
    expect(cache.stats()).toMatchObject({ outage: false, pendingClears: 0, untrusted: false });
  });

  it('frozen server (SIGSTOP): a lookup is a miss after the read timeout, not a hang', async () => {
    const digest = newDigest();
    await cache.set(digest, { digest, size: 5, mediaType: OCTET });
    expect(await cache.stat(digest)).toBeDefined();
    const outagesBefore = outages.length;
    const pid = redis.pid;
    process.kill(pid, 'SIGSTOP');
    try {
      // The first lookup waits for the read timeout and starts the outage; the next ones do not
      // ask Redis until a probe gets an answer.
      const first = await timed(() => cache.stat(digest));
      expect(first.value).toBeUndefined();
      expect(first.ms).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 5);
      expect(first.ms).toBeLessThan(READ_TIMEOUT_MS + 150);
      const times: number[] = [];
      for (let i = 0; i < 40; i++) {
        const lookup = await timed(() => cache.repository('outage/app').stat(digest));
        expect(lookup.value).toBeUndefined();
        times.push(lookup.ms);
      }
      console.log(
        `[cache-redis] lookup while the server is frozen: first ${first.ms.toFixed(0)} ms (read timeout ${READ_TIMEOUT_MS} ms), then ${median(times).toFixed(2)} ms median, ${Math.max(...times).toFixed(2)} ms max`,
      );
      expect(Math.max(...times)).toBeLessThan(20);
      const other = newDigest();
      const write = await timed(() => cache.set(other, { digest: other, size: 6, mediaType: OCTET }));
      expect(write.ms).toBeLessThan(20);
      expect(outages.length).toBe(outagesBefore + 1);
      const error = await cache.health().then(
        () => undefined,
        (e: unknown) => e as RedisCacheError,
      );
      expect(error?.code).toBe('REDIS_CACHE_TIMEOUT');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await until(() => !cache.stats().outage, 10_000, 'recovery after SIGCONT');
    expect((await cache.stat(digest))?.size).toBe(5);
  });
});
