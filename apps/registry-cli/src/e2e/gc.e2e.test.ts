/**
 * `berth gc` against a running Berth on the filesystem driver, with content pushed by skopeo:
 * a multi-arch index whose children are also referenced from a second repository, a referrer
 * with `subject`, a layer shared by two images one of which is deleted, an untagged manifest,
 * an upload in progress and a blob uploaded seconds before GC with no manifest. After `gc`,
 * `gc --delete-untagged` and `gc --grace 0s`, every remaining tag pulls with skopeo (digests
 * verified) and the blobs on disk are exactly what something references, plus what is inside
 * the grace window.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type Descriptor,
  e2eSkipReason,
  type OciLayout,
  type RunningServer,
  startBerth,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  age,
  berthProcess,
  blobsOf,
  blobsOnDisk,
  copy,
  deleteManifest,
  finishUpload,
  type GcJson,
  gcJson,
  headBlob,
  inspectRaw,
  type OpenUpload,
  pullAndVerify,
  sha256,
  startUpload,
  tempDir,
  uploadBlob,
} from './support.ts';

const HOUR = 60 * 60 * 1000;
const sbomType = 'application/vnd.example.sbom.v1+json';
const linux = (architecture: string) => ({ os: 'linux', architecture });

const skip = e2eSkipReason(['skopeo']);

describe.skipIf(skip)(`berth gc on a registry pushed by skopeo${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: OciLayout;
  let server: RunningServer;
  let root: string;
  let config: string;
  let pulls = 0;
  let fresh: string;
  let upload: OpenUpload;
  const uploadHead = randomBytes(1000);
  const uploadTail = randomBytes(2000);
  const reclaimed: Record<string, number> = {};

  const docker = (ref: string) => `docker://${server.host}/${ref}`;
  const pull = (reference: string, expected: readonly Descriptor[], all = false) =>
    pullAndVerify(server, join(work.path, `pull-${++pulls}`), reference, expected, { all });

  // What every phase must still serve.
  const tagged = () => {
    const multi = layout.indexes.multi!;
    const a = layout.images.a!;
    return {
      'app:v1': blobsOf(multi),
      'mirror:v1': blobsOf(multi),
      'plat:amd64': blobsOf(a),
      'shared:a': blobsOf(a),
      'loose:tmp': blobsOf(a),
    };
  };
  const sbomBlobs = () => {
    const sbom = layout.artifacts.sbom!;
    return [sbom.descriptor, sbom.config, ...sbom.layers];
  };

  beforeAll(async () => {
    work = await tempDir('gc');
    root = join(work.path, 'root');
    layout = await writeOciLayout(join(work.path, 'source'), {
      indexes: {
        multi: {
          images: [
            { platform: linux('amd64'), layers: [{ size: 300_000, seed: 'multi-amd64' }] },
            {
              platform: linux('arm64'),
              layers: [{ size: 200_000, seed: 'multi-arm64', format: 'tar+gzip' }],
            },
          ],
        },
      },
      images: {
        a: {
          platform: linux('amd64'),
          layers: [
            { size: 2 << 20, seed: 'base' },
            { size: 100_000, seed: 'a-top' },
          ],
        },
        b: {
          platform: linux('amd64'),
          layers: [
            { size: 2 << 20, seed: 'base' },
            { size: 1 << 20, seed: 'b-top' },
          ],
        },
        loose: { platform: linux('amd64'), layers: [{ size: 500_000, seed: 'loose' }] },
      },
      artifacts: {
        sbom: {
          artifactType: sbomType,
          subject: 'multi',
          blobs: [
            { mediaType: sbomType, content: JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'gc-e2e' }) },
          ],
        },
      },
    });
    server = await startBerth({ rootDirectory: root });
    config = server.configFile;
    const src = (ref: string) => `oci:${layout.dir}:${ref}`;
    const amd64Child = layout.indexes.multi!.manifests[0]!.descriptor.digest;

    // A multi-arch index, tagged in two repositories; its amd64 child also pushed on its own to
    // a third one, where it ends up untagged (the tag moves on).
    await copy(src('multi'), docker('app:v1'), { all: true });
    await copy(src('multi'), docker('mirror:v1'), { all: true });
    await copy(docker(`app@${amd64Child}`), docker('plat:amd64'));
    await copy(src('a'), docker('plat:amd64'));
    // A referrer (SBOM) of the index.
    await copy(src('sbom'), docker(`app@${layout.artifacts.sbom!.descriptor.digest}`));
    // A layer shared by two images; one image is deleted.
    await copy(src('a'), docker('shared:a'));
    await copy(src('b'), docker('shared:b'));
    await deleteManifest(server, 'shared', layout.images.b!.descriptor.digest);
    // An untagged manifest: the tag moves to another image.
    await copy(src('loose'), docker('loose:tmp'));
    await copy(src('a'), docker('loose:tmp'));

    // Everything so far is two hours old; then, inside the grace window: an upload in progress
    // and a blob uploaded with no manifest.
    await age(root, 2 * HOUR);
    upload = await startUpload(server, 'uploads', uploadHead);
    fresh = await uploadBlob(server, 'shared', randomBytes(50_000));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await work?.remove();
    console.log(`berth gc e2e: bytes reclaimed ${JSON.stringify(reclaimed)}`);
  });

  const live = (...more: (readonly Descriptor[])[]) =>
    [
      ...new Set([...Object.values(tagged()).flat(), ...sbomBlobs(), ...more.flat()].map((d) => d.digest)),
    ].sort();

  it('gc deletes the deleted image’s unique blobs, keeps the shared layer and everything recent', async () => {
    const b = layout.images.b!;
    const report: GcJson = await gcJson(config, '--settle', '0s');
    reclaimed.gc = report.bytesReclaimed;
    expect(report.deleted.blobs.map((x) => x.digest).sort()).toEqual(
      [b.descriptor.digest, b.config.digest, b.layers[1]!.digest].sort(),
    );
    expect(report.bytesReclaimed).toBe(b.descriptor.size + b.config.size + b.layers[1]!.size);
    expect(report.deleted.manifests).toEqual([]);
    expect(report.blobs.recent).toBe(1);
    // Without --delete-untagged every revision stays: the untagged ones too.
    const loose = layout.images.loose!;
    expect(await blobsOnDisk(root)).toEqual([...live(blobsOf(loose)), fresh].sort());
    for (const [reference, expected] of Object.entries(tagged())) await pull(reference, expected, true);
    await pull(`loose@${loose.descriptor.digest}`, blobsOf(loose));
    await pull(
      `plat@${layout.indexes.multi!.manifests[0]!.descriptor.digest}`,
      blobsOf(layout.indexes.multi!.manifests[0]!),
    );
    expect(sha256(await inspectRaw(docker(`app@${layout.artifacts.sbom!.descriptor.digest}`)))).toBe(
      layout.artifacts.sbom!.descriptor.digest,
    );
  }, 120_000);

  it('gc --delete-untagged deletes the untagged manifest, never the index child untagged in another repository, nor the referrer', async () => {
    const loose = layout.images.loose!;
    const report = await gcJson(config, '--delete-untagged', '--settle', '0s');
    reclaimed.deleteUntagged = report.bytesReclaimed;
    expect(report.deleted.manifests).toEqual([{ repository: 'loose', digest: loose.descriptor.digest }]);
    expect(report.deleted.blobs.map((x) => x.digest).sort()).toEqual(
      blobsOf(loose)
        .map((d) => d.digest)
        .sort(),
    );
    expect(await blobsOnDisk(root)).toEqual([...live(), fresh].sort());
    for (const [reference, expected] of Object.entries(tagged())) await pull(reference, expected, true);
    const child = layout.indexes.multi!.manifests[0]!;
    await pull(`plat@${child.descriptor.digest}`, blobsOf(child));
    await pull(`app@${layout.artifacts.sbom!.descriptor.digest}`, sbomBlobs());
    const referrers = await fetch(
      `${server.url}/v2/app/referrers/${layout.indexes.multi!.descriptor.digest}`,
    );
    expect(((await referrers.json()) as { manifests: Descriptor[] }).manifests.map((m) => m.digest)).toEqual([
      layout.artifacts.sbom!.descriptor.digest,
    ]);
    await expect(inspectRaw(docker(`loose@${loose.descriptor.digest}`))).rejects.toThrow(/manifest unknown/i);
  }, 120_000);

  it('gc --grace 0s deletes the blob uploaded with no manifest; the upload in progress still completes', async () => {
    const report = await gcJson(config, '--delete-untagged', '--grace', '0s', '--settle', '0s');
    reclaimed.graceZero = report.bytesReclaimed;
    expect(report.deleted.blobs.map((x) => x.digest)).toEqual([fresh]);
    expect(await blobsOnDisk(root)).toEqual(live());
    const digest = sha256(Buffer.concat([uploadHead, uploadTail]));
    expect(await finishUpload(server, upload, uploadTail, digest)).toBe(201);
    expect(await headBlob(server, 'uploads', digest)).toBe(200);
    for (const [reference, expected] of Object.entries(tagged())) await pull(reference, expected, true);
  }, 120_000);

  it('verify finds nothing wrong; du and catalog describe what is left', async () => {
    const verify = await berthProcess(['verify', config]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/no problems\.\n$/);
    const catalog = await berthProcess(['catalog', config, 'app', '--json']);
    expect(JSON.parse(catalog.stdout).tags).toEqual([
      expect.objectContaining({
        tag: 'v1',
        digest: layout.indexes.multi!.descriptor.digest,
        platforms: ['linux/amd64', 'linux/arm64'],
      }),
    ]);
    const du = await berthProcess(['du', config, '--json']);
    expect(JSON.parse(du.stdout).total.unreferencedBlobs).toBe(0);
  }, 60_000);
});
