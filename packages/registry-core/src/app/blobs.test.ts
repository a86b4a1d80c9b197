import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { digestOf } from '@berth/digest';
import { createInMemoryDriver, type StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../../tooling/test-servers/src/process.ts';
import { startRegistry2 } from '../../../../tooling/test-servers/src/servers.ts';
import { e2eSkipReason } from '../../../../tooling/test-servers/src/tools.ts';
import { blob, expectError, pushBlob, setup } from '../test-support/http.ts';

const CONTENT = '0123456789abcdefghij';

async function withBlob() {
  const t = setup();
  const digest = await pushBlob(t.app, 'lib/app', CONTENT);
  return { ...t, digest, url: `/v2/lib/app/blobs/${digest}` };
}

/** The in-memory driver, but with presigned-style redirect URLs. */
function redirectingDriver(): StorageDriver {
  const base = createInMemoryDriver();
  return new Proxy(base, {
    get(target, prop) {
      if (prop === 'redirectURL') {
        return async (path: string, options?: { method?: string }) =>
          `https://cdn.example.com${path}?method=${options?.method ?? 'GET'}`;
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The in-memory driver, recording the offset of every reader opened and the streams. */
function spiedDriver(): { driver: StorageDriver; readers: number[]; streams: Readable[] } {
  const base = createInMemoryDriver();
  const readers: number[] = [];
  const streams: Readable[] = [];
  const driver = new Proxy(base, {
    get(target, prop) {
      if (prop === 'reader') {
        return async (path: string, options?: { offset?: number }) => {
          readers.push(options?.offset ?? 0);
          const stream = await target.reader(path, options);
          streams.push(stream);
          return stream;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { driver, readers, streams };
}

/** The parts of a `multipart/byteranges` body, by the boundary of `contentType`. */
function parseByteranges(
  contentType: string,
  body: Buffer,
): { headers: Record<string, string>; body: Buffer }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (boundary === undefined) throw new Error(`no boundary in ${contentType}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  expect(at).toBe(0);
  for (;;) {
    at += delimiter.byteLength;
    if (body.subarray(at, at + 4).toString() === '--\r\n') {
      expect(at + 4).toBe(body.byteLength);
      return parts;
    }
    const headEnd = body.indexOf('\r\n\r\n', at);
    const headers: Record<string, string> = {};
    for (const line of body
      .subarray(at + 2, headEnd)
      .toString()
      .split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    parts.push({ headers, body: body.subarray(headEnd + 4, next) });
    at = next + 2;
  }
}

describe('GET and HEAD blob', () => {
  it('GET → 200 with the bytes and every registry:2 header', async () => {
    const { app, digest, url } = await withBlob();
    const res = await app.request(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(CONTENT.length));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('etag')).toBe(`"${digest}"`);
    expect(res.headers.get('cache-control')).toBe('max-age=31536000');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(await res.text()).toBe(CONTENT);
  });

  it('HEAD → 200 with the same headers and no body', async () => {
    const { app, digest, url } = await withBlob();
    const res = await app.request(url, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(CONTENT.length));
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(await res.text()).toBe('');
  });

  it('an empty blob → 200, Content-Length 0', async () => {
    const t = setup();
    const digest = await pushBlob(t.app, 'lib/app', '');
    const res = await t.app.request(`/v2/lib/app/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('0');
    expect(await res.text()).toBe('');
  });

  it.each([
    ['bytes=0-4', '01234', 'bytes 0-4/20'],
    ['bytes=5-', '56789abcdefghij', 'bytes 5-19/20'],
    ['bytes=-3', 'hij', 'bytes 17-19/20'],
    ['bytes=18-100', 'ij', 'bytes 18-19/20'],
    ['bytes=19-19', 'j', 'bytes 19-19/20'],
  ])('Range: %s → 206 %s', async (range, body, contentRange) => {
    const { app, digest, url } = await withBlob();
    const res = await app.request(url, { headers: { Range: range } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(contentRange);
    expect(res.headers.get('content-length')).toBe(String(body.length));
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(await res.text()).toBe(body);
  });

  it('HEAD with Range → 206 headers, no body', async () => {
    const { app, url } = await withBlob();
    const res = await app.request(url, { method: 'HEAD', headers: { Range: 'bytes=2-3' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 2-3/20');
    expect(res.headers.get('content-length')).toBe('2');
    expect(await res.text()).toBe('');
  });

  it.each([
    'bytes=20-',
    'bytes=25-30',
    'bytes=-0',
    'bytes=5-2',
    'bytes=x-y',
    // Several ranges: none satisfiable, or one malformed.
    'bytes=100-200,200-300',
    'bytes=0-1,x',
    'bytes=5-2,0-1',
  ])('Range: %s → 416 RANGE_INVALID with Content-Range: bytes */size', async (range) => {
    const { app, url } = await withBlob();
    const res = await app.request(url, { headers: { Range: range } });
    expect(res.headers.get('content-range')).toBe('bytes */20');
    await expectError(res, 416, 'RANGE_INVALID');
  });

  it('another unit, ranges adding up to more than the blob, or a stale If-Range → 200 with the whole blob', async () => {
    const { app, digest, url } = await withBlob();
    for (const headers of [
      { Range: 'bytes=0-9,5-15' },
      { Range: 'items=0-1' },
      { Range: 'bytes=0-1', 'If-Range': '"sha256:other"' },
    ]) {
      const res = await app.request(url, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(await res.text()).toBe(CONTENT);
    }
    const fresh = await app.request(url, { headers: { Range: 'bytes=0-1', 'If-Range': `"${digest}"` } });
    expect(fresh.status).toBe(206);
  });

  describe('several ranges → 206 multipart/byteranges (Go http.ServeContent)', () => {
    it('sends each part with its Content-Range and type, framed as Go frames it, with an exact Content-Length', async () => {
      const { app, digest, url } = await withBlob();
      const res = await app.request(url, { headers: { Range: 'bytes=0-1,5-6' } });
      expect(res.status).toBe(206);
      const type = res.headers.get('content-type')!;
      expect(type).toMatch(/^multipart\/byteranges; boundary=[0-9a-f]{60}$/);
      const boundary = type.slice(type.indexOf('=') + 1);
      expect(res.headers.get('content-range')).toBeNull();
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      const body = await res.text();
      expect(body).toBe(
        `--${boundary}\r\nContent-Range: bytes 0-1/20\r\nContent-Type: application/octet-stream\r\n\r\n01` +
          `\r\n--${boundary}\r\nContent-Range: bytes 5-6/20\r\nContent-Type: application/octet-stream\r\n\r\n56` +
          `\r\n--${boundary}--\r\n`,
      );
      expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
      expect(Buffer.byteLength(body)).toBe(344); // registry:2's Content-Length for the same request
    });

    it.each([
      [
        'bytes=-3,0-0',
        [
          ['bytes 17-19/20', 'hij'],
          ['bytes 0-0/20', '0'],
        ],
      ],
      [
        'bytes=0-9,5-14',
        [
          ['bytes 0-9/20', '0123456789'],
          ['bytes 5-14/20', '56789abcde'],
        ],
      ],
      [
        'bytes=0-1, ,5-6,0-1',
        [
          ['bytes 0-1/20', '01'],
          ['bytes 5-6/20', '56'],
          ['bytes 0-1/20', '01'],
        ],
      ],
      [
        'bytes=18-,3-4,-0',
        [
          ['bytes 18-19/20', 'ij'],
          ['bytes 3-4/20', '34'],
        ],
      ],
    ])('Range: %s → the parts in the order asked, overlaps included', async (range, expected) => {
      const { app, url } = await withBlob();
      const res = await app.request(url, { headers: { Range: range } });
      expect(res.status).toBe(206);
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.headers.get('content-length')).toBe(String(body.byteLength));
      const parts = parseByteranges(res.headers.get('content-type')!, body);
      expect(parts.map((part) => [part.headers['content-range'], part.body.toString()])).toEqual(expected);
      for (const part of parts) expect(part.headers['content-type']).toBe('application/octet-stream');
    });

    it('answers one range that remains (the others past the end) with a plain 206', async () => {
      const { app, url } = await withBlob();
      const res = await app.request(url, { headers: { Range: 'bytes=0-1,100-200' } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('content-range')).toBe('bytes 0-1/20');
      expect(await res.text()).toBe('01');
    });

    it('HEAD → the same status and headers, no body, no reader opened', async () => {
      const driver = spiedDriver();
      const { app } = setup({ driver: driver.driver });
      const digest = await pushBlob(app, 'lib/app', CONTENT);
      driver.readers.length = 0;
      const head = await app.request(`/v2/lib/app/blobs/${digest}`, {
        method: 'HEAD',
        headers: { Range: 'bytes=0-1,5-6' },
      });
      expect(head.status).toBe(206);
      expect(head.headers.get('content-type')).toMatch(/^multipart\/byteranges; boundary=[0-9a-f]{60}$/);
      expect(head.headers.get('content-length')).toBe('344');
      expect(await head.text()).toBe('');
      expect(driver.readers).toEqual([]);
    });

    it('streams each part from a reader opened at its offset, one after the other', async () => {
      const driver = spiedDriver();
      const { app } = setup({ driver: driver.driver });
      const content = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
      const digest = await pushBlob(app, 'lib/app', content);
      driver.readers.length = 0;
      const res = await app.request(`/v2/lib/app/blobs/${digest}`, {
        headers: { Range: 'bytes=1048576-1048585,10-19,2097152-' },
      });
      expect(res.status).toBe(206);
      const reader = res.body!.getReader();
      const first = await reader.read(); // the first part's framing
      expect(new TextDecoder().decode(first.value)).toContain('Content-Range: bytes 1048576-1048585/3145728');
      // Only the first part's reader is open before its bytes are asked for.
      expect(driver.readers).toEqual([1_048_576]);
      const chunks: Uint8Array[] = [first.value!];
      for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
      expect(driver.readers).toEqual([1_048_576, 10, 2_097_152]);
      const body = Buffer.concat(chunks);
      expect(res.headers.get('content-length')).toBe(String(body.byteLength));
      const parts = parseByteranges(res.headers.get('content-type')!, body);
      expect(parts.map((part) => part.body)).toEqual([
        Buffer.from(content.subarray(1_048_576, 1_048_586)),
        Buffer.from(content.subarray(10, 20)),
        Buffer.from(content.subarray(2_097_152)),
      ]);
    });

    it('cancelling the body destroys the part being read and opens no further part', async () => {
      const driver = spiedDriver();
      const { app } = setup({ driver: driver.driver });
      const content = new Uint8Array(2 * 1024 * 1024).fill(1);
      const digest = await pushBlob(app, 'lib/app', content);
      driver.readers.length = 0;
      const res = await app.request(`/v2/lib/app/blobs/${digest}`, {
        headers: { Range: 'bytes=0-1048575,-10' },
      });
      const reader = res.body!.getReader();
      await reader.read();
      await reader.read();
      await reader.cancel();
      expect(driver.readers).toEqual([0]);
      expect(driver.streams[0]!.destroyed).toBe(true);
    });
  });

  it('If-None-Match with the digest → 304', async () => {
    const { app, digest, url } = await withBlob();
    const res = await app.request(url, { headers: { 'If-None-Match': `"${digest}"` } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(`"${digest}"`);
  });

  it('unknown blob, or a blob only linked in another repository → 404 BLOB_UNKNOWN', async () => {
    const { app, digest } = await withBlob();
    await expectError(await app.request(`/v2/lib/app/blobs/${blob('other').digest}`), 404, 'BLOB_UNKNOWN');
    await expectError(await app.request(`/v2/lib/other/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    expect((await app.request(`/v2/lib/other/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  it.each(['sha256:abc', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nodigest'])(
    'a malformed digest %s → 400 DIGEST_INVALID',
    async (digest) => {
      const { app } = setup();
      await expectError(await app.request(`/v2/lib/app/blobs/${digest}`), 400, 'DIGEST_INVALID');
    },
  );

  it('serves a sha512 blob by its sha512 digest', async () => {
    const { app } = setup();
    const { bytes, digest } = blob('sha512 content', 'sha512');
    const start = await app.request('/v2/lib/app/blobs/uploads/?digest-algorithm=sha512', { method: 'POST' });
    const location = start.headers.get('location')!;
    const put = await app.request(`${location}&digest=${digest}`, { method: 'PUT', body: bytes });
    expect(put.status, await put.clone().text()).toBe(201);
    const res = await app.request(`/v2/lib/app/blobs/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  describe('redirects (storage.redirect)', () => {
    it('GET → 307 to the driver URL; HEAD is answered directly with the digest header', async () => {
      const driver = redirectingDriver();
      const { app } = setup({ driver });
      const digest = await pushBlob(app, 'lib/app', CONTENT);
      const get = await app.request(`/v2/lib/app/blobs/${digest}`);
      expect(get.status).toBe(307);
      expect(get.headers.get('location')).toMatch(/^https:\/\/cdn\.example\.com\/.*\/data\?method=GET$/);
      const head = await app.request(`/v2/lib/app/blobs/${digest}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('location')).toBeNull();
      expect(head.headers.get('docker-content-digest')).toBe(digest);
      expect(head.headers.get('content-length')).toBe(String(CONTENT.length));
    });

    it('disabled → the bytes', async () => {
      const { app } = setup({ driver: redirectingDriver(), registry: { redirect: false } });
      const digest = await pushBlob(app, 'lib/app', CONTENT);
      const res = await app.request(`/v2/lib/app/blobs/${digest}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(CONTENT);
    });

    it('an unknown blob is still 404, not a redirect', async () => {
      const { app } = setup({ driver: redirectingDriver() });
      await expectError(await app.request(`/v2/lib/app/blobs/${blob('x').digest}`), 404, 'BLOB_UNKNOWN');
    });
  });
});

const registry2Skip = e2eSkipReason(['docker-registry']);
describe.skipIf(registry2Skip)(
  `multi-range GETs compared with registry:2 2.8.2${registry2Skip ? ` (skipped: ${registry2Skip})` : ''}`,
  () => {
    let registry2: RunningServer;
    let dir: string;
    // Past the 32 KiB of one Go copy buffer, so parts span several reads on both sides.
    const content = new Uint8Array(100_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
    const { digest } = blob(content);
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-ranges-registry2-'));
      registry2 = await startRegistry2({ rootDirectory: dir });
      const post = await fetch(`${registry2.url}/v2/lib/app/blobs/uploads/`, { method: 'POST' });
      const location = new URL(post.headers.get('location')!, registry2.url);
      location.searchParams.set('digest', digest);
      const put = await fetch(location, {
        method: 'PUT',
        body: content,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(put.status).toBe(201);
    });
    afterAll(async () => {
      await registry2?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    /** Status, headers that must agree, and the parts (or the whole body) of one answer. */
    async function answer(res: Response): Promise<unknown> {
      const type = res.headers.get('content-type') ?? '';
      const common = {
        status: res.status,
        contentLength: res.headers.get('content-length'),
        contentRange: res.headers.get('content-range'),
      };
      if (res.status === 416) {
        // registry:2's 416 keeps the blob's size as Content-Length above a short text, then
        // closes the connection: its body cannot be read.
        await res.body?.cancel().catch(() => {});
        return common;
      }
      const body = Buffer.from(await res.arrayBuffer());
      if (!type.startsWith('multipart/byteranges')) return { ...common, type, body };
      return {
        ...common,
        type: type.replace(/boundary=[0-9a-f]{60}$/, 'boundary=…'),
        parts: parseByteranges(type, body),
      };
    }

    it.each([
      'bytes=0-1,5-6',
      'bytes=-3,0-0',
      'bytes=0-40000,30000-70000',
      'bytes=99990-,10-19,50000-50009',
      'bytes=0-1, ,5-6,0-1',
      'bytes=0-60000,50000-',
      'bytes=0-1,100000-200000',
      'bytes=100000-,200000-300000',
      'bytes=0-1,x',
      'bytes=5-2,0-1',
    ])('Range: %s → the same status, Content-Length and parts', async (range) => {
      const { app } = setup();
      expect(await pushBlob(app, 'lib/app', content)).toBe(digest);
      const berth = await answer(
        await app.request(`/v2/lib/app/blobs/${digest}`, { headers: { Range: range } }),
      );
      const reference = await answer(
        await fetch(`${registry2.url}/v2/lib/app/blobs/${digest}`, { headers: { Range: range } }),
      );
      const ref = reference as { status: number; contentLength: string | null; contentRange: string | null };
      if (ref.status === 416) {
        const ours = berth as typeof ref;
        expect(ours.status).toBe(416);
        // Berth always sends `bytes */size`; Go only when no range overlaps, not for a
        // malformed header. The bodies differ (Go's text, Berth's error envelope), and so do
        // their lengths (registry:2 even keeps the blob's size).
        expect(ours.contentRange).toBe(`bytes */${content.byteLength}`);
        if (ref.contentRange !== null) expect(ref.contentRange).toBe(ours.contentRange);
        expect(ref.contentLength).toBe(String(content.byteLength));
        return;
      }
      expect(berth).toEqual(reference);
    });

    it('HEAD with several ranges → the same status, Content-Type and Content-Length, no body', async () => {
      const { app } = setup();
      await pushBlob(app, 'lib/app', content);
      const range = { Range: 'bytes=0-1,5-6,99990-' };
      const ours = await app.request(`/v2/lib/app/blobs/${digest}`, { method: 'HEAD', headers: range });
      const theirs = await fetch(`${registry2.url}/v2/lib/app/blobs/${digest}`, {
        method: 'HEAD',
        headers: range,
      });
      const head = (res: Response) => ({
        status: res.status,
        type: res.headers.get('content-type')?.replace(/boundary=[0-9a-f]{60}$/, 'boundary=…'),
        length: res.headers.get('content-length'),
      });
      expect(head(ours)).toEqual(head(theirs));
      expect(head(ours).status).toBe(206);
      expect(await ours.text()).toBe('');
    });
  },
);

describe('DELETE blob', () => {
  it('→ 202, then 404 in that repository only', async () => {
    const { app, digest, url } = await withBlob();
    await pushBlob(app, 'lib/other', CONTENT);
    const res = await app.request(url, { method: 'DELETE' });
    expect(res.status).toBe(202);
    expect(res.headers.get('content-length')).toBe('0');
    await expectError(await app.request(url), 404, 'BLOB_UNKNOWN');
    expect((await app.request(`/v2/lib/other/blobs/${digest}`)).status).toBe(200);
  });

  it('unknown → 404 BLOB_UNKNOWN; malformed → 400 DIGEST_INVALID', async () => {
    const { app } = setup();
    await expectError(
      await app.request(`/v2/lib/app/blobs/${digestOf(new Uint8Array(1))}`, { method: 'DELETE' }),
      404,
      'BLOB_UNKNOWN',
    );
    await expectError(
      await app.request('/v2/lib/app/blobs/sha256:1', { method: 'DELETE' }),
      400,
      'DIGEST_INVALID',
    );
  });

  it('with deletion disabled → 405 UNSUPPORTED', async () => {
    const { app } = setup({ registry: { deleteEnabled: false } });
    const digest = await pushBlob(app, 'lib/app', CONTENT);
    await expectError(
      await app.request(`/v2/lib/app/blobs/${digest}`, { method: 'DELETE' }),
      405,
      'UNSUPPORTED',
    );
    expect((await app.request(`/v2/lib/app/blobs/${digest}`)).status).toBe(200);
  });

  it('PUT on a blob → 405 with Allow', async () => {
    const { app, url } = await withBlob();
    const res = await app.request(url, { method: 'PUT' });
    expect(res.headers.get('allow')).toBe('GET, HEAD, DELETE');
    await expectError(res, 405, 'UNSUPPORTED');
  });
});
