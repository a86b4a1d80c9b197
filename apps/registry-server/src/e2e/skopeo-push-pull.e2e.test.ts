/**
 * A real client against a running registry: skopeo pushes a multi-platform OCI image (with a
 * 50 MiB layer) and a referrer artifact from an OCI layout, reads them back with `inspect`, and
 * pulls them into a new layout — every digest must survive. Runs against Berth and, as a check
 * of the test itself, against registry:2 (`BERTH_E2E_TARGETS=berth` or `=registry2` picks one).
 */
import { join } from 'node:path';
import {
  e2eSkipReason,
  MediaType,
  type OciLayout,
  type RunningServer,
  reachableBlobs,
  skopeo,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy, expectedBlobs, getJson, inspectRaw, selectedTargets, sha256, tempDir } from './support.ts';

const sbomType = 'application/vnd.example.sbom.v1+json';
const repository = 'e2e/multi-platform';
const bigLayerSize = 50 * 1024 * 1024 + 12_345;

/** The OCI layout every target gets: built once per file, read-only afterwards. */
async function buildLayout(dir: string): Promise<OciLayout> {
  return writeOciLayout(dir, {
    indexes: {
      v1: {
        images: [
          {
            platform: { os: 'linux', architecture: 'amd64' },
            layers: [
              { size: bigLayerSize, seed: 'amd64-big' },
              { size: 10_000, seed: 'amd64-small', format: 'tar+gzip' },
            ],
          },
          {
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
            layers: [
              { size: 70_000, seed: 'arm64-0', format: 'tar+gzip' },
              { size: 1_000, seed: 'arm64-1' },
            ],
          },
        ],
        annotations: { 'org.opencontainers.image.title': 'berth e2e' },
      },
    },
    artifacts: {
      sbom: {
        artifactType: sbomType,
        subject: 'v1',
        blobs: [
          { mediaType: sbomType, content: JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'berth-e2e' }) },
        ],
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      },
    },
  });
}

const skopeoSkip = e2eSkipReason(['skopeo']);

