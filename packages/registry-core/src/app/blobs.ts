/**
 * `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Context } from 'hono';
import { RegistryError } from '../errors.ts';
import { toWebStream } from './body.ts';
import { type AppConfig, isHead, type RegistryAppEnv } from './env.ts';
import { methodNotAllowed } from './errors-handler.ts';
import {
  type ByteRangesLayout,
  type ByteSpan,
  byteRangesLayout,
  etagOf,
  ifNoneMatch,
  parseRange,
} from './headers.ts';
import { parseDigestParam } from './params.ts';
import type { RegistryRoute } from './route.ts';

type BlobRoute = Extract<RegistryRoute, { kind: 'blob' }>;

const ALLOW = ['GET', 'HEAD', 'DELETE'] as const;

/** Dispatches a blob request by method. */
export async function handleBlob(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: BlobRoute,
): Promise<Response> {
  switch (c.req.method) {
    case 'GET':
    case 'HEAD':
      return getBlob(c, config, route);
    case 'DELETE':
      return deleteBlob(config, route);
    default:
      throw methodNotAllowed(c.req.method, ALLOW);
  }
}

/**
 * Serves a blob (registry:2's `blobServer.ServeBlob`): for a GET, a `307` to the driver's URL
 * when redirects are enabled and the driver has one (registry:2 redirects HEADs too); else the bytes streamed from the driver with
 * `Accept-Ranges`, `206` responses to `Range` (one range with `Content-Range`; several as
 * `multipart/byteranges`, as Go's `http.ServeContent` answers for registry:2) and `416` for
 * unsatisfiable ranges.
 */
async function getBlob(c: Context<RegistryAppEnv>, config: AppConfig, route: BlobRoute): Promise<Response> {
  const digest = parseDigestParam(route.digest);
  const repo = config.registry.repository(route.name);
  // The layer link and the blob's size may come from the short-lived read cache
  // (`CacheLimits.readCacheTtlMs`); the data itself is always opened from storage.
  const descriptor = await repo.blobs.stat(digest, { cached: true });

  // GETs go to the driver's URL; a HEAD is answered here from the stat already made, which is
  // cheaper than a redirect and keeps `Docker-Content-Digest` for clients that check it.
  if (config.registry.options.redirect !== false && !isHead(c)) {
    const location = await repo.blobs.redirectURL(digest, 'GET');
    if (location !== undefined) {
      return new Response(null, { status: 307, headers: { Location: location, 'Content-Length': '0' } });
    }
  }

  const size = descriptor.size;
  const headers = new Headers({
    'Docker-Content-Digest': descriptor.digest,
    ETag: etagOf(descriptor.digest),
    'Cache-Control': 'max-age=31536000',
    'Accept-Ranges': 'bytes',
  });
  if (ifNoneMatch(c.req.header('if-none-match'), descriptor.digest)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set('Content-Type', descriptor.mediaType);

  // `If-Range` with another validator: the client's partial copy is stale, send it all.
  const ifRange = c.req.header('if-range');
  const range =
    ifRange === undefined || ifRange.trim() === etagOf(descriptor.digest)
      ? parseRange(c.req.header('range'), size)
      : ({ kind: 'none' } as const);
  if (range.kind === 'unsatisfiable') {
    throw new RegistryError(
      'RANGE_INVALID',
      'requested range not satisfiable',
      { size },
      {
        headers: { 'Content-Range': `bytes */${size}` },
      },
    );
  }

  if (range.kind === 'ranges') {
    const layout = byteRangesLayout(
      range.ranges,
      descriptor.mediaType,
      size,
      randomBytes(30).toString('hex'),
    );
    headers.set('Content-Type', layout.contentType);
    headers.set('Content-Length', String(layout.length));
    if (isHead(c)) return new Response(null, { status: 206, headers });
    const open = (part: ByteSpan): Promise<Readable> => repo.blobs.open(digest, part, { cached: true });
    // The first part is opened before answering, so a blob gone since the stat is still a 404.
    const first = await open(range.ranges[0]!);
    return new Response(byteRangesStream(range.ranges, layout, first, open), { status: 206, headers });
  }

  let status = 200;
  let start = 0;
  let end = size;
  if (range.kind === 'range') {
    status = 206;
    start = range.start;
    end = range.end;
    headers.set('Content-Range', `bytes ${start}-${end - 1}/${size}`);
  }
  headers.set('Content-Length', String(end - start));
  if (isHead(c) || end === start) return new Response(null, { status, headers });
  const source = await repo.blobs.open(digest, status === 206 ? { start, end } : undefined, { cached: true });
  return new Response(toWebStream(source), { status, headers });
}

/**
 * A `multipart/byteranges` body: each part's framing, then its bytes from a reader of its own,
 * opened at the part's offset when the part begins (never the whole blob, never buffered).
 * Pull-based like {@link toWebStream}: a slow client holds the reader back. Cancelling (client
 * gone) destroys the reader in use and opens no further part.
 */
function byteRangesStream(
  ranges: readonly ByteSpan[],
  layout: ByteRangesLayout,
  first: Readable,
  open: (range: ByteSpan) => Promise<Readable>,
): ReadableStream<Uint8Array> {
  let index = 0;
  let headSent = false;
  let source: Readable | undefined = first;
  let iterator: AsyncIterator<Uint8Array> | undefined;
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            if (index === ranges.length) {
              controller.enqueue(layout.tail);
              controller.close();
              return;
            }
            if (!headSent) {
              headSent = true;
              controller.enqueue(layout.heads[index]!);
              return;
            }
            source ??= await open(ranges[index]!);
            if (cancelled) {
              source.destroy();
              return;
            }
            iterator ??= source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
            const { value, done } = await iterator.next();
            if (!done) {
              controller.enqueue(value);
              return;
            }
            index += 1;
            headSent = false;
            source = undefined;
            iterator = undefined;
          }
        } catch (err) {
          source?.destroy();
          controller.error(err);
        }
      },
      cancel(reason) {
        cancelled = true;
        source?.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Unlinks a blob from the repository (the data stays until GC), when deletion is enabled. */
async function deleteBlob(config: AppConfig, route: BlobRoute): Promise<Response> {
  if (config.readOnly) throw methodNotAllowed('DELETE', ['GET', 'HEAD'], 'the registry is in read-only mode');
  if (config.registry.options.deleteEnabled !== true) {
    throw new RegistryError('UNSUPPORTED', 'deletion is disabled (storage.delete.enabled)');
  }
  const digest = parseDigestParam(route.digest);
  await config.registry.repository(route.name).blobs.delete(digest);
  return new Response(null, { status: 202, headers: { 'Content-Length': '0' } });
}
