import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRedisCacheError, parseRedisAddress, type RedisClientPlan, redisClientOptions } from './index.ts';

/** The ioredis options of a single-node (or Sentinel) plan. */
function redisOptionsOf(plan: RedisClientPlan): RedisOptions {
  if (plan.mode === 'cluster') throw new Error('a cluster plan');
  return plan.options;
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isRedisCacheError(error) ? error.code : `not a RedisCacheError: ${String(error)}`;
  }
  return undefined;
}

describe('parseRedisAddress', () => {
  it.each([
    ['127.0.0.1:6380', { host: '127.0.0.1', port: 6380 }],
    ['redis.internal', { host: 'redis.internal', port: 6379 }],
    ['[::1]:7000', { host: '::1', port: 7000 }],
    ['[::1]', { host: '::1', port: 6379 }],
    ['::1', { host: '::1', port: 6379 }],
  ])('%s', (address, expected) => {
    expect(parseRedisAddress(address)).toEqual(expected);
  });

  it.each(['', ':6379', 'host:', 'host:port', 'host:0', 'host:65536', '[::1]x'])('refuses %j', (address) => {
    expect(codeOf(() => parseRedisAddress(address))).toBe('REDIS_CACHE_INVALID_OPTIONS');
  });
});

describe('redisClientOptions', () => {
  it("maps registry:2's single-node settings", () => {
    const plan = redisClientOptions({
      addrs: ['10.0.0.5:6380'],
      password: 'pw',
      db: 2,
      dialTimeoutMs: 500,
      readTimeoutMs: 100,
      writeTimeoutMs: 300,
      pool: { maxIdle: 16, maxActive: 64, idleTimeoutMs: 300_000 },
    });
    expect(plan.mode).toBe('single');
    expect(plan.options).toMatchObject({
      host: '10.0.0.5',
      port: 6380,
      password: 'pw',
      db: 2,
      connectTimeout: 500,
      commandTimeout: 300,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    expect(plan.options).not.toHaveProperty('username');
    expect(plan.options).not.toHaveProperty('tls');
  });

  it('masterName selects Sentinel, with the addresses as Sentinels', () => {
    const plan = redisClientOptions({
      addrs: ['s1:26379', 's2:26379'],
      masterName: 'mymaster',
      username: 'berth',
      password: 'pw',
      sentinelPassword: 'spw',
    });
    expect(plan.mode).toBe('sentinel');
    expect(plan.options).toMatchObject({
      name: 'mymaster',
      role: 'master',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      username: 'berth',
      password: 'pw',
      sentinelPassword: 'spw',
      enableOfflineQueue: false,
    });
  });

  it('several addresses without masterName select a Cluster, which has only db 0', () => {
    const plan = redisClientOptions({ addrs: ['a:7000', 'b:7001', 'c:7002'], password: 'pw' });
    expect(plan.mode).toBe('cluster');
    if (plan.mode !== 'cluster') return;
    expect(plan.nodes).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
      { host: 'c', port: 7002 },
    ]);
    expect(plan.options.enableOfflineQueue).toBe(false);
    expect(plan.options.redisOptions).toMatchObject({ password: 'pw', commandTimeout: 250 });
    expect(codeOf(() => redisClientOptions({ addrs: ['a:1', 'b:2'], db: 1 }))).toBe(
      'REDIS_CACHE_INVALID_OPTIONS',
    );
    expect(codeOf(() => redisClientOptions({ addrs: ['a:1', 'b:2'], db: 0 }))).toBeUndefined();
  });

  it('names the offending option', () => {
    expect(() => redisClientOptions({ addrs: [] })).toThrow(/addrs/);
    expect(() => redisClientOptions({ addrs: ['a'], db: -1 })).toThrow(/db/);
    expect(() => redisClientOptions({ addrs: ['a'], readTimeoutMs: 0 })).toThrow(/readTimeoutMs/);
    expect(() => redisClientOptions({ addrs: ['a'], masterName: '' })).toThrow(/masterName/);
    expect(() => redisClientOptions({ addrs: ['a'], tls: { certificate: '/x' } })).toThrow(
      /tls\.certificate and tls\.key/,
    );
  });

  describe('tls', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-cache-redis-tls-'));
      await writeFile(join(dir, 'cert.pem'), 'CERT');
      await writeFile(join(dir, 'key.pem'), 'KEY');
      await writeFile(join(dir, 'ca.pem'), 'CA');
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads the certificate, key and root CAs from their files', () => {
      const plan = redisClientOptions({
        addrs: ['a:6379'],
        tls: {
          certificate: join(dir, 'cert.pem'),
          key: join(dir, 'key.pem'),
          rootcas: [join(dir, 'ca.pem')],
        },
      });
      const tls = redisOptionsOf(plan).tls as { cert: Buffer; key: Buffer; ca: Buffer[] };
      expect(tls.cert.toString()).toBe('CERT');
      expect(tls.key.toString()).toBe('KEY');
      expect(tls.ca.map(String).slice(-1)).toEqual(['CA']);
      expect(tls.ca.length).toBeGreaterThan(1);
    });

    it('tls: {} is TLS with the system roots; enabled: false is plain TCP', () => {
      expect(redisOptionsOf(redisClientOptions({ addrs: ['a'], tls: {} })).tls).toEqual({});
      expect(
        redisOptionsOf(redisClientOptions({ addrs: ['a'], tls: { enabled: false } })).tls,
      ).toBeUndefined();
    });

    it('a missing file is REDIS_CACHE_TLS_FILE, naming the option and path', () => {
      const missing = join(dir, 'nope.pem');
      expect(codeOf(() => redisClientOptions({ addrs: ['a'], tls: { rootcas: [missing] } }))).toBe(
        'REDIS_CACHE_TLS_FILE',
      );
      expect(() => redisClientOptions({ addrs: ['a'], tls: { rootcas: [missing] } })).toThrow(
        /tls\.rootcas.*nope\.pem/,
      );
    });
  });
});
