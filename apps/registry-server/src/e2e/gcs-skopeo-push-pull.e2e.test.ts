/**
 * skopeo against Berth storing in firebase-tools' GCS emulator: the push/pull of
 * `skopeo-push-pull.e2e.test.ts` (a multi-platform index with a 50 MiB layer, a referrer
 * artifact). Every blob goes through the GCS driver's writer (a pending write of part objects,
 * committed and moved to the blob path), and every pull streams through Berth's reader: see
 * `gcs-support.ts` for the two settings the emulator forces (64 MiB chunks, no redirects).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  e2eSkipReason,
  type GcsEmulatorServer,
  type OciLayout,
  type RunningServer,
  reachableBlobs,
  startGcsEmulator,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchManual, gcsBucket, startBerthOnGcsEmulator } from './gcs-support.ts';
import { copy, expectedBlobs, getJson, inspectRaw, sha256, tempDir } from './support.ts';

const sbomType = 'application/vnd.example.sbom.v1+json';
const repository = 'e2e/gcs-push-pull';
const skip = e2eSkipReason(['skopeo']);

describe.skipIf(skip)(
  `skopeo push/pull against Berth on the GCS emulator (64 MiB chunks, no redirects)${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let layout: OciLayout;
    let emulator: GcsEmulatorServer;
    let server: RunningServer;
    const bucket = gcsBucket('push-pull');
    const ref = (suffix: string) => `docker://${server.host}/${repository}${suffix}`;

    beforeAll(async () => {
      work = await tempDir('gcs-push-pull');
      [layout, emulator] = await Promise.all([
        writeOciLayout(join(work.path, 'source'), {
          indexes: {
            v1: {
              images: [
                {
                  platform: { os: 'linux', architecture: 'amd64' },
                  layers: [
                    { size: 50 * 1024 * 1024 + 12_345, seed: 'gcs-amd64-big' },
                    { size: 10_000, seed: 'gcs-amd64-small', format: 'tar+gzip' },
                  ],
                },
                {
                  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
                  layers: [{ size: 70_000, seed: 'gcs-arm64-0', format: 'tar+gzip' }],
                },
              ],
            },
          },
          artifacts: {
            sbom: {
              artifactType: sbomType,
              subject: 'v1',
              blobs: [
                { mediaType: sbomType, content: JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'gcs' }) },
              ],
            },
          },
        }),
        startGcsEmulator({ bucket }),
      ]);
      server = await startBerthOnGcsEmulator(emulator, bucket);
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      await emulator?.stop();
      await work?.remove();
    });

    it('pushes a 2-platform index with a 50 MiB layer (skopeo copy --all)', async () => {
      await copy(`oci:${layout.dir}:v1`, ref(':v1'), { all: true });
      const { body } = await getJson(`${server.url}/v2/${repository}/tags/list`);
      expect(body).toEqual({ name: repository, tags: ['v1'] });
      const raw = await inspectRaw(ref(':v1'));
      expect(sha256(raw)).toBe(layout.indexes.v1!.descriptor.digest);
    }, 90_000);

    it("stores registry:2's layout below rootdirectory, with no pending write left behind", async () => {
      // The emulator's JSON API, as any GCS client sees the bucket.
      const { body } = await getJson(
        `${emulator.endpoint}/storage/v1/b/${bucket}/o?prefix=registry/&maxResults=1000`,
      );
      const items = (body as { items?: { name: string; size: string }[] }).items ?? [];
      const names = items.map((item) => item.name);
      const big = layout.indexes.v1!.manifests[0]!.layers[0]!;
      const hex = big.digest.slice('sha256:'.length);
      const blobName = `registry/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
      expect(names).toContain(blobName);
      expect(names).toContain(
        `registry/docker/registry/v2/repositories/${repository}/_manifests/tags/v1/current/link`,
      );
      expect(names.filter((name) => name.startsWith('registry/~berth-pending/'))).toEqual([]);
      expect(names.filter((name) => name.includes('/_uploads/'))).toEqual([]);
      expect(Number(items.find((item) => item.name === blobName)?.size)).toBe(big.size);
    });

    it('streams blobs itself (redirects disabled): GET is 200 with the exact bytes', async () => {
      const layer = layout.indexes.v1!.manifests[1]!.layers[0]!;
      const get = await fetchManual(`${server.url}/v2/${repository}/blobs/${layer.digest}`);
      expect(get.status).toBe(200);
      const bytes = new Uint8Array(await get.arrayBuffer());
      expect(bytes.byteLength).toBe(layer.size);
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(layer.digest);
    });

    it('pulls it back (skopeo copy --all) with every digest identical', async () => {
      const pulled = join(work.path, 'pulled');
      await copy(ref(':v1'), `oci:${pulled}:v1`, { all: true });
      expect(await reachableBlobs(pulled, 'v1')).toEqual(expectedBlobs(layout.indexes.v1!));
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
  },
);
