import { digestOf } from '@berth/digest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { pathFor } from '../paths.ts';
import {
  type App,
  blob,
  expectError,
  pathOf,
  pushBlob,
  SECRET,
  setup,
  startUpload,
  withQuery,
} from '../test-support/http.ts';
import { packUploadState, unpackUploadState } from '../upload-state.ts';
import { createRegistryApp } from './create-app.ts';

const NAME = 'lib/app';
const encoder = new TextEncoder();

async function patch(
  app: App,
  location: string,
  chunk: string | Uint8Array,
  headers: Record<string, string> = {},
) {
  return app.request(location, {
    method: 'PATCH',
    body: typeof chunk === 'string' ? encoder.encode(chunk) : chunk,
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
  });
}

async function status(app: App, location: string) {
  return app.request(location);
}

async function getBlob(app: App, digest: string, name = NAME): Promise<string> {
  const res = await app.request(`/v2/${name}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('POST /blobs/uploads/', () => {
  it('→ 202 with Location (+ _state), Range 0-0, Docker-Upload-UUID, Content-Length 0, OCI-Chunk-Min-Length', async () => {
    const { app } = setup();
    const res = await app.request(`/v2/${NAME}/blobs/uploads/`, { method: 'POST' });
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    const uuid = res.headers.get('docker-upload-uuid')!;
    expect(uuid).toMatch(/^[A-Za-z0-9_.=-]+$/);
    expect(location).toMatch(
      new RegExp(`^http://localhost/v2/${NAME}/blobs/uploads/${uuid}\\?_state=[A-Za-z0-9_%-]+$`),
    );
    expect(res.headers.get('range')).toBe('0-0');
    expect(res.headers.get('content-length')).toBe('0');
    expect(res.headers.get('oci-chunk-min-length')).toBe(String(5 * 1024 * 1024));
    // The token is registry:2's: signed with http.secret, naming the repository, uuid and offset.
    const state = unpackUploadState(SECRET, new URL(location).searchParams.get('_state')!);
    expect(state).toMatchObject({ name: NAME, uuid, offset: 0 });
  });

  it('chunkMinLength: 0 omits OCI-Chunk-Min-Length; another value is advertised', async () => {
    expect(
      (
        await setup({ app: { chunkMinLength: 0 } }).app.request(`/v2/a/blobs/uploads/`, { method: 'POST' })
      ).headers.has('oci-chunk-min-length'),
    ).toBe(false);
    const res = await setup({ app: { chunkMinLength: 1024 } }).app.request(`/v2/a/blobs/uploads/`, {
      method: 'POST',
    });
    expect(res.headers.get('oci-chunk-min-length')).toBe('1024');
  });

  it('without the trailing slash works too', async () => {
    const { app } = setup();
    expect((await app.request(`/v2/${NAME}/blobs/uploads`, { method: 'POST' })).status).toBe(202);
  });

  it('GET on /blobs/uploads/ → 405 with Allow: POST', async () => {
    const { app } = setup();
    const res = await app.request(`/v2/${NAME}/blobs/uploads/`);
    expect(res.headers.get('allow')).toBe('POST');
    await expectError(res, 405, 'UNSUPPORTED');
  });

  describe('single POST (?digest= with the blob as body)', () => {
    it('→ 201 with the blob location and Docker-Content-Digest', async () => {
      const { app } = setup();
      const { bytes, digest } = blob('single post');
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        body: bytes,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
      });
      expect(res.status, await res.clone().text()).toBe(201);
      expect(res.headers.get('location')).toBe(`http://localhost/v2/${NAME}/blobs/${digest}`);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(await getBlob(app, digest)).toBe('single post');
    });

    it('an empty blob with its digest → 201', async () => {
      const { app } = setup();
      const digest = digestOf(new Uint8Array(0));
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'Content-Length': '0' },
      });
      expect(res.status).toBe(201);
      expect(await getBlob(app, digest)).toBe('');
    });

    it('a mismatching digest → 400 DIGEST_INVALID, nothing stored', async () => {
      const { app } = setup();
      const digest = blob('something else').digest;
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        body: 'actual',
      });
      await expectError(res, 400, 'DIGEST_INVALID');
      await expectError(await app.request(`/v2/${NAME}/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    });

    it('?digest= without a body → a normal 202 session (registry:2 ignores the digest)', async () => {
      const { app } = setup();
      const { bytes, digest } = blob('later');
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?digest=${digest}`, { method: 'POST' });
      expect(res.status).toBe(202);
      const put = await app.request(withQuery(pathOf(res.headers.get('location')), `digest=${digest}`), {
        method: 'PUT',
        body: bytes,
      });
      expect(put.status).toBe(201);
    });

    it('a malformed ?digest= → 400 DIGEST_INVALID', async () => {
      const { app } = setup();
      await expectError(
        await app.request(`/v2/${NAME}/blobs/uploads/?digest=sha256:nope`, { method: 'POST', body: 'x' }),
        400,
        'DIGEST_INVALID',
      );
    });
  });

  describe('cross-repository mount (?mount=&from=)', () => {
    it('→ 201 when the blob is linked in from', async () => {
      const { app } = setup();
      const digest = await pushBlob(app, 'lib/source', 'mount me');
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?mount=${digest}&from=lib/source`, {
        method: 'POST',
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`http://localhost/v2/${NAME}/blobs/${digest}`);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(await getBlob(app, digest)).toBe('mount me');
    });

    it.each([
      ['an unknown blob', (_: string) => `mount=${blob('unknown').digest}&from=lib/source`],
      ['a repository that does not link it', (d: string) => `mount=${d}&from=lib/elsewhere`],
      ['an invalid from', (d: string) => `mount=${d}&from=Not..Valid`],
      ['no from', (d: string) => `mount=${d}`],
    ])('%s → a normal 202 session', async (_, query) => {
      const { app } = setup();
      const digest = await pushBlob(app, 'lib/source', 'mount me');
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?${query(digest)}`, { method: 'POST' });
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toContain(`/v2/${NAME}/blobs/uploads/`);
    });

    it('a malformed mount digest → 400 DIGEST_INVALID', async () => {
      const { app } = setup();
      await expectError(
        await app.request(`/v2/${NAME}/blobs/uploads/?mount=sha256:zz&from=lib/source`, { method: 'POST' }),
        400,
        'DIGEST_INVALID',
      );
    });
  });

  describe('?digest-algorithm=', () => {
    it('sha512 → the session hashes with sha512 and completes with a sha512 digest', async () => {
      const { app } = setup();
      const location = await startUpload(app, NAME, '?digest-algorithm=sha512');
      const { bytes, digest } = blob('five hundred and twelve', 'sha512');
      const res = await patch(app, location, bytes);
      expect(res.status).toBe(202);
      const put = await app.request(withQuery(pathOf(res.headers.get('location')), `digest=${digest}`), {
        method: 'PUT',
      });
      expect(put.status, await put.clone().text()).toBe(201);
      expect(put.headers.get('docker-content-digest')).toBe(digest);
      expect(put.headers.get('location')).toBe(`http://localhost/v2/${NAME}/blobs/${digest}`);
      expect(await getBlob(app, digest)).toBe('five hundred and twelve');
    });

    it('a single POST with a sha512 digest hashes with sha512', async () => {
      const { app } = setup();
      const { bytes, digest } = blob('single sha512', 'sha512');
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        body: bytes,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
    });

    it('sha256 is accepted; anything else → 400 DIGEST_INVALID', async () => {
      const { app } = setup();
      expect(
        (await app.request(`/v2/${NAME}/blobs/uploads/?digest-algorithm=sha256`, { method: 'POST' })).status,
      ).toBe(202);
      for (const algorithm of ['md5', 'SHA256', 'sha384', '']) {
        await expectError(
          await app.request(`/v2/${NAME}/blobs/uploads/?digest-algorithm=${algorithm}`, { method: 'POST' }),
          400,
          'DIGEST_INVALID',
        );
      }
    });

    it('a single POST whose digest contradicts digest-algorithm → 400 DIGEST_INVALID', async () => {
      const { app } = setup();
      const { bytes, digest } = blob('x');
      const res = await app.request(`/v2/${NAME}/blobs/uploads/?digest-algorithm=sha512&digest=${digest}`, {
        method: 'POST',
        body: bytes,
      });
      await expectError(res, 400, 'DIGEST_INVALID');
    });
  });
});

