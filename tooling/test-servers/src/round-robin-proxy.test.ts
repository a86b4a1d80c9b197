import { createHash, randomBytes } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endToEndHeaders, type RoundRobinProxy, startRoundRobinProxy } from './round-robin-proxy.ts';

type Handler = (name: string, req: IncomingMessage, res: ServerResponse) => void;

/** Two backends, `a` and `b`, whose behaviour each test sets with `handler`. */
let handler: Handler;
const backends: { name: string; server: Server; url: string }[] = [];
let proxy: RoundRobinProxy;

const defaultHandler: Handler = (name, req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(name));
};

beforeAll(async () => {
  for (const name of ['a', 'b']) {
    const server = createServer((req, res) => handler(name, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    backends.push({ name, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  }
  proxy = await startRoundRobinProxy(backends.map((backend) => backend.url));
});

afterAll(async () => {
  await proxy?.close();
  for (const { server } of backends) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

afterEach(() => {
  handler = defaultHandler;
});
handler = defaultHandler;

interface Reply {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** One request through the proxy, or through the one at `base` (redirects are not followed). */
function send(
  method: string,
  path: string,
  options: { agent?: Agent; headers?: Record<string, string>; body?: Buffer; base?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${options.base ?? proxy.url}${path}`, {
      method,
      agent: options.agent ?? false,
      headers: options.headers ?? {},
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          statusMessage: res.statusMessage!,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Rejects when `promise` has not settled within `ms` (instead of a test-level timeout). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms)),
  ]);
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('round-robin proxy', () => {
  it('alternates requests (not connections) between the backends, over one kept-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = [...proxy.counts];
    const answers: string[] = [];
    const sockets = new Set<unknown>();
    for (let i = 0; i < 6; i++) {
      const reply = await new Promise<string>((resolve, reject) => {
        const req = request(`${proxy.url}/v2/`, { agent });
        req.on('socket', (socket) => sockets.add(socket));
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      answers.push(reply);
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
    // Whichever backend is next, the answers alternate.
    expect(answers.join('')).toMatch(/^(ab){3}$|^(ba){3}$/);
    expect(proxy.counts.map((count, i) => count - before[i]!)).toEqual([3, 3]);
  });

  it('alternates under concurrency too: 20 requests in flight end up 10 and 10', async () => {
    const before = [...proxy.counts];
    const replies = await Promise.all(Array.from({ length: 20 }, () => send('GET', '/x')));
    const names = replies.map((reply) => reply.body.toString());
    expect(names.filter((name) => name === 'a')).toHaveLength(10);
    expect(names.filter((name) => name === 'b')).toHaveLength(10);
    expect(proxy.counts.map((count, i) => count - before[i]!)).toEqual([10, 10]);
  });

  it('streams a request body to the backend without buffering it (backend sees bytes before the client ends)', async () => {
    let firstBytes!: () => void;
    const backendGotFirstBytes = new Promise<void>((resolve) => {
      firstBytes = resolve;
    });
    let received!: (digest: string) => void;
    const backendDigest = new Promise<string>((resolve) => {
      received = resolve;
    });
    handler = (_name, req, res) => {
      const hash = createHash('sha256');
      req.once('data', () => firstBytes());
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => {
        received(hash.digest('hex'));
        res.writeHead(202, { range: `0-${Number(req.headers['content-length']) - 1}` }).end();
      });
    };
    const first = randomBytes(1024 * 1024);
    const rest = randomBytes(32 * 1024 * 1024);
    const reply = new Promise<Reply>((resolve, reject) => {
      const req = request(`${proxy.url}/v2/r/blobs/uploads/u`, {
        method: 'PATCH',
        agent: false,
        headers: {
          'content-length': String(first.length + rest.length),
          'content-range': `0-${first.length + rest.length - 1}`,
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            statusMessage: res.statusMessage!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.alloc(0),
          }),
        );
      });
      req.on('error', reject);
      req.write(first);
      // The rest is only sent once the backend has seen the first bytes: a proxy that waited for
      // the whole body would never forward them, and this would time out.
      within(backendGotFirstBytes, 5_000, 'the backend receiving the first bytes').then(
        () => req.end(rest),
        (error: Error) => {
          req.destroy();
          reject(error);
        },
      );
    });
    const { status, headers } = await reply;
    expect(status).toBe(202);
    expect(headers.range).toBe(`0-${first.length + rest.length - 1}`);
    expect(await backendDigest).toBe(sha256(Buffer.concat([first, rest])));
  });

  it('streams a chunked request body (no Content-Length) as well', async () => {
    handler = (_name, req, res) => {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () =>
        res.end(`${req.headers['transfer-encoding']} ${req.headers['content-length']} ${hash.digest('hex')}`),
      );
    };
    const body = [randomBytes(100_000), randomBytes(3)];
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(`${proxy.url}/up`, { method: 'PUT', agent: false });
      req.on('response', (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          out += chunk;
        });
        res.on('end', () => resolve(out));
      });
      req.on('error', reject);
      req.write(body[0]);
      setTimeout(() => req.end(body[1]), 20);
    });
    expect(text).toBe(`chunked undefined ${sha256(Buffer.concat(body))}`);
  });

  it('streams a response body to the client without buffering it (client sees bytes before the backend ends)', async () => {
    let clientGotFirstBytes!: () => void;
    const clientSawBytes = new Promise<void>((resolve) => {
      clientGotFirstBytes = resolve;
    });
    const first = randomBytes(64 * 1024);
    const rest = randomBytes(16 * 1024 * 1024);
    handler = (_name, req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': String(first.length + rest.length) });
      res.write(first);
      within(clientSawBytes, 5_000, 'the client receiving the first bytes').then(
        () => res.end(rest),
        () => res.destroy(),
      );
    };
    const digest = await new Promise<string>((resolve, reject) => {
      const req = request(`${proxy.url}/v2/r/blobs/sha256:x`, { agent: false });
      req.on('response', (res) => {
        const hash = createHash('sha256');
        res.once('data', () => clientGotFirstBytes());
        res.on('data', (chunk: Buffer) => hash.update(chunk));
        res.on('end', () => resolve(hash.digest('hex')));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
      });
      req.on('error', reject);
      req.end();
    });
    expect(digest).toBe(sha256(Buffer.concat([first, rest])));
  });

  it('passes a redirect through untouched (status, Location to another host, body)', async () => {
    handler = (_name, req, res) => {
      req.resume();
      res
        .writeHead(307, 'Temporary Redirect', {
          location: 'http://127.0.0.1:9/bucket/blob?X-Amz-Signature=abc',
          'content-length': '0',
        })
        .end();
    };
    for (let i = 0; i < 2; i++) {
      const reply = await send('GET', '/v2/r/blobs/sha256:x');
      expect(reply.status).toBe(307);
      expect(reply.statusMessage).toBe('Temporary Redirect');
      expect(reply.headers.location).toBe('http://127.0.0.1:9/bucket/blob?X-Amz-Signature=abc');
      expect(reply.body.length).toBe(0);
    }
  });

  it('passes status, status text, repeated headers and error bodies through; drops hop-by-hop headers', async () => {
    handler = (_name, req, res) => {
      req.resume();
      res.writeHead(404, 'Not Here', [
        'Content-Type',
        'application/json',
        'Docker-Distribution-Api-Version',
        'registry/2.0',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
        'Connection',
        'X-Hop',
        'X-Hop',
        'secret',
        'Content-Length',
        '21',
      ]);
      res.end('{"errors":["nope"]}\n\n');
    };
    const reply = await send('GET', '/v2/r/manifests/none');
    expect(reply.status).toBe(404);
    expect(reply.statusMessage).toBe('Not Here');
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(reply.headers['x-hop']).toBeUndefined();
    expect(reply.body.toString()).toBe('{"errors":["nope"]}\n\n');
  });

  it('forwards method, path with query, Host (for Location headers) and end-to-end request headers', async () => {
    let seen: { method?: string; url?: string; headers?: IncomingHttpHeaders } = {};
    handler = (_name, req, res) => {
      seen = { method: req.method, url: req.url, headers: req.headers };
      req.resume();
      req.on('end', () =>
        res
          .writeHead(201, {
            location: `http://${req.headers.host}/v2/r/blobs/sha256:x`,
            'content-length': '0',
          })
          .end(),
      );
    };
    const reply = await send('PUT', '/v2/r/blobs/uploads/u?_state=t%2Bk&digest=sha256%3Ax', {
      headers: { authorization: 'Basic dTpw', 'x-hop': '1', connection: 'x-hop', 'content-type': 'a/b' },
      body: Buffer.from('hello'),
    });
    expect(reply.status).toBe(201);
    expect(seen.method).toBe('PUT');
    expect(seen.url).toBe('/v2/r/blobs/uploads/u?_state=t%2Bk&digest=sha256%3Ax');
    expect(seen.headers?.host).toBe(new URL(proxy.url).host);
    expect(seen.headers?.authorization).toBe('Basic dTpw');
    expect(seen.headers?.['content-type']).toBe('a/b');
    expect(seen.headers?.['content-length']).toBe('5');
    expect(seen.headers?.['x-hop']).toBeUndefined();
    expect(reply.headers.location).toBe(`${proxy.url}/v2/r/blobs/sha256:x`);
  });

  it('HEAD: the Content-Length of the backend, no body', async () => {
    handler = (_name, req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': '536870912', 'docker-content-digest': 'sha256:x' }).end();
    };
    const reply = await send('HEAD', '/v2/r/blobs/sha256:x');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe('536870912');
    expect(reply.headers['docker-content-digest']).toBe('sha256:x');
    expect(reply.body.length).toBe(0);
  });

  it('answers 502 when a backend is unreachable, and counts the failure', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise((resolve) => dead.close(resolve));
    const lonely = await startRoundRobinProxy([url]);
    try {
      const reply = await new Promise<number>((resolve, reject) => {
        request(`${lonely.url}/v2/`, { agent: false })
          .on('response', (res) => {
            res.resume();
            resolve(res.statusCode!);
          })
          .on('error', reject)
          .end();
      });
      expect(reply).toBe(502);
      expect(lonely.errors).toBe(1);
      expect(lonely.lastErrors[0]).toMatch(/ECONNREFUSED/);
    } finally {
      await lonely.close();
    }
  });
});

