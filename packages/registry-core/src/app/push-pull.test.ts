/**
 * A whole client session, byte-exact: push a multi-platform OCI image (layers chunked, monolithic
 * and single-POST, one mounted from another repository), its index, a signature referring to the
 * index, then pull everything back as a client would.
 */
import { type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { describe, expect, it } from 'vitest';
import { type App, json, pathOf, pushBlob, setup, startUpload, withQuery } from '../test-support/http.ts';

const NAME = 'acme/web';
const encoder = new TextEncoder();

function randomBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function pushChunked(app: App, bytes: Uint8Array, chunk: number): Promise<Digest> {
  const digest = digestOf(bytes);
  let location = await startUpload(app, NAME);
  for (let offset = 0; offset < bytes.byteLength; offset += chunk) {
    const part = bytes.subarray(offset, offset + chunk);
    const res = await app.request(location, {
      method: 'PATCH',
      body: part,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `${offset}-${offset + part.byteLength - 1}`,
        'Content-Length': String(part.byteLength),
      },
    });
    expect(res.status).toBe(202);
    location = pathOf(res.headers.get('location'));
  }
  const put = await app.request(withQuery(location, `digest=${digest}`), { method: 'PUT' });
  expect(put.status).toBe(201);
  return digest;
}

async function pushSinglePost(app: App, bytes: Uint8Array): Promise<Digest> {
  const digest = digestOf(bytes);
  const res = await app.request(`/v2/${NAME}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: bytes,
  });
  expect(res.status).toBe(201);
  return digest;
}

async function putManifest(app: App, reference: string, body: Uint8Array, type: string) {
  const res = await app.request(`/v2/${NAME}/manifests/${reference}`, {
    method: 'PUT',
    body,
    headers: { 'Content-Type': type },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res;
}

describe('push and pull of a multi-platform OCI image with a referrer', () => {
  it('round-trips every byte', async () => {
    const { app } = setup();
    const blobs = new Map<Digest, Uint8Array>();
    const manifests = new Map<Digest, { bytes: Uint8Array; type: string }>();

    // A base layer that already lives in another repository: mounted, not uploaded.
    const base = randomBytes(300_000, 1);
    const baseDigest = await pushBlob(app, 'acme/base', base);
    const mount = await app.request(`/v2/${NAME}/blobs/uploads/?mount=${baseDigest}&from=acme/base`, {
      method: 'POST',
    });
    expect(mount.status).toBe(201);
    blobs.set(baseDigest, base);

    const platforms = [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ];
    const children = [];
    for (const [i, platform] of platforms.entries()) {
      const config = encoder.encode(JSON.stringify({ ...platform, rootfs: { type: 'layers' }, i }));
      const app1 = randomBytes(1_000_000 + i, 10 + i);
      const app2 = randomBytes(70_000 + i, 20 + i);
      const configDigest = await pushSinglePost(app, config);
      const app1Digest = await pushChunked(app, app1, 256 * 1024);
      const app2Digest = await pushBlob(app, NAME, app2);
      blobs.set(configDigest, config).set(app1Digest, app1).set(app2Digest, app2);
      const manifest = encoder.encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.byteLength },
          layers: [
            { mediaType: MediaType.OciLayerTarGzip, digest: baseDigest, size: base.byteLength },
            { mediaType: MediaType.OciLayerTarGzip, digest: app1Digest, size: app1.byteLength },
            { mediaType: MediaType.OciLayerTar, digest: app2Digest, size: app2.byteLength },
          ],
        }),
      );
      const digest = digestOf(manifest);
      const res = await putManifest(app, digest, manifest, MediaType.OciManifest);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      manifests.set(digest, { bytes: manifest, type: MediaType.OciManifest });
      children.push({ mediaType: MediaType.OciManifest, digest, size: manifest.byteLength, platform });
    }

    // The index, pretty-printed: bytes must come back exactly as pushed, whitespace included.
    const index = encoder.encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: children }, null, 2),
    );
    const indexDigest = digestOf(index);
    const pushed = await putManifest(app, `${indexDigest}?tag=latest&tag=1.0`, index, MediaType.OciIndex);
    expect(pushed.headers.get('oci-tag')).toBeTruthy();
    manifests.set(indexDigest, { bytes: index, type: MediaType.OciIndex });

    // A signature referring to the index.
    const sigPayload = encoder.encode('signature bytes');
    const sigDigest = await pushBlob(app, NAME, sigPayload);
    const empty = encoder.encode('{}');
    const emptyDigest = await pushBlob(app, NAME, empty);
    blobs.set(sigDigest, sigPayload).set(emptyDigest, empty);
    const signature = encoder.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        config: { mediaType: MediaType.OciEmpty, digest: emptyDigest, size: 2 },
        layers: [
          {
            mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
            digest: sigDigest,
            size: sigPayload.byteLength,
          },
        ],
        subject: { mediaType: MediaType.OciIndex, digest: indexDigest, size: index.byteLength },
        annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ' },
      }),
    );
    const sigManifestDigest = digestOf(signature);
    const sigRes = await putManifest(app, sigManifestDigest, signature, MediaType.OciManifest);
    expect(sigRes.headers.get('oci-subject')).toBe(indexDigest);
    manifests.set(sigManifestDigest, { bytes: signature, type: MediaType.OciManifest });

    // ---- Pull, as a client: the tag, then the platform child, then its blobs.
    const accept = [MediaType.OciIndex, MediaType.OciManifest].join(', ');
    const top = await app.request(`/v2/${NAME}/manifests/latest`, { headers: { Accept: accept } });
    expect(top.headers.get('docker-content-digest')).toBe(indexDigest);
    expect(top.headers.get('content-type')).toBe(MediaType.OciIndex);
    expect(new Uint8Array(await top.arrayBuffer())).toEqual(index);
    expect((await app.request(`/v2/${NAME}/manifests/1.0`)).headers.get('docker-content-digest')).toBe(
      indexDigest,
    );

    for (const [digest, { bytes, type }] of manifests) {
      const res = await app.request(`/v2/${NAME}/manifests/${digest}`, { headers: { Accept: accept } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body).toEqual(bytes);
      expect(digestOf(body)).toBe(digest);
    }
    for (const [digest, bytes] of blobs) {
      const head = await app.request(`/v2/${NAME}/blobs/${digest}`, { method: 'HEAD' });
      expect(head.headers.get('content-length')).toBe(String(bytes.byteLength));
      const res = await app.request(`/v2/${NAME}/blobs/${digest}`);
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body.byteLength).toBe(bytes.byteLength);
      expect(digestOf(body)).toBe(digest);
    }
    // A resumed download: the second half by Range, joined with the first.
    const big = [...blobs].find(([, b]) => b.byteLength > 1_000_000)!;
    const half = Math.floor(big[1].byteLength / 2);
    const first = new Uint8Array(
      await (
        await app.request(`/v2/${NAME}/blobs/${big[0]}`, { headers: { Range: `bytes=0-${half - 1}` } })
      ).arrayBuffer(),
    );
    const second = new Uint8Array(
      await (
        await app.request(`/v2/${NAME}/blobs/${big[0]}`, { headers: { Range: `bytes=${half}-` } })
      ).arrayBuffer(),
    );
    expect(digestOf(Buffer.concat([first, second]))).toBe(big[0]);

    // Discovery.
    const refs = await json<{
      manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[];
    }>(await app.request(`/v2/${NAME}/referrers/${indexDigest}`));
    expect(refs.manifests).toEqual([
      expect.objectContaining({
        digest: sigManifestDigest,
        mediaType: MediaType.OciManifest,
        size: signature.byteLength,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ' },
      }),
    ]);
    const tags = await json<{ tags: string[] }>(await app.request(`/v2/${NAME}/tags/list`));
    expect(tags.tags).toEqual(['1.0', 'latest']);
    const catalog = await json<{ repositories: string[] }>(await app.request('/v2/_catalog'));
    // acme/base holds a blob but no manifest: not a repository to the catalog (registry:2).
    expect(catalog.repositories).toEqual([NAME]);
  });
});
