/**
 * The upstream client against Berth with `auth.token` and its built-in token issuer (the Docker
 * token flow, realm on the same host): tokens fetched once per scope and reused until they
 * expire, anonymous pulls where the rules allow them, refusals where they do not.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htpasswdLine } from '@berth/auth-htpasswd';
import { digestOf } from '@berth/digest';
import { freePort, type RunningServer, startBerth } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, OCI_MANIFEST, type PushedImage, pushImage, readAll } from './test-support/push.ts';
import { createUpstream } from './upstream.ts';

const SERVICE = 'berth-proxy-test';

describe('upstream client against Berth with its token issuer (Bearer)', () => {
  let dir: string;
  let berth: RunningServer;
  let open: PushedImage;
  let closed: PushedImage;
  /** Requests this test's `fetch` sent, by URL path. */
  const sent: string[] = [];
  const countingFetch: typeof fetch = (input, init) => {
    sent.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return fetch(input, init);
  };

  /** A push token for `repository` (the admin user), as a client gets it. */
  async function pushToken(repository: string): Promise<string> {
    const response = await fetch(
      `${berth.url}/auth/token?service=${SERVICE}&scope=${encodeURIComponent(`repository:${repository}:pull,push`)}`,
      { headers: { authorization: basicAuth('admin', 'admin-password') } },
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-proxy-bearer-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(
      htpasswd,
      `${[await htpasswdLine('mirror', 'mirror-password', 5), await htpasswdLine('admin', 'admin-password', 5)].join('\n')}\n`,
    );
    const key = join(dir, 'issuer-key.pem');
    await writeFile(
      key,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const port = await freePort();
    const configFile = join(dir, 'config.yml');
    await writeFile(
      configFile,
      `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${JSON.stringify(join(dir, 'root'))}
http:
  addr: 127.0.0.1:${port}
  secret: berth-proxy-test
auth:
  token:
    service: ${SERVICE}
    issuer: berth-proxy-test-issuer
berth:
  auth:
    issuer:
      htpasswd: ${JSON.stringify(htpasswd)}
      signingkey: ${JSON.stringify(key)}
      expiration: 2s
    rules:
      - repositories: ["public/**"]
        anonymous: true
        actions: [pull]
      - repositories: ["**"]
        users: [mirror]
        actions: [pull]
      - repositories: ["**"]
        users: [admin]
        actions: ["*"]
`,
    );
    berth = await startBerth({ configFile, port });
    open = await pushImage(berth.url, 'public/tools', 'v1', {
      authorization: `Bearer ${await pushToken('public/tools')}`,
    });
    closed = await pushImage(berth.url, 'team/app', 'v1', {
      authorization: `Bearer ${await pushToken('team/app')}`,
    });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('follows the challenge to the realm with the credentials, then reuses the token for the scope', async () => {
    sent.length = 0;
    const upstream = createUpstream({
      url: berth.url,
      credentials: { username: 'mirror', password: 'mirror-password' },
      fetch: countingFetch,
    });
    const head = await upstream.manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(closed.manifestDigest);
    const layer = await upstream.blob('team/app', closed.layerDigest);
    expect(digestOf(await readAll(layer.body))).toBe(closed.layerDigest);
    for (let i = 0; i < 3; i++) {
      await upstream.manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST });
    }
    // One 401, one token, then everything with the token up front.
    expect(sent).toEqual([
      '/v2/team/app/manifests/v1',
      '/auth/token',
      '/v2/team/app/manifests/v1',
      `/v2/team/app/blobs/${closed.layerDigest}`,
      '/v2/team/app/manifests/v1',
      '/v2/team/app/manifests/v1',
      '/v2/team/app/manifests/v1',
    ]);
    expect(upstream.stats).toEqual({ requests: 6, tokenRequests: 1 });
  });

  it('concurrent requests for a new scope share one token request', async () => {
    const upstream = createUpstream({
      url: berth.url,
      credentials: { username: 'mirror', password: 'mirror-password' },
    });
    await upstream.ping();
    const before = upstream.stats.tokenRequests;
    const heads = await Promise.all(
      Array.from({ length: 8 }, () => upstream.blob('team/app', closed.layerDigest, { method: 'HEAD' })),
    );
    expect(heads.map((h) => h.status)).toEqual(Array(8).fill(200));
    expect(upstream.stats.tokenRequests - before).toBe(1);
  });

  it('fetches a new token once the old one is about to expire (issuer expiration 2 s)', async () => {
    const upstream = createUpstream({
      url: berth.url,
      credentials: { username: 'mirror', password: 'mirror-password' },
    });
    await upstream.manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST });
    await upstream.manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST });
    expect(upstream.stats.tokenRequests).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const later = await upstream.manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST });
    expect(later.status).toBe(200);
    expect(upstream.stats.tokenRequests).toBe(2);
    expect(upstream.stats.requests).toBe(4); // no 401 after the first: the token was renewed in time
  });

  it('anonymous: pulls what the rules open to anyone; elsewhere UPSTREAM_UNAUTHORIZED', async () => {
    const upstream = createUpstream({ url: berth.url });
    const head = await upstream.manifest('public/tools', 'v1', { method: 'HEAD', accept: OCI_MANIFEST });
    expect(head.headers.get('docker-content-digest')).toBe(open.manifestDigest);
    await expect(
      upstream.manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST }),
    ).rejects.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED', status: 401 });
  });

  it('a wrong password: the token endpoint refuses it, UPSTREAM_UNAUTHORIZED without the password', async () => {
    const upstream = createUpstream({
      url: berth.url,
      credentials: { username: 'mirror', password: 'wrong-one' },
    });
    const error = await upstream
      .manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
    expect((error as Error).message).toContain('token endpoint');
    expect((error as Error).message).not.toContain('wrong-one');
  });
});
