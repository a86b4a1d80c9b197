import { type StorageDriver, walkFallback } from '@berth/storage-driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeLink } from '../links.ts';
import { pathFor } from '../paths.ts';
import { createRegistry } from '../registry.ts';
import { type GarbageCollectOptions, type GcReport, garbageCollect } from './gc.ts';
import {
  bytes,
  filesystemWorld,
  hasBlob,
  hasRevision,
  hookWalks,
  memoryWorld,
  type PushedImage,
  pull,
  pushBlob,
  pushImage,
  pushIndex,
  type World,
} from './test-support.ts';

const REPOSITORIES = pathFor({ kind: 'repositories' });
/** The walk of repository `race` (GC's first scan of it is n = 1, its final check n = 2). */
const RACE = `${REPOSITORIES}/race`;

/** Every file stored, with its size (to compare before and after a dry run). */
async function snapshot(driver: StorageDriver): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const info of walkFallback(driver, '/'))
      if (!info.isDir) out.push(`${info.path} ${info.size}`);
  } catch {
    return [];
  }
  return out.sort();
}

function gc(world: World, options: Partial<GarbageCollectOptions> = {}): Promise<GcReport> {
  return garbageCollect({ driver: world.driver, settleMs: 0, ...options });
}

const deletedBlobs = (report: GcReport): string[] => report.deleted.blobs.map((b) => b.digest);

