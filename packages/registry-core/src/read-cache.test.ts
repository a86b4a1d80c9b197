import { describe, expect, it } from 'vitest';
import { ReadCache } from './read-cache.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('ReadCache', () => {
  it('answers from memory within the TTL, then reads again', async () => {
    const c = clock();
    const cache = new ReadCache<string>({ ttlMs: 1000, maxEntries: 10, now: c.now });
    let reads = 0;
    const load = async () => `v${++reads}`;
    expect(await cache.read('k', load)).toBe('v1');
    c.advance(999);
    expect(await cache.read('k', load)).toBe('v1');
    c.advance(1);
    expect(await cache.read('k', load)).toBe('v2');
    expect(reads).toBe(2);
  });

  it('never keeps an absent value', async () => {
    const cache = new ReadCache<string>({ ttlMs: 1000, maxEntries: 10, now: clock().now });
    let reads = 0;
    const load = async () => {
      reads++;
      return undefined;
    };
    await cache.read('k', load);
    await cache.read('k', load);
    expect(reads).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('is off with a TTL of 0', async () => {
    const cache = new ReadCache<number>({ ttlMs: 0, maxEntries: 10 });
    let reads = 0;
    const load = async () => ++reads;
    await cache.read('k', load);
    expect(await cache.read('k', load)).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('forgets an invalidated key at once, and the result of a read in flight meanwhile', async () => {
    const cache = new ReadCache<string>({ ttlMs: 1000, maxEntries: 10, now: clock().now });
    expect(await cache.read('k', async () => 'old')).toBe('old');
    cache.invalidate('k');
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inFlight = cache.read('k', async () => {
      await gate;
      return 'read before the deletion';
    });
    cache.invalidate('k'); // a deletion completes while the read is in flight
    release();
    expect(await inFlight).toBe('read before the deletion');
    expect(await cache.read('k', async () => 'fresh')).toBe('fresh');
  });

  it('counts the age from the start of the read', async () => {
    const c = clock();
    const cache = new ReadCache<string>({ ttlMs: 100, maxEntries: 10, now: c.now });
    await cache.read('k', async () => {
      c.advance(100); // a read as slow as the TTL is stale when it completes
      return 'slow';
    });
    expect(await cache.read('k', async () => 'again')).toBe('again');
  });

  it('is bounded by maxEntries', async () => {
    const cache = new ReadCache<number>({ ttlMs: 1000, maxEntries: 2, now: clock().now });
    for (const key of ['a', 'b', 'c']) await cache.read(key, async () => 1);
    expect(cache.size).toBe(2);
  });
});
