/**
 * skopeo against Berth storing in Ceph radosgw (S3): the push/pull of
 * `skopeo-push-pull.e2e.test.ts` (a multi-platform index with a 50 MiB layer, a referrer
 * artifact), with blob pulls served as `307` to presigned radosgw URLs. Those redirects are
 * checked on their own too: a GET answers `307` to a SigV4-presigned URL that serves the exact
 * bytes, a HEAD is answered by Berth itself, and radosgw refuses a tampered URL (403).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  e2eSkipReason,
  MediaType,
  type OciLayout,
  type RunningRadosgw,
  type RunningServer,
  reachableBlobs,
  skopeo,
  startRadosgw,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchManual, s3Bucket, startBerthOnRadosgw } from './s3-support.ts';
import { copy, expectedBlobs, getJson, inspectRaw, sha256, tempDir } from './support.ts';

const sbomType = 'application/vnd.example.sbom.v1+json';
const repository = 'e2e/s3-push-pull';
const skip = e2eSkipReason(['skopeo']);

describe.skipIf(skip)(`skopeo push/pull against Berth on radosgw${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: OciLayout;
  let rgw: RunningRadosgw;
  let server: RunningServer;
  const ref = (suffix: string) => `docker://${server.host}/${repository}${suffix}`;

  beforeAll(async () => {
    work = await tempDir('s3-push-pull');
    const bucket = s3Bucket('push-pull');
    [layout, rgw] = await Promise.all([
      writeOciLayout(join(work.path, 'source'), {
        indexes: {
          v1: {
            images: [
              {
                platform: { os: 'linux', architecture: 'amd64' },
                layers: [
                  { size: 50 * 1024 * 1024 + 12_345, seed: 's3-amd64-big' },
                  { size: 10_000, seed: 's3-amd64-small', format: 'tar+gzip' },
                ],
              },
              {
                platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
                layers: [
                  { size: 70_000, seed: 's3-arm64-0', format: 'tar+gzip' },
                  { size: 1_000, seed: 's3-arm64-1' },
                ],
              },
            ],
            annotations: { 'org.opencontainers.image.title': 'berth e2e on s3' },
          },
        },
        artifacts: {
          sbom: {
            artifactType: sbomType,
            subject: 'v1',
            blobs: [
              { mediaType: sbomType, content: JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 's3' }) },
            ],
          },
        },
      }),
      startRadosgw({ buckets: [bucket] }),
    ]);
    server = await startBerthOnRadosgw(rgw, bucket);
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await rgw?.stop();
    await work?.remove();
  });

  it('pushes a 2-platform index with a 50 MiB layer (skopeo copy --all)', async () => {
    await copy(`oci:${layout.dir}:v1`, ref(':v1'), { all: true });
    const { body } = await getJson(`${server.url}/v2/${repository}/tags/list`);
    expect(body).toEqual({ name: repository, tags: ['v1'] });
  }, 90_000);

  it('skopeo inspect --raw returns the index and each manifest byte for byte', async () => {
    const index = layout.indexes.v1!;
    expect(sha256(await inspectRaw(ref(':v1')))).toBe(index.descriptor.digest);
    for (const manifest of index.manifests) {
      const raw = await inspectRaw(ref(`@${manifest.descriptor.digest}`));
      expect(sha256(raw)).toBe(manifest.descriptor.digest);
      expect(JSON.parse(raw).layers).toEqual(manifest.layers);
      const config = await inspectRaw(ref(`@${manifest.descriptor.digest}`), { config: true });
      expect(sha256(config)).toBe(manifest.config.digest);
    }
  });

  it('redirects every blob GET (307) to a presigned radosgw URL that serves it; answers HEAD itself', async () => {
    for (const blob of expectedBlobs(layout.indexes.v1!)) {
      if (blob.mediaType === MediaType.index || blob.mediaType === MediaType.manifest) continue;
      const url = `${server.url}/v2/${repository}/blobs/${blob.digest}`;
      const get = await fetchManual(url);
      await get.body?.cancel();
      expect({ path: blob.path, status: get.status }).toEqual({ path: blob.path, status: 307 });
      const location = new URL(get.headers.get('location')!);
      expect(location.origin).toBe(rgw.endpoint);
      expect(location.pathname).toMatch(
        /\/registry\/docker\/registry\/v2\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\/data$/,
      );
      expect(location.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      expect(location.searchParams.get('X-Amz-Expires')).toBe('1200');
      const direct = await fetchManual(location);
      expect(direct.status).toBe(200);
      const bytes = new Uint8Array(await direct.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, blob.path).toBe(blob.digest);

      const head = await fetchManual(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest'), blob.path).toBe(blob.digest);
      expect(head.headers.get('content-length'), blob.path).toBe(String(blob.size));
    }
  }, 60_000);

  it('radosgw refuses a redirect URL whose signature, key or expiry was tampered with (403)', async () => {
    const [layer, other] = layout.indexes.v1!.manifests[0]!.layers;
    const get = await fetchManual(`${server.url}/v2/${repository}/blobs/${layer!.digest}`);
    await get.body?.cancel();
    const location = new URL(get.headers.get('location')!);
    const signature = location.searchParams.get('X-Amz-Signature')!;
    const tampered = new URL(location);
    tampered.searchParams.set(
      'X-Amz-Signature',
      `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`,
    );
    const otherKey = new URL(location);
    otherKey.pathname = otherKey.pathname.replace(
      /[0-9a-f]{2}\/[0-9a-f]{64}\/data$/,
      `${other!.digest.slice(7, 9)}/${other!.digest.slice(7)}/data`,
    );
    const longer = new URL(location);
    longer.searchParams.set('X-Amz-Expires', '604800');
    for (const [label, url] of [
      ['signature', tampered],
      ['key', otherKey],
      ['expiry', longer],
    ] as const) {
      const response = await fetchManual(url);
      await response.body?.cancel();
      expect({ label, status: response.status }).toEqual({ label, status: 403 });
    }
  });

  it('pulls it back (skopeo copy --all, following the redirects) with every digest identical', async () => {
    const pulled = join(work.path, 'pulled');
    await copy(ref(':v1'), `oci:${pulled}:v1`, { all: true });
    expect(await reachableBlobs(pulled, 'v1')).toEqual(expectedBlobs(layout.indexes.v1!));
    // skopeo fetched the big layer from radosgw itself, through a presigned URL (its access log).
    const hex = layout.indexes.v1!.manifests[0]!.layers[0]!.digest.slice('sha256:'.length);
    const presignedGets = (await rgw.accessLog()).filter(
      (line) =>
        line.includes(`"GET /`) &&
        line.includes(`/${hex}/data?`) &&
        line.includes('X-Amz-Signature=') &&
        !line.includes('"node"'),
    );
    expect(
      presignedGets.some((line) => /" 20[06] /.test(line)),
      (await rgw.accessLog()).slice(-20).join('\n'),
    ).toBe(true);
  }, 90_000);

  it('skopeo inspect picks the arm64 image out of the index', async () => {
    const { stdout } = await skopeo([
      'inspect',
      '--tls-verify=false',
      '--override-os=linux',
      '--override-arch=arm64',
      '--override-variant=v8',
      ref(':v1'),
    ]);
    const arm64 = layout.indexes.v1!.manifests[1]!;
    expect(JSON.parse(stdout)).toMatchObject({
      Digest: layout.indexes.v1!.descriptor.digest,
      Architecture: 'arm64',
      Layers: arm64.layers.map((layer) => layer.digest),
    });
  });

  it('pushes the referrer artifact, lists it in the referrers API and pulls it back', async () => {
    const sbom = layout.artifacts.sbom!;
    await copy(`oci:${layout.dir}:sbom`, ref(`@${sbom.descriptor.digest}`));
    const { body } = await getJson(
      `${server.url}/v2/${repository}/referrers/${layout.indexes.v1!.descriptor.digest}`,
    );
    expect((body as { manifests: { digest: string }[] }).manifests.map((m) => m.digest)).toEqual([
      sbom.descriptor.digest,
    ]);
    const pulled = join(work.path, 'pulled');
    await copy(ref(`@${sbom.descriptor.digest}`), `oci:${pulled}:sbom`);
    expect(await reachableBlobs(pulled, 'sbom')).toEqual(expectedBlobs(sbom));
  }, 60_000);
});
