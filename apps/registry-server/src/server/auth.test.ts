import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htpasswdLine } from '@berth/auth-htpasswd';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/load.ts';
import type { BerthConfig } from '../config/types.ts';
import { createMemorySink } from '../log/logger.ts';
import { send } from '../test-support/http.ts';
import { isStartupError } from './errors.ts';
import { type RunningServer, startServer } from './start.ts';

const BASE = 'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-secret\n';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

let tmp: string;
let htpasswd: string;
const running: RunningServer[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-server-auth-'));
  htpasswd = join(tmp, 'htpasswd');
  await writeFile(
    htpasswd,
    `${await htpasswdLine('alice', 'alice-pw', 4)}\n${await htpasswdLine('reader', 'reader-pw', 4)}\n`,
  );
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close({ drainTimeoutMs: 0 })));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function configOf(yaml: string): Promise<BerthConfig> {
  return (await parseConfig(`${BASE}${yaml}`, { env: {} })).config;
}

async function start(
  yaml: string,
): Promise<{ server: RunningServer; sink: ReturnType<typeof createMemorySink> }> {
  const sink = createMemorySink();
  const server = await startServer(await configOf(yaml), { logSink: sink });
  running.push(server);
  return { server, sink };
}

async function startError(yaml: string): Promise<string> {
  const error = await startServer(await configOf(yaml), { logSink: createMemorySink() }).catch(
    (e: unknown) => e,
  );
  expect(isStartupError(error), String(error)).toBe(true);
  return (error as Error).message;
}

const RULES = (file: string): string => `auth:
  htpasswd:
    realm: Berth test
    path: ${JSON.stringify(file)}
berth:
  auth:
    rules:
      - repositories: ["public/**"]
        anonymous: true
        actions: [pull]
      - repositories: ["**"]
        users: [alice]
        actions: ["*"]
      - repositories: ["**"]
        users: [reader]
        actions: [pull]
      - catalog: true
        users: [alice]
`;

