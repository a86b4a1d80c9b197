import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/load.ts';
import type { BerthConfig } from '../config/types.ts';
import { createMemorySink } from '../log/logger.ts';
import { makeCerts, opensslMissing, type TestCerts } from '../test-support/certs.ts';
import { connectionRefused, send, startUpload, trickle } from '../test-support/http.ts';
import { isStartupError } from './errors.ts';
import type { PeriodicCheck } from './health.ts';
import { type RunningServer, startServer } from './start.ts';

const BASE = 'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-secret\n';

async function configOf(yaml = BASE, env: Record<string, string> = {}): Promise<BerthConfig> {
  return (await parseConfig(yaml, { env })).config;
}

const running: RunningServer[] = [];
let tmp: string;

async function start(
  config: BerthConfig,
  options: Parameters<typeof startServer>[1] = {},
): Promise<{ server: RunningServer; sink: ReturnType<typeof createMemorySink> }> {
  const sink = createMemorySink();
  const server = await startServer(config, { logSink: sink, ...options });
  running.push(server);
  return { server, sink };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-server-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close({ drainTimeoutMs: 0 })));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('startServer', () => {
  it('serves GET /v2/ with Docker-Distribution-API-Version and logs one access line', async () => {
    const { server, sink } = await start(await configOf());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    const response = await send(`${server.url}/v2/`, { headers: { 'User-Agent': 'berth-test/1.0' } });
    expect(response.status).toBe(200);
    expect(response.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(response.body).toBe('{}');
    await vi.waitFor(() => expect(sink.records().filter((r) => r.msg === 'access')).toHaveLength(1));
    const access = sink.records().find((r) => r.msg === 'access')!;
    expect(access).toMatchObject({
      level: 'info',
      method: 'GET',
      path: '/v2/',
      status: 200,
      bytes: 2,
      remote_addr: '127.0.0.1',
      user_agent: 'berth-test/1.0',
    });
    expect(access.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof access.duration_ms).toBe('number');
    expect(sink.records().find((r) => r.msg === 'listening')).toMatchObject({
      addr: server.address,
      tls: false,
    });
  });

  it('logs the path without the query, HEAD with 0 bytes, and honours log.accesslog.disabled', async () => {
    const { server, sink } = await start(await configOf());
    await send(`${server.url}/v2/_catalog?n=1`);
    await send(`${server.url}/v2/`, { method: 'HEAD' });
    await vi.waitFor(() => expect(sink.records().filter((r) => r.msg === 'access')).toHaveLength(2));
    const [catalog, head] = sink.records().filter((r) => r.msg === 'access');
    expect(catalog).toMatchObject({ path: '/v2/_catalog', status: 200 });
    expect(head).toMatchObject({ method: 'HEAD', bytes: 0 });

    const quiet = await start(await configOf(`${BASE}log:\n  accesslog:\n    disabled: true\n`));
    await send(`${quiet.server.url}/v2/`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(quiet.sink.records().filter((r) => r.msg === 'access')).toEqual([]);
  });

  it('adds log.fields to every line and writes text with log.formatter: text', async () => {
    const { sink } = await start(
      await configOf(`${BASE}log:\n  formatter: text\n  fields:\n    service: registry\n`),
    );
    const listening = sink.lines.find((line) => line.includes('msg=listening'));
    expect(listening).toMatch(
      /^time=\S+ level=info msg=listening service=registry addr=127\.0\.0\.1:\d+ tls=false\n$/,
    );
  });

  it('answers GET / with 200 (registry:2 alive) and /debug/health with {}', async () => {
    const { server } = await start(await configOf());
    const alive = await send(`${server.url}/`);
    expect(alive.status).toBe(200);
    expect(alive.headers['cache-control']).toBe('no-cache');
    const health = await send(`${server.url}/debug/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({});
  });

  it('honours a usable X-Request-Id and returns the id of every request', async () => {
    const { server, sink } = await start(await configOf());
    const given = await send(`${server.url}/v2/`, { headers: { 'X-Request-Id': 'lb-4f2a.9:1' } });
    expect(given.headers['x-request-id']).toBe('lb-4f2a.9:1');
    const fresh = await send(`${server.url}/v2/`);
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await send(`${server.url}/v2/`, { headers: { 'X-Request-Id': `a b ${'x'.repeat(200)}` } });
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await vi.waitFor(() => expect(sink.records().filter((r) => r.msg === 'access')).toHaveLength(3));
    expect(
      sink
        .records()
        .filter((r) => r.msg === 'access')
        .map((r) => r.request_id),
    ).toEqual(['lb-4f2a.9:1', fresh.headers['x-request-id'], forged.headers['x-request-id']]);
  });

  it('serves /debug/health on http.debug.addr', async () => {
    const { server } = await start(
      await configOf(`${BASE.replace('http:\n', 'http:\n  debug:\n    addr: 127.0.0.1:0\n')}`),
    );
    expect(server.debugAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const health = await send(`http://${server.debugAddress}/debug/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({});
    expect((await send(`http://${server.debugAddress}/v2/`)).status).toBe(404);
  });

  it('answers 503 UNAVAILABLE to everything while a health check fails', async () => {
    let failing = true;
    const check: PeriodicCheck = {
      name: 'storagedriver_test',
      intervalMs: 20,
      threshold: 1,
      run: async () => {
        if (failing) throw new Error('backend unreachable');
      },
    };
    const { server } = await start(
      await configOf(BASE.replace('http:\n', 'http:\n  debug:\n    addr: 127.0.0.1:0\n')),
      {
        healthChecks: [check],
      },
    );
    await vi.waitFor(async () => expect((await send(`${server.url}/debug/health`)).status).toBe(503));
    expect(JSON.parse((await send(`${server.url}/debug/health`)).body)).toEqual({
      storagedriver_test: 'backend unreachable',
    });
    expect((await send(`http://${server.debugAddress}/debug/health`)).status).toBe(503);
    const gated = await send(`${server.url}/v2/`);
    expect(gated.status).toBe(503);
    expect(JSON.parse(gated.body).errors[0].code).toBe('UNAVAILABLE');
    failing = false;
    await vi.waitFor(async () => expect((await send(`${server.url}/v2/`)).status).toBe(200));
  });

  it('health.file drains the node: 503 UNAVAILABLE while the file exists, GET / stays alive', async () => {
    const drain = join(tmp, 'drain');
    await writeFile(drain, '');
    const { server } = await start(
      await configOf(`${BASE}health:\n  file:\n    - file: ${JSON.stringify(drain)}\n      interval: 1s\n`),
    );
    await vi.waitFor(async () => expect((await send(`${server.url}/v2/`)).status).toBe(503));
    expect(JSON.parse((await send(`${server.url}/debug/health`)).body)).toEqual({ [drain]: 'file exists' });
    expect((await send(`${server.url}/`)).status).toBe(200);
    await rm(drain);
    await vi.waitFor(async () => expect((await send(`${server.url}/v2/`)).status).toBe(200), {
      timeout: 3000,
    });
  });

  it('checks the storage driver when health.storagedriver.enabled', async () => {
    const { server, sink } = await start(
      await configOf(`${BASE}health:\n  storagedriver:\n    enabled: true\n    interval: 50ms\n`),
    );
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await send(`${server.url}/debug/health`)).status).toBe(200);
    expect(sink.records().filter((r) => String(r.msg).startsWith('health check'))).toEqual([]);
  });

  it('warns when http.secret is not set', async () => {
    const { sink } = await start(
      await configOf('version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n'),
    );
    const warning = sink.records().find((r) => r.level === 'warn' && String(r.msg).includes('http.secret'));
    expect(warning?.msg).toMatch(/^no http\.secret configured: generated a random one/);
  });

  it('logs configuration warnings', async () => {
    const { sink } = await start(await configOf(), { warnings: ['foo: unknown key (ignored)'] });
    expect(sink.records()[0]).toMatchObject({
      level: 'warn',
      msg: 'configuration: foo: unknown key (ignored)',
    });
  });

  it('fails with a StartupError naming http.addr when the port is taken', async () => {
    const { server } = await start(await configOf());
    const error = await startServer(await configOf(BASE.replace('127.0.0.1:0', server.address)), {
      logSink: createMemorySink(),
    }).catch((e: unknown) => e);
    expect(isStartupError(error)).toBe(true);
    expect((error as Error).message).toBe(
      `http.addr: cannot listen on ${server.address}: address already in use`,
    );
  });

  it('serves on a unix socket with http.net: unix', async () => {
    const socketPath = join(tmp, 'registry.sock');
    const { server } = await start(
      await configOf(
        `version: 0.1\nstorage: inmemory\nhttp:\n  net: unix\n  addr: ${socketPath}\n  secret: s\n`,
      ),
    );
    expect(server.address).toBe(socketPath);
    const response = await send('http://localhost/v2/', { socketPath });
    expect(response.status).toBe(200);
    await server.close();
    await expect(stat(socketPath)).rejects.toThrow();
  });

  const fsConfig = (root: string) =>
    configOf(
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n`,
    );
  const startupError = async (config: BerthConfig): Promise<unknown> =>
    startServer(config, { logSink: createMemorySink() }).then(
      async (server) => {
        await server.close({ drainTimeoutMs: 0 });
        return undefined;
      },
      (e: unknown) => e,
    );

  it('creates a missing filesystem root (and its parents) at start', async () => {
    const root = join(tmp, 'new-parent', 'fs-root');
    await start(await fsConfig(root));
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('fails with a StartupError naming storage.filesystem.rootdirectory when the root is a file', async () => {
    const file = join(tmp, 'root-is-a-file');
    await writeFile(file, 'not a directory');
    const error = await startupError(await fsConfig(file));
    expect(isStartupError(error)).toBe(true);
    expect((error as Error).message).toBe(
      `storage.filesystem.rootdirectory: ${file} exists and is not a directory`,
    );
  });

  it('fails with a StartupError naming storage.filesystem.rootdirectory when the root cannot be created', async () => {
    // A parent that is a regular file refuses even root, unlike permission bits.
    const blocker = join(tmp, 'a-parent-file');
    await writeFile(blocker, 'not a directory');
    const root = join(blocker, 'root');
    const error = await startupError(await fsConfig(root));
    expect(isStartupError(error)).toBe(true);
    expect((error as Error).message).toBe(
      `storage.filesystem.rootdirectory: cannot create ${root}: a parent is not a directory`,
    );
  });

  const asRoot = process.getuid?.() === 0;
  it.skipIf(asRoot)(
    `fails with a StartupError when the root is not writable${asRoot ? ' (skipped: running as root, whom permission bits do not stop)' : ''}`,
    async () => {
      const root = join(tmp, 'read-only-root');
      await mkdir(root);
      await chmod(root, 0o555);
      try {
        const error = await startupError(await fsConfig(root));
        expect(isStartupError(error)).toBe(true);
        expect((error as Error).message).toBe(
          `storage.filesystem.rootdirectory: ${root} is not writable: permission denied`,
        );
      } finally {
        await chmod(root, 0o755);
      }
    },
  );

  it('creates the filesystem root and stores uploads there', async () => {
    const root = join(tmp, 'fs-root');
    const { server } = await start(
      await configOf(
        `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n`,
      ),
    );
    await startUpload(server.url, 'test/repo');
    const uploads = await stat(join(root, 'docker/registry/v2/repositories/test/repo/_uploads'));
    expect(uploads.isDirectory()).toBe(true);
  });
});

describe('internal errors', () => {
  it('are answered 500 and logged with the stack and the request id of the access line', async () => {
    const root = join(tmp, 'internal-errors-root');
    const { server, sink } = await start(
      await configOf(
        `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n`,
      ),
    );
    // After the start: a file where the layout's first directory goes makes every write fail.
    await writeFile(join(root, 'docker'), 'not a directory');
    const response = await send(`${server.url}/v2/test/repo/blobs/uploads/`, { method: 'POST' });
    expect(response.status).toBe(500);
    await vi.waitFor(() => expect(sink.records().find((r) => r.msg === 'access')).toBeDefined());
    const access = sink.records().find((r) => r.msg === 'access')!;
    const error = sink.records().find((r) => r.msg === 'internal server error')!;
    expect(error).toMatchObject({
      level: 'error',
      requestId: access.request_id,
      method: 'POST',
      path: '/v2/test/repo/blobs/uploads/',
    });
    expect(String(error.stack)).toMatch(/\n\s+at /);
    expect(access.status).toBe(500);
    expect(server.errors.internal).toBe(1);
    // One failing request ends nothing: the server goes on answering.
    expect((await send(`${server.url}/v2/`)).status).toBe(200);
  });
});

describe('close()', () => {
  it('stops accepting, lets an in-flight upload finish within the drain timeout, then closes', async () => {
    const { server, sink } = await start(await configOf());
    const location = await startUpload(server.url, 'test/drain');
    const upload = trickle(location);
    await upload.write('first part, ');
    await vi.waitFor(() => expect(server.inFlight).toBe(1));
    const closed = server.close({ drainTimeoutMs: 10_000 });
    await vi.waitFor(async () => expect(await connectionRefused(server.port!)).toBe(true));
    const response = await upload.finish('last part');
    expect(response.status).toBe(202);
    expect(response.headers.range).toBe('0-20');
    expect(response.headers.connection).toBe('close');
    await closed;
    expect(sink.records().find((r) => String(r.msg).startsWith('stopping server gracefully'))).toMatchObject({
      inFlight: 1,
      drainTimeout: '10s',
    });
    expect(
      sink
        .records()
        .filter((r) => r.msg === 'access')
        .at(-1),
    ).toMatchObject({ method: 'PATCH', status: 202 });
  });

  it('closes in-flight requests at once with draintimeout 0 (registry:2)', async () => {
    const { server, sink } = await start(await configOf());
    const location = await startUpload(server.url, 'test/drain');
    const upload = trickle(location);
    await upload.write('part');
    await vi.waitFor(() => expect(server.inFlight).toBe(1));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2000);
    await expect(upload.finish('rest')).rejects.toThrow();
    await vi.waitFor(() =>
      expect(
        sink
          .records()
          .filter((r) => r.msg === 'access')
          .at(-1),
      ).toMatchObject({ method: 'PATCH', status: 499 }),
    );
  });

  it('gives up on requests still running after the drain timeout', async () => {
    const { server, sink } = await start(await configOf());
    const upload = trickle(await startUpload(server.url, 'test/drain'));
    await upload.write('part');
    await vi.waitFor(() => expect(server.inFlight).toBe(1));
    const started = performance.now();
    await server.close({ drainTimeoutMs: 200 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(
      sink.records().find((r) => r.msg === 'drain timeout: closing the remaining connections'),
    ).toBeDefined();
    await expect(upload.finish()).rejects.toThrow();
  });
});

describe('middleware.storage', () => {
  const REDIRECT = `${BASE}middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: https://cdn.example.com/reg/\n`;

  async function pushBlob(server: RunningServer, content: string): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const upload = new URL(await startUpload(server.url, 'team/app'));
    upload.searchParams.set('digest', digest);
    const put = await send(upload.toString(), { method: 'PUT', body: content });
    expect(put.status).toBe(201);
    return digest;
  }

  it('redirects blob GETs to the redirect base URL joined with the storage path', async () => {
    const { server, sink } = await start(await configOf(REDIRECT));
    const digest = await pushBlob(server, 'hello redirect');
    const hex = digest.slice('sha256:'.length);
    const get = await send(`${server.url}/v2/team/app/blobs/${digest}`);
    expect(get.status).toBe(307);
    expect(get.headers.location).toBe(
      `https://cdn.example.com/reg/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`,
    );
    // Unknown blobs stay 404: the URL is only asked for blobs the repository has.
    const missing = await send(`${server.url}/v2/team/app/blobs/sha256:${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(sink.records().find((r) => r.msg === 'storage middleware applied')).toMatchObject({
      middleware: 'redirect',
      baseurl: 'https://cdn.example.com/reg/',
    });
  });

  it('serves blobs directly with storage.redirect.disable', async () => {
    const { server } = await start(await configOf(REDIRECT, { REGISTRY_STORAGE_REDIRECT_DISABLE: 'true' }));
    const digest = await pushBlob(server, 'hello direct');
    const get = await send(`${server.url}/v2/team/app/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.body).toBe('hello direct');
  });
});

describe('upload purging', () => {
  const purging = (dryrun: boolean) =>
    `${BASE}storage:\n  inmemory:\n  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 1ms\n      interval: 100ms\n      dryrun: ${dryrun}\n`.replace(
      'storage: inmemory\n',
      '',
    );

  it('deletes uploads older than age, every interval', async () => {
    const { server, sink } = await start(await configOf(purging(false)), { purgeInitialDelayMs: 150 });
    const location = await startUpload(server.url, 'test/purge');
    const uuid = new URL(location).pathname.split('/').at(-1);
    await vi.waitFor(
      () => expect(sink.records().find((r) => r.msg === 'upload purge: deleted')).toBeDefined(),
      { timeout: 5000 },
    );
    expect(sink.records().find((r) => r.msg === 'upload purge: deleted')).toMatchObject({
      count: 1,
      uploads: [`test/purge/${uuid}`],
    });
    expect((await send(location)).status).toBe(404);
  });

  it('only logs with dryrun', async () => {
    const { server, sink } = await start(await configOf(purging(true)), { purgeInitialDelayMs: 150 });
    const location = await startUpload(server.url, 'test/purge');
    await vi.waitFor(
      () =>
        expect(sink.records().find((r) => r.msg === 'upload purge (dry run): would delete')).toBeDefined(),
      { timeout: 5000 },
    );
    expect((await send(location)).status).toBe(204);
  });

  it('is scheduled by default with registry:2 timing', async () => {
    const { sink } = await start(await configOf());
    expect(sink.records().find((r) => r.msg === 'upload purging scheduled')).toMatchObject({
      interval: '24h0m0s',
      age: '168h0m0s',
      dryRun: false,
    });
  });
});

const opensslSkip = opensslMissing();
describe.skipIf(opensslSkip)(
  `TLS (certificates made with openssl${opensslSkip ? `; skipped: ${opensslSkip}` : ''})`,
  () => {
    let certs: TestCerts;
    beforeAll(() => {
      certs = makeCerts(tmp);
    });

    const tlsYaml = (extra = '') =>
      `${BASE}  tls:\n    certificate: ${certs.serverCert}\n    key: ${certs.serverKey}\n${extra}`;

    it('serves HTTPS with http.tls.certificate and key', async () => {
      const { server, sink } = await start(await configOf(tlsYaml()));
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const response = await send(`${server.url}/v2/`, { tls: { ca: certs.pem.caCert } });
      expect(response.status).toBe(200);
      expect(response.headers['docker-distribution-api-version']).toBe('registry/2.0');
      expect(sink.records().find((r) => r.msg === 'listening')).toMatchObject({ tls: true });
    });

    it('enforces http.tls.minimumtls', async () => {
      const { server } = await start(await configOf(tlsYaml('    minimumtls: tls1.3\n')));
      await expect(
        send(`${server.url}/v2/`, { tls: { ca: certs.pem.caCert, maxVersion: 'TLSv1.2' } }),
      ).rejects.toThrow();
      const ok = await send(`${server.url}/v2/`, { tls: { ca: certs.pem.caCert, minVersion: 'TLSv1.3' } });
      expect(ok.status).toBe(200);
    });

    it('requires a client certificate signed by http.tls.clientcas', async () => {
      const { server } = await start(await configOf(tlsYaml(`    clientcas:\n      - ${certs.caCert}\n`)));
      await expect(send(`${server.url}/v2/`, { tls: { ca: certs.pem.caCert } })).rejects.toThrow();
      const ok = await send(`${server.url}/v2/`, {
        tls: { ca: certs.pem.caCert, cert: certs.pem.clientCert, key: certs.pem.clientKey },
      });
      expect(ok.status).toBe(200);
    });

    it('accepts clients without a certificate with clientauth: verify-client-cert-if-given', async () => {
      const { server } = await start(
        await configOf(
          tlsYaml(`    clientcas: [${certs.caCert}]\n    clientauth: verify-client-cert-if-given\n`),
        ),
      );
      expect((await send(`${server.url}/v2/`, { tls: { ca: certs.pem.caCert } })).status).toBe(200);
      const withCert = await send(`${server.url}/v2/`, {
        tls: { ca: certs.pem.caCert, cert: certs.pem.clientCert, key: certs.pem.clientKey },
      });
      expect(withCert.status).toBe(200);
    });

    it('fails to start, naming the key, when the certificate cannot be read', async () => {
      const config = await configOf(
        `${BASE}  tls:\n    certificate: ${join(tmp, 'missing.pem')}\n    key: ${certs.serverKey}\n`,
      );
      const error = await startServer(config, { logSink: createMemorySink() }).catch((e: unknown) => e);
      expect(isStartupError(error)).toBe(true);
      expect((error as Error).message).toBe(
        `http.tls.certificate: cannot read ${join(tmp, 'missing.pem')}: no such file`,
      );
    });
  },
);
