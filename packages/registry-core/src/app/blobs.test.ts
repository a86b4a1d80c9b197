import { digestOf } from '@berth/digest';
import { createInMemoryDriver, type StorageDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
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

  it.each(['bytes=20-', 'bytes=25-30', 'bytes=-0', 'bytes=5-2', 'bytes=x-y'])(
    'Range: %s → 416 RANGE_INVALID with Content-Range: bytes */size',
    async (range) => {
      const { app, url } = await withBlob();
      const res = await app.request(url, { headers: { Range: range } });
      expect(res.headers.get('content-range')).toBe('bytes */20');
      await expectError(res, 416, 'RANGE_INVALID');
    },
  );

  it('several ranges, another unit, or a stale If-Range → 200 with the whole blob', async () => {
    const { app, digest, url } = await withBlob();
    for (const headers of [
      { Range: 'bytes=0-1,5-6' },
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
