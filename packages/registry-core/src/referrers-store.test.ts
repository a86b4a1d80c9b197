import { type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { createInMemoryDriver, type StorageDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { writeLink } from './links.ts';
import { referrerLinkPath, revisionLinkPath } from './manifest-store.ts';
import { pathFor } from './paths.ts';
import { createRegistry } from './registry.ts';
import {
  bytes,
  type DriverCall,
  descriptorOf,
  pushBlob,
  pushImage,
  recordingDriver,
  textOf,
} from './test-support/stores.ts';
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

/** Stores `manifest` in `name` as registry:2 does: blob data and revision link, no Berth index. */
async function storeAsRegistry2(driver: StorageDriver, name: string, manifest: Uint8Array): Promise<Digest> {
  const digest = digestOf(manifest);
  const encoded = digest.slice('sha256:'.length);
  await driver.putContent(pathFor({ kind: 'blobData', algorithm: 'sha256', encoded }), manifest);
  await writeLink(driver, revisionLinkPath(name, digest), digest);
  return digest;
}

/** An OCI artifact manifest (as bytes) whose subject is `subject`. */
function artifact(subject: Digest, artifactType: string, note = ''): Uint8Array {
  const empty = bytes('{}');
  return json({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType,
    config: descriptorOf(empty, MediaType.OciEmpty),
    layers: [descriptorOf(empty, MediaType.OciEmpty)],
    subject: { mediaType: MediaType.OciManifest, digest: subject, size: 123 },
    ...(note === '' ? {} : { annotations: { note } }),
  });
}

const SIG = 'application/vnd.example.sig';
const SBOM = 'application/vnd.example.sbom';
const recordPath = pathFor({ kind: 'referrersScanRecord', name: NAME });
const digestsOf = (descriptors: { digest: string }[]) => descriptors.map((d) => d.digest);
const sorted = (digests: string[]) => [...digests].sort();

/** The paths of the calls of `method` in `calls` (from index `from`). */
function pathsOf(calls: DriverCall[], method: string, from = 0): string[] {
  return calls.slice(from).flatMap((call) => (call.method === method ? [String(call.path)] : []));
}

/** A subject, two artifacts referring to it and an unrelated manifest, stored by "registry:2". */
async function registry2Data(driver: StorageDriver) {
  const subject = await storeAsRegistry2(driver, NAME, ociManifestBytes('subject'));
  const other = await storeAsRegistry2(driver, NAME, ociManifestBytes('other'));
  const sigBytes = artifact(subject, SIG, 'signed');
  const sig = await storeAsRegistry2(driver, NAME, sigBytes);
  const sbomBytes = artifact(subject, SBOM);
  const sbom = await storeAsRegistry2(driver, NAME, sbomBytes);
  return { subject, other, sig, sigBytes, sbom, sbomBytes };
}

function ociManifestBytes(seed: string): Uint8Array {
  const config = bytes(JSON.stringify({ seed }));
  return json({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: descriptorOf(config, MediaType.OciConfig),
    layers: [],
  });
}

describe('referrers of manifests stored without Berth (registry:2, an older Berth)', () => {
  it('lists them, indexes them on the way and records the revisions checked', async () => {
    const driver = createInMemoryDriver();
    const data = await registry2Data(driver);
    const repo = createRegistry({ driver }).repository(NAME);

    expect(await repo.referrers.list(data.subject)).toEqual(
      [
        {
          mediaType: MediaType.OciManifest,
          digest: data.sig,
          size: data.sigBytes.byteLength,
          artifactType: SIG,
          annotations: { note: 'signed' },
        },
        {
          mediaType: MediaType.OciManifest,
          digest: data.sbom,
          size: data.sbomBytes.byteLength,
          artifactType: SBOM,
        },
      ].sort((a, b) => (a.digest < b.digest ? -1 : 1)),
    );
    // the artifactType filter applies to them as to any referrer
    expect(digestsOf(await repo.referrers.list(data.subject, { artifactType: SBOM }))).toEqual([data.sbom]);
    expect(await repo.referrers.list(data.subject, { artifactType: 'application/none' })).toEqual([]);
    expect(await repo.referrers.list(data.other)).toEqual([]);

    // now in Berth's index, and every revision is in the scan record
    expect(await textOf(driver, referrerLinkPath(NAME, data.subject, data.sig))).toBe(data.sig);
    expect(await textOf(driver, referrerLinkPath(NAME, data.subject, data.sbom))).toBe(data.sbom);
    expect((await textOf(driver, recordPath)).split('\n')).toEqual([
      ...sorted([data.subject, data.other, data.sig, data.sbom]),
      '',
    ]);
    // another repository sees none of it
    expect(await createRegistry({ driver }).repository('other').referrers.list(data.subject)).toEqual([]);
  });

  it('costs two lists per request once scanned; the record spares a restarted process re-reading', async () => {
    const base = createInMemoryDriver();
    const data = await registry2Data(base);
    const first = recordingDriver(base);
    const repo = createRegistry({ driver: first.driver }).repository(NAME);
    expect(sorted(digestsOf(await repo.referrers.list(data.subject)))).toEqual(sorted([data.sig, data.sbom]));
    // the first scan read every manifest once, and wrote the two links and the record once
    for (const digest of [data.subject, data.other, data.sig, data.sbom]) {
      const blob = pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: digest.slice(7) });
      expect(pathsOf(first.calls, 'getContent').filter((path) => path === blob)).toHaveLength(1);
    }
    expect(sorted(pathsOf(first.calls, 'putContent'))).toEqual(
      sorted([
        referrerLinkPath(NAME, data.subject, data.sig),
        referrerLinkPath(NAME, data.subject, data.sbom),
        recordPath,
      ]),
    );

    // steady state on the same process: the two revision lists, nothing read, nothing written
    const mark = first.calls.length;
    await repo.referrers.list(data.other);
    expect(first.calls.slice(mark)).toEqual([
      { method: 'list', path: pathFor({ kind: 'manifestRevisionsOf', name: NAME, algorithm: 'sha256' }) },
      { method: 'list', path: pathFor({ kind: 'manifestRevisionsOf', name: NAME, algorithm: 'sha512' }) },
      {
        method: 'list',
        path: pathFor({ kind: 'referrers', name: NAME, algorithm: 'sha256', encoded: data.other.slice(7) }),
      },
    ]);

    // a restarted process reads the record, not the manifests that are not referrers
    const second = recordingDriver(base);
    const restarted = createRegistry({ driver: second.driver }).repository(NAME);
    expect(sorted(digestsOf(await restarted.referrers.list(data.subject)))).toEqual(
      sorted([data.sig, data.sbom]),
    );
    const reads = pathsOf(second.calls, 'getContent');
    expect(reads.filter((path) => path === recordPath)).toHaveLength(1);
    for (const digest of [data.subject, data.other]) {
      expect(reads.filter((path) => path.includes(digest.slice(7)))).toEqual([]);
    }
    expect(pathsOf(second.calls, 'putContent')).toEqual([]);
    // and then only lists, as above
    const mark2 = second.calls.length;
    await restarted.referrers.list(data.other);
    expect(second.calls.slice(mark2).map((call) => call.method)).toEqual(['list', 'list', 'list']);
  });

  it('checks only revisions that are new since the last scan; a push through Berth needs no re-read', async () => {
    const base = createInMemoryDriver();
    const data = await registry2Data(base);
    const { driver, calls } = recordingDriver(base);
    const registry = createRegistry({ driver });
    const repo = registry.repository(NAME);
    await repo.referrers.list(data.subject);

    // "registry:2" stores one more referrer: the next request reads that one only
    const lateBytes = artifact(data.subject, SIG, 'late');
    const late = await storeAsRegistry2(base, NAME, lateBytes);
    let mark = calls.length;
    expect(digestsOf(await repo.referrers.list(data.subject, { artifactType: SIG }))).toEqual(
      sorted([data.sig, late]),
    );
    const blobReads = pathsOf(calls, 'getContent', mark).filter((path) => path.includes('/blobs/'));
    expect(blobReads.filter((path) => !path.includes(late.slice(7)))).toEqual([]);
    expect(pathsOf(calls, 'putContent', mark)).toEqual([
      referrerLinkPath(NAME, data.subject, late),
      recordPath,
    ]);
    expect(await textOf(base, recordPath)).toContain(late);

    // pushed through Berth: indexed by put, so the scan neither re-reads it nor rewrites the record
    const pushed = await pushReferrer(repo, { bytes: ociManifestBytes('subject') }, { artifactType: SBOM });
    mark = calls.length;
    expect(digestsOf(await repo.referrers.list(data.subject, { artifactType: SBOM }))).toEqual(
      sorted([data.sbom, pushed.digest]),
    );
    expect(pathsOf(calls, 'putContent', mark)).toEqual([]);
    expect(
      pathsOf(calls, 'getContent', mark).filter((path) => path === revisionLinkPath(NAME, pushed.digest)),
    ).toHaveLength(1); // by the listing, not the scan
  });

  it('concurrent requests of one process scan once; concurrent processes write a consistent record', async () => {
    const base = createInMemoryDriver();
    const data = await registry2Data(base);
    const { driver, calls } = recordingDriver(base);
    const repo = createRegistry({ driver }).repository(NAME);
    const results = await Promise.all([
      repo.referrers.list(data.subject),
      repo.referrers.list(data.subject, { artifactType: SIG }),
      repo.referrers.list(data.other),
    ]);
    expect(results.map(digestsOf)).toEqual([sorted([data.sig, data.sbom]), [data.sig], []]);
    const otherBlob = pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: data.other.slice(7) });
    expect(pathsOf(calls, 'getContent').filter((path) => path === otherBlob)).toHaveLength(1);
    expect(pathsOf(calls, 'putContent').filter((path) => path === recordPath)).toHaveLength(1);
    const all = [...sorted([data.subject, data.other, data.sig, data.sbom]), ''];
    expect((await textOf(base, recordPath)).split('\n')).toEqual(all);

    // two processes, each finding a different new revision at about the same time
    const late = [
      await storeAsRegistry2(base, NAME, artifact(data.subject, SIG, 'late 1')),
      await storeAsRegistry2(base, NAME, artifact(data.subject, SIG, 'late 2')),
    ];
    const [one, two] = await Promise.all(
      [1, 2].map(async () => createRegistry({ driver: base }).repository(NAME).referrers.list(data.subject)),
    );
    expect(digestsOf(one!)).toEqual(sorted([data.sig, data.sbom, ...late]));
    expect(digestsOf(two!)).toEqual(digestsOf(one!));
    expect((await textOf(base, recordPath)).split('\n')).toEqual([
      ...sorted([data.subject, data.other, data.sig, data.sbom, ...late]),
      '',
    ]);
  });

  it('does not bring back a referrer deleted through Berth, even after a restart, unless it is pushed again', async () => {
    const driver = createInMemoryDriver();
    const data = await registry2Data(driver);
    const repo = createRegistry({ driver }).repository(NAME);
    expect(await repo.referrers.list(data.subject)).toHaveLength(2);

    await repo.manifests.delete(data.sig);
    expect(digestsOf(await repo.referrers.list(data.subject))).toEqual([data.sbom]);
    await expect(driver.stat(referrerLinkPath(NAME, data.subject, data.sig))).rejects.toThrow();
    expect(await textOf(driver, recordPath)).not.toContain(data.sig);
    const restarted = createRegistry({ driver }).repository(NAME);
    expect(digestsOf(await restarted.referrers.list(data.subject))).toEqual([data.sbom]);

    // a stale digest in the record (a race between processes) is not listed, so not consulted,
    // and it is dropped by the next process that loads the record
    await driver.putContent(recordPath, bytes(`${await textOf(driver, recordPath)}${data.sig}\n`));
    expect(digestsOf(await createRegistry({ driver }).repository(NAME).referrers.list(data.subject))).toEqual(
      [data.sbom],
    );
    expect(await textOf(driver, recordPath)).not.toContain(data.sig);

    // deleted before it was ever indexed: the same
    const lateBytes = artifact(data.subject, SIG, 'late');
    const late = await storeAsRegistry2(driver, NAME, lateBytes);
    await restarted.manifests.delete(late);
    expect(digestsOf(await restarted.referrers.list(data.subject))).toEqual([data.sbom]);

    // "registry:2" (a rollback) pushes the deleted signature again: found again, fresh or not
    await storeAsRegistry2(driver, NAME, data.sigBytes);
    expect(await textOf(driver, recordPath)).not.toContain(data.sig);
    expect(digestsOf(await createRegistry({ driver }).repository(NAME).referrers.list(data.subject))).toEqual(
      sorted([data.sig, data.sbom]),
    );
    await restarted.manifests.delete(data.sig);
    await storeAsRegistry2(driver, NAME, data.sigBytes);
    expect(digestsOf(await restarted.referrers.list(data.subject))).toEqual(sorted([data.sig, data.sbom]));
  });

  it('does not index a revision directory without a link (deleted by registry:2); a restart checks it again', async () => {
    const driver = createInMemoryDriver();
    const data = await registry2Data(driver);
    const revisionDir = pathFor({
      kind: 'manifestRevision',
      name: NAME,
      algorithm: 'sha256',
      encoded: data.sig.slice(7),
    });
    // registry:2 deletes the link and leaves the directory (the in-memory driver needs a file in it)
    await driver.delete(revisionLinkPath(NAME, data.sig));
    await driver.putContent(`${revisionDir}/leftover`, bytes(''));
    const repo = createRegistry({ driver }).repository(NAME);
    expect(digestsOf(await repo.referrers.list(data.subject))).toEqual([data.sbom]);
    await expect(driver.stat(referrerLinkPath(NAME, data.subject, data.sig))).rejects.toThrow();
    expect(await textOf(driver, recordPath)).not.toContain(data.sig);

    await writeLink(driver, revisionLinkPath(NAME, data.sig), data.sig);
    expect(digestsOf(await createRegistry({ driver }).repository(NAME).referrers.list(data.subject))).toEqual(
      sorted([data.sig, data.sbom]),
    );
  });

  it('still lists what it finds when the index cannot be written (read-only storage)', async () => {
    const base = createInMemoryDriver();
    const data = await registry2Data(base);
    const { driver } = recordingDriver(base, (method, path) =>
      method === 'putContent' && String(path).includes('/_berth/')
        ? new Error('read-only file system')
        : undefined,
    );
    const repo = createRegistry({ driver }).repository(NAME);
    for (let i = 0; i < 2; i++) {
      expect(digestsOf(await repo.referrers.list(data.subject))).toEqual(sorted([data.sig, data.sbom]));
      expect(digestsOf(await repo.referrers.list(data.subject, { artifactType: SIG }))).toEqual([data.sig]);
    }
    await expect(base.stat(recordPath)).rejects.toThrow();
    // once the storage is writable again, the index catches up
    const writable = createRegistry({ driver: base }).repository(NAME);
    expect(digestsOf(await writable.referrers.list(data.subject))).toEqual(sorted([data.sig, data.sbom]));
    expect(await textOf(base, referrerLinkPath(NAME, data.subject, data.sig))).toBe(data.sig);
  });

  it('skips manifests it cannot parse and records them as checked', async () => {
    const driver = createInMemoryDriver();
    const data = await registry2Data(driver);
    const junk = await storeAsRegistry2(driver, NAME, bytes('{"schemaVersion":1,"name":"old"}'));
    const repo = createRegistry({ driver }).repository(NAME);
    expect(digestsOf(await repo.referrers.list(data.subject))).toEqual(sorted([data.sig, data.sbom]));
    expect(await textOf(driver, recordPath)).toContain(junk);
  });
});
