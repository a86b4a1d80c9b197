/**
 * The upstream client against upstreams that point elsewhere or fail: HTTP servers on loopback
 * playing a registry whose token realm or blob redirect names another host (`localhost` vs
 * `127.0.0.1`: another origin, another registrable domain), and registries answering 429, 503,
 * nothing, or not listening at all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readAll } from './test-support/push.ts';
import { createUpstream, retryAfterSeconds } from './upstream.ts';

const servers: Server[] = [];

/** A server on 127.0.0.1 with `handler`; its port. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const credentials = { username: 'mirror', password: 'mirror-password' };

describe('upstream client: where credentials and tokens go', () => {
  it('a realm on another host gets the token request without the credentials', async () => {
    const seenByRealm: (string | undefined)[] = [];
    const realmPort = await serve((req, res) => {
      seenByRealm.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon-token' }));
    });
    const registryPort = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer anon-token') {
        res.writeHead(200, { 'docker-content-digest': 'sha256:abc', 'content-length': '0' }).end();
        return;
      }
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://localhost:${realmPort}/token",service="elsewhere"`,
        })
        .end();
    });
    const upstream = createUpstream({ url: `http://127.0.0.1:${registryPort}`, credentials });
    const head = await upstream.manifest('a/b', 'v1', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(seenByRealm).toEqual([undefined]);
  });

  it('follows a blob redirect to another host without Authorization, and the bytes arrive', async () => {
    const seenByStorage: (string | undefined)[] = [];
    const storagePort = await serve((req, res) => {
      seenByStorage.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('blob bytes');
    });
    const seenByRegistry: (string | undefined)[] = [];
    const registryPort = await serve((req, res) => {
      seenByRegistry.push(req.headers.authorization);
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return;
      }
      res.writeHead(307, { location: `http://localhost:${storagePort}/data?sig=1` }).end();
    });
    const upstream = createUpstream({ url: `http://127.0.0.1:${registryPort}`, credentials });
    const blob = await upstream.blob('a/b', 'sha256:abc');
    expect(blob.status).toBe(200);
    expect(new TextDecoder().decode(await readAll(blob.body))).toBe('blob bytes');
    expect(blob.url).toBe(`http://localhost:${storagePort}/data?sig=1`);
    expect(seenByRegistry).toEqual([
      undefined,
      `Basic ${Buffer.from('mirror:mirror-password').toString('base64')}`,
    ]);
    expect(seenByStorage).toEqual([undefined]);
  });

  it('gives up after five redirects', async () => {
    const port = await serve((req, res) => {
      res.writeHead(302, { location: `${req.url}x` }).end();
    });
    await expect(
      createUpstream({ url: `http://127.0.0.1:${port}` }).blob('a', 'sha256:x'),
    ).rejects.toMatchObject({
      code: 'UPSTREAM_INVALID_RESPONSE',
      message: expect.stringContaining('more than 5 redirects'),
    });
  });
});

describe('upstream client: failures', () => {
  it('429 with Retry-After → UPSTREAM_TOO_MANY_REQUESTS carrying it', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '17' }).end('{"errors":[{"code":"TOOMANYREQUESTS"}]}');
    });
    await expect(
      createUpstream({ url: `http://127.0.0.1:${port}` }).manifest('library/alpine', 'latest', {
        method: 'HEAD',
      }),
    ).rejects.toMatchObject({ code: 'UPSTREAM_TOO_MANY_REQUESTS', status: 429, retryAfterSeconds: 17 });
  });

  it('503 → UPSTREAM_ERROR with the status', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(503).end();
    });
    await expect(
      createUpstream({ url: `http://127.0.0.1:${port}` }).blob('a', 'sha256:x'),
    ).rejects.toMatchObject({
      code: 'UPSTREAM_ERROR',
      status: 503,
    });
  });

  it('nothing listening → UPSTREAM_UNREACHABLE naming the cause', async () => {
    const port = await serve(() => {});
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await expect(createUpstream({ url: `http://127.0.0.1:${port}` }).ping()).rejects.toMatchObject({
      code: 'UPSTREAM_UNREACHABLE',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('no answer within headerTimeoutMs → UPSTREAM_UNREACHABLE; a caller abort stays an abort', async () => {
    const port = await serve(() => {}); // accepts, never answers
    const upstream = createUpstream({ url: `http://127.0.0.1:${port}`, headerTimeoutMs: 200 });
    const started = Date.now();
    await expect(upstream.manifest('a', 'v1')).rejects.toMatchObject({
      code: 'UPSTREAM_UNREACHABLE',
      message: expect.stringContaining('no answer within 200 ms'),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    const aborted = await upstream
      .manifest('a', 'v1', { signal: AbortSignal.timeout(50) })
      .catch((error: unknown) => error);
    expect((aborted as Error).name).not.toBe('UpstreamError');
  });

  it('a 401 without a usable challenge, and a Bearer realm that is not a URL', async () => {
    const bare = await serve((_req, res) => {
      res.writeHead(401).end();
    });
    await expect(createUpstream({ url: `http://127.0.0.1:${bare}` }).ping()).rejects.toMatchObject({
      code: 'UPSTREAM_UNAUTHORIZED',
    });
    const bad = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="not a url"' }).end();
    });
    await expect(createUpstream({ url: `http://127.0.0.1:${bad}` }).ping()).rejects.toMatchObject({
      code: 'UPSTREAM_INVALID_RESPONSE',
    });
  });

  it('refuses upstream URLs it cannot use', () => {
    for (const url of ['ftp://x', 'https://u:p@x', 'https://x/v2', 'https://x?a=1', 'not a url']) {
      expect(() => createUpstream({ url }), url).toThrow(
        expect.objectContaining({ code: 'UPSTREAM_INVALID_OPTIONS' }),
      );
    }
  });
});

describe('retryAfterSeconds', () => {
  it('delta-seconds, HTTP dates, garbage', () => {
    expect(retryAfterSeconds('120')).toBe(120);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterSeconds('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(retryAfterSeconds('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterSeconds('soon')).toBeUndefined();
    expect(retryAfterSeconds(null)).toBeUndefined();
  });
});
