/**
 * What the server answers to requests that never reach the registry app (malformed targets and
 * heads, `CONNECT`, bytes after a body), and that errors around a request — a client going
 * away, a failing access log — never end the server.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { htpasswdLine } from '@berth/auth-htpasswd';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { createMemorySink, type LogSink } from '../log/logger.ts';
import { parseResponses, rawExchange, send, startUpload, trickle } from '../test-support/http.ts';
import { MAX_HEADER_BYTES } from './protocol.ts';
import { type RunningServer, startServer } from './start.ts';

const BASE = 'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-secret\n';

const running: RunningServer[] = [];

/** Starts a server logging to a memory sink, through `wrap` when given. */
async function start(wrap?: (sink: LogSink) => LogSink, yaml = BASE) {
  const { config } = await parseConfig(yaml, { env: {} });
  const sink = createMemorySink();
  const server = await startServer(config, { logSink: wrap === undefined ? sink : wrap(sink) });
  running.push(server);
  return { server, port: server.port!, sink };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close({ drainTimeoutMs: 0 })));
});

function envelope(body: string): { code: string; message: string } {
  const parsed = JSON.parse(body) as { errors: { code: string; message: string }[] };
  expect(parsed.errors.length).toBeGreaterThan(0);
  return parsed.errors[0]!;
}

async function alive(server: RunningServer): Promise<void> {
  expect((await send(`${server.url}/v2/`)).status).toBe(200);
}

