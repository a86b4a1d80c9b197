/** The cache through Redis Sentinel: the conformance suite, and the master found by name. */
import { describeBlobDescriptorCache } from '@berth/cache-testsuite';
import { type RunningRedisSentinel, startRedisSentinel } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisClientOptions } from './index.ts';
import { connectedCache, redisSkip, suiteSubject, titled } from './test-support/redis.ts';

const PASSWORD = 'sentinel-master-secret';

describe.skipIf(redisSkip)(titled('redis cache through Sentinel', redisSkip), () => {
  let sentinel: RunningRedisSentinel;
  beforeAll(async () => {
    sentinel = await startRedisSentinel({ masterName: 'berth', requirepass: PASSWORD });
  });
  afterAll(async () => {
    await sentinel?.stop();
  });

  const options = () => ({
    addrs: sentinel.addresses,
    masterName: sentinel.masterName,
    password: PASSWORD,
    readTimeoutMs: 2_000,
    writeTimeoutMs: 2_000,
  });

  it('masterName makes the addresses Sentinels', () => {
    const plan = redisClientOptions(options());
    expect(plan.mode).toBe('sentinel');
  });

  describeBlobDescriptorCache('redis (Sentinel)', suiteSubject(options));

  it('writes reach the master the Sentinel names', async () => {
    const cache = await connectedCache(options());
    try {
      const digest = `sha256:${'5'.repeat(64)}` as Parameters<typeof cache.stat>[0];
      await cache.set(digest, { digest, size: 11, mediaType: 'application/octet-stream' });
      expect(await sentinel.command(['HGET', `blobs::${digest}`, 'size'])).toBe('11');
    } finally {
      await cache.close();
    }
  });
});
