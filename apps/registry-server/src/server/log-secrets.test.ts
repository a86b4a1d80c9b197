import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htpasswdLine } from '@berth/auth-htpasswd';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { createMemorySink } from '../log/logger.ts';
import { send } from '../test-support/http.ts';
import { pushTestImage } from '../test-support/image.ts';
import { type RunningServer, startServer } from './start.ts';

const SECRET = 'http-secret-7f3a9c';
const PASSWORD = 'alice-password-5b2e';
const WRONG = 'wrong-password-9d1f';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let tmp: string;
let htpasswd: string;
const running: RunningServer[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-log-secrets-'));
  htpasswd = join(tmp, 'htpasswd');
  await writeFile(htpasswd, `${await htpasswdLine('alice', PASSWORD, 4)}\n`);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close({ drainTimeoutMs: 0 })));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function start(auth: string) {
  const yaml =
    `version: 0.1\nlog:\n  level: debug\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: ${SECRET}\n` +
    auth;
  const { config, warnings } = await parseConfig(yaml, { env: {} });
  const sink = createMemorySink();
  const server = await startServer(config, { logSink: sink, warnings });
  running.push(server);
  return { server, sink };
}

/** Every line the server logged, as written. */
function lines(server: RunningServer, sink: ReturnType<typeof createMemorySink>): string[] {
  server.logger.flush();
  return sink.records().map((record) => JSON.stringify(record));
}

function expectNoSecret(logged: readonly string[], secrets: readonly string[]): void {
  expect(logged.length).toBeGreaterThan(10);
  for (const secret of secrets) {
    const leaks = logged.filter((line) => line.includes(secret));
    expect(leaks, `a log line contains ${JSON.stringify(secret)}`).toEqual([]);
  }
}

describe('no secret in any log line', () => {
  it('a push with Basic auth, with wrong and malformed credentials on the way (debug level)', async () => {
    const { server, sink } = await start(
      `auth:\n  htpasswd:\n    realm: test\n    path: ${JSON.stringify(htpasswd)}\n`,
    );
    const basic = `Basic ${b64(`alice:${PASSWORD}`)}`;
    expect(
      (await send(`${server.url}/v2/`, { headers: { Authorization: `Basic ${b64(`alice:${WRONG}`)}` } }))
        .status,
    ).toBe(401);
    expect(
      (await send(`${server.url}/v2/`, { headers: { Authorization: 'Basic !!not-base64!!' } })).status,
    ).toBe(401);
    // A chunked upload, so that the upload location with its signed _state is used twice.
    const started = await send(`${server.url}/v2/team/app/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: basic },
    });
    expect(started.status).toBe(202);
    const location = new URL(started.headers.location as string, server.url);
    const state = location.searchParams.get('_state');
    expect(state).toBeTruthy();
    const patched = await send(location.href, {
      method: 'PATCH',
      headers: { Authorization: basic, 'Content-Type': 'application/octet-stream' },
      body: Buffer.from('chunk'),
    });
    expect(patched.status).toBe(202);
    await pushTestImage(server.url, 'team/app', 'v1', { headers: { authorization: basic } });
    expectNoSecret(lines(server, sink), [
      PASSWORD,
      WRONG,
      b64(`alice:${PASSWORD}`),
      b64(`alice:${WRONG}`),
      SECRET,
      state!,
    ]);
  });

  it('the token flow of the built-in issuer: the Basic login, the token, the pushes with it', async () => {
    const { server, sink } = await start(
      [
        'auth:',
        '  token:',
        '    service: berth-test',
        '    issuer: berth-test-issuer',
        'berth:',
        '  auth:',
        '    issuer:',
        `      htpasswd: ${JSON.stringify(htpasswd)}`,
        '    rules:',
        '      - repositories: ["**"]',
        '        users: [alice]',
        '        actions: [pull, push]',
        '',
      ].join('\n'),
    );
    const denied = await send(
      `${server.url}/auth/token?service=berth-test&scope=repository:team/app:pull,push`,
      {
        headers: { Authorization: `Basic ${b64(`alice:${WRONG}`)}` },
      },
    );
    expect(denied.status).toBe(401);
    const issued = await send(
      `${server.url}/auth/token?service=berth-test&scope=repository:team/app:pull,push`,
      {
        headers: { Authorization: `Basic ${b64(`alice:${PASSWORD}`)}` },
      },
    );
    expect(issued.status).toBe(200);
    const { token } = JSON.parse(issued.body) as { token: string };
    await pushTestImage(server.url, 'team/app', 'v1', { headers: { authorization: `Bearer ${token}` } });
    expect(
      (await send(`${server.url}/v2/team/app/tags/list`, { headers: { Authorization: `Bearer ${token}x` } }))
        .status,
    ).toBe(401);
    // The JWT's signature alone would identify it: check its three parts.
    expectNoSecret(lines(server, sink), [
      PASSWORD,
      WRONG,
      b64(`alice:${PASSWORD}`),
      SECRET,
      ...token.split('.'),
    ]);
  });
});
