import { describe, expect, it } from 'vitest';
import { isConfigError } from './errors.ts';
import { type LoadedConfig, parseConfig } from './load.ts';
import type { RedisConfig } from './types.ts';

const MINIMAL = 'version: 0.1\nstorage: inmemory\n';

function parse(yaml: string, env: Record<string, string> = {}): Promise<LoadedConfig> {
  return parseConfig(yaml, { env });
}

/** The ConfigError `yaml` (with `env`) fails with: its issues and its message. */
async function failure(
  yaml: string,
  env: Record<string, string> = {},
): Promise<{ issues: readonly string[]; message: string }> {
  try {
    await parse(yaml, env);
  } catch (error) {
    if (isConfigError(error)) return { issues: error.issues, message: error.message };
    throw error;
  }
  throw new Error('expected a ConfigError');
}

async function issuesOf(yaml: string, env: Record<string, string> = {}): Promise<readonly string[]> {
  return (await failure(yaml, env)).issues;
}

/** A file with `storage: inmemory`, the given storage.cache lines and `redis` lines. */
function withCache(cache: string, redis = ''): string {
  return `version: 0.1\nstorage:\n  inmemory:\n  cache:\n${cache}${redis === '' ? '' : `redis:\n${redis}`}`;
}

/** {@link RedisConfig} with every optional setting unset. */
function redisConfig(overrides: Partial<RedisConfig>): RedisConfig {
  return {
    addrs: [],
    topology: 'single',
    username: undefined,
    password: undefined,
    db: 0,
    masterName: undefined,
    sentinelUsername: undefined,
    sentinelPassword: undefined,
    clientName: undefined,
    dialTimeoutMs: undefined,
    readTimeoutMs: undefined,
    writeTimeoutMs: undefined,
    maxRetries: undefined,
    maxRedirects: undefined,
    pool: {
      size: undefined,
      minIdle: undefined,
      maxIdle: undefined,
      maxActive: undefined,
      idleTimeoutMs: undefined,
      maxLifetimeMs: undefined,
    },
    tls: undefined,
    ...overrides,
  };
}

describe('storage.cache', () => {
  it('has no cache by default', async () => {
    const { config } = await parse(MINIMAL);
    expect(config.storage.cache).toEqual({ blobDescriptor: 'none', blobDescriptorSize: 10_000 });
  });

  it('reads the inmemory cache and its size', async () => {
    const { config, warnings } = await parse(
      withCache('    blobdescriptor: inmemory\n    blobdescriptorsize: 250\n'),
    );
    expect(config.storage.cache).toEqual({ blobDescriptor: 'inmemory', blobDescriptorSize: 250 });
    expect(warnings).toEqual([]);
  });

  it('reads a size of 0 as no limit, as registry v3 does', async () => {
    const { config, warnings } = await parse(
      withCache('    blobdescriptor: inmemory\n    blobdescriptorsize: 0\n'),
    );
    expect(config.storage.cache.blobDescriptorSize).toBe(Number.POSITIVE_INFINITY);
    expect(warnings).toEqual([]);
  });

  it('reads a negative size as no limit, with a warning', async () => {
    const { config, warnings } = await parse(
      withCache('    blobdescriptor: inmemory\n    blobdescriptorsize: -1\n'),
    );
    expect(config.storage.cache.blobDescriptorSize).toBe(Number.POSITIVE_INFINITY);
    expect(warnings).toEqual([
      'storage.cache.blobdescriptorsize: -1 is read as no limit, as registry v3 reads a negative size; write 0',
    ]);
  });

  it('accepts a numeric string size (registry v3 reads it with Atoi)', async () => {
    const { config } = await parse(withCache("    blobdescriptor: inmemory\n    blobdescriptorsize: '42'\n"));
    expect(config.storage.cache.blobDescriptorSize).toBe(42);
  });

  it('reads the deprecated layerinfo with a warning', async () => {
    const { config, warnings } = await parse(withCache('    layerinfo: inmemory\n'));
    expect(config.storage.cache.blobDescriptor).toBe('inmemory');
    expect(warnings).toEqual(['storage.cache.layerinfo: deprecated: use storage.cache.blobdescriptor']);
  });

  it('prefers blobdescriptor over layerinfo, warning that layerinfo is ignored', async () => {
    const { config, warnings } = await parse(
      withCache('    blobdescriptor: inmemory\n    layerinfo: redis\n'),
    );
    expect(config.storage.cache.blobDescriptor).toBe('inmemory');
    expect(warnings).toEqual([
      'storage.cache.layerinfo: deprecated and ignored: storage.cache.blobdescriptor is set',
    ]);
  });

  it('treats an empty blobdescriptor as no cache', async () => {
    const { config } = await parse(withCache("    blobdescriptor: ''\n"));
    expect(config.storage.cache.blobDescriptor).toBe('none');
  });

  it('warns about a size without a cache and about unknown keys', async () => {
    const { warnings } = await parse(withCache('    blobdescriptorsize: 10000\n    ttl: 1h\n'));
    expect(warnings).toEqual([
      'storage.cache.blobdescriptorsize: ignored: storage.cache.blobdescriptor is not set',
      'storage.cache.ttl: unknown key (ignored)',
    ]);
  });

  it('keeps blobdescriptorsize with the redis cache silent (registry v3 documents them together)', async () => {
    const { config, warnings } = await parse(
      withCache('    blobdescriptor: redis\n    blobdescriptorsize: 10000\n', '  addr: localhost:6379\n'),
    );
    expect(config.storage.cache.blobDescriptor).toBe('redis');
    expect(warnings).toEqual([]);
  });

  it.each([
    [
      '    blobdescriptor: memcached\n',
      'storage.cache.blobdescriptor: must be one of inmemory, redis, got "memcached"',
    ],
    ['    layerinfo: disk\n', 'storage.cache.layerinfo: must be one of inmemory, redis, got "disk"'],
    [
      '    blobdescriptor: inmemory\n    blobdescriptorsize: lots\n',
      'storage.cache.blobdescriptorsize: must be an integer, got "lots"',
    ],
    ['    blobdescriptor: [inmemory]\n', 'storage.cache.blobdescriptor: must be a string, got a list'],
  ])('%j is an error naming the key', async (cache, message) => {
    expect(await issuesOf(withCache(cache))).toEqual([message]);
  });

  it('rejects a cache section that is not a mapping', async () => {
    expect(await issuesOf('version: 0.1\nstorage:\n  inmemory:\n  cache: inmemory\n')).toEqual([
      'storage.cache: must be a mapping, got "inmemory"',
    ]);
  });
});

