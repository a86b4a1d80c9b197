import { describe, expect, it } from 'vitest';
import { VerifiedCache } from './verified-cache.ts';

describe('VerifiedCache', () => {
  it('remembers a success for ttlMs', () => {
    let now = 0;
    const cache = new VerifiedCache({ ttlMs: 1000, now: () => now });
    const key = cache.keyOf('alice', '$2y$hash', 'secret');
    expect(cache.has(key)).toBe(false);
    cache.add(key);
    now = 999;
    expect(cache.has(key)).toBe(true);
    now = 1000;
    expect(cache.has(key)).toBe(false);
    expect(cache.size).toBe(0);
  });

  it('keys by user, hash and password through a per-instance HMAC', () => {
    const cache = new VerifiedCache();
    const key = cache.keyOf('alice', 'h', 'secret');
    expect(key).not.toContain('secret');
    expect(cache.keyOf('alice', 'h', 'secret')).toBe(key);
    expect(cache.keyOf('alice', 'h2', 'secret')).not.toBe(key);
    expect(cache.keyOf('alice', 'h', 'secret2')).not.toBe(key);
    expect(cache.keyOf('alic', 'eh', 'secret')).not.toBe(key);
    expect(new VerifiedCache().keyOf('alice', 'h', 'secret')).not.toBe(key);
  });

  it('is bounded (least recently used go first)', () => {
    const cache = new VerifiedCache({ maxEntries: 2 });
    cache.add('a');
    cache.add('b');
    expect(cache.has('a')).toBe(true);
    cache.add('c');
    expect(cache.has('b')).toBe(false);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('c')).toBe(true);
  });

  it('is off with ttlMs 0', () => {
    const cache = new VerifiedCache({ ttlMs: 0 });
    cache.add('a');
    expect(cache.has('a')).toBe(false);
  });
});
