/**
 * The cache on a real three-master Redis Cluster: the conformance suite, keys spread over every
 * master, and a repository clear that works where registry:2's cross-key MULTI/DEL gets CROSSSLOT.
 */
import { randomBytes } from 'node:crypto';
import { describeBlobDescriptorCache } from '@berth/cache-testsuite';
import type { Digest } from '@berth/digest';
import { RedisReplyError, type RunningRedisCluster, startRedisCluster } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisBlobDescriptorCache, redisClientOptions } from './index.ts';
import { clusterSkip, connectedCache, suiteSubject, titled } from './test-support/redis.ts';

const newDigest = (): Digest => `sha256:${randomBytes(32).toString('hex')}` as Digest;

describe.skipIf(clusterSkip)(titled('redis cache on a 3-master Cluster', clusterSkip), () => {
  let cluster: RunningRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const options = () => ({ addrs: cluster.addresses, readTimeoutMs: 2_000, writeTimeoutMs: 2_000 });

  it('several addresses without masterName make a Cluster client', () => {
    expect(redisClientOptions(options()).mode).toBe('cluster');
  });

  describeBlobDescriptorCache('redis (Cluster)', suiteSubject(options));

  describe('slots', () => {
    let cache: RedisBlobDescriptorCache;
    beforeAll(async () => {
      cache = await connectedCache(options());
    });
    afterAll(async () => {
      await cache?.close();
    });

    it('spreads the keys over every master', async () => {
      const repository = cache.repository('spread/app');
      for (let i = 0; i < 30; i++) {
        const digest = newDigest();
        await repository.set(digest, { digest, size: i, mediaType: 'application/octet-stream' });
      }
      const sizes = await Promise.all(
        cluster.addresses.map((address) => cluster.command(address, ['DBSIZE'])),
      );
      for (const size of sizes) expect(size).toBeGreaterThan(0);
    });

    it('clears a repository link whose two keys are in different slots (a cross-key DEL gets CROSSSLOT)', async () => {
      const name = 'crossslot/app';
      let digest = newDigest();
      const slot = async (key: string) => cluster.command(cluster.addresses[0]!, ['CLUSTER', 'KEYSLOT', key]);
      // Find a digest whose repository hash is in another slot than the repository's set.
      while (
        (await slot(`repository::${name}::blobs::${digest}`)) === (await slot(`repository::${name}::blobs`))
      )
        digest = newDigest();
      const setKey = `repository::${name}::blobs`;
      const hashKey = `repository::${name}::blobs::${digest}`;
      await cache.repository(name).set(digest, { digest, size: 1, mediaType: 'application/octet-stream' });
      expect(await cache.repository(name).stat(digest)).toBeDefined();

      // What a single multi-key command across those keys gets on any node.
      const crossSlot = await cluster.command(cluster.addresses[0]!, ['DEL', setKey, hashKey]);
      expect(crossSlot).toBeInstanceOf(RedisReplyError);
      expect(String((crossSlot as Error).message)).toMatch(/^CROSSSLOT/);

      await cache.repository(name).clear(digest);
      expect(await cache.repository(name).stat(digest)).toBeUndefined();
      expect(await cache.client.sismember(setKey, digest)).toBe(0);
      expect(await cache.client.exists(hashKey)).toBe(0);
      expect(cache.stats().errors).toBe(0);
      expect(await cache.stat(digest)).toBeDefined();
    });
  });

  describe('a failed master', () => {
    it('makes lookups quick misses until it is back, with one outage and one recovery', async () => {
      const outages: string[] = [];
      const recoveries: number[] = [];
      const cache = await connectedCache({
        ...options(),
        readTimeoutMs: 250,
        writeTimeoutMs: 250,
        healthTimeoutMs: 500,
        probeIntervalMs: 200,
        onOutage: ({ error }) => outages.push(error.code),
        onRecovered: ({ downMs }) => recoveries.push(downMs),
      });
      try {
        // The first digest's hash lives on the master that is stopped; the others anywhere.
        const killedPort = Number(cluster.addresses[0]!.split(':')[1]);
        const slots = (await cluster.command(cluster.addresses[1]!, ['CLUSTER', 'SLOTS'])) as [
          number,
          number,
          [string, number],
        ][];
        const onKilled = async (digest: Digest): Promise<boolean> => {
          const slot = (await cluster.command(cluster.addresses[1]!, [
            'CLUSTER',
            'KEYSLOT',
            `blobs::${digest}`,
          ])) as number;
          return slots.some(([from, to, [, port]]) => slot >= from && slot <= to && port === killedPort);
        };
        let first = newDigest();
        while (!(await onKilled(first))) first = newDigest();
        const digests = [first, ...Array.from({ length: 11 }, newDigest)];
        const descriptorOf = (digest: Digest) => ({ digest, size: 1, mediaType: 'application/octet-stream' });
        for (const digest of digests) await cache.set(digest, descriptorOf(digest));
        await cluster.killNode(0);
        const times: number[] = [];
        for (const digest of digests) {
          const started = performance.now();
          const hit = await cache.stat(digest);
          times.push(performance.now() - started);
          // Never a wrong answer: a miss, or (before the outage is noticed) the true descriptor
          // from a master that is still up.
          if (hit !== undefined) expect(hit).toEqual(descriptorOf(digest));
          if (digest === first) expect(hit).toBeUndefined();
        }
        // Once the outage is noticed, every lookup is a miss without asking Redis.
        expect(cache.stats().outage).toBe(true);
        for (const digest of digests.slice(1)) expect(await cache.stat(digest)).toBeUndefined();
        const sorted = [...times].sort((a, b) => a - b);
        console.log(
          `[cache-redis] lookup with one of 3 cluster masters stopped: ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms median, ${sorted.at(-1)!.toFixed(1)} ms max (${times.length} lookups; the first that reaches the stopped master waits for the read timeout)`,
        );
        expect(Math.max(...times)).toBeLessThan(400);
        await expect(cache.health()).rejects.toMatchObject({ code: expect.stringMatching(/^REDIS_CACHE_/) });
        expect(outages).toHaveLength(1);

        await cluster.restartNode(0);
        const deadline = Date.now() + 15_000;
        while (recoveries.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(recoveries).toHaveLength(1);
        console.log(`[cache-redis] cluster outage lasted ${recoveries[0]} ms`);
        await cache.health();
        // The restarted master came back empty; the others kept their entries.
        const after = await Promise.all(digests.map((digest) => cache.stat(digest)));
        expect(after.some((hit) => hit !== undefined)).toBe(true);
        const digest = newDigest();
        await cache.set(digest, { digest, size: 2, mediaType: 'application/octet-stream' });
        expect((await cache.stat(digest))?.size).toBe(2);
        expect(outages).toHaveLength(1);
      } finally {
        await cache.close();
      }
    }, 30_000);
  });
});