describe('storage.cache.blobdescriptor: redis needs a Redis address (distribution/distribution#4486)', () => {
  const NEEDS = '"redis" needs a Redis server: set redis.addr (registry 2.8) or redis.addrs (registry v3)';

  it('fails without a redis section', async () => {
    expect(await issuesOf(withCache('    blobdescriptor: redis\n'))).toEqual([
      `storage.cache.blobdescriptor: ${NEEDS}`,
    ]);
  });

  it.each([
    ['only a password', '  password: x\n'],
    ['an empty addr', "  addr: ''\n"],
    ['an empty addrs list', '  addrs: []\n'],
  ])('fails with a redis section that has %s', async (_, redis) => {
    expect(await issuesOf(withCache('    blobdescriptor: redis\n', redis))).toEqual([
      `storage.cache.blobdescriptor: ${NEEDS}`,
    ]);
  });

  it('names the deprecated layerinfo when that chose redis', async () => {
    expect(await issuesOf(withCache('    layerinfo: redis\n'))).toEqual([
      `storage.cache.layerinfo: ${NEEDS}`,
    ]);
  });

  it('names the variable that chose redis', async () => {
    expect(await issuesOf(MINIMAL, { REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis' })).toEqual([
      `storage.cache.blobdescriptor: ${NEEDS} (from REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR)`,
    ]);
  });

  it('reports only the address error when an address is invalid', async () => {
    expect(await issuesOf(withCache('    blobdescriptor: redis\n', '  addr: localhost\n'))).toEqual([
      'redis.addr: missing port in address "localhost" (use "localhost:6379")',
    ]);
  });

  it('starts with an address', async () => {
    const { config } = await parse(withCache('    blobdescriptor: redis\n', '  addr: localhost:6379\n'));
    expect(config.storage.cache.blobDescriptor).toBe('redis');
    expect(config.redis?.addrs).toEqual(['localhost:6379']);
  });
});

describe('redis: registry 2.8 keys', () => {
  it('reads every key', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:
  addr: redis.internal:6380
  password: hunter2
  db: 3
  dialtimeout: 10ms
  readtimeout: 10ms
  writetimeout: 1s
  pool:
    maxidle: 16
    maxactive: 64
    idletimeout: 300s
  tls:
    enabled: true
`);
    expect(warnings).toEqual([]);
    expect(config.redis).toEqual(
      redisConfig({
        addrs: ['redis.internal:6380'],
        password: 'hunter2',
        db: 3,
        dialTimeoutMs: 10,
        readTimeoutMs: 10,
        writeTimeoutMs: 1000,
        pool: {
          size: undefined,
          minIdle: undefined,
          maxIdle: 16,
          maxActive: 64,
          idleTimeoutMs: 300_000,
          maxLifetimeMs: undefined,
        },
        tls: { certificate: undefined, key: undefined, rootCAs: [] },
      }),
    );
    expect(config.storage.cache.blobDescriptor).toBe('none');
  });

  it('reads bare-number durations as nanoseconds, with a warning, as Go reads a time.Duration', async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}redis:\n  addr: localhost:6379\n  dialtimeout: 5000000\n  pool:\n    idletimeout: 0\n`,
    );
    expect(config.redis?.dialTimeoutMs).toBe(5);
    expect(config.redis?.pool.idleTimeoutMs).toBe(0);
    expect(warnings).toEqual([
      'redis.dialtimeout: the bare number 5000000 is read as nanoseconds (5ms), as registry:2 reads it; write a unit, e.g. "5000000s"',
    ]);
  });

  it('reads tls.enabled: false as plain TCP', async () => {
    const { config } = await parse(`${MINIMAL}redis:\n  addr: localhost:6379\n  tls:\n    enabled: false\n`);
    expect(config.redis?.tls).toBeUndefined();
  });

  it('reads a zero timeout as unset', async () => {
    const { config } = await parse(`${MINIMAL}redis:\n  addr: localhost:6379\n  readtimeout: 0s\n`);
    expect(config.redis?.readTimeoutMs).toBeUndefined();
  });
});

