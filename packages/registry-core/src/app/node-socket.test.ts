/**
 * The app over a real socket, with the Node request passed as `env.incoming` (as under
 * `@hono/node-server`): raw request targets, bodies streamed from the socket, limits enforced
 * while the connection stays usable.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { MediaType } from '@berth/manifest';
import { afterEach, describe, expect, it } from 'vitest';
import { pushBlob, setup } from '../test-support/http.ts';
import { type Listening, listen } from '../test-support/node-bridge.ts';

let server: Listening | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A raw HTTP request: the path goes on the wire exactly as given. */
function raw(
  port: number,
  method: string,
  path: string,
  body?: AsyncIterable<Uint8Array> | Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined) {
      req.end();
    } else if (body instanceof Uint8Array) {
      req.end(body);
    } else {
      (async () => {
        for await (const chunk of body) {
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch(reject);
    }
  });
}

describe('over a Node socket', () => {
  it.each(['/v2/a/../b/tags/list', '/v2/%2e%2e/etc/manifests/latest', '/v2/a/./b/blobs/uploads/'])(
    'the raw target %s → 400 NAME_INVALID',
    async (path) => {
      const { app } = setup();
      server = await listen(app);
      const res = await raw(server.port, 'GET', path);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body.toString()).errors[0].code).toBe('NAME_INVALID');
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
    },
  );

  it('streams a chunked-encoding PATCH from the socket into the upload and completes it', async () => {
    const { app } = setup();
    server = await listen(app);
    const size = 8 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const hash = createHash('sha256');
    for (let sent = 0; sent < size; sent += chunk.length) hash.update(chunk);
    const digest = `sha256:${hash.digest('hex')}`;

    const post = await raw(server.port, 'POST', '/v2/sock/app/blobs/uploads/');
    expect(post.status).toBe(202);
    const location = new URL(post.headers.location as string);
    expect(location.origin).toBe(server.origin);

    async function* body() {
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
    }
    const patch = await raw(server.port, 'PATCH', `${location.pathname}${location.search}`, body(), {
      'Content-Type': 'application/octet-stream',
    });
    expect(patch.status, patch.body.toString()).toBe(202);
    expect(patch.headers.range).toBe(`0-${size - 1}`);
    const next = new URL(patch.headers.location as string);
    const put = await raw(server.port, 'PUT', `${next.pathname}${next.search}&digest=${digest}`);
    expect(put.status, put.body.toString()).toBe(201);

    const get = await raw(server.port, 'GET', `/v2/sock/app/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.body.length).toBe(size);
    expect(`sha256:${createHash('sha256').update(get.body).digest('hex')}`).toBe(digest);
  });

  it('answers an oversized streamed manifest with 413, and the server keeps serving', async () => {
    const { app } = setup();
    server = await listen(app);
    async function* huge() {
      for (let i = 0; i < 80; i++) yield Buffer.alloc(64 * 1024, 0x20);
    }
    const res = await raw(server.port, 'PUT', '/v2/sock/app/manifests/big', huge(), {
      'Content-Type': MediaType.OciManifest,
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).errors[0].code).toBe('MANIFEST_INVALID');
    expect((await raw(server.port, 'GET', '/v2/')).status).toBe(200);
  });

  it('serves Range requests from the socket', async () => {
    const { app } = setup();
    const digest = await pushBlob(app, 'sock/app', '0123456789');
    server = await listen(app);
    const res = await raw(server.port, 'GET', `/v2/sock/app/blobs/${digest}`, undefined, {
      Range: 'bytes=3-5',
    });
    expect(res.status).toBe(206);
    expect(res.body.toString()).toBe('345');
    expect(res.headers['content-range']).toBe('bytes 3-5/10');
  });
});
