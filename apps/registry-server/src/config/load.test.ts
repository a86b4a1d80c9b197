import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_DRIVERS } from '../drivers.ts';
import { ConfigError, isConfigError } from './errors.ts';
import { DEFAULT_CONFIG_YAML, type LoadedConfig, loadConfig, parseConfig } from './load.ts';

const AVAILABLE_DRIVERS = Object.entries(STORAGE_DRIVERS)
  .filter(([, entry]) => entry.available)
  .map(([name]) => name);

const MINIMAL = 'version: 0.1\nstorage: inmemory\n';

/** Parses `yaml` with only the given environment. */
function parse(yaml: string, env: Record<string, string> = {}): Promise<LoadedConfig> {
  return parseConfig(yaml, { env });
}

/** The issues of the ConfigError `yaml` (with `env`) fails with. */
async function issuesOf(yaml: string, env: Record<string, string> = {}): Promise<readonly string[]> {
  try {
    await parse(yaml, env);
  } catch (error) {
    if (isConfigError(error)) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig: YAML and version', () => {
  it('reads a minimal file with the storage shorthand', async () => {
    const { config, warnings } = await parse(MINIMAL);
    expect(config.storage.driver).toEqual({ name: 'inmemory', options: {} });
    expect(warnings).toEqual([]);
  });

  it.each([
    ['a number', 'version: 0.1'],
    ['a string', "version: '0.1'"],
  ])('accepts version as %s', async (_, line) => {
    const { config } = await parse(`${line}\nstorage: inmemory\n`);
    expect(config.version).toBe('0.1');
  });

  it('requires version', async () => {
    expect(await issuesOf('storage: inmemory\n')).toEqual([
      'version: is required (write "version: 0.1" at the top of the file)',
    ]);
  });

  it('rejects other versions', async () => {
    expect(await issuesOf('version: 0.2\nstorage: inmemory\n')).toEqual([
      'version: unsupported configuration version "0.2" (Berth reads version 0.1)',
    ]);
  });

  it('reports YAML syntax errors', async () => {
    const issues = await issuesOf('version: 0.1\nstorage: [inmemory\n');
    expect(issues[0]).toMatch(/^YAML syntax error: /);
  });

  it('rejects a document that is not a mapping', async () => {
    expect(await issuesOf('- a\n- b\n')).toEqual(['the configuration must be a YAML mapping']);
  });

  it('reads YAML 1.1 booleans and keeps the literal text of scalars read as strings (like yaml.v2)', async () => {
    const { config } = await parse(
      'version: 0.1\nstorage:\n  inmemory:\n  delete:\n    enabled: yes\nhttp:\n  secret: 0123\n  relativeurls: on\n',
    );
    expect(config.storage.deleteEnabled).toBe(true);
    expect(config.http.secret).toBe('0123');
    expect(config.http.relativeUrls).toBe(true);
  });

  it('supports anchors and merge keys', async () => {
    const { config } = await parse(
      'version: 0.1\nstorage: inmemory\nx-common: &h\n  X-A: [a]\nhttp:\n  headers:\n    <<: *h\n    X-B: [b]\n',
    );
    expect(config.http.headers).toEqual({ 'X-A': ['a'], 'X-B': ['b'] });
  });
});