describe('redis: registry v3 keys (go-redis UniversalOptions)', () => {
  it('reads the documented example', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:
  tls:
    certificate: /path/to/cert.crt
    key: /path/to/key.pem
    clientcas:
      - /path/to/ca.pem
  addrs: [localhost:6379]
  password: asecret
  db: 0
  dialtimeout: 10ms
  readtimeout: 10ms
  writetimeout: 10ms
  maxidleconns: 16
  poolsize: 64
  connmaxidletime: 300s
`);
    expect(warnings).toEqual([]);
    expect(config.redis).toEqual(
      redisConfig({
        addrs: ['localhost:6379'],
        password: 'asecret',
        dialTimeoutMs: 10,
        readTimeoutMs: 10,
        writeTimeoutMs: 10,
        pool: {
          size: 64,
          minIdle: undefined,
          maxIdle: 16,
          maxActive: undefined,
          idleTimeoutMs: 300_000,
          maxLifetimeMs: undefined,
        },
        tls: { certificate: '/path/to/cert.crt', key: '/path/to/key.pem', rootCAs: ['/path/to/ca.pem'] },
      }),
    );
  });

  it('reads the other keys that have an equivalent', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:
  addrs: [s1:26379, s2:26379, s3:26379]
  mastername: mymaster
  username: registry
  password: p
  sentinelusername: sentinel-user
  sentinelpassword: sp
  db: 2
  clientname: berth
  protocol: 2
  maxretries: -1
  maxredirects: 5
  minidleconns: 2
  maxactiveconns: 100
  connmaxlifetime: 1h
`);
    expect(warnings).toEqual([]);
    expect(config.redis).toEqual(
      redisConfig({
        addrs: ['s1:26379', 's2:26379', 's3:26379'],
        topology: 'sentinel',
        masterName: 'mymaster',
        username: 'registry',
        password: 'p',
        sentinelUsername: 'sentinel-user',
        sentinelPassword: 'sp',
        db: 2,
        clientName: 'berth',
        maxRetries: 0,
        maxRedirects: 5,
        pool: {
          size: undefined,
          minIdle: 2,
          maxIdle: undefined,
          maxActive: 100,
          idleTimeoutMs: undefined,
          maxLifetimeMs: 3_600_000,
        },
      }),
    );
  });

  it('accepts a single string for addrs', async () => {
    const { config } = await parse(`${MINIMAL}redis:\n  addrs: localhost:6379\n`);
    expect(config.redis?.addrs).toEqual(['localhost:6379']);
  });

  it('warns about go-redis keys without an equivalent and ignores them', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:
  addrs: [localhost:6379]
  protocol: 3
  minretrybackoff: 8ms
  readonly: true
  routerandomly: false
  contexttimeoutenabled: true
  unstableresp3: true
  poolfifo: true
`);
    expect(config.redis?.addrs).toEqual(['localhost:6379']);
    expect(warnings).toEqual([
      'redis.protocol: RESP3 is not supported: Berth speaks RESP2 (ignored)',
      'redis.minretrybackoff: the retry backoff is not configurable (ignored)',
      'redis.poolfifo: not supported (ignored)',
      'redis.contexttimeoutenabled: a Go client option with no equivalent in Berth (ignored)',
      'redis.readonly: reading from replicas is not supported (ignored: every command goes to a primary)',
      'redis.unstableresp3: RESP3 is not supported (ignored)',
    ]);
  });

  it('warns about unknown keys in redis, redis.pool and redis.tls', async () => {
    const { warnings } = await parse(
      `${MINIMAL}redis:\n  addr: localhost:6379\n  adrs: [x]\n  pool:\n    size: 3\n  tls:\n    rootcas: [/ca.pem]\n`,
    );
    expect(warnings).toEqual([
      'redis.pool.size: unknown key (ignored)',
      'redis.tls.rootcas: unknown key (ignored)',
      'redis.adrs: unknown key (ignored)',
    ]);
  });

  it('ignores clientcas without a client certificate or tls.enabled, as registry v3 does', async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}redis:\n  addrs: [localhost:6379]\n  tls:\n    clientcas: [/ca.pem]\n`,
    );
    expect(config.redis?.tls).toBeUndefined();
    expect(warnings).toEqual([
      'redis.tls.clientcas: ignored: TLS is off without redis.tls.certificate and key or redis.tls.enabled: true (registry v3 connects in plain text too)',
    ]);
  });

  it('uses clientcas with tls.enabled: true', async () => {
    const { config } = await parse(
      `${MINIMAL}redis:\n  addrs: [localhost:6379]\n  tls:\n    enabled: true\n    clientcas: /ca.pem\n`,
    );
    expect(config.redis?.tls).toEqual({ certificate: undefined, key: undefined, rootCAs: ['/ca.pem'] });
  });

  it('turns TLS on with a client certificate even with tls.enabled: false', async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}redis:\n  addrs: [localhost:6379]\n  tls:\n    enabled: false\n    certificate: /c.pem\n    key: /k.pem\n`,
    );
    expect(config.redis?.tls).toEqual({ certificate: '/c.pem', key: '/k.pem', rootCAs: [] });
    expect(warnings).toEqual([
      'redis.tls.enabled: ignored: redis.tls.certificate turns TLS on (as in registry v3)',
    ]);
  });

  it('warns about sentinel credentials without mastername', async () => {
    const { warnings } = await parse(
      `${MINIMAL}redis:\n  addrs: [localhost:6379]\n  sentinelusername: u\n  sentinelpassword: sp\n`,
    );
    expect(warnings).toEqual([
      'redis.sentinelusername: ignored without redis.mastername',
      'redis.sentinelpassword: ignored without redis.mastername',
    ]);
  });
});

describe('redis: topology', () => {
  it.each([
    ['one address', '  addrs: [a:6379]\n', 'single'],
    ['the 2.8 addr', '  addr: a:6379\n', 'single'],
    ['several addresses', '  addrs: [a:6379, b:6379, "[::1]:6379"]\n', 'cluster'],
    ['mastername and one address', '  addr: s:26379\n  mastername: m\n', 'sentinel'],
    ['mastername and several addresses', '  addrs: [s1:26379, s2:26379]\n  mastername: m\n', 'sentinel'],
  ])('%s → %s', async (_, redis, topology) => {
    const { config } = await parse(`${MINIMAL}redis:\n${redis}`);
    expect(config.redis?.topology).toBe(topology);
  });

  it('uses database 0 in a cluster, with a warning', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:\n  addrs: [a:6379, b:6379]\n  db: 4\n`);
    expect(config.redis?.db).toBe(0);
    expect(warnings).toEqual(['redis.db: 4 is ignored: a Redis Cluster has only database 0']);
  });
});

