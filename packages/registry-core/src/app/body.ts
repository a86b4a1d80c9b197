/**
 * Request and response bodies. Blob bytes flow through as streams and are never buffered
 * whole: uploads go from the socket into the upload store, downloads from the storage driver's
 * reader to the socket, each with backpressure.
 *
 * Under `@hono/node-server` the Node `IncomingMessage` is read directly (`c.env.incoming`):
 * it skips the web-stream adapter that `c.req.raw.body` would put in between. Elsewhere (tests
 * with `app.request()`, other runtimes) the web `ReadableStream` of the request is used.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Context } from 'hono';
import { RegistryError } from '../errors.ts';
import type { RegistryAppEnv } from './env.ts';

const EMPTY: AsyncIterable<Uint8Array> = {
  async *[Symbol.asyncIterator]() {},
};

function incomingOf(c: Context<RegistryAppEnv>): IncomingMessage | undefined {
  const incoming = (c.env as RegistryAppEnv['Bindings'] | undefined)?.incoming;
  return incoming !== undefined && typeof incoming.iterator === 'function' ? incoming : undefined;
}

/**
 * The raw request target (path and query, still percent-encoded and not dot-normalised) when
 * the runtime exposes it, else `undefined`.
 */
export function rawRequestTarget(c: Context<RegistryAppEnv>): string | undefined {
  const url = incomingOf(c)?.url;
  return typeof url === 'string' && url.startsWith('/') ? url : undefined;
}

/** True when the request declares a body (a non-zero `Content-Length`, or a chunked one). */
export function hasRequestBody(c: Context<RegistryAppEnv>): boolean {
  const length = c.req.header('content-length');
  if (length !== undefined) return length.trim() !== '0';
  if (c.req.header('transfer-encoding') !== undefined) return true;
  // Node's parser always frames a body with one of the two headers above.
  if (incomingOf(c) !== undefined) return false;
  return c.req.raw.body !== null;
}

/**
 * The request body as a stream of chunks, for the upload store to consume. Reading stops
 * nothing else: on an error the caller's consumer sees it thrown from the iteration.
 */
export function requestBody(c: Context<RegistryAppEnv>): AsyncIterable<Uint8Array> {
  const incoming = incomingOf(c);
  if (incoming !== undefined) return incoming;
  return c.req.raw.body ?? EMPTY;
}

/**
 * Iterates `source` without destroying or cancelling it when the consumer stops early, so the
 * server can still answer (and drain or close the connection itself) after a limit is hit.
 */
function gentleIterator(source: AsyncIterable<Uint8Array>): AsyncIterator<Uint8Array> {
  const readable = source as Partial<Readable>;
  if (typeof readable.iterator === 'function') {
    return readable.iterator({ destroyOnReturn: false })[Symbol.asyncIterator]();
  }
  const stream = source as Partial<ReadableStream<Uint8Array>>;
  if (typeof stream.values === 'function') {
    return stream.values({ preventCancel: true })[Symbol.asyncIterator]();
  }
  return source[Symbol.asyncIterator]();
}

/**
 * Reads the whole request body, at most `limit` bytes. `Content-Length` is checked first so an
 * oversized body is refused before a byte is read; without it reading stops as soon as the
 * limit is passed, so memory stays bounded by `limit`.
 *
 * @throws {RegistryError} `MANIFEST_INVALID` with status 413 (the spec's answer to an oversized
 * manifest; registry:2 answers 400) when the body is larger than `limit`.
 */
export async function readBoundedBody(c: Context<RegistryAppEnv>, limit: number): Promise<Uint8Array> {
  const tooLarge = (): RegistryError =>
    new RegistryError(
      'MANIFEST_INVALID',
      `manifest too large: the limit is ${limit} bytes`,
      { limit },
      {
        status: 413,
      },
    );
  const declared = c.req.header('content-length');
  if (declared !== undefined && /^\d+$/.test(declared.trim()) && Number(declared) > limit) throw tooLarge();

  const chunks: Uint8Array[] = [];
  let total = 0;
  const iterator = gentleIterator(requestBody(c));
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      // Detach without destroying: a Node stream left with the iterator's 'readable' listener
      // could not be drained by the server afterwards.
      await iterator.return?.();
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Adapts a Node `Readable` to a web `ReadableStream` for a `Response` body. Pull-based with a
 * high-water mark of zero: a chunk is read from the source only when the consumer asks for
 * one, so a slow client holds back the storage reader instead of filling memory. Cancelling
 * the response (client gone) destroys the source.
 */
export function toWebStream(source: Readable): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      cancel(reason) {
        source.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
