import { Readable } from 'node:stream';
import { type Context, Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { isRegistryError } from '../errors.ts';
import { hasRequestBody, rawRequestTarget, readBoundedBody, requestBody, toWebStream } from './body.ts';
import type { RegistryAppEnv } from './env.ts';

/** Runs `fn` inside a hono handler for `request`, with `env`, and returns what it returned. */
async function inHandler<T>(
  request: Request,
  env: Partial<RegistryAppEnv['Bindings']> | undefined,
  fn: (c: Context<RegistryAppEnv>) => Promise<T> | T,
): Promise<T> {
  let result: T | undefined;
  let error: unknown;
  const app = new Hono<RegistryAppEnv>();
  app.all('*', async (c) => {
    try {
      result = await fn(c);
    } catch (err) {
      error = err;
    }
    return c.body(null, 204);
  });
  await app.fetch(request, env);
  if (error !== undefined) throw error;
  return result as T;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString();
}

/** A stand-in for Node's IncomingMessage: a Readable with `url` and `headers`. */
function incoming(
  url: string,
  chunks: string[],
  headers: Record<string, string> = {},
): Readable & { url: string } {
  const readable = Readable.from(
    chunks.map((c) => Buffer.from(c)),
    { objectMode: false },
  ) as Readable & {
    url: string;
    headers: Record<string, string>;
  };
  readable.url = url;
  readable.headers = headers;
  return readable;
}

describe('requestBody', () => {
  it('streams the web body of the request', async () => {
    const req = new Request('http://x/', { method: 'PATCH', body: 'hello' });
    expect(await inHandler(req, undefined, (c) => collect(requestBody(c)))).toBe('hello');
  });

  it('reads the Node IncomingMessage directly when the server passes it', async () => {
    const req = new Request('http://x/', { method: 'PATCH' });
    const env = { incoming: incoming('/v2/', ['ab', 'cd']) as never };
    expect(await inHandler(req, env, (c) => collect(requestBody(c)))).toBe('abcd');
  });

  it('is empty without a body', async () => {
    const req = new Request('http://x/', { method: 'PUT' });
    expect(await inHandler(req, undefined, (c) => collect(requestBody(c)))).toBe('');
  });
});

describe('hasRequestBody', () => {
  it.each([
    [{ method: 'PUT' }, false],
    [{ method: 'PUT', body: 'x' }, true],
    [{ method: 'PUT', body: 'x', headers: { 'content-length': '0' } }, false],
    [{ method: 'PUT', headers: { 'content-length': '3' } }, true],
    [{ method: 'PUT', headers: { 'transfer-encoding': 'chunked' } }, true],
  ] as [RequestInit, boolean][])('%j → %s', async (init, expected) => {
    const req = new Request('http://x/', init);
    expect(await inHandler(req, undefined, (c) => hasRequestBody(c))).toBe(expected);
  });

  it('trusts the framing headers of a Node request', async () => {
    const req = new Request('http://x/', { method: 'PUT' });
    expect(await inHandler(req, { incoming: incoming('/', []) as never }, (c) => hasRequestBody(c))).toBe(
      false,
    );
  });
});

describe('rawRequestTarget', () => {
  it('is the unnormalised target of a Node request, else undefined', async () => {
    const req = new Request('http://x/v2/');
    const env = { incoming: incoming('/v2/%2e%2e/x?y=1', []) as never };
    expect(await inHandler(req, env, (c) => rawRequestTarget(c))).toBe('/v2/%2e%2e/x?y=1');
    expect(await inHandler(req, undefined, (c) => rawRequestTarget(c))).toBeUndefined();
  });
});

describe('readBoundedBody', () => {
  it('reads a body up to the limit, inclusive', async () => {
    const req = new Request('http://x/', { method: 'PUT', body: 'x'.repeat(10) });
    const bytes = await inHandler(req, undefined, (c) => readBoundedBody(c, 10));
    expect(Buffer.from(bytes).toString()).toBe('x'.repeat(10));
  });

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const source = incoming('/', ['never read']);
    const req = new Request('http://x/', { method: 'PUT', headers: { 'content-length': '11' } });
    const err = await inHandler(req, { incoming: source as never }, (c) => readBoundedBody(c, 10)).catch(
      (e) => e,
    );
    expect(isRegistryError(err) && [err.code, err.status]).toEqual(['MANIFEST_INVALID', 413]);
    expect(source.readableDidRead).toBe(false);
  });

  it('stops reading an undeclared body past the limit without destroying the stream', async () => {
    const source = incoming('/', ['0123456789', 'abcdef', 'ghij']);
    const req = new Request('http://x/', { method: 'PUT' });
    const err = await inHandler(req, { incoming: source as never }, (c) => readBoundedBody(c, 12)).catch(
      (e) => e,
    );
    expect(isRegistryError(err) && [err.code, err.status]).toEqual(['MANIFEST_INVALID', 413]);
    // The server can still drain (or close) the connection itself: not destroyed, and no
    // 'readable' listener left behind (it would stop resume() from draining).
    expect(source.destroyed).toBe(false);
    expect(source.listenerCount('readable')).toBe(0);
    expect(await collect(source)).toBe('ghij');
  });

  it('does not cancel a web body stopped past the limit', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('0123456789'));
        controller.enqueue(new TextEncoder().encode('0123456789'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const req = new Request('http://x/', { method: 'PUT', body, duplex: 'half' } as RequestInit);
    const err = await inHandler(req, undefined, (c) => readBoundedBody(c, 15)).catch((e) => e);
    expect(isRegistryError(err) && err.status).toBe(413);
    expect(cancelled).toBe(false);
  });
});

describe('toWebStream', () => {
  it('pulls from the source only when the consumer reads', async () => {
    let produced = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 100; i++) {
          produced++;
          yield Buffer.alloc(1024, i);
        }
      })(),
      { objectMode: false, highWaterMark: 1 },
    );
    const reader = toWebStream(source).getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Node's own read-ahead is a chunk or two; nothing close to the whole source.
    expect(produced).toBeLessThan(5);
    let total = 1024;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.byteLength;
    }
    expect(total).toBe(100 * 1024);
  });

  it('destroys the source when the response is cancelled', async () => {
    const source = Readable.from([Buffer.from('a'), Buffer.from('b')], { objectMode: false });
    const stream = toWebStream(source);
    await stream.cancel();
    expect(source.destroyed).toBe(true);
  });

  it('errors the stream when the source fails', async () => {
    const source = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    await expect(new Response(toWebStream(source)).arrayBuffer()).rejects.toThrow('disk on fire');
  });
});
