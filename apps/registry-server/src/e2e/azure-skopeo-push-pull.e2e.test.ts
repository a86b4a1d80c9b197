/**
 * skopeo against Berth storing in azurite: the push/pull of `skopeo-push-pull.e2e.test.ts` (a
 * multi-platform index with a 50 MiB layer, a referrer artifact), with blob pulls served as
 * `307` to SAS URLs on azurite. Those redirects are checked on their own too: a GET answers
 * `307` to a signed URL that serves the exact bytes, a HEAD is answered by Berth itself with the
 * size and digest, and a tampered URL is refused.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  type AzuriteServer,
  e2eSkipReason,
  MediaType,
  type OciLayout,
  type RunningServer,
  reachableBlobs,
  startAzurite,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureContainer, fetchManual, startBerthOnAzurite } from './azure-support.ts';
import { copy, expectedBlobs, getJson, inspectRaw, sha256, tempDir } from './support.ts';

const sbomType = 'application/vnd.example.sbom.v1+json';
const repository = 'e2e/azure-push-pull';
const skip = e2eSkipReason(['skopeo']);

describe.skipIf(skip)(`skopeo push/pull against Berth on azurite${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: OciLayout;
  let azurite: AzuriteServer;
  let server: RunningServer;
  const ref = (suffix: string) => `docker://${server.host}/${repository}${suffix}`;

  beforeAll(async () => {
    work = await tempDir('azure-push-pull');
    [layout, azurite] = await Promise.all([
      writeOciLayout(join(work.path, 'source'), {
        indexes: {
          v1: {
            images: [
              {
                platform: { os: 'linux', architecture: 'amd64' },
                layers: [
                  { size: 50 * 1024 * 1024 + 12_345, seed: 'azure-amd64-big' },
                  { size: 10_000, seed: 'azure-amd64-small', format: 'tar+gzip' },
                ],
              },
              {
                platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
                layers: [{ size: 70_000, seed: 'azure-arm64-0', format: 'tar+gzip' }],
              },
            ],
          },
        },
        artifacts: {
          sbom: {
            artifactType: sbomType,
            subject: 'v1',
            blobs: [
              { mediaType: sbomType, content: JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'azure' }) },
            ],
          },
        },
      }),
      startAzurite(),
    ]);
    server = await startBerthOnAzurite(azurite, azureContainer('push-pull'));
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await azurite?.stop();
    await work?.remove();
  });

  it('pushes a 2-platform index with a 50 MiB layer (skopeo copy --all)', async () => {
    await copy(`oci:${layout.dir}:v1`, ref(':v1'), { all: true });
    const { body } = await getJson(`${server.url}/v2/${repository}/tags/list`);
    expect(body).toEqual({ name: repository, tags: ['v1'] });
    const raw = await inspectRaw(ref(':v1'));
    expect(sha256(raw)).toBe(layout.indexes.v1!.descriptor.digest);
  }, 90_000);

  it('redirects every blob GET (307) to a signed azurite URL that serves it; answers HEAD itself', async () => {
    for (const blob of expectedBlobs(layout.indexes.v1!)) {
      if (blob.mediaType === MediaType.index || blob.mediaType === MediaType.manifest) continue;
      const url = `${server.url}/v2/${repository}/blobs/${blob.digest}`;
      const get = await fetchManual(url);
      await get.body?.cancel();
      expect({ path: blob.path, status: get.status }).toEqual({ path: blob.path, status: 307 });
      const location = get.headers.get('location')!;
      expect(location.startsWith(`${azurite.blobEndpoint}/`), location).toBe(true);
      expect(new URL(location).searchParams.get('sp')).toBe('r');
      const direct = await fetchManual(location);
      expect(direct.status).toBe(200);
      const bytes = new Uint8Array(await direct.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, blob.path).toBe(blob.digest);

      const head = await fetchManual(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest'), blob.path).toBe(blob.digest);
      expect(head.headers.get('content-length'), blob.path).toBe(String(blob.size));
      const headDirect = await fetchManual(location, { method: 'HEAD' });
      expect(headDirect.status).toBe(200);
      expect(headDirect.headers.get('content-length'), blob.path).toBe(String(blob.size));
    }
  }, 60_000);

  it('azurite refuses a redirect URL whose signature was tampered with (403)', async () => {
    const layer = layout.indexes.v1!.manifests[0]!.layers[1]!;
    const get = await fetchManual(`${server.url}/v2/${repository}/blobs/${layer.digest}`);
    const location = new URL(get.headers.get('location')!);
    const signature = Buffer.from(location.searchParams.get('sig')!, 'base64');
    signature[signature.length - 1]! ^= 0x10;
    location.searchParams.set('sig', signature.toString('base64'));
    const tampered = await fetchManual(location);
    await tampered.body?.cancel();
    expect(tampered.status).toBe(403);
  });

  it('pulls it back (skopeo copy --all, following the redirects) with every digest identical', async () => {
    const pulled = join(work.path, 'pulled');
    await copy(ref(':v1'), `oci:${pulled}:v1`, { all: true });
    expect(await reachableBlobs(pulled, 'v1')).toEqual(expectedBlobs(layout.indexes.v1!));
    // skopeo fetched the big layer from azurite itself, through a SAS URL (azurite's access log).
    const hex = layout.indexes.v1!.manifests[0]!.layers[0]!.digest.slice('sha256:'.length);
    const sasGets = azurite
      .logs()
      .split('\n')
      .filter((line) => line.includes(`"GET /`) && line.includes(`/${hex}/data?`) && line.includes('sig='));
    expect(
      sasGets.some((line) => /" 20[06] /.test(line)),
      azurite.logs(20),
    ).toBe(true);
  }, 90_000);

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