describe('parseConfig: defaults', () => {
  it('fills in every default', async () => {
    const { config } = await parse(MINIMAL);
    expect(config.log).toEqual({
      level: 'info',
      formatter: 'json',
      fields: {},
      accessLog: { disabled: false },
    });
    expect(config.storage).toEqual({
      driver: { name: 'inmemory', options: {} },
      deleteEnabled: false,
      redirect: true,
      maintenance: {
        uploadPurging: { enabled: true, ageMs: 168 * 3_600_000, intervalMs: 24 * 3_600_000, dryRun: false },
        readOnly: false,
      },
      tagConcurrencyLimit: undefined,
      cache: { blobDescriptor: 'none', blobDescriptorSize: 10_000 },
    });
    expect(config.http).toEqual({
      addr: ':5000',
      net: 'tcp',
      prefix: '',
      host: undefined,
      secret: undefined,
      relativeUrls: false,
      drainTimeoutMs: 0,
      headers: {},
      tls: undefined,
      debugAddr: undefined,
      metrics: { enabled: false, path: '/metrics' },
    });
    expect(config.catalogMaxEntries).toBe(1000);
    expect(config.tagsMaxTags).toBe(1000);
    expect(config.validation).toEqual({
      disabled: false,
      urls: { allow: [], deny: [] },
      indexes: { platforms: 'all', platformList: [] },
    });
    expect(config.health).toEqual({
      storageDriver: { enabled: false, intervalMs: 10_000, threshold: 1 },
      files: [],
      http: [],
      tcp: [],
    });
    expect(config.auth).toEqual({ type: 'none' });
    expect(config.berth).toEqual({ auth: { issuer: undefined, groups: {}, rules: undefined } });
    expect(config.redis).toBeUndefined();
    expect(config.proxy).toBeUndefined();
  });

  it('fills the filesystem driver defaults', async () => {
    const { config } = await parse('version: 0.1\nstorage:\n  filesystem:\n');
    expect(config.storage.driver).toEqual({
      name: 'filesystem',
      options: { rootdirectory: '/var/lib/registry', maxthreads: 100, fsync: true, quickreads: true },
    });
  });

  it('reads 0 or a negative maxentries/maxtags as the default, like registry:2', async () => {
    const { config } = await parse(`${MINIMAL}catalog:\n  maxentries: 0\ntags:\n  maxtags: -5\n`);
    expect(config.catalogMaxEntries).toBe(1000);
    expect(config.tagsMaxTags).toBe(1000);
  });

  it('normalises http.prefix', async () => {
    for (const [given, expected] of [
      ['/', ''],
      ['/registry/', '/registry'],
      ['registry', '/registry'],
      ['/a/b', '/a/b'],
    ] as const) {
      const { config } = await parse(`${MINIMAL}http:\n  prefix: ${JSON.stringify(given)}\n`);
      expect(config.http.prefix, given).toBe(expected);
    }
  });

  it('reads a full configuration', async () => {
    const { config, warnings } = await parse(`
version: 0.1
log:
  level: DEBUG
  formatter: text
  fields: { service: registry, replica: 3 }
  accesslog: { disabled: true }
storage:
  filesystem: { rootdirectory: /srv/registry, maxthreads: 50 }
  delete: { enabled: true }
  redirect: { disable: true }
  maintenance:
    uploadpurging: { enabled: false, age: 1h, interval: 30m, dryrun: true }
    readonly: { enabled: true }
  tag: { concurrencylimit: 8 }
  cache: { blobdescriptor: inmemory, blobdescriptorsize: 500 }
http:
  addr: 127.0.0.1:5001
  prefix: /r
  host: https://registry.example.com/
  secret: s3cret
  relativeurls: true
  draintimeout: 1m30s
  headers: { X-Content-Type-Options: [nosniff], X-Single: one }
  tls:
    certificate: /c.pem
    key: /k.pem
    clientcas: [/ca.pem]
    minimumtls: tls1.3
  debug: { addr: 127.0.0.1:5002, prometheus: { enabled: true, path: /m } }
catalog: { maxentries: 50 }
tags: { maxtags: 20 }
validation:
  manifests:
    urls: { allow: ['^https?://([^/]+\\.)*example\\.com/'], deny: ['^https?://evil'] }
    indexes:
      platforms: list
      platformlist: [{ os: linux, architecture: amd64 }]
health:
  storagedriver: { enabled: true, interval: 5s, threshold: 3 }
`);
    expect(warnings).toEqual([]);
    expect(config.log).toEqual({
      level: 'debug',
      formatter: 'text',
      fields: { service: 'registry', replica: 3 },
      accessLog: { disabled: true },
    });
    expect(config.storage).toEqual({
      driver: {
        name: 'filesystem',
        options: { rootdirectory: '/srv/registry', maxthreads: 50, fsync: true, quickreads: true },
      },
      deleteEnabled: true,
      redirect: false,
      maintenance: {
        uploadPurging: { enabled: false, ageMs: 3_600_000, intervalMs: 1_800_000, dryRun: true },
        readOnly: true,
      },
      tagConcurrencyLimit: 8,
      cache: { blobDescriptor: 'inmemory', blobDescriptorSize: 500 },
    });
    expect(config.http).toEqual({
      addr: '127.0.0.1:5001',
      net: 'tcp',
      prefix: '/r',
      host: 'https://registry.example.com',
      secret: 's3cret',
      relativeUrls: true,
      drainTimeoutMs: 90_000,
      headers: { 'X-Content-Type-Options': ['nosniff'], 'X-Single': ['one'] },
      tls: {
        certificate: '/c.pem',
        key: '/k.pem',
        clientCAs: ['/ca.pem'],
        clientAuth: 'require-and-verify-client-cert',
        minimumTls: 'tls1.3',
        cipherSuites: [],
      },
      debugAddr: '127.0.0.1:5002',
      metrics: { enabled: true, path: '/m' },
    });
    expect(config.catalogMaxEntries).toBe(50);
    expect(config.tagsMaxTags).toBe(20);
    expect(config.validation.urls.allow[0]!.test('https://cdn.example.com/layer')).toBe(true);
    expect(config.validation.urls.deny[0]!.test('http://evil.test/')).toBe(true);
    expect(config.validation.indexes).toEqual({
      platforms: 'list',
      platformList: [{ os: 'linux', architecture: 'amd64' }],
    });
    expect(config.health.storageDriver).toEqual({ enabled: true, intervalMs: 5000, threshold: 3 });
  });

  it('maps Go cipher suite names to OpenSSL names', async () => {
    const { config } = await parse(
      `${MINIMAL}http:\n  tls:\n    certificate: /c\n    key: /k\n    ciphersuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n`,
    );
    expect(config.http.tls?.cipherSuites).toEqual(['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_AES_128_GCM_SHA256']);
  });

  it('treats validation.enabled (deprecated) as registry:2 does', async () => {
    const disabled = await parse(`${MINIMAL}validation:\n  disabled: true\n`);
    expect(disabled.config.validation.disabled).toBe(true);
    const both = await parse(`${MINIMAL}validation:\n  disabled: true\n  enabled: true\n`);
    expect(both.config.validation.disabled).toBe(false);
    expect(both.warnings).toEqual(['validation.enabled: deprecated: use validation.disabled']);
  });
});