describe('auth.htpasswd', () => {
  it('challenges GET /v2/ and lets valid users in', async () => {
    const { server, sink } = await start(RULES(htpasswd));
    const anonymous = await send(`${server.url}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="Berth test"');
    const alice = await send(`${server.url}/v2/`, {
      headers: { Authorization: `Basic ${b64('alice:alice-pw')}` },
    });
    expect(alice.status).toBe(200);
    const wrong = await send(`${server.url}/v2/`, {
      headers: { Authorization: `Basic ${b64('alice:nope')}` },
    });
    expect(wrong.status).toBe(401);
    expect(sink.records().some((r) => r.msg === 'htpasswd file loaded' && r.users === 2)).toBe(true);
  });

  it('applies the rules: anonymous pulls of public repositories, 403 for what a user may not do', async () => {
    const { server } = await start(RULES(htpasswd));
    expect((await send(`${server.url}/v2/public/a/tags/list`)).status).toBe(404); // let through: NAME_UNKNOWN
    expect((await send(`${server.url}/v2/private/a/tags/list`)).status).toBe(401);
    expect((await send(`${server.url}/v2/public/a/blobs/uploads/`, { method: 'POST' })).status).toBe(401);
    const reader = { Authorization: `Basic ${b64('reader:reader-pw')}` };
    expect((await send(`${server.url}/v2/private/a/tags/list`, { headers: reader })).status).toBe(404);
    expect(
      (await send(`${server.url}/v2/private/a/blobs/uploads/`, { method: 'POST', headers: reader })).status,
    ).toBe(403);
    expect((await send(`${server.url}/v2/_catalog`, { headers: reader })).status).toBe(403);
    const alice = { Authorization: `Basic ${b64('alice:alice-pw')}` };
    expect((await send(`${server.url}/v2/_catalog`, { headers: alice })).status).toBe(200);
    expect(
      (await send(`${server.url}/v2/private/a/blobs/uploads/`, { method: 'POST', headers: alice })).status,
    ).toBe(202);
  });

  it('without rules, any user may do anything (registry:2)', async () => {
    const { server } = await start(
      `auth:\n  htpasswd:\n    realm: r\n    path: ${JSON.stringify(htpasswd)}\n`,
    );
    const reader = { Authorization: `Basic ${b64('reader:reader-pw')}` };
    expect((await send(`${server.url}/v2/_catalog`, { headers: reader })).status).toBe(200);
    expect((await send(`${server.url}/v2/public/a/tags/list`)).status).toBe(401);
  });

  it('refuses to start without the file, or with a non-bcrypt entry (naming the user)', async () => {
    expect(
      await startError(`auth:\n  htpasswd:\n    realm: r\n    path: ${JSON.stringify(join(tmp, 'none'))}\n`),
    ).toMatch(/^auth\.htpasswd\.path: cannot read htpasswd file .*: no such file$/);
    const md5 = join(tmp, 'md5');
    await writeFile(md5, 'bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n');
    expect(await startError(`auth:\n  htpasswd:\n    realm: r\n    path: ${JSON.stringify(md5)}\n`)).toMatch(
      /^auth\.htpasswd\.path: line 1: user "bob": unsupported password hash/,
    );
  });
});

describe('auth.token with the built-in issuer', () => {
  const yaml = (extra = ''): string => `auth:
  token:
    service: berth-test
    issuer: berth-test-issuer
berth:
  auth:
    issuer:
      htpasswd: ${JSON.stringify(htpasswd)}
${extra}    rules:
      - repositories: ["public/**"]
        anonymous: true
        actions: [pull]
      - repositories: ["**"]
        users: [alice]
        actions: [pull, push]
`;

  it('challenges with a realm on the host the client used, and accepts its own tokens', async () => {
    const { server, sink } = await start(yaml());
    const challenge = await send(`${server.url}/v2/private/a/tags/list`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toBe(
      `Bearer realm="http://127.0.0.1:${server.port}/auth/token",service="berth-test",scope="repository:private/a:pull"`,
    );
    const tokenResponse = await send(
      `${server.url}/auth/token?service=berth-test&scope=repository:private/a:pull`,
      {
        headers: { Authorization: `Basic ${b64('alice:alice-pw')}` },
      },
    );
    expect(tokenResponse.status).toBe(200);
    const { token } = JSON.parse(tokenResponse.body) as { token: string };
    const ok = await send(`${server.url}/v2/private/a/tags/list`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(404);
    const push = await send(`${server.url}/v2/private/a/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(push.status).toBe(401);
    expect(push.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(
      sink.records().some((r) => String(r.msg).startsWith('berth.auth.issuer: no signingkey configured')),
    ).toBe(true);
  });

  it('issues anonymous tokens for public repositories only', async () => {
    const { server } = await start(yaml());
    const response = await send(`${server.url}/auth/token?scope=repository:public/x:pull,push`);
    const { token } = JSON.parse(response.body) as { token: string };
    const auth = { Authorization: `Bearer ${token}` };
    expect((await send(`${server.url}/v2/public/x/tags/list`, { headers: auth })).status).toBe(404);
    expect(
      (await send(`${server.url}/v2/public/x/blobs/uploads/`, { method: 'POST', headers: auth })).status,
    ).toBe(401);
  });

  it('serves the issuer even while the health gate is closed, and signs with the configured key', async () => {
    const keyFile = join(tmp, 'issuer-key.pem');
    await writeFile(
      keyFile,
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const { server, sink } = await start(
      yaml(`      signingkey: ${JSON.stringify(keyFile)}\n      path: /token\n`),
    );
    const response = await send(`${server.url}/token?scope=repository:public/x:pull`);
    expect(response.status).toBe(200);
    await vi.waitFor(() =>
      expect(sink.records().some((r) => r.msg === 'token issuer enabled' && r.algorithm === 'EdDSA')).toBe(
        true,
      ),
    );
    expect((await send(`${server.url}/auth/token`)).status).toBe(404);
  });

  it('refuses to start with an unreadable key or certificate', async () => {
    expect(await startError(yaml(`      signingkey: ${JSON.stringify(join(tmp, 'nokey'))}\n`))).toMatch(
      /^berth\.auth\.issuer\.signingkey: cannot read .*: no such file$/,
    );
    const bad = join(tmp, 'bad-key');
    await writeFile(bad, 'not a key');
    expect(await startError(yaml(`      signingkey: ${JSON.stringify(bad)}\n`))).toMatch(
      /^berth\.auth\.issuer\.signingkey: not a private key/,
    );
  });
});

describe('auth.token with an external issuer', () => {
  it('refuses to start when the root bundle or JWKS cannot be read or hold no key', async () => {
    const base =
      'auth:\n  token:\n    realm: https://auth.example.com/token\n    service: s\n    issuer: i\n';
    expect(await startError(`${base}    rootcertbundle: ${JSON.stringify(join(tmp, 'nobundle'))}\n`)).toMatch(
      /^auth\.token\.rootcertbundle: cannot read/,
    );
    const empty = join(tmp, 'empty.pem');
    await writeFile(empty, '');
    expect(await startError(`${base}    rootcertbundle: ${JSON.stringify(empty)}\n`)).toBe(
      'auth.token: token auth requires at least one token signing key (rootcertbundle or jwks)',
    );
    const notJson = join(tmp, 'jwks.json');
    await writeFile(notJson, '{');
    expect(await startError(`${base}    jwks: ${JSON.stringify(notJson)}\n`)).toMatch(
      /^auth\.token\.jwks: not JSON/,
    );
  });

  it('serves the Bearer challenge with the configured realm', async () => {
    const jwks = join(tmp, 'ok-jwks.json');
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    await writeFile(jwks, JSON.stringify({ keys: [{ ...key, kid: 'k' }] }));
    const { server } = await start(
      `auth:\n  token:\n    realm: https://auth.example.com/token\n    service: s\n    issuer: i\n    jwks: ${JSON.stringify(jwks)}\n`,
    );
    const response = await send(`${server.url}/v2/_catalog`);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="https://auth.example.com/token",service="s",scope="registry:catalog:*"',
    );
    const bad = await send(`${server.url}/v2/`, { headers: { Authorization: 'Bearer not.a.token' } });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});
