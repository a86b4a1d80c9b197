import { type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { referrerLinkPath } from './manifest-store.ts';
import { createRegistry } from './registry.ts';
import { bytes, descriptorOf, pushBlob, pushImage, textOf } from './test-support/stores.ts';
import type { Repository } from './types.ts';

const NAME = 'library/r';
const json = (value: unknown) => bytes(JSON.stringify(value));

async function pushReferrer(
  repo: Repository,
  subject: { bytes: Uint8Array },
  fields: Record<string, unknown>,
): Promise<{ digest: Digest; bytes: Uint8Array }> {
  const empty = bytes('{}');
  await pushBlob(repo, empty);
  const manifest = json({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: descriptorOf(empty, MediaType.OciEmpty),
    layers: [],
    subject: descriptorOf(subject.bytes, MediaType.OciManifest),
    ...fields,
  });
  const { digest } = await repo.manifests.put(manifest, {});
  return { digest, bytes: manifest };
}

describe('referrers store', () => {
  it('lists descriptors of the referrers, sorted by digest, filtered by artifactType', async () => {
    const driver = createInMemoryDriver();
    const repo = createRegistry({ driver }).repository(NAME);
    const subject = await pushImage(repo, 'subject');
    expect(await repo.referrers.list(subject.digest)).toEqual([]);

    const sig = await pushReferrer(repo, subject, {
      artifactType: 'application/vnd.example.sig',
      annotations: { 'org.example.signed-by': 'me' },
    });
    const sbom = await pushReferrer(repo, subject, { artifactType: 'application/vnd.example.sbom' });
    const plainRef = await pushReferrer(repo, subject, { annotations: { n: '1' } }); // artifactType from config

    expect(await textOf(driver, referrerLinkPath(NAME, subject.digest, sig.digest))).toBe(sig.digest);

    const all = await repo.referrers.list(subject.digest);
    const expected = [
      {
        mediaType: MediaType.OciManifest,
        digest: sig.digest,
        size: sig.bytes.byteLength,
        artifactType: 'application/vnd.example.sig',
        annotations: { 'org.example.signed-by': 'me' },
      },
      {
        mediaType: MediaType.OciManifest,
        digest: sbom.digest,
        size: sbom.bytes.byteLength,
        artifactType: 'application/vnd.example.sbom',
      },
      {
        mediaType: MediaType.OciManifest,
        digest: plainRef.digest,
        size: plainRef.bytes.byteLength,
        artifactType: MediaType.OciEmpty,
        annotations: { n: '1' },
      },
    ].sort((a, b) => (a.digest < b.digest ? -1 : 1));
    expect(all).toEqual(expected);
    expect(
      await repo.referrers.list(subject.digest, { artifactType: 'application/vnd.example.sbom' }),
    ).toEqual([expected.find((d) => d.digest === sbom.digest)]);
    expect(await repo.referrers.list(subject.digest, { artifactType: 'application/none' })).toEqual([]);
    // other subjects and repositories see nothing
    expect(await repo.referrers.list(digestOf(bytes('other')))).toEqual([]);
    expect(await createRegistry({ driver }).repository('other').referrers.list(subject.digest)).toEqual([]);
  });

  it('includes index referrers and skips dangling entries', async () => {
    const driver = createInMemoryDriver();
    const repo = createRegistry({ driver }).repository(NAME);
    const subject = await pushImage(repo, 'subject');
    const child = await pushImage(repo, 'child');
    const index = json({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      artifactType: 'application/vnd.example.bundle',
      manifests: [descriptorOf(child.bytes, MediaType.OciManifest)],
      subject: descriptorOf(subject.bytes, MediaType.OciManifest),
    });
    const { digest: indexDigest } = await repo.manifests.put(index, {});
    // a link to a manifest that is not (or no longer) in the repository
    const ghost = digestOf(bytes('ghost'));
    await driver.putContent(referrerLinkPath(NAME, subject.digest, ghost), bytes(ghost));
    expect(await repo.referrers.list(subject.digest)).toEqual([
      {
        mediaType: MediaType.OciIndex,
        digest: indexDigest,
        size: index.byteLength,
        artifactType: 'application/vnd.example.bundle',
      },
    ]);
  });
});