describe('the embedded default and loadConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
    await writeFile(join(dir, 'config.yml'), 'version: 0.1\nstorage: inmemory\nhttp:\n  addr: :6000\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves :5000 from ./data with delete disabled when no file is given', async () => {
    const { config, source, warnings } = await loadConfig({ env: {} });
    expect(source).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(config.http.addr).toBe(':5000');
    expect(config.storage.driver).toEqual({
      name: 'filesystem',
      options: { rootdirectory: './data', maxthreads: 100, fsync: true, quickreads: true },
    });
    expect(config.storage.deleteEnabled).toBe(false);
    expect(config.http.headers).toEqual({ 'X-Content-Type-Options': ['nosniff'] });
    expect(config.health.storageDriver).toEqual({ enabled: true, intervalMs: 10_000, threshold: 3 });
    expect(config.log.fields).toEqual({ service: 'registry' });
    expect(DEFAULT_CONFIG_YAML).toContain('rootdirectory: ./data');
  });

  it('applies REGISTRY_* overrides to the embedded default', async () => {
    const { config } = await loadConfig({ env: { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/srv/x' } });
    expect(config.storage.driver.options).toMatchObject({ rootdirectory: '/srv/x' });
  });

  it('resolves a relative path against cwd', async () => {
    const { config, source } = await loadConfig({ path: 'config.yml', cwd: dir, env: {} });
    expect(source).toBe(join(dir, 'config.yml'));
    expect(config.http.addr).toBe(':6000');
  });

  it('takes the path from REGISTRY_CONFIGURATION_PATH', async () => {
    const { source } = await loadConfig({ env: { REGISTRY_CONFIGURATION_PATH: join(dir, 'config.yml') } });
    expect(source).toBe(join(dir, 'config.yml'));
  });

  it('prefers the given path over REGISTRY_CONFIGURATION_PATH', async () => {
    const error = await loadConfig({
      path: join(dir, 'missing.yml'),
      env: { REGISTRY_CONFIGURATION_PATH: join(dir, 'config.yml') },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `invalid configuration (${join(dir, 'missing.yml')}): cannot read configuration file: no such file`,
    );
  });
});

describe('REGISTRY_* environment overrides', () => {
  it('overrides nested keys, creating missing sections', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_HTTP_ADDR: '127.0.0.1:7000',
      REGISTRY_LOG_LEVEL: 'error',
      REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true',
      REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE: '2h',
    });
    expect(config.http.addr).toBe('127.0.0.1:7000');
    expect(config.log.level).toBe('error');
    expect(config.storage.maintenance.readOnly).toBe(true);
    expect(config.storage.maintenance.uploadPurging.ageMs).toBe(7_200_000);
  });

  it('parses values as YAML (booleans, numbers, lists, mappings)', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
      REGISTRY_CATALOG_MAXENTRIES: '50',
      REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW: '["^https://"]',
      REGISTRY_HTTP_HEADERS: '{X-Frame-Options: [DENY]}',
      REGISTRY_LOG_FIELDS_REPLICA: '2',
    });
    expect(config.storage.deleteEnabled).toBe(true);
    expect(config.catalogMaxEntries).toBe(50);
    expect(config.validation.urls.allow.map(String)).toEqual(['/^https:\\/\\//']);
    expect(config.http.headers).toEqual({ 'X-Frame-Options': ['DENY'] });
    expect(config.log.fields).toEqual({ replica: 2 });
  });

  it('keeps the literal text where a string is expected', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_HTTP_SECRET: '0123',
      REGISTRY_HTTP_HOST: 'https://r.example.com',
    });
    expect(config.http.secret).toBe('0123');
    const odd = await parse(MINIMAL, { REGISTRY_HTTP_SECRET: '#not-a-comment: {[' });
    expect(odd.config.http.secret).toBe('#not-a-comment: {[');
  });

  it('indexes and appends to lists', async () => {
    const { config } = await parse(
      `${MINIMAL}http:\n  tls:\n    certificate: /c\n    key: /k\n    clientcas: [/a.pem]\n`,
      { REGISTRY_HTTP_TLS_CLIENTCAS_0: '/first.pem', REGISTRY_HTTP_TLS_CLIENTCAS_1: '/second.pem' },
    );
    expect(config.http.tls?.clientCAs).toEqual(['/first.pem', '/second.pem']);
  });

  it('creates a list from index 0', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS: 'list',
      REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST_0_OS: 'linux',
      REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMLIST_0_ARCHITECTURE: 'arm64',
    });
    expect(config.validation.indexes.platformList).toEqual([{ os: 'linux', architecture: 'arm64' }]);
  });

  it('fails on an index past the end of a list', async () => {
    expect(await issuesOf(MINIMAL, { REGISTRY_HTTP_TLS_CLIENTCAS_2: '/x.pem' })).toEqual([
      'REGISTRY_HTTP_TLS_CLIENTCAS_2: undefined index 2 (the list has 0 entries)',
    ]);
  });

  it('matches existing keys case-insensitively', async () => {
    const { config } = await parse('version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /a\n', {
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/b',
    });
    expect(config.storage.driver.options).toMatchObject({ rootdirectory: '/b' });
  });

  it('REGISTRY_STORAGE switches the driver and keeps the other storage keys', async () => {
    const { config } = await parse(
      'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /a\n  delete:\n    enabled: true\n',
      { REGISTRY_STORAGE: 'inmemory' },
    );
    expect(config.storage.driver).toEqual({ name: 'inmemory', options: {} });
    expect(config.storage.deleteEnabled).toBe(true);
  });

  it('REGISTRY_STORAGE with the same driver drops the file parameters (registry:2 TestParseWithSameEnvStorage)', async () => {
    const { config } = await parse(
      'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /a\n    maxthreads: 30\n',
      {
        REGISTRY_STORAGE: 'filesystem',
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/b',
      },
    );
    expect(config.storage.driver.options).toEqual({
      rootdirectory: '/b',
      maxthreads: 100,
      fsync: true,
      quickreads: true,
    });
  });

  it('REGISTRY_STORAGE + a parameter of the new driver work together (applied in lexical order)', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/tmp/testroot',
      REGISTRY_STORAGE: 'filesystem',
    });
    expect(config.storage.driver).toEqual({
      name: 'filesystem',
      options: { rootdirectory: '/tmp/testroot', maxthreads: 100, fsync: true, quickreads: true },
    });
  });

  it('fails, naming the variable, when a parameter of another driver is set (file uses inmemory)', async () => {
    expect(await issuesOf(MINIMAL, { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/data' })).toEqual([
      'storage: exactly one storage driver must be configured, found inmemory, ' +
        'filesystem (from REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY); ' +
        'to switch drivers from the environment set REGISTRY_STORAGE=filesystem',
    ]);
  });

  it('REGISTRY_STORAGE with a mapping replaces the whole section (as registry:2)', async () => {
    const { config } = await parse(`${MINIMAL}`, { REGISTRY_STORAGE: '{filesystem: {rootdirectory: /m}}' });
    expect(config.storage.driver.options).toMatchObject({ rootdirectory: '/m' });
  });

  it('names the variable in validation errors', async () => {
    expect(await issuesOf(MINIMAL, { REGISTRY_HTTP_DRAINTIMEOUT: '5x' })).toEqual([
      'http.draintimeout: invalid duration "5x" (unknown unit "x"; use ns, us, ms, s, m or h) (from REGISTRY_HTTP_DRAINTIMEOUT)',
    ]);
    expect(await issuesOf(MINIMAL, { REGISTRY_STORAGE_DELETE: 'yes' })).toEqual([
      'storage.delete: must be a mapping, got true (from REGISTRY_STORAGE_DELETE)',
    ]);
  });

  it('warns about unrecognized variables and ignores REGISTRY_CONFIGURATION_PATH', async () => {
    const { warnings } = await parse(MINIMAL, {
      REGISTRY_PORT: 'tcp://10.0.0.1:5000',
      REGISTRY_CONFIGURATION_PATH: '/etc/x.yml',
      REGISTRY_HTTP_ADRESS: ':1',
      OTHER: 'x',
    });
    expect(warnings).toEqual([
      'ignoring unrecognized environment variable REGISTRY_PORT',
      'http.adress: unknown key (ignored) (from REGISTRY_HTTP_ADRESS)',
    ]);
  });

  it('uses the deprecated REGISTRY_LOGLEVEL when log.level is unset', async () => {
    const { config, warnings } = await parse(MINIMAL, { REGISTRY_LOGLEVEL: 'debug' });
    expect(config.log.level).toBe('debug');
    expect(warnings).toEqual(['loglevel: deprecated: use log.level (from REGISTRY_LOGLEVEL)']);
  });

  it('matches keys containing an underscore', async () => {
    const { warnings } = await parse(`${MINIMAL}`, { REGISTRY_BERTH_MAX_RETRIES: '3' });
    expect(warnings).toEqual(['berth.max_retries: unknown key (ignored) (from REGISTRY_BERTH_MAX_RETRIES)']);
  });
});

