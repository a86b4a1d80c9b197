/**
 * The change feed on a real Redis: announcements reach the other process and not the sender,
 * `connected` drops while Redis is down, and a `reset` follows every reconnection.
 */
import type { StorageChange } from '@berth/registry-core';
import { type RunningRedis, startRedis } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisChangeFeed, type RedisChangeFeed } from './changes.ts';
import { createRedisClient } from './client.ts';
import { redisSkip, titled } from './test-support/redis.ts';

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(redisSkip !== undefined)(titled('the Redis change feed', redisSkip), () => {
  let redis: RunningRedis;
  const feeds: RedisChangeFeed[] = [];
  const clients: { disconnect(): void }[] = [];
  const feed = (keyPrefix?: string): { feed: RedisChangeFeed; heard: StorageChange[] } => {
    const client = createRedisClient({ addrs: [redis.address] });
    // Connection errors while Redis is down are expected here.
    client.on('error', () => {});
    clients.push(client);
    const created = createRedisChangeFeed({ client, ...(keyPrefix === undefined ? {} : { keyPrefix }) });
    feeds.push(created);
    const heard: StorageChange[] = [];
    created.subscribe((change) => heard.push(change));
    return { feed: created, heard };
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(feeds.map((f) => f.close()));
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  it('delivers another process’s announcements, not its own, and a reset on connecting', async () => {
    const a = feed();
    const b = feed();
    const other = feed('other-registry:');
    await until(() => a.feed.connected && b.feed.connected && other.feed.connected, 5_000, 'subscriptions');
    expect(b.heard).toEqual([{ kind: 'reset' }]);
    const change: StorageChange = {
      kind: 'link-removed',
      path: '/docker/registry/v2/repositories/x/_layers/y',
    };
    await a.feed.publish(change);
    await until(() => b.heard.length === 2, 2_000, 'the announcement');
    expect(b.heard[1]).toEqual(change);
    expect(a.heard).toEqual([{ kind: 'reset' }]);
    // Another key prefix is another registry's channel.
    expect(other.heard).toEqual([{ kind: 'reset' }]);
    expect(a.feed.stats().published).toBe(1);
  });

  it('is disconnected while Redis is down, and resets when it is back', async () => {
    const b = feed();
    await until(() => b.feed.connected, 5_000, 'the subscription');
    await redis.kill();
    await until(() => !b.feed.connected, 5_000, 'the disconnection');
    const a = feed();
    // A publish while Redis is down fails quickly and does not throw.
    const started = performance.now();
    await a.feed.publish({ kind: 'reset' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(a.feed.stats().failed).toBe(1);
    await redis.restart();
    await until(() => b.feed.connected, 10_000, 'the new subscription');
    expect(b.heard.filter((change) => change.kind === 'reset').length).toBe(2);
  });
});
