import { digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { describe, expect, it } from 'vitest';
import {
  type App,
  blob,
  expectError,
  pushBlob,
  pushManifest,
  pushOciImage,
  setup,
} from '../test-support/http.ts';

const encoder = new TextEncoder();

/** Pushes a Docker image (config + one layer) and returns its manifest digest and bytes. */
async function pushDockerImage(app: App, name: string, seed: string) {
  return pushOciImage(app, name, `img-${seed}`, { seed, layers: 1, mediaType: 'docker' });
}

describe('PUT manifest', () => {
  it('by tag → 201 with Location, Docker-Content-Digest, Content-Length 0', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const res = await app.request('/v2/lib/app/manifests/v1', {
      method: 'PUT',
      body: image.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`http://localhost/v2/lib/app/manifests/${image.digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(image.digest);
    expect(res.headers.get('content-length')).toBe('0');
    expect(res.headers.get('oci-subject')).toBeNull();
    expect(res.headers.get('oci-tag')).toBeNull();
  });

  it('by digest → 201; a digest that does not match the body → 400 DIGEST_INVALID', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const ok = await app.request(`/v2/lib/app/manifests/${image.digest}`, {
      method: 'PUT',
      body: image.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    expect(ok.status).toBe(201);
    expect(ok.headers.get('docker-content-digest')).toBe(image.digest);
    const wrong = await app.request(`/v2/lib/app/manifests/${digestOf(encoder.encode('other'))}`, {
      method: 'PUT',
      body: image.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    await expectError(wrong, 400, 'DIGEST_INVALID');
  });

  it('by digest with ?tag= (repeatable) → one OCI-Tag per tag, and the tags resolve', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'seed');
    const res = await app.request(`/v2/lib/app/manifests/${image.digest}?tag=v1&tag=latest`, {
      method: 'PUT',
      body: image.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const tags = (res.headers.get('oci-tag') ?? '').split(',').map((t) => t.trim());
    expect(tags.sort()).toEqual(['latest', 'v1']);
    for (const tag of ['v1', 'latest']) {
      const get = await app.request(`/v2/lib/app/manifests/${tag}`);
      expect(get.headers.get('docker-content-digest')).toBe(image.digest);
    }
  });

  it('with an invalid ?tag= → 400 TAG_INVALID', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'seed');
    const res = await app.request(`/v2/lib/app/manifests/${image.digest}?tag=-bad`, {
      method: 'PUT',
      body: image.bytes,
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    await expectError(res, 400, 'TAG_INVALID');
  });

  it('with an invalid tag reference → 400 TAG_INVALID; a malformed digest reference → 400 DIGEST_INVALID', async () => {
    const { app } = setup();
    const body = { method: 'PUT', body: '{}', headers: { 'Content-Type': MediaType.OciManifest } };
    await expectError(await app.request('/v2/a/manifests/.bad', body), 400, 'TAG_INVALID');
    await expectError(await app.request(`/v2/a/manifests/${'t'.repeat(129)}`, body), 400, 'TAG_INVALID');
    await expectError(
      await app.request('/v2/a/manifests/sha256:baddigeststring', body),
      400,
      'DIGEST_INVALID',
    );
  });

  it('with a subject → OCI-Subject, even when the subject does not exist yet', async () => {
    const { app } = setup();
    const empty = blob('{}');
    await pushBlob(app, 'lib/app', empty.bytes);
    const subject = digestOf(encoder.encode('not pushed'));
    const artifact = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: MediaType.OciEmpty, digest: empty.digest, size: 2 },
      layers: [{ mediaType: MediaType.OciEmpty, digest: empty.digest, size: 2 }],
      subject: { mediaType: MediaType.OciManifest, digest: subject, size: 123 },
    };
    const { response } = await pushManifest(app, 'lib/app', 'sbom', artifact);
    expect(response.headers.get('oci-subject')).toBe(subject);
  });

  it('referencing a blob that was not pushed → 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const { app } = setup();
    const missing = blob('missing layer');
    const config = blob('{"os":"linux"}');
    await pushBlob(app, 'lib/app', config.bytes);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.bytes.byteLength },
      layers: [
        { mediaType: MediaType.OciLayerTarGzip, digest: missing.digest, size: missing.bytes.byteLength },
      ],
    };
    const res = await app.request('/v2/lib/app/manifests/v1', {
      method: 'PUT',
      body: JSON.stringify(manifest),
      headers: { 'Content-Type': MediaType.OciManifest },
    });
    await expectError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it.each([
    ['not JSON', 'nope', MediaType.OciManifest],
    ['an unknown media type', '{"schemaVersion":2}', 'application/vnd.example.unknown+json'],
    ['a schema1 manifest', '{"schemaVersion":1}', MediaType.DockerSchema1SignedManifest],
  ])('%s → 400 MANIFEST_INVALID', async (_, body, type) => {
    const { app } = setup();
    const res = await app.request('/v2/a/manifests/v1', {
      method: 'PUT',
      body,
      headers: { 'Content-Type': type },
    });
    await expectError(res, 400, 'MANIFEST_INVALID');
  });

  it("without Content-Type, the body's mediaType decides", async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'seed');
    const res = await app.request('/v2/lib/app/manifests/untyped', { method: 'PUT', body: image.bytes });
    expect(res.status, await res.clone().text()).toBe(201);
    const get = await app.request('/v2/lib/app/manifests/untyped');
    expect(get.headers.get('content-type')).toBe(MediaType.OciManifest);
  });

  it('ignores Content-Type parameters and stores the media type without them', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'seed');
    const res = await app.request('/v2/lib/app/manifests/v2', {
      method: 'PUT',
      body: image.bytes,
      headers: { 'Content-Type': `${MediaType.OciManifest}; charset=utf-8` },
    });
    expect(res.status).toBe(201);
    const get = await app.request('/v2/lib/app/manifests/v2');
    expect(get.headers.get('content-type')).toBe(MediaType.OciManifest);
  });
});

describe('manifest size limit', () => {
  /** An OCI manifest of exactly `size` bytes (padded with an annotation). */
  function manifestOfSize(configDigest: string, size: number): Uint8Array {
    const base = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: 2 },
      layers: [],
      annotations: { pad: '' },
    };
    const overhead = encoder.encode(JSON.stringify(base)).byteLength;
    base.annotations.pad = 'x'.repeat(size - overhead);
    const bytes = encoder.encode(JSON.stringify(base));
    expect(bytes.byteLength).toBe(size);
    return bytes;
  }

  it('accepts exactly 4 MiB and answers 4 MiB + 1 with 413 MANIFEST_INVALID (declared or streamed)', async () => {
    const { app } = setup();
    const config = await pushBlob(app, 'big/app', '{}');
    const limit = 4 * 1024 * 1024;

    const exact = manifestOfSize(config, limit);
    const ok = await app.request('/v2/big/app/manifests/exact', {
      method: 'PUT',
      body: exact,
      headers: { 'Content-Type': MediaType.OciManifest, 'Content-Length': String(limit) },
    });
    expect(ok.status, await ok.clone().text()).toBe(201);
    const back = await app.request('/v2/big/app/manifests/exact');
    // (Buffer.equals: toEqual walks 4 Mi elements one by one.)
    expect(Buffer.from(await back.arrayBuffer()).equals(exact)).toBe(true);

    const over = manifestOfSize(config, limit + 1);
    const declared = await app.request('/v2/big/app/manifests/over', {
      method: 'PUT',
      body: over,
      headers: { 'Content-Type': MediaType.OciManifest, 'Content-Length': String(limit + 1) },
    });
    await expectError(declared, 413, 'MANIFEST_INVALID');

    // No Content-Length: reading stops once the limit is passed.
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = over.subarray(pulled, pulled + 65536);
        pulled += chunk.byteLength;
        if (chunk.byteLength === 0) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await app.request('/v2/big/app/manifests/over', {
      method: 'PUT',
      body: stream,
      headers: { 'Content-Type': MediaType.OciManifest },
      duplex: 'half',
    } as RequestInit);
    await expectError(streamed, 413, 'MANIFEST_INVALID');
    expect((await app.request('/v2/big/app/manifests/over')).status).toBe(404);
  });
});

describe('GET and HEAD manifest', () => {
  it('by tag and by digest: the exact bytes, with Content-Type, Content-Length, Docker-Content-Digest, ETag', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    for (const ref of ['v1', image.digest]) {
      const res = await app.request(`/v2/lib/app/manifests/${ref}`, {
        headers: { Accept: MediaType.OciManifest },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(MediaType.OciManifest);
      expect(res.headers.get('content-length')).toBe(String(image.bytes.byteLength));
      expect(res.headers.get('docker-content-digest')).toBe(image.digest);
      expect(res.headers.get('etag')).toBe(`"${image.digest}"`);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(image.bytes);

      const head = await app.request(`/v2/lib/app/manifests/${ref}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(image.bytes.byteLength));
      expect(head.headers.get('docker-content-digest')).toBe(image.digest);
      expect(head.headers.get('content-type')).toBe(MediaType.OciManifest);
      expect(await head.text()).toBe('');
    }
  });

  it.each([
    ['no Accept', undefined],
    ['a Docker-only Accept', MediaType.DockerManifest],
    ['*/*', '*/*'],
  ])('serves an OCI manifest with %s (the spec; registry:2 answers 404)', async (_, accept) => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const res = await app.request('/v2/lib/app/manifests/v1', { headers: accept ? { Accept: accept } : {} });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(MediaType.OciManifest);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(image.bytes);
  });

  it('If-None-Match (quoted, bare, weak, in a list, *) → 304; another tag → 200', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    for (const value of [
      `"${image.digest}"`,
      image.digest,
      `W/"${image.digest}"`,
      `"a", "${image.digest}"`,
      '*',
    ]) {
      const res = await app.request('/v2/lib/app/manifests/v1', { headers: { 'If-None-Match': value } });
      expect(res.status, value).toBe(304);
      expect(res.headers.get('etag')).toBe(`"${image.digest}"`);
      expect(await res.text()).toBe('');
    }
    const other = await app.request('/v2/lib/app/manifests/v1', {
      headers: { 'If-None-Match': '"sha256:0"' },
    });
    expect(other.status).toBe(200);
  });

  it('unknown tag or digest → 404 MANIFEST_UNKNOWN; invalid tag → 404 MANIFEST_UNKNOWN', async () => {
    const { app } = setup();
    await pushOciImage(app, 'lib/app', 'v1');
    await expectError(await app.request('/v2/lib/app/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
    const unknown = digestOf(encoder.encode('nothing'));
    await expectError(await app.request(`/v2/lib/app/manifests/${unknown}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await app.request('/v2/lib/app/manifests/-invalid'), 404, 'MANIFEST_UNKNOWN');
    const head = await app.request('/v2/lib/app/manifests/v2', { method: 'HEAD' });
    expect(head.status).toBe(404);
  });

  it.each([
    'sha256:baddigeststring',
    'sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
    'sha256:e3b0',
    'sha384:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'sha256%3Ae3b0',
    ':abc',
  ])('a malformed digest %s → 400 DIGEST_INVALID, never 500', async (ref) => {
    const { app } = setup();
    await expectError(await app.request(`/v2/lib/app/manifests/${ref}`), 400, 'DIGEST_INVALID');
    expect((await app.request(`/v2/lib/app/manifests/${ref}`, { method: 'HEAD' })).status).toBe(400);
  });

  describe('Docker manifest lists (registry:2 negotiation)', () => {
    async function pushList(app: App, platforms: [string, string][]) {
      const children = [];
      for (const [os, architecture] of platforms) {
        const image = await pushDockerImage(app, 'lib/multi', `${os}-${architecture}`);
        children.push({ image, os, architecture });
      }
      const list = {
        schemaVersion: 2,
        mediaType: MediaType.DockerManifestList,
        manifests: children.map(({ image, os, architecture }) => ({
          mediaType: MediaType.DockerManifest,
          digest: image.digest,
          size: image.bytes.byteLength,
          platform: { os, architecture },
        })),
      };
      const pushed = await pushManifest(app, 'lib/multi', 'latest', list);
      return { ...pushed, children };
    }

    it('by tag without the list type in Accept → the linux/amd64 child', async () => {
      const { app } = setup();
      const list = await pushList(app, [
        ['linux', 'arm64'],
        ['linux', 'amd64'],
      ]);
      const amd64 = list.children[1]!.image;
      for (const accept of [
        undefined,
        MediaType.DockerManifest,
        `${MediaType.OciManifest}, ${MediaType.OciIndex}`,
      ]) {
        const res = await app.request('/v2/lib/multi/manifests/latest', {
          headers: accept ? { Accept: accept } : {},
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('docker-content-digest')).toBe(amd64.digest);
        expect(res.headers.get('content-type')).toBe(MediaType.DockerManifest);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(amd64.bytes);
      }
    });

    it('by tag with the list type in Accept (any position, q ignored), or by digest → the list', async () => {
      const { app } = setup();
      const list = await pushList(app, [['linux', 'amd64']]);
      const accept = `${MediaType.DockerManifest}, ${MediaType.DockerManifestList};q=0.5`;
      const byTag = await app.request('/v2/lib/multi/manifests/latest', { headers: { Accept: accept } });
      expect(byTag.headers.get('docker-content-digest')).toBe(list.digest);
      expect(new Uint8Array(await byTag.arrayBuffer())).toEqual(list.bytes);
      const byDigest = await app.request(`/v2/lib/multi/manifests/${list.digest}`);
      expect(byDigest.headers.get('content-type')).toBe(MediaType.DockerManifestList);
      expect(byDigest.headers.get('docker-content-digest')).toBe(list.digest);
    });

    it('by tag without the list type and without a linux/amd64 child → 404 MANIFEST_UNKNOWN', async () => {
      const { app } = setup();
      await pushList(app, [['linux', 'arm64']]);
      await expectError(await app.request('/v2/lib/multi/manifests/latest'), 404, 'MANIFEST_UNKNOWN');
    });
  });

  it('serves an OCI index by tag as is, whatever Accept says', async () => {
    const { app } = setup();
    const child = await pushOciImage(app, 'lib/oci', 'child');
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          mediaType: MediaType.OciManifest,
          digest: child.digest,
          size: child.bytes.byteLength,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    const pushed = await pushManifest(app, 'lib/oci', 'latest', index);
    const res = await app.request('/v2/lib/oci/manifests/latest', {
      headers: { Accept: MediaType.DockerManifest },
    });
    expect(res.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(res.headers.get('content-type')).toBe(MediaType.OciIndex);
  });
});

describe('DELETE manifest', () => {
  it('by digest → 202; the manifest and its tags are gone', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const res = await app.request(`/v2/lib/app/manifests/${image.digest}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    await expectError(await app.request(`/v2/lib/app/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await app.request('/v2/lib/app/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it('by tag → 202; the tag is gone, the manifest stays', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const res = await app.request('/v2/lib/app/manifests/v1', { method: 'DELETE' });
    expect(res.status).toBe(202);
    await expectError(await app.request('/v2/lib/app/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    expect((await app.request(`/v2/lib/app/manifests/${image.digest}`)).status).toBe(200);
  });

  it('unknown → 404 MANIFEST_UNKNOWN; malformed digest → 400 DIGEST_INVALID', async () => {
    const { app } = setup();
    await pushOciImage(app, 'lib/app', 'v1');
    await expectError(
      await app.request('/v2/lib/app/manifests/nope', { method: 'DELETE' }),
      404,
      'MANIFEST_UNKNOWN',
    );
    const unknown = digestOf(encoder.encode('x'));
    await expectError(
      await app.request(`/v2/lib/app/manifests/${unknown}`, { method: 'DELETE' }),
      404,
      'MANIFEST_UNKNOWN',
    );
    await expectError(
      await app.request('/v2/lib/app/manifests/sha256:x', { method: 'DELETE' }),
      400,
      'DIGEST_INVALID',
    );
  });

  it('with deletion disabled → 405 UNSUPPORTED, by digest and by tag', async () => {
    const { app } = setup({ registry: { deleteEnabled: false } });
    const image = await pushOciImage(app, 'lib/app', 'v1');
    for (const ref of [image.digest, 'v1']) {
      await expectError(
        await app.request(`/v2/lib/app/manifests/${ref}`, { method: 'DELETE' }),
        405,
        'UNSUPPORTED',
      );
    }
    expect((await app.request('/v2/lib/app/manifests/v1')).status).toBe(200);
  });

  it('POST on a manifest → 405 with Allow', async () => {
    const { app } = setup();
    const res = await app.request('/v2/lib/app/manifests/v1', { method: 'POST' });
    expect(res.headers.get('allow')).toBe('GET, HEAD, PUT, DELETE');
    await expectError(res, 405, 'UNSUPPORTED');
  });
});