describe('unknown keys and unsupported sections', () => {
  it('warns with the full key path', async () => {
    const { warnings } = await parse(
      'version: 0.1\nfoo: 1\nstorage:\n  filesystem:\n    rootdir: /x\nhttp:\n  tls:\n    certficate: /c\nberth:\n  future: true\n',
    );
    expect(warnings).toEqual([
      'storage.filesystem.rootdir: unknown key (ignored by the filesystem driver)',
      'http.tls.certficate: unknown key (ignored)',
      'berth.future: unknown key (ignored)',
      'foo: unknown key (ignored)',
    ]);
  });

  it('warns that accepted registry:2 sections are not supported yet', async () => {
    const { warnings } = await parse(
      `${MINIMAL}notifications:\n  endpoints:\n    - name: a\n      url: http://x\n` +
        'log:\n  hooks:\n    - type: mail\n',
    );
    expect(warnings).toEqual([
      'log.hooks: log hooks (mail) are not supported yet (ignored)',
      'notifications: notifications are not supported yet: no events will be sent',
    ]);
  });

  it("reads registry:2's health.file, health.http and health.tcp checks", async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}health:\n` +
        '  file:\n    - file: /etc/registry/drain\n      interval: 5s\n' +
        '  http:\n    - uri: http://127.0.0.1:9000/ready\n      headers: { X-Check: [berth] }\n' +
        '      statuscode: 204\n      timeout: 2s\n      threshold: 3\n' +
        '  tcp:\n    - addr: 127.0.0.1:6379\n',
    );
    expect(warnings).toEqual([]);
    expect(config.health.files).toEqual([{ file: '/etc/registry/drain', intervalMs: 5000, threshold: 1 }]);
    expect(config.health.http).toEqual([
      {
        uri: 'http://127.0.0.1:9000/ready',
        headers: { 'X-Check': ['berth'] },
        statusCode: 204,
        timeoutMs: 2000,
        intervalMs: 10_000,
        threshold: 3,
      },
    ]);
    expect(config.health.tcp).toEqual([
      { addr: '127.0.0.1:6379', timeoutMs: 10_000, intervalMs: 10_000, threshold: 1 },
    ]);
  });

  it('refuses health checks without their target, naming the key', async () => {
    const errors = await issuesOf(
      `${MINIMAL}health:\n  file:\n    - interval: 1s\n  http:\n    - uri: ftp://x\n  tcp:\n    - addr: nohost\n`,
    );
    expect(errors.join('\n')).toContain('health.file[0].file: is required');
    expect(errors.join('\n')).toContain('health.http[0].uri: must be an http:// or https:// URL');
    expect(errors.join('\n')).toContain('health.tcp[0].addr: missing port');
  });

  it('reads storage.cache without a warning (see cache.test.ts)', async () => {
    const { config, warnings } = await parse(
      'version: 0.1\nstorage:\n  inmemory:\n  cache:\n    blobdescriptor: inmemory\n',
    );
    expect(config.storage.cache).toEqual({ blobDescriptor: 'inmemory', blobDescriptorSize: 10_000 });
    expect(warnings).toEqual([]);
  });

  it('accepts auth: none and an empty auth section', async () => {
    await expect(parse(`${MINIMAL}auth:\n  none:\n`)).resolves.toBeDefined();
    await expect(parse(`${MINIMAL}auth:\n`)).resolves.toBeDefined();
  });

  it('reads a bare-number duration as nanoseconds with a warning, like registry:2', async () => {
    const { config, warnings } = await parse(`${MINIMAL}http:\n  draintimeout: 60\n`);
    expect(config.http.drainTimeoutMs).toBeCloseTo(0.00006, 9);
    expect(warnings[0]).toMatch(/^http\.draintimeout: the bare number 60 is read as nanoseconds/);
  });

  it('clamps health.storagedriver.interval to 1s with a warning (interval: 10 is 10 ns)', async () => {
    const health = (interval: string) =>
      parse(`${MINIMAL}health:\n  storagedriver:\n    enabled: true\n    interval: ${interval}\n`);
    const bare = await health('10');
    expect(bare.config.health.storageDriver.intervalMs).toBe(1000);
    expect(bare.warnings).toEqual([
      'health.storagedriver.interval: the bare number 10 is read as nanoseconds (0.00001ms), as registry:2 reads it; write a unit, e.g. "10s"',
      'health.storagedriver.interval: 0.00001ms is below the minimum of 1s: the check runs every 1s',
    ]);
    const short = await health('250ms');
    expect(short.config.health.storageDriver.intervalMs).toBe(1000);
    expect(short.warnings).toEqual([
      'health.storagedriver.interval: 250ms is below the minimum of 1s: the check runs every 1s',
    ]);
    const fine = await health('1s');
    expect(fine.config.health.storageDriver.intervalMs).toBe(1000);
    expect(fine.warnings).toEqual([]);
  });
});