describe('redis without the cache', () => {
  it('is parsed when nothing uses it yet', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:\n  addr: localhost:6379\n`);
    expect(config.redis).toEqual(redisConfig({ addrs: ['localhost:6379'] }));
    expect(config.storage.cache.blobDescriptor).toBe('none');
    expect(warnings).toEqual([]);
  });

  it('is ignored with a warning when it names no address', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:\n  password: x\n  db: 1\n`);
    expect(config.redis).toBeUndefined();
    expect(warnings).toEqual(['redis: ignored: no redis.addr or redis.addrs']);
  });

  it('is silent when the section is empty', async () => {
    const { config, warnings } = await parse(`${MINIMAL}redis:\n`);
    expect(config.redis).toBeUndefined();
    expect(warnings).toEqual([]);
  });
});

describe('redis: invalid values name their key', () => {
  it.each([
    [
      '  addr: a:6379\n  addrs: [b:6379]\n',
      "redis.addrs: cannot be combined with redis.addr (registry 2.8's single address): keep one",
    ],
    ['  addrs: [a:6379, b]\n', 'redis.addrs[1]: missing port in address "b" (use "b:6379")'],
    ['  addr: a:65536\n', 'redis.addr: invalid port "65536" in address "a:65536"'],
    ['  addrs: [":6379"]\n', 'redis.addrs[0]: missing host in address ":6379" (use "localhost:6379")'],
    ['  addr: a:0\n', 'redis.addr: port 0 in address "a:0" (Redis listens on 6379 by default)'],
    ['  addr: ::1:6379\n', 'redis.addr: IPv6 address must be in brackets'],
    ["  addrs: ['']\n", 'redis.addrs[0]: must not be empty (use "host:port")'],
    [
      '  addr: redis://localhost:6379\n',
      'redis.addr: must be "host:port", not a URL (set redis.username, redis.password and redis.tls instead)',
    ],
    ['  addrs: a:6379,b:6379\n', 'redis.addrs: must be one "host:port", got "a:6379,b:6379"'],
    ['  addrs: {a: 1}\n', 'redis.addrs: must be a list of strings, got a mapping'],
    ['  addrs: [[a]]\n', 'redis.addrs[0]: must be a string, got a list'],
    ['  addr: localhost:6379\n  db: -1\n', 'redis.db: must be at least 0, got -1'],
    ['  addr: localhost:6379\n  db: one\n', 'redis.db: must be an integer, got "one"'],
    ['  addr: localhost:6379\n  dialtimeout: 5x\n', 'redis.dialtimeout: invalid duration "5x"'],
    ['  addr: localhost:6379\n  readtimeout: -1s\n', 'redis.readtimeout: must not be negative, got -1s'],
    ['  addr: localhost:6379\n  writetimeout: [1s]\n', 'redis.writetimeout: must be a duration'],
    ['  addr: localhost:6379\n  pool:\n    maxidle: -1\n', 'redis.pool.maxidle: must be at least 0, got -1'],
    ['  addr: localhost:6379\n  pool:\n    maxactive: many\n', 'redis.pool.maxactive: must be an integer'],
    ['  addr: localhost:6379\n  pool:\n    idletimeout: soon\n', 'redis.pool.idletimeout: invalid duration'],
    ['  addr: localhost:6379\n  pool: 4\n', 'redis.pool: must be a mapping, got 4'],
    [
      '  addr: localhost:6379\n  pool:\n    maxidle: 1\n  maxidleconns: 2\n',
      'redis.maxidleconns: cannot be combined with redis.pool.maxidle (the registry 2.8 name of the same setting): keep one',
    ],
    [
      '  addr: localhost:6379\n  pool:\n    idletimeout: 1s\n  connmaxidletime: 2s\n',
      'redis.connmaxidletime: cannot be combined with redis.pool.idletimeout',
    ],
    ['  addrs: [a:6379]\n  poolsize: -3\n', 'redis.poolsize: must be at least 0, got -3'],
    ['  addrs: [a:6379]\n  maxretries: -2\n', 'redis.maxretries: must be at least -1, got -2'],
    ['  addrs: [a:6379]\n  protocol: 4\n', 'redis.protocol: must be 2 or 3, got 4'],
    ['  addrs: [a:6379]\n  clientname: my registry\n', 'redis.clientname: must not contain spaces'],
    [
      '  addrs: [a:6379]\n  tls:\n    certificate: /c.pem\n',
      'redis.tls.key: is required when redis.tls.certificate is set',
    ],
    [
      '  addrs: [a:6379]\n  tls:\n    key: /k.pem\n',
      'redis.tls.certificate: is required when redis.tls.key is set',
    ],
    ['  addr: a:6379\n  tls:\n    enabled: maybe\n', 'redis.tls.enabled: must be true or false, got "maybe"'],
    ['  addrs: [a:6379]\n  tls:\n    clientcas: {a: b}\n', 'redis.tls.clientcas: must be a list of strings'],
    ['  addr: a:6379\n  password: {value: x}\n', 'redis.password: must be a string, got a mapping'],
  ])('%j', async (redis, message) => {
    const issues = await issuesOf(`${MINIMAL}redis:\n${redis}`);
    expect(
      issues.find((issue) => issue.startsWith(message)),
      issues.join('\n'),
    ).toBeDefined();
  });

  it('rejects a redis section that is not a mapping', async () => {
    expect(await issuesOf(`${MINIMAL}redis: localhost:6379\n`)).toEqual([
      'redis: must be a mapping, got "localhost:6379"',
    ]);
  });
});

