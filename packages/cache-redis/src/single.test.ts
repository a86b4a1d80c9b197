/**
 * The cache on one real Redis node: the conformance suite, registry:2 interop in both directions
 * (raw HSET/SADD in registry:2's shapes read through the cache, and the raw keys the cache
 * writes), ACL users and passwords, and entries the cache must refuse to believe.
 */
import { randomBytes } from 'node:crypto';
import { describeBlobDescriptorCache } from '@berth/cache-testsuite';
import type { Digest } from '@berth/digest';
import { type RunningRedis, startRedis } from '@berth/test-servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBlobDescriptorCache, isRedisCacheError, type RedisBlobDescriptorCache } from './index.ts';
import { connectedCache, redisSkip, suiteSubject, titled } from './test-support/redis.ts';

const USER = { name: 'berth', password: 'berth-secret' };
const REQUIREPASS = 'default-secret';
const OCTET = 'application/octet-stream';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const newDigest = (): Digest => `sha256:${randomBytes(32).toString('hex')}` as Digest;

describe.skipIf(redisSkip)(titled('redis cache on a single node', redisSkip), () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis({ requirepass: REQUIREPASS, user: USER });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  describeBlobDescriptorCache(
    'redis (single node, ACL user)',
    suiteSubject(() => ({
      addrs: [redis.address],
      username: USER.name,
      password: USER.password,
      readTimeoutMs: 2_000,
      writeTimeoutMs: 2_000,
    })),
  );

  describe('registry:2 interop (db 3, to see every key)', () => {
    const DB = 3;
    let raw: Redis;
    let cache: RedisBlobDescriptorCache;
    beforeAll(async () => {
      raw = new Redis({ host: '127.0.0.1', port: redis.port, password: REQUIREPASS, db: DB });
      cache = await connectedCache({ addrs: [redis.address], password: REQUIREPASS, db: DB });
    });
    afterAll(async () => {
      await cache?.close();
      raw?.disconnect();
    });

    it('reads a global descriptor that registry:2 wrote (HMSET digest size + HSETNX mediatype)', async () => {
      const digest = newDigest();
      await raw.hset(`blobs::${digest}`, 'digest', digest, 'size', '5368709123');
      await raw.hsetnx(`blobs::${digest}`, 'mediatype', OCTET);
      expect(await cache.stat(digest)).toEqual({ digest, size: 5_368_709_123, mediaType: OCTET });
    });

    it("reads registry:2's repository entries, with the repository's media type overriding", async () => {
      const digest = newDigest();
      await raw.hset(`blobs::${digest}`, 'digest', digest, 'size', '77', 'mediatype', OCTET);
      await raw.sadd('repository::team/app::blobs', digest);
      await raw.hset(`repository::team/app::blobs::${digest}`, 'mediatype', MANIFEST);
      await raw.sadd('repository::team/other::blobs', digest);
      await raw.hset(`repository::team/other::blobs::${digest}`, 'mediatype', '');
      expect(await cache.repository('team/app').stat(digest)).toEqual({
        digest,
        size: 77,
        mediaType: MANIFEST,
      });
      // An empty repository media type falls back to the global one, as in registry:2.
      expect(await cache.repository('team/other').stat(digest)).toEqual({
        digest,
        size: 77,
        mediaType: OCTET,
      });
      expect(await cache.repository('team/none').stat(digest)).toBeUndefined();
    });

    it("treats registry:2's cleared or partial entries as misses", async () => {
      const member = newDigest();
      // A member whose repository hash is missing: registry:2 (v3) answers "unknown" too.
      await raw.hset(`blobs::${member}`, 'digest', member, 'size', '1', 'mediatype', OCTET);
      await raw.sadd('repository::r/a::blobs', member);
      expect(await cache.repository('r/a').stat(member)).toBeUndefined();
      expect(await cache.stat(member)).toBeDefined();

      // registry:2's global Clear: HDEL of the three fields. The links stay, and must not answer.
      const cleared = newDigest();
      await raw.hset(`blobs::${cleared}`, 'digest', cleared, 'size', '1', 'mediatype', OCTET);
      await raw.sadd('repository::r/a::blobs', cleared);
      await raw.hset(`repository::r/a::blobs::${cleared}`, 'mediatype', OCTET);
      expect(await cache.repository('r/a').stat(cleared)).toBeDefined();
      await raw.hdel(`blobs::${cleared}`, 'digest', 'size', 'mediatype');
      expect(await cache.repository('r/a').stat(cleared)).toBeUndefined();
      expect(await cache.stat(cleared)).toBeUndefined();

      // The field registry:2 once called `length` (before `size`) migrates as a miss.
      const old = newDigest();
      await raw.hset(`blobs::${old}`, 'digest', old, 'length', '10', 'mediatype', OCTET);
      expect(await cache.stat(old)).toBeUndefined();
    });

    it('never believes a malformed entry', async () => {
      const cases: [string, Record<string, string>][] = [
        ['size not a number', { size: 'ten', mediatype: OCTET }],
        ['negative size', { size: '-1', mediatype: OCTET }],
        ['fractional size', { size: '1.5', mediatype: OCTET }],
        ['size beyond 2^53', { size: '9007199254740993', mediatype: OCTET }],
        ['no media type', { size: '3' }],
        ['invalid digest field', { size: '3', mediatype: OCTET, digest: 'sha256:nope' }],
      ];
      for (const [what, fields] of cases) {
        const digest = newDigest();
        await raw.hset(`blobs::${digest}`, { digest, ...fields });
        expect(await cache.stat(digest), what).toBeUndefined();
      }
      // A key of another type: a miss, counted as an error but not as an outage.
      const digest = newDigest();
      await raw.set(`blobs::${digest}`, 'a string');
      const before = cache.stats();
      expect(await cache.stat(digest)).toBeUndefined();
      expect(cache.stats().errors).toBe(before.errors + 1);
      expect(cache.stats().outage).toBe(false);
    });

    it("writes exactly registry:2's keys and shapes, with no TTL", async () => {
      await raw.flushdb();
      const digest = newDigest();
      await cache.repository('team/app').set(digest, { digest, size: 4_294_967_297, mediaType: MANIFEST });
      expect((await raw.keys('*')).sort()).toEqual(
        [`blobs::${digest}`, 'repository::team/app::blobs', `repository::team/app::blobs::${digest}`].sort(),
      );
      expect(await raw.type(`blobs::${digest}`)).toBe('hash');
      expect(await raw.hgetall(`blobs::${digest}`)).toEqual({
        digest,
        size: '4294967297',
        mediatype: MANIFEST,
      });
      expect(await raw.type('repository::team/app::blobs')).toBe('set');
      expect(await raw.smembers('repository::team/app::blobs')).toEqual([digest]);
      expect(await raw.hgetall(`repository::team/app::blobs::${digest}`)).toEqual({ mediatype: MANIFEST });
      for (const key of await raw.keys('*')) expect(await raw.ttl(key), key).toBe(-1);
    });

    it('keeps the first global media type (HSETNX) while each repository keeps its own', async () => {
      const digest = newDigest();
      await cache.repository('a/one').set(digest, { digest, size: 3, mediaType: OCTET });
      await cache.repository('a/two').set(digest, { digest, size: 3, mediaType: MANIFEST });
      await cache.set(digest, { digest, size: 3, mediaType: 'text/plain' });
      expect(await raw.hget(`blobs::${digest}`, 'mediatype')).toBe(OCTET);
      expect((await cache.stat(digest))?.mediaType).toBe(OCTET);
      expect((await cache.repository('a/two').stat(digest))?.mediaType).toBe(MANIFEST);
    });

    it('a repository clear removes the set member and the hash; a global clear removes the hash', async () => {
      const digest = newDigest();
      await cache.repository('team/app').set(digest, { digest, size: 1, mediaType: OCTET });
      await cache.repository('team/app').clear(digest);
      expect(await raw.sismember('repository::team/app::blobs', digest)).toBe(0);
      expect(await raw.exists(`repository::team/app::blobs::${digest}`)).toBe(0);
      expect(await raw.exists(`blobs::${digest}`)).toBe(1);
      await cache.clear(digest);
      expect(await raw.exists(`blobs::${digest}`)).toBe(0);
    });

    it('puts keyPrefix in front of every key', async () => {
      const prefixed = await connectedCache({
        addrs: [redis.address],
        password: REQUIREPASS,
        db: DB,
        keyPrefix: 'berth:',
      });
      try {
        const digest = newDigest();
        await prefixed.repository('p/q').set(digest, { digest, size: 2, mediaType: OCTET });
        expect(await raw.exists(`berth:blobs::${digest}`, 'berth:repository::p/q::blobs')).toBe(2);
        expect(await raw.exists(`berth:repository::p/q::blobs::${digest}`, `blobs::${digest}`)).toBe(1);
        expect(await cache.stat(digest)).toBeUndefined();
        expect((await prefixed.stat(digest))?.size).toBe(2);
      } finally {
        await prefixed.close();
      }
    });

    it('ignores invalid descriptors (negative, fractional, unsafe sizes; invalid digest field)', async () => {
      const digest = newDigest();
      const bad = [
        { digest, size: -1, mediaType: OCTET },
        { digest, size: 1.5, mediaType: OCTET },
        { digest, size: 2 ** 53, mediaType: OCTET },
        { digest, size: Number.NaN, mediaType: OCTET },
        { digest: 'sha256:nope' as Digest, size: 1, mediaType: OCTET },
      ];
      for (const descriptor of bad) {
        await cache.set(digest, descriptor);
        await cache.repository('bad/one').set(digest, descriptor);
      }
      expect(await raw.exists(`blobs::${digest}`, 'repository::bad/one::blobs')).toBe(0);
    });

    it('works on a client the caller made (and leaves it open on close)', async () => {
      const client = new Redis({
        host: '127.0.0.1',
        port: redis.port,
        username: USER.name,
        password: USER.password,
        db: DB,
        enableOfflineQueue: false,
        lazyConnect: true,
      });
      await client.connect();
      const own = await connectedCache({ client });
      const digest = newDigest();
      await own.set(digest, { digest, size: 8, mediaType: OCTET });
      expect((await cache.stat(digest))?.size).toBe(8);
      await own.close();
      expect(client.status).toBe('ready');
      client.disconnect();
    });
  });

  describe('authentication', () => {
    it('with a wrong password: lookups miss, writes resolve, health rejects with a code', async () => {
      // Not connectedCache: this one never becomes healthy.
      const cache = createRedisBlobDescriptorCache({
        addrs: [redis.address],
        password: 'wrong',
        healthTimeoutMs: 500,
      });
      try {
        const digest = newDigest();
        await cache.set(digest, { digest, size: 1, mediaType: OCTET });
        expect(await cache.stat(digest)).toBeUndefined();
        const error = await cache.health().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isRedisCacheError(error)).toBe(true);
        expect((error as { code: string }).code).toBe('REDIS_CACHE_UNAVAILABLE');
        expect(cache.stats().errors).toBeGreaterThan(0);
      } finally {
        await cache.close();
      }
    });
  });
});