describe('invalid values name their key', () => {
  it.each([
    [
      'storage:\n  filesystem:\n    rootdirectory: {a: 1}',
      'storage.filesystem.rootdirectory: must be a string',
    ],
    ['storage:\n  filesystem:\n    maxthreads: lots', 'storage.filesystem.maxthreads: must be an integer'],
    ['storage:\n  filesystem: /data', 'storage.filesystem: must be a mapping of driver parameters'],
    ['storage: inmemory\nhttp:\n  draintimeout: 5x', 'http.draintimeout: invalid duration "5x"'],
    ['storage: inmemory\nhttp:\n  draintimeout: -1s', 'http.draintimeout: must not be negative'],
    [
      'storage: inmemory\nlog:\n  level: verbose',
      'log.level: must be one of error, warn, info, debug, got "verbose"',
    ],
    ['storage: inmemory\nlog:\n  formatter: xml', 'log.formatter: must be one of json, text, logstash'],
    ['storage: inmemory\nlog:\n  fields: [a]', 'log.fields: must be a mapping'],
    [
      'storage:\n  inmemory:\n  delete:\n    enabled: maybe',
      'storage.delete.enabled: must be true or false, got "maybe"',
    ],
    ['storage:\n  inmemory:\n  redirect:\n    disable: 2', 'storage.redirect.disable: must be true or false'],
    [
      'storage:\n  inmemory:\n  maintenance:\n    uploadpurging:\n      age: 5',
      'storage.maintenance.uploadpurging.age: must be a duration string such as "30s" or "168h", got 5',
    ],
    [
      'storage:\n  inmemory:\n  maintenance:\n    uploadpurging:\n      interval: 0s',
      'storage.maintenance.uploadpurging.interval: must be at least',
    ],
    [
      'storage:\n  inmemory:\n  tag:\n    concurrencylimit: 0',
      'storage.tag.concurrencylimit: must be at least 1',
    ],
    ['storage: inmemory\ncatalog:\n  maxentries: many', 'catalog.maxentries: must be an integer, got "many"'],
    ['storage: inmemory\ntags:\n  maxtags: 1.5', 'tags.maxtags: must be an integer'],
    ['storage: inmemory\nhttp:\n  addr: localhost', 'http.addr: missing port in address "localhost"'],
    ['storage: inmemory\nhttp:\n  addr: ":99999"', 'http.addr: invalid port "99999"'],
    ['storage: inmemory\nhttp:\n  net: udp', 'http.net: must be one of tcp, unix, got "udp"'],
    ['storage: inmemory\nhttp:\n  host: registry.example.com', 'http.host: must be an absolute http(s) URL'],
    [
      'storage: inmemory\nhttp:\n  headers:\n    X-A: {b: c}',
      'http.headers.X-A: must be a string or a list of strings',
    ],
    [
      'storage: inmemory\nhttp:\n  tls:\n    certificate: /c',
      'http.tls.key: is required when http.tls.certificate is set',
    ],
    [
      'storage: inmemory\nhttp:\n  tls:\n    certificate: /c\n    key: /k\n    clientauth: sometimes',
      'http.tls.clientauth: must be one of request-client-cert',
    ],
    [
      'storage: inmemory\nhttp:\n  tls:\n    certificate: /c\n    key: /k\n    minimumtls: ssl3',
      'http.tls.minimumtls: must be one of tls1.0, tls1.1, tls1.2, tls1.3, got "ssl3"',
    ],
    [
      'storage: inmemory\nhttp:\n  tls:\n    certificate: /c\n    key: /k\n    ciphersuites: [RC4]',
      'http.tls.ciphersuites[0]: unknown TLS cipher suite "RC4"',
    ],
    [
      'storage: inmemory\nhttp:\n  tls:\n    letsencrypt:\n      cachefile: /le',
      "http.tls.letsencrypt.cachefile: Let's Encrypt is not supported yet",
    ],
    ['storage: inmemory\nhttp:\n  debug:\n    addr: nope', 'http.debug.addr: missing port'],
    [
      'storage: inmemory\nvalidation:\n  manifests:\n    urls:\n      allow: ["("]',
      'validation.manifests.urls.allow[0]: invalid regular expression',
    ],
    [
      'storage: inmemory\nvalidation:\n  manifests:\n    indexes:\n      platforms: some',
      'validation.manifests.indexes.platforms: must be one of all, none, list',
    ],
    [
      'storage: inmemory\nhealth:\n  storagedriver:\n    threshold: -1',
      'health.storagedriver.threshold: must be at least 0',
    ],
    [
      'storage: inmemory\nhealth:\n  storagedriver:\n    interval: soon',
      'health.storagedriver.interval: invalid duration "soon"',
    ],
    [
      'storage: inmemory\nauth:\n  htpasswd:\n    realm: r',
      'auth.htpasswd.path: is required for htpasswd auth',
    ],
    ['storage: inmemory\nauth:\n  token: {}\n  silly: {}', 'auth: exactly one auth type may be configured'],
    [
      'storage: inmemory\nproxy:\n  remoteurl: registry-1.docker.io',
      'proxy.remoteurl: must be the http(s) URL of the upstream registry',
    ],
    [
      'storage: inmemory\nproxy:\n  remoteurl: https://registry-1.docker.io\n  ttl: soon',
      'proxy.ttl: invalid duration "soon"',
    ],
    [
      'storage:\n  swift: {}',
      'storage.swift: unknown storage driver "swift" (known: filesystem, inmemory, s3, s3aws, gcs, azure)',
    ],
    [
      'storage:\n  inmemory:\n  filesystem:',
      'storage: exactly one storage driver must be configured, found inmemory, filesystem',
    ],
    [
      'storage:\n  delete:\n    enabled: true',
      `storage: no storage driver configured (one of: ${AVAILABLE_DRIVERS.join(', ')})`,
    ],
    ['http:\n  addr: :5000', 'storage: no storage driver configured'],
  ])('%j', async (yaml, message) => {
    const issues = await issuesOf(`version: 0.1\n${yaml}\n`);
    expect(
      issues.find((issue) => issue.startsWith(message)),
      issues.join('\n'),
    ).toBeDefined();
  });

  it('names each registry:2 driver Berth does not have yet', async () => {
    for (const [name, entry] of Object.entries(STORAGE_DRIVERS)) {
      if (entry.available) continue;
      const issues = await issuesOf(`version: 0.1\nstorage:\n  ${name}:\n    bucket: b\n`);
      expect(
        issues.find((issue) => issue.startsWith(`storage.${name}: ${entry.reason}`)),
        issues.join('\n'),
      ).toBeDefined();
    }
  });

  it('reports every problem at once', async () => {
    const issues = await issuesOf(
      'version: 0.1\nstorage: inmemory\nlog:\n  level: loud\nhttp:\n  draintimeout: 5x\n',
    );
    expect(issues).toHaveLength(2);
    const error: unknown = await parse(
      'version: 0.1\nstorage: inmemory\nlog:\n  level: loud\nhttp:\n  draintimeout: 5x\n',
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'invalid configuration (the embedded default configuration):\n' +
        '  - log.level: must be one of error, warn, info, debug, got "loud"\n' +
        '  - http.draintimeout: invalid duration "5x" (unknown unit "x"; use ns, us, ms, s, m or h)',
    );
  });
});