describe.skipIf(skopeoSkip)(`skopeo push/pull${skopeoSkip ? ` (skipped: ${skopeoSkip})` : ''}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: OciLayout;

  beforeAll(async () => {
    work = await tempDir('push-pull');
    layout = await buildLayout(join(work.path, 'source'));
  }, 60_000);

  afterAll(async () => {
    await work?.remove();
  });

  for (const target of selectedTargets()) {
    const skip = e2eSkipReason(target.tools);
    describe.skipIf(skip)(`against ${target.label}${skip ? ` (skipped: ${skip})` : ''}`, () => {
      let server: RunningServer | undefined;
      let ref: (suffix: string) => string;

      beforeAll(async () => {
        server = await target.start({ rootDirectory: join(work.path, `${target.id}-root`) });
        const host = server.host;
        ref = (suffix) => `docker://${host}/${repository}${suffix}`;
      }, 30_000);

      afterAll(async () => {
        await server?.stop();
      });

      it('pushes a 2-platform index with a 50 MiB layer (skopeo copy --all)', async () => {
        await copy(`oci:${layout.dir}:v1`, ref(':v1'), { all: true });
        const { body } = await getJson(`${server!.url}/v2/${repository}/tags/list`);
        expect(body).toEqual({ name: repository, tags: ['v1'] });
      }, 90_000);

      it('serves every blob of it with the right size (HEAD /v2/<name>/blobs/<digest>)', async () => {
        for (const blob of expectedBlobs(layout.indexes.v1!)) {
          if (blob.mediaType === MediaType.index || blob.mediaType === MediaType.manifest) continue;
          const response = await fetch(`${server!.url}/v2/${repository}/blobs/${blob.digest}`, {
            method: 'HEAD',
          });
          expect({ path: blob.path, status: response.status }).toEqual({ path: blob.path, status: 200 });
          expect(response.headers.get('content-length'), blob.path).toBe(String(blob.size));
          expect(response.headers.get('docker-content-digest'), blob.path).toBe(blob.digest);
        }
      });

      it('skopeo inspect --raw returns the index and each manifest byte for byte', async () => {
        const index = layout.indexes.v1!;
        const raw = await inspectRaw(ref(':v1'));
        expect(sha256(raw)).toBe(index.descriptor.digest);
        expect(JSON.parse(raw).manifests).toEqual(index.manifests.map((manifest) => manifest.descriptor));
        for (const manifest of index.manifests) {
          const manifestRaw = await inspectRaw(ref(`@${manifest.descriptor.digest}`));
          expect(sha256(manifestRaw)).toBe(manifest.descriptor.digest);
          expect(JSON.parse(manifestRaw).layers).toEqual(manifest.layers);
        }
      });

      it('skopeo inspect --config --raw returns each config byte for byte', async () => {
        for (const manifest of layout.indexes.v1!.manifests) {
          const config = await inspectRaw(ref(`@${manifest.descriptor.digest}`), { config: true });
          expect(sha256(config)).toBe(manifest.config.digest);
          expect(JSON.parse(config).rootfs.diff_ids).toEqual(manifest.diffIds);
        }
      });

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
          Os: 'linux',
          Layers: arm64.layers.map((layer) => layer.digest),
        });
      });

      it('pulls it back (skopeo copy --all) into a new layout with every digest identical', async () => {
        const pulled = join(work.path, `${target.id}-pulled`);
        await copy(ref(':v1'), `oci:${pulled}:v1`, { all: true });
        expect(await reachableBlobs(pulled, 'v1')).toEqual(expectedBlobs(layout.indexes.v1!));
      }, 90_000);

      it('pushes the referrer artifact (subject = the index) by digest', async () => {
        const sbom = layout.artifacts.sbom!;
        await copy(`oci:${layout.dir}:sbom`, ref(`@${sbom.descriptor.digest}`));
        const raw = await inspectRaw(ref(`@${sbom.descriptor.digest}`));
        expect(sha256(raw)).toBe(sbom.descriptor.digest);
        expect(JSON.parse(raw)).toMatchObject({
          artifactType: sbomType,
          subject: { digest: layout.indexes.v1!.descriptor.digest },
        });
      });

      if (target.referrers) {
        it('lists the artifact in GET /v2/<name>/referrers/<index digest>', async () => {
          const sbom = layout.artifacts.sbom!;
          const url = `${server!.url}/v2/${repository}/referrers/${layout.indexes.v1!.descriptor.digest}`;
          const { body, headers } = await getJson(url);
          expect(headers.get('content-type')).toMatch(/^application\/vnd\.oci\.image\.index\.v1\+json/);
          expect(body).toEqual({
            schemaVersion: 2,
            mediaType: MediaType.index,
            manifests: [
              {
                mediaType: MediaType.manifest,
                digest: sbom.descriptor.digest,
                size: sbom.descriptor.size,
                artifactType: sbomType,
                annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
              },
            ],
          });

          const filtered = await getJson(`${url}?artifactType=${encodeURIComponent(sbomType)}`);
          expect((filtered.body as { manifests: unknown[] }).manifests).toHaveLength(1);
          const other = await getJson(
            `${url}?artifactType=${encodeURIComponent('application/vnd.example.other')}`,
          );
          if (other.headers.get('oci-filters-applied')?.includes('artifactType')) {
            expect((other.body as { manifests: unknown[] }).manifests).toEqual([]);
          }

          const none = await getJson(
            `${server!.url}/v2/${repository}/referrers/${layout.indexes.v1!.manifests[0]!.descriptor.digest}`,
          );
          expect(none.body).toMatchObject({ schemaVersion: 2, manifests: [] });
        });
      } else {
        it(`${target.label} has no referrers API (GET /v2/<name>/referrers/<digest> is 404)`, async () => {
          const url = `${server!.url}/v2/${repository}/referrers/${layout.indexes.v1!.descriptor.digest}`;
          const response = await fetch(url);
          await response.body?.cancel();
          expect(response.status).toBe(404);
        });
      }

      it('pulls the artifact back by digest, identical', async () => {
        const sbom = layout.artifacts.sbom!;
        const pulled = join(work.path, `${target.id}-pulled`);
        await copy(ref(`@${sbom.descriptor.digest}`), `oci:${pulled}:sbom`);
        expect(await reachableBlobs(pulled, 'sbom')).toEqual(expectedBlobs(sbom));
        const { body } = await getJson(`${server!.url}/v2/${repository}/tags/list`);
        expect(body).toEqual({ name: repository, tags: ['v1'] });
      });
    });
  }
});