describe('REGISTRY_REDIS_* and REGISTRY_STORAGE_CACHE_* overrides', () => {
  it('configure the 2.8 dialect and the cache', async () => {
    const { config, warnings } = await parse(MINIMAL, {
      REGISTRY_REDIS_ADDR: '127.0.0.1:6379',
      REGISTRY_REDIS_PASSWORD: 'from-env',
      REGISTRY_REDIS_DB: '2',
      REGISTRY_REDIS_DIALTIMEOUT: '250ms',
      REGISTRY_REDIS_POOL_MAXIDLE: '4',
      REGISTRY_REDIS_POOL_IDLETIMEOUT: '5m',
      REGISTRY_REDIS_TLS_ENABLED: 'true',
      REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis',
    });
    expect(warnings).toEqual([]);
    expect(config.storage.cache.blobDescriptor).toBe('redis');
    expect(config.redis).toEqual(
      redisConfig({
        addrs: ['127.0.0.1:6379'],
        password: 'from-env',
        db: 2,
        dialTimeoutMs: 250,
        pool: {
          size: undefined,
          minIdle: undefined,
          maxIdle: 4,
          maxActive: undefined,
          idleTimeoutMs: 300_000,
          maxLifetimeMs: undefined,
        },
        tls: { certificate: undefined, key: undefined, rootCAs: [] },
      }),
    );
  });

  it('configure the v3 dialect with list indexes', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_REDIS_ADDRS_0: 's1:26379',
      REGISTRY_REDIS_ADDRS_1: 's2:26379',
      REGISTRY_REDIS_MASTERNAME: 'mymaster',
      REGISTRY_REDIS_USERNAME: 'registry',
      REGISTRY_REDIS_TLS_CERTIFICATE: '/c.pem',
      REGISTRY_REDIS_TLS_KEY: '/k.pem',
      REGISTRY_REDIS_TLS_CLIENTCAS_0: '/ca.pem',
      REGISTRY_REDIS_POOLSIZE: '20',
      REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis',
    });
    expect(config.redis).toMatchObject({
      addrs: ['s1:26379', 's2:26379'],
      topology: 'sentinel',
      masterName: 'mymaster',
      username: 'registry',
      pool: { size: 20 },
      tls: { certificate: '/c.pem', key: '/k.pem', rootCAs: ['/ca.pem'] },
    });
  });

  it('take a whole list as YAML, or a single address', async () => {
    const list = await parse(MINIMAL, { REGISTRY_REDIS_ADDRS: '[a:6379, b:6379]' });
    expect(list.config.redis?.addrs).toEqual(['a:6379', 'b:6379']);
    expect(list.config.redis?.topology).toBe('cluster');
    const single = await parse(MINIMAL, { REGISTRY_REDIS_ADDRS: 'a:6379' });
    expect(single.config.redis?.addrs).toEqual(['a:6379']);
  });

  it('replace and append entries of the file', async () => {
    const { config } = await parse(`${MINIMAL}redis:\n  addrs: [a:6379, b:6379]\n`, {
      REGISTRY_REDIS_ADDRS_1: 'c:6379',
      REGISTRY_REDIS_ADDRS_2: 'd:6379',
    });
    expect(config.redis?.addrs).toEqual(['a:6379', 'c:6379', 'd:6379']);
  });

  it('keep the literal text of a password that YAML reads as a number', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_REDIS_ADDR: 'a:6379',
      REGISTRY_REDIS_PASSWORD: '0123',
    });
    expect(config.redis?.password).toBe('0123');
  });

  it('name the variable in errors', async () => {
    expect(
      await issuesOf(MINIMAL, { REGISTRY_REDIS_ADDRS_0: 'a:6379', REGISTRY_REDIS_ADDRS_1: 'b' }),
    ).toEqual(['redis.addrs[1]: missing port in address "b" (use "b:6379") (from REGISTRY_REDIS_ADDRS_1)']);
    expect(
      await issuesOf(`${MINIMAL}redis:\n  addrs: [a:6379]\n`, { REGISTRY_REDIS_ADDR: 'b:6379' }),
    ).toEqual([
      "redis.addrs: cannot be combined with redis.addr (from REGISTRY_REDIS_ADDR) (registry 2.8's single address): keep one",
    ]);
  });

  it('accept registry v3’s REGISTRY_REDIS_OPTIONS_* spelling (distribution/distribution#4486)', async () => {
    const { config, warnings } = await parse(MINIMAL, {
      REGISTRY_REDIS_OPTIONS_ADDRS_0: 's1:26379',
      REGISTRY_REDIS_OPTIONS_MASTERNAME: 'mymaster',
      REGISTRY_REDIS_OPTIONS_DB: '1',
      REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis',
    });
    expect(warnings).toEqual([]);
    expect(config.redis).toMatchObject({ addrs: ['s1:26379'], masterName: 'mymaster', db: 1 });
    expect(
      await issuesOf(MINIMAL, { REGISTRY_REDIS_OPTIONS_ADDRS_0: 'nope', REGISTRY_REDIS_OPTIONS_DB: '-1' }),
    ).toEqual([
      'redis.addrs[0]: missing port in address "nope" (use "nope:6379") (from REGISTRY_REDIS_OPTIONS_ADDRS_0)',
      'redis.db: must be at least 0, got -1 (from REGISTRY_REDIS_OPTIONS_DB)',
    ]);
  });

  it('an empty REGISTRY_REDIS_ADDR unsets the file’s addr', async () => {
    const { config } = await parse(`${MINIMAL}redis:\n  addr: a:6379\n`, {
      REGISTRY_REDIS_ADDR: '',
      REGISTRY_REDIS_ADDRS_0: 'b:6379',
    });
    expect(config.redis?.addrs).toEqual(['b:6379']);
  });
});