describe('malformed request targets', () => {
  it.each([
    ['a backslash in a /v2/ path', 'GET /v2/a\\b/tags/list', true],
    ['a backslash in a manifest reference', 'GET /v2/a/b/manifests/x\\y', true],
    ['the asterisk form', 'GET *', false],
    ['a target that is no path', 'GET v2/', false],
  ])('%s → 400, not 500, with the OCI envelope under /v2/', async (_, line, api) => {
    const { server, port, sink } = await start();
    const request = `${line} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const [response] = parseResponses((await rawExchange(port, request)).text);
    expect(response?.status).toBe(400);
    if (api) {
      expect(response?.headers).toMatch(/content-type: application\/json/i);
      expect(envelope(response!.body).code).toBe('UNSUPPORTED');
    } else {
      expect(response?.body).toMatch(/^400 Bad Request/);
    }
    expect(sink.records().filter((r) => r.level === 'error')).toEqual([]);
    expect(server.errors.internal).toBe(0);
    await alive(server);
  });

  it('serves an HTTP/1.0 request without Host (Go does too)', async () => {
    const { port } = await start();
    const [response] = parseResponses((await rawExchange(port, 'GET /v2/ HTTP/1.0\r\n\r\n')).text);
    expect(response?.status).toBe(200);
    expect(response?.body).toBe('{}');
  });

  it.each([
    ['two Host headers', 'GET /v2/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'more than one Host header'],
    ['HTTP/1.1 without Host', 'GET /v2/ HTTP/1.1\r\n\r\n', 'without a Host header'],
  ])('answers %s with 400 and the envelope, and keeps serving', async (_, request, why) => {
    const { server, port, sink } = await start();
    const { text, timedOut } = await rawExchange(port, request);
    expect(timedOut).toBe(false);
    const [response] = parseResponses(text);
    expect(response?.status).toBe(400);
    const body = JSON.parse(response?.body ?? '') as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe('UNSUPPORTED');
    expect(body.errors[0]?.message).toContain(why);
    expect(sink.records().filter((r) => r.level === 'error')).toEqual([]);
    await alive(server);
  });
});

describe('protocol errors', () => {
  it('answers CONNECT with 405 and Allow instead of dropping the connection', async () => {
    const { server, port } = await start();
    const { text, timedOut } = await rawExchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(timedOut).toBe(false);
    const [response] = parseResponses(text);
    expect(response?.status).toBe(405);
    expect(response?.headers).toMatch(/\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE/);
    await alive(server);
  });

  it(`accepts request heads up to ${MAX_HEADER_BYTES} bytes, as registry:2 (Go's default)`, async () => {
    const { server } = await start();
    const response = await send(`${server.url}/v2/`, { headers: { 'X-Long': 'a'.repeat(200_000) } });
    expect(response.status).toBe(200);
  });

  it('answers a larger head with 431 and the OCI envelope', async () => {
    const { server, port } = await start();
    const request = `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(MAX_HEADER_BYTES + 10)}\r\n\r\n`;
    const [response] = parseResponses((await rawExchange(port, request)).text);
    expect(response?.status).toBe(431);
    expect(envelope(response!.body).message).toMatch(/request head larger than/);
    await alive(server);
  });

  it('delivers the response to a request whose body is followed by bytes that are no request', async () => {
    const { server, port } = await start();
    // The upload POST answers asynchronously, after the parser has already failed on the bytes
    // after the 2-byte body: the 202 must still arrive, then the connection closes.
    const { text, timedOut } = await rawExchange(
      port,
      'POST /v2/team/app/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabcdGET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(timedOut).toBe(false);
    const responses = parseResponses(text);
    expect(responses[0]?.status).toBe(202);
    expect(responses[0]?.headers).toMatch(/\r\nlocation: .*\/v2\/team\/app\/blobs\/uploads\//i);
    await alive(server);
  });
});

describe('errors around a request never end the server', () => {
  it('a client that goes away mid-body is one 499 access line: no error, no upload state in the log', async () => {
    const { server, sink } = await start();
    const location = await startUpload(server.url, 'team/app');
    const patch = trickle(location);
    await patch.write('a'.repeat(100_000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    patch.abort();
    await vi.waitFor(
      () => expect(sink.records().filter((r) => r.msg === 'access' && r.method === 'PATCH')).toHaveLength(1),
      { timeout: 5_000 },
    );
    const line = sink.records().find((r) => r.msg === 'access' && r.method === 'PATCH')!;
    expect(line.status).toBe(499);
    expect(sink.records().filter((r) => r.level === 'error')).toEqual([]);
    expect(sink.lines.join('')).not.toContain('_state');
    expect(server.inFlight).toBe(0);
    expect(server.errors.internal).toBe(0);
    await alive(server);
  });

  it('a malformed chunk in an upload body ends that request and its connection; nothing hangs', async () => {
    const { server, port, sink } = await start();
    const location = new URL(await startUpload(server.url, 'team/app'));
    const { timedOut } = await rawExchange(
      port,
      `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: x\r\n` +
        'Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5\r\nhello\r\nZZ-not-a-chunk-size\r\n\r\n',
    );
    expect(timedOut).toBe(false);
    await vi.waitFor(() => expect(server.inFlight).toBe(0));
    expect(sink.records().filter((r) => r.level === 'error')).toEqual([]);
    // The upload is usable again: its status answers, with the bytes that did arrive.
    const status = await send(location.toString());
    expect(status.status).toBe(204);
    await alive(server);
  });

  it('a bcrypt worker that dies mid-check fails that request alone (500); the next gets a fresh worker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-protocol-'));
    try {
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(htpasswd, `${await htpasswdLine('bob', 'bob-password', 5)}\n`);
      const { server, sink } = await start(
        undefined,
        `${BASE}auth:\n  htpasswd:\n    realm: test\n    path: ${htpasswd}\n`,
      );
      const authorization = `Basic ${Buffer.from('bob:bob-password').toString('base64')}`;
      // The next password check's worker exits instead of answering, as a crashed thread would.
      const postMessage = Worker.prototype.postMessage;
      const spy = vi.spyOn(Worker.prototype, 'postMessage').mockImplementationOnce(function (this: Worker) {
        void this.terminate();
      });
      try {
        const failed = await send(`${server.url}/v2/`, { headers: { Authorization: authorization } });
        expect(failed.status).toBe(500);
        expect(envelope(failed.body).code).toBe('UNKNOWN');
      } finally {
        spy.mockRestore();
        expect(Worker.prototype.postMessage).toBe(postMessage);
      }
      const ok = await send(`${server.url}/v2/`, { headers: { Authorization: authorization } });
      expect(ok.status).toBe(200);
      expect(server.errors.internal).toBe(1);
      expect(sink.records().filter((r) => r.msg === 'internal server error')).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a failing access log sink is contained: every request is still answered', async () => {
    let throwing = true;
    const { server, sink } = await start((memory) => ({
      write(line) {
        if (throwing && line.includes('"msg":"access"')) throw new Error('disk full');
        memory.write(line);
      },
    }));
    for (let i = 0; i < 5; i++) await alive(server);
    expect(sink.records().filter((r) => r.msg === 'access log failed')).toHaveLength(5);
    throwing = false;
    await alive(server);
  });

  it('two concurrent PATCHes of one upload: one 202, the other 416, and the server serves on', async () => {
    const { server, sink } = await start();
    const body = Buffer.alloc(500_000, 7);
    for (let round = 0; round < 5; round++) {
      const location = await startUpload(server.url, 'team/app');
      const statuses = (
        await Promise.all(
          [0, 1].map(() =>
            send(location, {
              method: 'PATCH',
              headers: { 'Content-Type': 'application/octet-stream' },
              body,
            }),
          ),
        )
      )
        .map((response) => response.status)
        .sort();
      expect(statuses).toEqual([202, 416]);
    }
    await alive(server);
    expect(sink.records().filter((r) => r.level === 'error')).toEqual([]);
  });
});