describe.each([
  ['inmemory', () => Promise.resolve(memoryWorld())],
  ['filesystem', filesystemWorld],
])('garbageCollect on %s', (_name, create) => {
  let world: World;
  beforeEach(async () => {
    world = await create();
  });
  afterEach(async () => {
    await world.close();
  });

  it('finds nothing to do in an empty registry', async () => {
    const report = await gc(world);
    expect(report).toMatchObject({
      repositories: 0,
      bytesReclaimed: 0,
      deleted: { blobs: [], manifests: [] },
    });
  });

  it('keeps a multi-arch index and its children, also referenced from a second repository', async () => {
    const { index, amd64, arm64 } = await world.old(async () => {
      const registry = world.registry();
      const app = registry.repository('app');
      const amd64 = await pushImage(app, 'amd64');
      const arm64 = await pushImage(app, 'arm64', { architecture: 'arm64' });
      const index = await pushIndex(app, [amd64, arm64], { tags: ['v1'] });
      // A second repository: the amd64 child pushed there by digest (untagged), as a mirror
      // or a per-platform repository does, with its blobs mounted.
      const mirror = registry.repository('mirror/amd64');
      for (const digest of [amd64.config, ...amd64.layers]) await mirror.blobs.mount(digest, 'app');
      await pushImage(mirror, 'amd64');
      // And a third one with its own tagged index over both children.
      const other = registry.repository('other');
      for (const child of [amd64, arm64]) {
        for (const digest of [child.config, ...child.layers]) await other.blobs.mount(digest, 'app');
      }
      await pushImage(other, 'amd64');
      await pushImage(other, 'arm64', { architecture: 'arm64' });
      await pushIndex(other, [amd64, arm64], { tags: ['latest'] });
      return { index, amd64, arm64 };
    });

    for (const deleteUntagged of [false, true]) {
      const report = await gc(world, { deleteUntagged });
      expect(report.deleted).toMatchObject({ blobs: [], manifests: [], layerLinks: [] });
      expect(await pull(world, 'app', 'v1')).toContain(arm64.layers[1]);
      expect(await pull(world, 'other', 'latest')).toContain(amd64.layers[0]);
      // The child is live in `app` (its tagged index), so it stays pullable in `mirror/amd64`
      // too (registry:2 #3178/#4939 deleted it there).
      expect(await hasRevision(world.driver, 'mirror/amd64', amd64.digest)).toBe(true);
      expect(await pull(world, 'mirror/amd64', amd64.digest)).toHaveLength(4);
    }
    expect(await hasBlob(world.driver, index.digest)).toBe(true);
  });

  it('keeps an index child stored only in another repository, untagged there (registry:2 #4939)', async () => {
    const { child } = await world.old(async () => {
      // `platforms` pushes the child by digest; `multi` holds only an index over it (accepted
      // with validation.indexes.platforms: none, as buildx and manifest-tool setups use).
      const child = await pushImage(world.registry().repository('platforms'), 'child');
      const lenient = createRegistry({
        driver: world.driver,
        validation: { indexes: { platforms: 'none' } },
      });
      await pushIndex(lenient.repository('multi'), [child], { tags: ['v1'] });
      return { child };
    });
    const report = await gc(world, { deleteUntagged: true });
    expect(report.deleted).toMatchObject({ manifests: [], blobs: [] });
    expect(await pull(world, 'platforms', child.digest)).toHaveLength(4);
  });

  it('keeps referrers (signature, SBOM of the signature) of a tagged image and drops those of a dropped one', async () => {
    const { image, signature, sbom, orphanSignature, untagged } = await world.old(async () => {
      const repo = world.registry().repository('signed');
      const image = await pushImage(repo, 'image', { tags: ['v1'] });
      const signature = await pushImage(repo, 'sig', {
        subject: image,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        layers: [bytes('signature payload')],
      });
      const sbom = await pushImage(repo, 'sbom', {
        subject: signature,
        artifactType: 'application/spdx+json',
        layers: [bytes('{"spdxVersion":"SPDX-2.3"}')],
      });
      const untagged = await pushImage(repo, 'untagged');
      const orphanSignature = await pushImage(repo, 'orphan-sig', {
        subject: untagged,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        layers: [bytes('orphan signature payload')],
      });
      return { image, signature, sbom, orphanSignature, untagged };
    });

    // Without --delete-untagged every revision stays.
    expect(deletedBlobs(await gc(world))).toEqual([]);

    const report = await gc(world, { deleteUntagged: true });
    expect(report.deleted.manifests.map((m) => m.digest).sort()).toEqual(
      [untagged.digest, orphanSignature.digest].sort(),
    );
    for (const kept of [image, signature, sbom]) {
      expect(await hasRevision(world.driver, 'signed', kept.digest)).toBe(true);
      expect(await pull(world, 'signed', kept.digest)).toContain(kept.layers[0]);
    }
    expect(await world.registry().repository('signed').referrers.list(image.digest)).toEqual([
      expect.objectContaining({ digest: signature.digest }),
    ]);
    expect(await world.registry().repository('signed').referrers.list(untagged.digest)).toEqual([]);
    for (const gone of [untagged, orphanSignature]) {
      expect(await hasBlob(world.driver, gone.digest)).toBe(false);
      expect(await hasBlob(world.driver, gone.layers[0]!)).toBe(false);
    }
    expect(report.deleted.referrerLinks).toEqual([
      { repository: 'signed', subject: untagged.digest, referrer: orphanSignature.digest },
    ]);
  });

  it('keeps a referrer pushed by registry:2 (no Berth referrers index) through its subject', async () => {
    const { image, signature } = await world.old(async () => {
      const repo = world.registry().repository('r2');
      const image = await pushImage(repo, 'image', { tags: ['v1'] });
      const signature = await pushImage(repo, 'sig', { subject: image, layers: [bytes('sig')] });
      // registry:2 writes no `_berth/referrers` entry.
      await world.driver.delete(`${REPOSITORIES}/r2/_berth`);
      return { image, signature };
    });
    const report = await gc(world, { deleteUntagged: true });
    expect(report.deleted.manifests).toEqual([]);
    expect(await pull(world, 'r2', signature.digest)).toContain(signature.layers[0]);
    expect(await hasBlob(world.driver, image.digest)).toBe(true);
  });

  it('deletes the unique blobs of a deleted image and keeps the layer it shared', async () => {
    const shared = bytes('shared base layer '.repeat(100));
    const { kept, deleted } = await world.old(async () => {
      const repo = world.registry().repository('shared');
      const kept = await pushImage(repo, 'kept', { tags: ['kept'], layers: [shared, bytes('kept top')] });
      const deleted = await pushImage(repo, 'deleted', {
        tags: ['deleted'],
        layers: [shared, bytes('deleted top')],
      });
      await repo.manifests.delete(deleted.digest);
      return { kept, deleted };
    });

    const dry = await gc(world, { dryRun: true });
    const report = await gc(world);
    expect(deletedBlobs(report).sort()).toEqual([deleted.digest, deleted.config, deleted.layers[1]!].sort());
    expect(deletedBlobs(dry).sort()).toEqual(deletedBlobs(report).sort());
    expect(report.bytesReclaimed).toBe(dry.bytesReclaimed);
    expect(report.bytesReclaimed).toBeGreaterThan(0);
    expect(report.deleted.layerLinks.map((l) => l.digest).sort()).toEqual(
      [deleted.config, deleted.layers[1]!].sort(),
    );
    expect(await pull(world, 'shared', 'kept')).toEqual([kept.digest, kept.config, ...kept.layers]);
    // Nothing left to do.
    expect(deletedBlobs(await gc(world))).toEqual([]);
  });

  it('keeps untagged manifests unless --delete-untagged, then deletes them and their tag history', async () => {
    const { first, second } = await world.old(async () => {
      const repo = world.registry().repository('untagged');
      const first = await pushImage(repo, 'first', { tags: ['latest'] });
      const second = await pushImage(repo, 'second', { tags: ['latest'] });
      return { first, second };
    });
    expect((await gc(world)).deleted.manifests).toEqual([]);
    expect(await pull(world, 'untagged', first.digest)).toHaveLength(4);

    const report = await gc(world, { deleteUntagged: true });
    expect(report.deleted.manifests).toEqual([{ repository: 'untagged', digest: first.digest }]);
    expect(report.deleted.tagIndexEntries).toBe(1);
    expect(deletedBlobs(report).sort()).toEqual([first.digest, first.config, ...first.layers].sort());
    expect(await hasRevision(world.driver, 'untagged', first.digest)).toBe(false);
    expect(await pull(world, 'untagged', 'latest')).toEqual([second.digest, second.config, ...second.layers]);
  });

  it('never deletes recent content: a blob uploaded seconds ago with no manifest, an untagged manifest just pushed', async () => {
    await world.old(async () => {
      await pushImage(world.registry().repository('recent'), 'base', { tags: ['v1'] });
    });
    const repo = world.registry().repository('recent');
    const fresh = await pushBlob(repo, bytes('uploaded seconds before GC'));
    const child = await pushImage(repo, 'child-before-index');

    const report = await gc(world, { deleteUntagged: true });
    expect(report.deleted).toMatchObject({ blobs: [], manifests: [], layerLinks: [] });
    expect(report.blobs.recent).toBe(1);
    expect(await hasBlob(world.driver, fresh)).toBe(true);
    expect(await pull(world, 'recent', child.digest)).toHaveLength(4);

    // Outside the grace window (here: none), the same content goes.
    const strict = await gc(world, { deleteUntagged: true, graceMs: 0, now: () => Date.now() + 1000 });
    expect(deletedBlobs(strict)).toContain(fresh);
    expect(strict.deleted.manifests).toEqual([{ repository: 'recent', digest: child.digest }]);
  });

  it('leaves uploads in progress alone; they complete afterwards', async () => {
    const upload = await world.old(async () => {
      const repo = world.registry().repository('uploads');
      await pushImage(repo, 'image', { tags: ['v1'] });
      const upload = await repo.uploads.create();
      await upload.append(
        (async function* () {
          yield bytes('first half, ');
        })(),
      );
      return upload;
    });
    await gc(world, { deleteUntagged: true });
    await upload.append(
      (async function* () {
        yield bytes('second half');
      })(),
    );
    const { digestOf } = await import('@berth/digest');
    const digest = digestOf(bytes('first half, second half'));
    await upload.complete(digest);
    expect(await hasBlob(world.driver, digest)).toBe(true);
  });

  it('a dry run deletes nothing', async () => {
    await world.old(async () => {
      const repo = world.registry().repository('dry');
      await pushImage(repo, 'a', { tags: ['a'] });
      const b = await pushImage(repo, 'b', { tags: ['b'] });
      await repo.manifests.delete(b.digest);
      await pushBlob(repo, bytes('orphan'));
    });
    const before = await snapshot(world.driver);
    const report = await gc(world, { dryRun: true, deleteUntagged: true });
    expect(report.deleted.blobs.length).toBe(5); // b's manifest, config and layers, the orphan
    expect(await snapshot(world.driver)).toEqual(before);
  });

  describe('races with a registry serving the same storage', () => {
    /** Old garbage: an image whose manifest was deleted; its blobs are still linked in `race`. */
    async function garbage(): Promise<PushedImage> {
      return world.old(async () => {
        const repo = world.registry().repository('race');
        await pushImage(repo, 'keep', { tags: ['keep'] });
        const image = await pushImage(repo, 'garbage', { tags: ['garbage'] });
        await repo.manifests.delete(image.digest);
        return image;
      });
    }

    /**
     * Pushes the manifest of `image` again under `tag`. Its blobs are still there, so a client
     * (HEAD → 200) uploads nothing: nothing but the manifest's links is written.
     */
    async function repush(image: PushedImage, tag: string): Promise<void> {
      const { MediaType } = await import('@berth/manifest');
      await world
        .registry()
        .repository('race')
        .manifests.put(image.bytes, { mediaType: MediaType.OciManifest, tags: [tag] });
    }

    it('a manifest pushed between the mark and the sweep keeps the old blobs it refers to', async () => {
      const image = await garbage();
      const hooked = hookWalks(world.driver, async (path, n, when) => {
        // GC has read the repository; the sweep is to come.
        if (path === RACE && n === 1 && when === 'after') await repush(image, 'again');
      });
      const report = await garbageCollect({ driver: hooked, settleMs: 0 });
      expect(deletedBlobs(report)).toEqual([]);
      // GC had set them aside (its mark did not see the push); its final check put them back.
      expect(report.restored.blobs.map((b) => b.digest).sort()).toEqual(
        [image.digest, image.config, ...image.layers].sort(),
      );
      expect(await pull(world, 'race', 'again')).toContain(image.config);
    });

    it('a manifest whose PUT validated before GC set its blobs aside, written before the final check, brings them back', async () => {
      const image = await garbage();
      const repo = 'race';
      const hooked = hookWalks(world.driver, async (path, n, when) => {
        // Second scan of the repositories = GC's final check: the blobs are in quarantine. Write
        // what a PUT that validated its references earlier writes now: content, then links.
        if (path !== REPOSITORIES || n !== 2 || when !== 'before') return;
        expect(await hasBlob(world.driver, image.layers[0]!)).toBe(false);
        const encoded = image.digest.slice('sha256:'.length);
        await world.driver.putContent(
          pathFor({ kind: 'blobData', algorithm: 'sha256', encoded }),
          image.bytes,
        );
        await writeLink(
          world.driver,
          pathFor({ kind: 'manifestRevisionLink', name: repo, algorithm: 'sha256', encoded }),
          image.digest,
        );
        await writeLink(
          world.driver,
          pathFor({ kind: 'tagCurrentLink', name: repo, tag: 'raced' }),
          image.digest,
        );
      });
      const report = await garbageCollect({ driver: hooked, settleMs: 0 });
      expect(report.restored.blobs.map((b) => b.digest).sort()).toEqual(
        [image.digest, image.config, ...image.layers].sort(),
      );
      expect(await pull(world, repo, 'raced')).toEqual([image.digest, image.config, ...image.layers]);
    });

    it('a tag moved to an untagged manifest during the run keeps it (and its blobs)', async () => {
      const { untagged } = await world.old(async () => {
        const repo = world.registry().repository('moved');
        const untagged = await pushImage(repo, 'old');
        await pushImage(repo, 'new', { tags: ['latest'] });
        return { untagged };
      });
      const hooked = hookWalks(world.driver, async (path, n, when) => {
        if (path !== REPOSITORIES || n !== 2 || when !== 'before') return;
        // GC removed the revision tentatively and set its blobs aside; the tag now moves to it
        // (a PUT by tag writes the revision link again and the tag).
        expect(await hasRevision(world.driver, 'moved', untagged.digest)).toBe(false);
        await writeLink(
          world.driver,
          pathFor({ kind: 'tagCurrentLink', name: 'moved', tag: 'latest' }),
          untagged.digest,
        );
      });
      const report = await garbageCollect({ driver: hooked, settleMs: 0, deleteUntagged: true });
      expect(report.restored.manifests).toEqual([{ repository: 'moved', digest: untagged.digest }]);
      expect(report.deleted.manifests).toEqual([]);
      expect(await pull(world, 'moved', 'latest')).toEqual([
        untagged.digest,
        untagged.config,
        ...untagged.layers,
      ]);
    });

    it('a mount of an unreferenced blob into another repository during the run keeps it', async () => {
      const image = await garbage();
      const hooked = hookWalks(world.driver, async (path, n, when) => {
        if (path === RACE && n === 1 && when === 'after') {
          expect(
            await world.registry().repository('elsewhere').blobs.mount(image.layers[0]!, 'race'),
          ).toBeDefined();
        }
      });
      const report = await garbageCollect({ driver: hooked, settleMs: 0 });
      expect(deletedBlobs(report)).not.toContain(image.layers[0]);
      expect(deletedBlobs(report)).toContain(image.layers[1]);
      expect(report.restored.blobs.map((b) => b.digest)).toEqual([image.layers[0]]);
      await expect(
        world.registry().repository('elsewhere').blobs.stat(image.layers[0]!),
      ).resolves.toBeDefined();
    });

    it.each([
      ['after the mark (the upload finds the blob and only relinks it)', RACE, 1, 'after'],
      ['while it is set aside (the upload stores it again)', REPOSITORIES, 2, 'before'],
    ] as const)(
      'an upload of an unreferenced blob during the run keeps it: %s',
      async (_what, hookPath, hookN, hookWhen) => {
        const image = await garbage();
        const layer = bytes(`${'garbage layer 0 '.repeat(40)}`);
        const hooked = hookWalks(world.driver, async (path, n, when) => {
          if (path === hookPath && n === hookN && when === hookWhen) {
            await pushBlob(world.registry().repository('race'), layer);
          }
        });
        const report = await garbageCollect({ driver: hooked, settleMs: 0 });
        expect(deletedBlobs(report)).not.toContain(image.layers[0]);
        expect(deletedBlobs(report)).toContain(image.layers[1]);
        expect(report.deleted.layerLinks.map((l) => l.digest)).not.toContain(image.layers[0]);
        await expect(world.registry().repository('race').blobs.stat(image.layers[0]!)).resolves.toBeDefined();
      },
    );

    it('interrupted while settling: puts back what is live, leaves the rest set aside for the next run', async () => {
      const image = await garbage();
      const orphan = await world.old(() => pushBlob(world.registry().repository('race'), bytes('orphan')));
      const controller = new AbortController();
      const hooked = hookWalks(world.driver, async (path, n, when) => {
        if (path === RACE && n === 1 && when === 'after') await repush(image, 'during-interrupt');
      });
      const run = garbageCollect({ driver: hooked, settleMs: 10_000, signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      await expect(run).rejects.toThrow();
      // The re-pushed image is whole; the orphan waits in the quarantine.
      expect(await pull(world, 'race', 'during-interrupt')).toHaveLength(4);
      expect(await hasBlob(world.driver, orphan)).toBe(false);
      expect((await snapshot(world.driver)).filter((f) => f.includes('/quarantine/'))).toHaveLength(1);
      const next = await gc(world);
      expect(deletedBlobs(next)).toEqual([orphan]);
      expect(next.bytesReclaimed).toBe(6);
      expect((await snapshot(world.driver)).filter((f) => f.includes('/quarantine/'))).toEqual([]);
    });

    it('finishes what an interrupted run left in the quarantine', async () => {
      const { live, dead } = await world.old(async () => {
        const repo = world.registry().repository('crash');
        const live = await pushImage(repo, 'live', { tags: ['v1'] });
        const dead = await pushBlob(repo, bytes('dead'));
        return { live, dead };
      });
      // A run that stopped after setting both aside (one of them wrongly, as a race would).
      for (const digest of [live.layers[0]!, dead]) {
        const encoded = digest.slice(7);
        await world.driver.move(
          pathFor({ kind: 'blobData', algorithm: 'sha256', encoded }),
          pathFor({ kind: 'gcQuarantineBlob', algorithm: 'sha256', encoded }),
        );
      }
      const dry = await gc(world, { dryRun: true });
      expect(deletedBlobs(dry)).toEqual([dead]);
      const report = await gc(world);
      expect(deletedBlobs(report)).toEqual([dead]);
      expect(report.restored.blobs.map((b) => b.digest)).toEqual([live.layers[0]]);
      expect(await pull(world, 'crash', 'v1')).toHaveLength(4);
      expect(await snapshot(world.driver)).not.toContainEqual(expect.stringContaining('quarantine'));
    });
  });
});