describe('the Redis password is never printed', () => {
  const SECRET = 'Sup3r-s3cret-pa55';

  it.each([
    ['an invalid address', `  addr: nope\n  password: ${SECRET}\n`],
    ['a URL with the password', `  addr: redis://:${SECRET}@localhost:6379\n`],
    ['a URL in addrs', `  addrs: ["redis://user:${SECRET}@a:6379"]\n`],
    ['host:port with userinfo', `  addrs: ["user:${SECRET}@a:6379"]\n`],
    ['a password list', `  addr: a:6379\n  password: [${SECRET}]\n`],
    ['a password mapping', `  addr: a:6379\n  password: {${SECRET}: 1}\n`],
    ['a sentinel password list', `  addr: a:6379\n  sentinelpassword: [${SECRET}]\n`],
    ['both addr and addrs', `  addr: a:6379\n  addrs: [b:6379]\n  password: ${SECRET}\n`],
  ])('in errors: %s', async (_, redis) => {
    const { issues, message } = await failure(withCache('    blobdescriptor: redis\n', redis));
    expect(issues.length).toBeGreaterThan(0);
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('s3cret');
  });

  it('in warnings', async () => {
    const { warnings } = await parse(
      `${MINIMAL}redis:\n  addrs: [a:6379]\n  password: ${SECRET}\n  sentinelpassword: ${SECRET}\n  protocol: 3\n  readonly: true\n`,
    );
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.join('\n')).not.toContain(SECRET);
  });

  it('in errors and warnings when it comes from REGISTRY_REDIS_PASSWORD', async () => {
    const { message } = await failure(withCache('    blobdescriptor: redis\n', '  addr: bad\n'), {
      REGISTRY_REDIS_PASSWORD: SECRET,
    });
    expect(message).not.toContain(SECRET);
  });
});