describe('the pull-through cache (proxy, berth.proxy)', () => {
  const HUB = 'https://registry-1.docker.io';

  it('reads registry:2 proxy: with its defaults (ttl 168h, cachewritetimeout 5m) and mirrors every repository', async () => {
    const { config, warnings } = await parse(`${MINIMAL}proxy:\n  remoteurl: ${HUB}/\n`);
    expect(warnings).toEqual([]);
    expect(config.proxy).toEqual({
      upstreams: [
        {
          key: 'proxy',
          prefix: '',
          remoteUrl: HUB,
          library: false,
          namespaces: [],
          credentials: undefined,
          ttlMs: 168 * 3_600_000,
          freshnessMs: 0,
          cacheWriteTimeoutMs: 5 * 60_000,
        },
      ],
      spoolDirectory: join(tmpdir(), 'berth-proxy'),
    });
  });

  it('reads username/password, ttl, cachewritetimeout; ttl 0 never expires', async () => {
    const { config } = await parse(
      `${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  username: me\n  password: 0123\n  ttl: 0\n  cachewritetimeout: 90s\n`,
    );
    expect(config.proxy?.upstreams[0]).toMatchObject({
      credentials: { type: 'basic', username: 'me', password: '0123' },
      ttlMs: 0,
      cacheWriteTimeoutMs: 90_000,
    });
    const hours = await parse(`${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  ttl: 24h\n`);
    expect(hours.config.proxy?.upstreams[0]?.ttlMs).toBe(24 * 3_600_000);
  });

  it('warns when a password would cross the network over plain http', async () => {
    const creds = '  username: me\n  password: secret\n';
    const remote = await parse(`${MINIMAL}proxy:\n  remoteurl: http://mirror.internal:5000\n${creds}`);
    expect(remote.warnings).toEqual([
      'proxy.remoteurl: the upstream is plain http: its username and password cross the network unencrypted',
    ]);
    const loopback = await parse(`${MINIMAL}proxy:\n  remoteurl: http://127.0.0.1:5000\n${creds}`);
    expect(loopback.warnings).toEqual([]);
  });

  it('reads a bare-number ttl as nanoseconds with a warning, like registry:2', async () => {
    const { config, warnings } = await parse(`${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  ttl: 60000000000\n`);
    expect(config.proxy?.upstreams[0]?.ttlMs).toBe(60_000);
    expect(warnings[0]).toMatch(/^proxy\.ttl: the bare number 60000000000 is read as nanoseconds/);
  });

  it('exec (a credential helper) takes precedence over username/password', async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  username: me\n  password: secret\n` +
        '  exec:\n    command: docker-credential-ecr-login\n    lifetime: 1h\n',
    );
    expect(config.proxy?.upstreams[0]?.credentials).toEqual({
      type: 'exec',
      command: 'docker-credential-ecr-login',
      lifetimeMs: 3_600_000,
    });
    expect(warnings).toEqual([
      'proxy.username: ignored: proxy.exec takes precedence',
      'proxy.password: ignored: proxy.exec takes precedence',
    ]);
    const forever = await parse(`${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  exec:\n    command: helper\n`);
    expect(forever.config.proxy?.upstreams[0]?.credentials).toEqual({
      type: 'exec',
      command: 'helper',
      lifetimeMs: undefined,
    });
  });

  it('takes proxy.remoteurl and the rest from REGISTRY_PROXY_* variables', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_PROXY_REMOTEURL: HUB,
      REGISTRY_PROXY_USERNAME: 'me',
      REGISTRY_PROXY_PASSWORD: 'secret',
      REGISTRY_PROXY_TTL: '12h',
    });
    expect(config.proxy?.upstreams[0]).toMatchObject({
      prefix: '',
      remoteUrl: HUB,
      credentials: { type: 'basic', username: 'me', password: 'secret' },
      ttlMs: 12 * 3_600_000,
    });
    expect(await issuesOf(MINIMAL, { REGISTRY_PROXY_REMOTEURL: 'ftp://mirror' })).toEqual([
      'proxy.remoteurl: must be the http(s) URL of the upstream registry, such as https://registry-1.docker.io, ' +
        'got "ftp://mirror" (from REGISTRY_PROXY_REMOTEURL)',
    ]);
  });

  it('applies berth.proxy spooldirectory, freshness and namespaces to the proxy: mirror', async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}proxy:\n  remoteurl: ${HUB}\nberth:\n  proxy:\n    spooldirectory: /var/tmp/spool\n` +
        '    freshness: 10m\n    namespaces: [Docker.io]\n',
    );
    expect(warnings).toEqual([]);
    expect(config.proxy?.spoolDirectory).toBe('/var/tmp/spool');
    expect(config.proxy?.upstreams[0]).toMatchObject({ freshnessMs: 600_000, namespaces: ['docker.io'] });
  });

  it('reads berth.proxy.upstreams (prefixes, library, namespaces, credentials, durations)', async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}berth:
  proxy:
    upstreams:
      - prefix: dockerhub
        remoteurl: ${HUB}
        library: true
        namespaces: [docker.io]
        username: me
        password: secret
        ttl: 24h
        freshness: 10m
        cachewritetimeout: 1m
      - prefix: /ghcr/
        remoteurl: https://ghcr.io
        namespaces: [ghcr.io]
        exec: { command: docker-credential-gh }
      - prefix: mirrors/quay
        remoteurl: https://quay.io
`,
    );
    expect(warnings).toEqual([]);
    expect(config.proxy?.upstreams).toEqual([
      {
        key: 'berth.proxy.upstreams[0]',
        prefix: 'dockerhub',
        remoteUrl: HUB,
        library: true,
        namespaces: ['docker.io'],
        credentials: { type: 'basic', username: 'me', password: 'secret' },
        ttlMs: 24 * 3_600_000,
        freshnessMs: 600_000,
        cacheWriteTimeoutMs: 60_000,
      },
      {
        key: 'berth.proxy.upstreams[1]',
        prefix: 'ghcr',
        remoteUrl: 'https://ghcr.io',
        library: false,
        namespaces: ['ghcr.io'],
        credentials: { type: 'exec', command: 'docker-credential-gh', lifetimeMs: undefined },
        ttlMs: 168 * 3_600_000,
        freshnessMs: 0,
        cacheWriteTimeoutMs: 5 * 60_000,
      },
      expect.objectContaining({ prefix: 'mirrors/quay', remoteUrl: 'https://quay.io' }),
    ]);
  });

  it('sets an upstream from the environment', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_BERTH_PROXY_UPSTREAMS_0_PREFIX: 'hub',
      REGISTRY_BERTH_PROXY_UPSTREAMS_0_REMOTEURL: HUB,
    });
    expect(config.proxy?.upstreams.map((u) => [u.prefix, u.remoteUrl])).toEqual([['hub', HUB]]);
  });

  it('warns about unknown keys and sections that configure nothing', async () => {
    const unknown = await parse(
      `${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  remoteURL2: x\nberth:\n  proxy:\n    spool: /x\n`,
    );
    expect(unknown.warnings).toEqual([
      'proxy.remoteURL2: unknown key (ignored)',
      'berth.proxy.spool: unknown key (ignored)',
    ]);
    const empty = await parse(`${MINIMAL}proxy:\n  username: me\nberth:\n  proxy:\n    freshness: 1m\n`);
    expect(empty.config.proxy).toBeUndefined();
    expect(empty.warnings).toEqual([
      'proxy: ignored: no proxy.remoteurl',
      'berth.proxy: ignored: no proxy.remoteurl and no berth.proxy.upstreams',
    ]);
    const perUpstream = await parse(
      `${MINIMAL}berth:\n  proxy:\n    freshness: 1m\n    upstreams:\n      - { prefix: hub, remoteurl: ${HUB}, tls: true }\n`,
    );
    expect(perUpstream.warnings).toEqual([
      'berth.proxy.upstreams[0].tls: unknown key (ignored)',
      'berth.proxy.freshness: ignored: it applies to the proxy.remoteurl mirror (set freshness per upstream)',
    ]);
  });

  it('refuses proxy.remoteurl together with berth.proxy.upstreams, naming both', async () => {
    const issues = await issuesOf(
      `${MINIMAL}proxy:\n  remoteurl: ${HUB}\nberth:\n  proxy:\n    upstreams:\n      - { prefix: ghcr, remoteurl: https://ghcr.io }\n`,
    );
    expect(issues).toEqual([
      'proxy.remoteurl: cannot be combined with berth.proxy.upstreams: mirror every repository from one ' +
        'upstream (proxy.remoteurl), or list the upstreams under prefixes (berth.proxy.upstreams)',
    ]);
  });

  it.each([
    [
      'http://user:pw@mirror.example.com',
      'must not hold credentials: set username and password (or exec) instead',
    ],
    [`${HUB}/v2/`, `must be the registry's root URL, without a path ("${HUB}"), got "${HUB}/v2/"`],
    [`${HUB}?x=1`, `must not have a query or a fragment, got "${HUB}?x=1"`],
    ['not a url', 'must be the http(s) URL of the upstream registry'],
    ['""', 'is required: the upstream registry'],
  ])('refuses remoteurl %j, naming the key', async (url, message) => {
    const issues = await issuesOf(
      `${MINIMAL}berth:\n  proxy:\n    upstreams:\n      - prefix: hub\n        remoteurl: ${url}\n`,
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(`berth.proxy.upstreams[0].remoteurl: ${message}`);
    expect(issues[0]).not.toContain('pw@');
  });

  it('names the missing half of username/password', async () => {
    expect(await issuesOf(`${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  username: me\n`)).toEqual([
      'proxy.password: is required with proxy.username',
    ]);
    expect(await issuesOf(`${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  password: secret\n`)).toEqual([
      'proxy.username: is required with proxy.password',
    ]);
    expect(
      await issuesOf(
        `${MINIMAL}berth:\n  proxy:\n    upstreams:\n      - { prefix: a, remoteurl: ${HUB}, username: me }\n`,
      ),
    ).toEqual(['berth.proxy.upstreams[0].password: is required with berth.proxy.upstreams[0].username']);
    expect(await issuesOf(`${MINIMAL}proxy:\n  remoteurl: ${HUB}\n  exec:\n    lifetime: 1h\n`)).toEqual([
      'proxy.exec.command: is required with exec: a docker-credential-helper such as docker-credential-ecr-login',
    ]);
  });

  it('refuses overlapping, repeated and invalid prefixes and a namespace mapped twice, naming the entry', async () => {
    const upstreams = (...entries: string[]) =>
      issuesOf(
        `${MINIMAL}berth:\n  proxy:\n    upstreams:\n${entries.map((e) => `      - ${e}\n`).join('')}`,
      );
    expect(
      await upstreams(
        `{ prefix: hub, remoteurl: ${HUB} }`,
        '{ prefix: hub/library, remoteurl: https://ghcr.io }',
      ),
    ).toEqual([
      'berth.proxy.upstreams[1].prefix: "hub/library" overlaps berth.proxy.upstreams[0].prefix "hub": ' +
        'a repository must belong to one upstream',
    ]);
    expect(
      await upstreams(`{ prefix: hub, remoteurl: ${HUB} }`, '{ prefix: hub, remoteurl: https://ghcr.io }'),
    ).toEqual([
      'berth.proxy.upstreams[1].prefix: "hub" overlaps berth.proxy.upstreams[0].prefix "hub": a repository must belong to one upstream',
    ]);
    expect(await upstreams(`{ prefix: Docker Hub, remoteurl: ${HUB} }`)).toEqual([
      'berth.proxy.upstreams[0].prefix: must be a repository name prefix (lower-case name components separated by /), got "Docker Hub"',
    ]);
    expect(await upstreams(`{ remoteurl: ${HUB} }`)).toEqual([
      'berth.proxy.upstreams[0].prefix: is required: the repository-name prefix the upstream is mounted under, such as dockerhub',
    ]);
    expect(
      await upstreams(`{ prefix: "", remoteurl: ${HUB} }`, '{ prefix: ghcr, remoteurl: https://ghcr.io }'),
    ).toEqual([
      "berth.proxy.upstreams[0].prefix: '' mirrors every repository and cannot be combined with other upstreams " +
        '(use proxy.remoteurl for a mirror of everything)',
    ]);
    expect(
      await upstreams(
        `{ prefix: hub, remoteurl: ${HUB}, namespaces: [docker.io] }`,
        '{ prefix: hub2, remoteurl: https://mirror.gcr.io, namespaces: [DOCKER.IO] }',
      ),
    ).toEqual([
      'berth.proxy.upstreams[1].namespaces: docker.io is already mapped to berth.proxy.upstreams[0]',
    ]);
    expect(await upstreams(`{ prefix: hub, remoteurl: ${HUB}, namespaces: ["https://docker.io"] }`)).toEqual([
      'berth.proxy.upstreams[0].namespaces[0]: must be a registry host such as docker.io, got "https://docker.io"',
    ]);
    expect(await upstreams('just-a-string')).toEqual([
      'berth.proxy.upstreams[0]: must be a mapping, got "just-a-string"',
    ]);
  });

  it('refuses bare-number durations in berth.proxy (Berth keys take units)', async () => {
    expect(
      await issuesOf(
        `${MINIMAL}berth:\n  proxy:\n    upstreams:\n      - { prefix: a, remoteurl: ${HUB}, ttl: 5 }\n`,
      ),
    ).toEqual(['berth.proxy.upstreams[0].ttl: must be a duration string such as "30s" or "168h", got 5']);
  });
});