describe('monolithic and chunked uploads', () => {
  it('POST then PUT with the whole blob → 201 with the blob location and digest', async () => {
    const { app } = setup();
    const { bytes, digest } = blob('monolithic');
    const location = await startUpload(app, NAME);
    const res = await app.request(withQuery(location, `digest=${digest}`), {
      method: 'PUT',
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`http://localhost/v2/${NAME}/blobs/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('content-length')).toBe('0');
    expect(await getBlob(app, digest)).toBe('monolithic');
    // The upload is gone.
    await expectError(await status(app, location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('chunks with Content-Range → 202 each with Range 0-<end> and a fresh Location; GET → 204; PUT → 201', async () => {
    const { app } = setup();
    const { digest } = blob('first-second-third');
    let location = await startUpload(app, NAME);
    let offset = 0;
    for (const chunk of ['first-', 'second-', 'third']) {
      const res = await patch(app, location, chunk, {
        'Content-Range': `${offset}-${offset + chunk.length - 1}`,
        'Content-Length': String(chunk.length),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      offset += chunk.length;
      expect(res.headers.get('range')).toBe(`0-${offset - 1}`);
      expect(res.headers.get('content-length')).toBe('0');
      expect(res.headers.get('docker-upload-uuid')).toBeTruthy();
      expect(res.headers.get('oci-chunk-min-length')).toBeTruthy();
      location = pathOf(res.headers.get('location'));
    }
    const st = await status(app, location);
    expect(st.status).toBe(204);
    expect(st.headers.get('range')).toBe(`0-${offset - 1}`);
    expect(st.headers.get('docker-upload-uuid')).toBeTruthy();
    expect(st.headers.get('location')).toContain('_state=');
    const head = await app.request(location, { method: 'HEAD' });
    expect(head.status).toBe(204);
    expect(head.headers.get('range')).toBe(`0-${offset - 1}`);

    const put = await app.request(withQuery(location, `digest=${digest}`), { method: 'PUT' });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(await getBlob(app, digest)).toBe('first-second-third');
  });

  it('a streamed PATCH without Content-Range (docker) then an empty PUT', async () => {
    const { app } = setup();
    const { digest } = blob('streamed body');
    const location = await startUpload(app, NAME);
    // No Content-Range, no Content-Type (a string body would get text/plain from fetch).
    const res = await app.request(location, { method: 'PATCH', body: encoder.encode('streamed body') });
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe('0-12');
    const put = await app.request(withQuery(pathOf(res.headers.get('location')), `digest=${digest}`), {
      method: 'PUT',
      headers: { 'Content-Length': '0' },
    });
    expect(put.status).toBe(201);
  });

  it('PUT with the final chunk and its Content-Range', async () => {
    const { app } = setup();
    const { digest } = blob('head+tail');
    const location = await startUpload(app, NAME);
    const first = await patch(app, location, 'head+', { 'Content-Range': '0-4' });
    const put = await app.request(withQuery(pathOf(first.headers.get('location')), `digest=${digest}`), {
      method: 'PUT',
      body: 'tail',
      headers: { 'Content-Range': '5-8', 'Content-Length': '4', 'Content-Type': 'application/octet-stream' },
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(await getBlob(app, digest)).toBe('head+tail');
  });

  it('an out-of-order chunk → 416 RANGE_INVALID; the upload survives and continues', async () => {
    const { app } = setup();
    const { digest } = blob('abcdef');
    const location = pathOf(
      (await patch(app, await startUpload(app, NAME), 'abc', { 'Content-Range': '0-2' })).headers.get(
        'location',
      ),
    );
    for (const range of ['4-6', '0-2', '2-4']) {
      const res = await patch(app, location, 'def', { 'Content-Range': range });
      expect(res.headers.get('range'), range).toBe('0-2');
      await expectError(res, 416, 'RANGE_INVALID');
    }
    const st = await status(app, location);
    expect(st.status).toBe(204);
    expect(st.headers.get('range')).toBe('0-2');
    const ok = await patch(app, location, 'def', { 'Content-Range': '3-5' });
    expect(ok.status).toBe(202);
    const put = await app.request(withQuery(pathOf(ok.headers.get('location')), `digest=${digest}`), {
      method: 'PUT',
    });
    expect(put.status).toBe(201);
    expect(await getBlob(app, digest)).toBe('abcdef');
  });

  it('a malformed Content-Range → 416 RANGE_INVALID', async () => {
    const { app } = setup();
    const location = await startUpload(app, NAME);
    await expectError(
      await patch(app, location, 'abc', { 'Content-Range': 'bytes=zero-two' }),
      416,
      'RANGE_INVALID',
    );
    await expectError(await patch(app, location, 'abc', { 'Content-Range': '2-0' }), 416, 'RANGE_INVALID');
  });

  it('Content-Length that does not match Content-Range → 400 SIZE_INVALID, nothing appended', async () => {
    const { app } = setup();
    const location = await startUpload(app, NAME);
    const res = await patch(app, location, 'abc', { 'Content-Range': '0-2', 'Content-Length': '4' });
    await expectError(res, 400, 'SIZE_INVALID');
    expect((await status(app, location)).headers.get('range')).toBe('0-0');
    expect((await patch(app, location, 'abc', { 'Content-Range': '0-2' })).status).toBe(202);
  });

  it('replaying a stale location → 416 RANGE_INVALID (bytes are never appended twice); GET on it recovers', async () => {
    const { app } = setup();
    const { digest } = blob('onceonly');
    const first = await startUpload(app, NAME);
    const after = await patch(app, first, 'once');
    expect(after.status).toBe(202);
    const replay = await patch(app, first, 'once');
    await expectError(replay, 416, 'RANGE_INVALID');
    // The spec's recovery: GET the location (any earlier one) for the current offset.
    const st = await status(app, first);
    expect(st.status).toBe(204);
    expect(st.headers.get('range')).toBe('0-3');
    const next = await patch(app, pathOf(st.headers.get('location')), 'only');
    const put = await app.request(withQuery(pathOf(next.headers.get('location')), `digest=${digest}`), {
      method: 'PUT',
    });
    expect(put.status).toBe(201);
    expect(await getBlob(app, digest)).toBe('onceonly');
  });

  it('a PATCH Content-Type other than application/octet-stream → 415 BLOB_UPLOAD_INVALID', async () => {
    const { app } = setup();
    const location = await startUpload(app, NAME);
    const res = await patch(app, location, 'x', { 'Content-Type': 'application/json' });
    await expectError(res, 415, 'BLOB_UPLOAD_INVALID');
    expect(
      (await patch(app, location, 'x', { 'Content-Type': 'application/octet-stream; charset=binary' }))
        .status,
    ).toBe(202);
  });
});

describe('PUT digest errors', () => {
  it('missing or malformed digest → 400 DIGEST_INVALID; the upload stays', async () => {
    const { app } = setup();
    const { digest } = blob('keep');
    const location = pathOf((await patch(app, await startUpload(app, NAME), 'keep')).headers.get('location'));
    await expectError(await app.request(location, { method: 'PUT' }), 400, 'DIGEST_INVALID');
    await expectError(
      await app.request(withQuery(location, 'digest='), { method: 'PUT' }),
      400,
      'DIGEST_INVALID',
    );
    await expectError(
      await app.request(withQuery(location, 'digest=sha256:1'), { method: 'PUT' }),
      400,
      'DIGEST_INVALID',
    );
    const ok = await app.request(withQuery(location, `digest=${digest}`), { method: 'PUT' });
    expect(ok.status).toBe(201);
  });

  it('a mismatching digest → 400 DIGEST_INVALID; the upload stays and a retry with the right digest succeeds', async () => {
    const { app } = setup();
    const { digest } = blob('payload');
    const location = pathOf(
      (await patch(app, await startUpload(app, NAME), 'payload')).headers.get('location'),
    );
    const wrong = blob('other').digest;
    await expectError(
      await app.request(withQuery(location, `digest=${wrong}`), { method: 'PUT' }),
      400,
      'DIGEST_INVALID',
    );
    await expectError(await app.request(`/v2/${NAME}/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
    expect((await status(app, location)).headers.get('range')).toBe('0-6');
    const ok = await app.request(withQuery(location, `digest=${digest}`), { method: 'PUT' });
    expect(ok.status).toBe(201);
    expect(await getBlob(app, digest)).toBe('payload');
  });

  it('a monolithic PUT with a mismatching digest leaves the session empty, and nothing at the blob path; the same PUT with the right digest works', async () => {
    const { app, driver } = setup();
    const { bytes, digest } = blob('mono');
    const wrongDigest = blob('x').digest;
    const location = await startUpload(app, NAME);
    const wrong = await app.request(withQuery(location, `digest=${wrongDigest}`), {
      method: 'PUT',
      body: bytes,
    });
    await expectError(wrong, 400, 'DIGEST_INVALID');
    const st = await status(app, location);
    expect(st.headers.get('range')).toBe('0-0');
    for (const d of [digest, wrongDigest]) {
      const [algorithm, encoded] = d.split(':') as ['sha256', string];
      await expect(driver.stat(pathFor({ kind: 'blobData', algorithm, encoded }))).rejects.toMatchObject({
        code: 'PATH_NOT_FOUND',
      });
    }
    const ok = await app.request(withQuery(location, `digest=${digest}`), { method: 'PUT', body: bytes });
    expect(ok.status).toBe(201);
    const pulled = await app.request(`/v2/${NAME}/blobs/${digest}`);
    expect(new Uint8Array(await pulled.arrayBuffer())).toEqual(bytes);
  });
});

describe('DELETE upload', () => {
  it('→ 204 with Docker-Upload-UUID; the upload is then unknown', async () => {
    const { app } = setup();
    const location = pathOf(
      (await patch(app, await startUpload(app, NAME), 'partial')).headers.get('location'),
    );
    const res = await app.request(location, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.headers.get('docker-upload-uuid')).toBeTruthy();
    await expectError(await status(app, location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patch(app, location, 'x'), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('works with a stale location (an earlier offset); HEAD on it reports the progress', async () => {
    const { app } = setup();
    const first = await startUpload(app, NAME);
    expect((await patch(app, first, 'partial')).status).toBe(202);
    const head = await app.request(first, { method: 'HEAD' });
    expect(head.status).toBe(204);
    expect(head.headers.get('range')).toBe('0-6');
    // a final PUT on the stale location is refused like a PATCH, with the real range
    const put = await app.request(withQuery(first, `digest=${blob('partial').digest}`), { method: 'PUT' });
    await expectError(put, 416, 'RANGE_INVALID');
    expect(put.headers.get('range')).toBe('0-6');
    const res = await app.request(first, { method: 'DELETE' });
    expect(res.status).toBe(204);
    await expectError(await status(app, first), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('upload state (_state)', () => {
  async function sessionWithData() {
    const t = setup();
    const location = pathOf(
      (await patch(t.app, await startUpload(t.app, NAME), 'data')).headers.get('location'),
    );
    const url = new URL(location, 'http://localhost');
    const uuid = url.pathname.split('/').pop()!;
    const state = unpackUploadState(SECRET, url.searchParams.get('_state')!);
    return { ...t, location, uuid, state, path: url.pathname };
  }

  it('a tampered token → 404 BLOB_UPLOAD_INVALID, for every method', async () => {
    const { app, location } = await sessionWithData();
    const tampered = location.replace(/_state=(.)/, (_, c: string) => `_state=${c === 'A' ? 'B' : 'A'}`);
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
      await expectError(await app.request(tampered, { method }), 404, 'BLOB_UPLOAD_INVALID');
    }
  });

  it('a token signed with another secret → 404 BLOB_UPLOAD_INVALID', async () => {
    const { app, path, state } = await sessionWithData();
    const forged = packUploadState('other-secret', state);
    await expectError(
      await app.request(`${path}?_state=${encodeURIComponent(forged)}`),
      404,
      'BLOB_UPLOAD_INVALID',
    );
  });

  it('a token for another repository or another upload → 404 BLOB_UPLOAD_INVALID', async () => {
    const { app, path, state, uuid } = await sessionWithData();
    const otherRepo = packUploadState(SECRET, { ...state, name: 'lib/other' });
    await expectError(
      await app.request(`${path}?_state=${encodeURIComponent(otherRepo)}`),
      404,
      'BLOB_UPLOAD_INVALID',
    );
    const otherUuid = packUploadState(SECRET, { ...state, uuid: `${uuid}0` });
    await expectError(
      await app.request(`${path}?_state=${encodeURIComponent(otherUuid)}`),
      404,
      'BLOB_UPLOAD_INVALID',
    );
    // The right token on another repository's path.
    const token = packUploadState(SECRET, state);
    await expectError(
      await app.request(`/v2/lib/other/blobs/uploads/${uuid}?_state=${encodeURIComponent(token)}`),
      404,
      'BLOB_UPLOAD_INVALID',
    );
  });

  it('a missing _state → 404 BLOB_UPLOAD_INVALID (registry:2)', async () => {
    const { app, path } = await sessionWithData();
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
      await expectError(await app.request(path, { method }), 404, 'BLOB_UPLOAD_INVALID');
    }
  });

  it('a valid token for an upload that does not exist → 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const { app } = setup();
    const uuid = '6f9619ff-8b86-d011-b42d-00c04fc964ff';
    const token = packUploadState(SECRET, { name: NAME, uuid, offset: 0, startedAt: new Date() });
    const location = `/v2/${NAME}/blobs/uploads/${uuid}?_state=${encodeURIComponent(token)}`;
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE']) {
      await expectError(await app.request(location, { method }), 404, 'BLOB_UPLOAD_UNKNOWN');
    }
  });

  it('an upload id with characters outside [A-Za-z0-9_.=-] → 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const { app } = setup();
    await expectError(
      await app.request(`/v2/${NAME}/blobs/uploads/a%20b?_state=x`),
      404,
      'BLOB_UPLOAD_UNKNOWN',
    );
  });
});

describe('stateless serving', () => {
  it('an upload started on app A continues on app B sharing the driver and secret, and completes there', async () => {
    const driver = createInMemoryDriver();
    const a = setup({ driver });
    const b = setup({ driver });
    const { digest } = blob('replica A then replica B');
    const location = await startUpload(a.app, NAME);
    const p1 = await patch(b.app, location, 'replica A ', { 'Content-Range': '0-9' });
    expect(p1.status, await p1.clone().text()).toBe(202);
    const p2 = await patch(a.app, pathOf(p1.headers.get('location')), 'then replica B', {
      'Content-Range': '10-23',
    });
    expect(p2.status).toBe(202);
    const put = await b.app.request(withQuery(pathOf(p2.headers.get('location')), `digest=${digest}`), {
      method: 'PUT',
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(await getBlob(a.app, digest)).toBe('replica A then replica B');
  });

  it('an upload survives a restart (a new registry and app over the same storage)', async () => {
    const driver = createInMemoryDriver();
    const before = setup({ driver });
    const { digest } = blob('before restart, after restart');
    const location = pathOf(
      (await patch(before.app, await startUpload(before.app, NAME), 'before restart, ')).headers.get(
        'location',
      ),
    );
    const after = setup({ driver });
    const st = await status(after.app, location);
    expect(st.status).toBe(204);
    expect(st.headers.get('range')).toBe('0-15');
    const next = await patch(after.app, pathOf(st.headers.get('location')), 'after restart');
    const put = await after.app.request(withQuery(pathOf(next.headers.get('location')), `digest=${digest}`), {
      method: 'PUT',
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(await getBlob(after.app, digest)).toBe('before restart, after restart');
  });

  it('a replica with another secret refuses the location', async () => {
    const driver = createInMemoryDriver();
    const a = setup({ driver });
    const location = await startUpload(a.app, NAME);
    const other = createRegistryApp({ registry: a.registry, secret: 'not-the-same' });
    await expectError(await other.request(location), 404, 'BLOB_UPLOAD_INVALID');
  });

  it('a blob pushed on A is readable on B', async () => {
    const driver = createInMemoryDriver();
    const digest = await pushBlob(setup({ driver }).app, NAME, 'shared');
    expect(await getBlob(setup({ driver }).app, digest)).toBe('shared');
  });
});