describe('round-robin proxy with a backend that went down', () => {
  /** A port nothing listens on (a server bound and closed again). */
  async function deadUrl(): Promise<string> {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise((resolve) => dead.close(resolve));
    return url;
  }

  it('sends bodiless requests the dead backend refused to the next one, and skips it until downForMs has passed', async () => {
    const dead = await deadUrl();
    const proxy3 = await startRoundRobinProxy([backends[0]!.url, dead, backends[1]!.url], { downForMs: 300 });
    try {
      const answers: string[] = [];
      for (let i = 0; i < 6; i++) {
        const reply = await send('GET', '/v2/', { base: proxy3.url });
        expect(reply.status).toBe(200);
        answers.push(reply.body.toString());
      }
      // a, (dead → b), then a, b, a, b: the dead backend is out of the rotation.
      expect(answers).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
      expect(proxy3.retried).toBe(1);
      expect(proxy3.errors).toBe(0);
      expect(proxy3.down).toEqual([false, true, false]);
      expect(proxy3.counts).toEqual([3, 1, 3]);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(proxy3.down).toEqual([false, false, false]);
    } finally {
      await proxy3.close();
    }
  });

  it('answers 502 to a request with a body that the dead backend refused; the retry goes elsewhere', async () => {
    const dead = await deadUrl();
    const proxy2 = await startRoundRobinProxy([dead, backends[0]!.url]);
    try {
      const first = await send('PUT', '/v2/', { base: proxy2.url, body: Buffer.from('chunk') });
      expect(first.status).toBe(502);
      expect(first.body.toString()).toMatch(/ECONNREFUSED/);
      expect(proxy2.errors).toBe(1);
      const retry = await send('PUT', '/v2/', { base: proxy2.url, body: Buffer.from('chunk') });
      expect({ status: retry.status, body: retry.body.toString() }).toEqual({ status: 200, body: 'a' });
      expect(proxy2.counts).toEqual([1, 1]);
    } finally {
      await proxy2.close();
    }
  });

  it("with onFailure: 'reset', reads the whole body, then resets the client's connection", async () => {
    const dead = await deadUrl();
    const proxy2 = await startRoundRobinProxy([dead, backends[0]!.url], { onFailure: 'reset' });
    try {
      await expect(
        send('PUT', '/v2/', { base: proxy2.url, body: Buffer.alloc(4 * 1024 * 1024, 1) }),
      ).rejects.toMatchObject({
        code: 'ECONNRESET',
      });
      expect(proxy2.errors).toBe(1);
      const retry = await send('PUT', '/v2/', { base: proxy2.url, body: Buffer.from('chunk') });
      expect({ status: retry.status, body: retry.body.toString() }).toEqual({ status: 200, body: 'a' });
    } finally {
      await proxy2.close();
    }
  });
});

describe('endToEndHeaders', () => {
  it('drops hop-by-hop headers and those Connection names, keeps order, case and repeats', () => {
    expect(
      endToEndHeaders([
        'Host',
        'h:1',
        'Connection',
        'keep-alive, X-Private',
        'Keep-Alive',
        'timeout=5',
        'X-Private',
        'p',
        'Transfer-Encoding',
        'chunked',
        'Set-Cookie',
        'a',
        'set-cookie',
        'b',
        'Upgrade',
        'h2c',
        'TE',
        'trailers',
      ]),
    ).toEqual(['Host', 'h:1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a', 'set-cookie', 'b']);
  });
});
