import { digestOf } from '@berth/digest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { garbageCollect } from '../gc/gc.ts';
import { pathFor } from '../paths.ts';
import { createRegistry } from '../registry.ts';
import { bytes, codeOf, countingDriver, pushBlob } from '../test-support/stores.ts';
import { createInMemoryBlobDescriptorCache } from './in-memory.ts';

const content = bytes('a blob the cache knows');
const digest = digestOf(content);
const expected = { digest, size: content.byteLength, mediaType: 'application/octet-stream' };
const layerLink = (name: string) =>
  pathFor({ kind: 'layerLink', name, algorithm: 'sha256', encoded: digest.slice(7) });

function setup() {
  const counted = countingDriver(createInMemoryDriver());
  const cache = createInMemoryBlobDescriptorCache();
  const registry = createRegistry({
    driver: counted.driver,
    deleteEnabled: true,
    blobDescriptorCache: cache,
  });
  return { ...counted, cache, registry, repo: registry.repository('team/app') };
}

describe('the blob descriptor cache in the registry', () => {
  it('records pushed blobs and answers cached reads without storage', async () => {
    const { cache, counts, repo } = setup();
    await pushBlob(repo, content);
    expect(await cache.repository('team/app').stat(digest)).toEqual(expected);
    const before = { ...counts };
    expect(await repo.blobs.stat(digest, { cached: true })).toEqual(expected);
    expect(counts).toEqual(before);
    expect(cache.stats().hits).toBe(2);
  });

  it('leaves reads that decide what is stored (manifest push, mount) to storage', async () => {
    const { driver, registry, repo } = setup();
    await pushBlob(repo, content);
    // The link gone behind the cache's back (another process): a cached read still says yes,
    // an uncached one and a mount from this repository say no.
    await driver.delete(layerLink('team/app'));
    expect(await repo.blobs.stat(digest, { cached: true })).toEqual(expected);
    expect(await codeOf(repo.blobs.stat(digest))).toBe('BLOB_UNKNOWN');
    expect(await registry.repository('team/other').blobs.mount(digest, 'team/app')).toBeUndefined();
  });

  it('fills on a miss, and records mounted blobs in the target repository', async () => {
    const { cache, registry, repo } = setup();
    await pushBlob(repo, content);
    await cache.clear(digest);
    expect(await cache.repository('team/app').stat(digest)).toBeUndefined();
    expect(await repo.blobs.stat(digest, { cached: true })).toEqual(expected);
    expect(await cache.repository('team/app').stat(digest)).toEqual(expected);
    await registry.repository('team/other').blobs.mount(digest, 'team/app');
    expect(await cache.repository('team/other').stat(digest)).toEqual(expected);
  });

  it('forgets a blob deleted from a repository at once', async () => {
    const { cache, registry, repo } = setup();
    await pushBlob(repo, content);
    await pushBlob(registry.repository('team/other'), content);
    await repo.blobs.delete(digest);
    expect(await codeOf(repo.blobs.stat(digest, { cached: true }))).toBe('BLOB_UNKNOWN');
    expect(await cache.repository('team/other').stat(digest)).toEqual(expected);
  });

  it('berth gc clears what it deletes, so a re-push uploads the data again (distribution#2945)', async () => {
    const { cache, driver, repo } = setup();
    await pushBlob(repo, content);
    await repo.blobs.delete(digest);
    // The blob's data is unreferenced now; another repository's cached entry must go with it.
    await cache.repository('team/stale').set(digest, expected);
    // With no grace, content written in the millisecond gc starts counts as recent and is kept.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const report = await garbageCollect({ driver, graceMs: 0, settleMs: 0, blobDescriptorCache: cache });
    expect(report.deleted.blobs.map((b) => b.digest)).toEqual([digest]);
    expect(await cache.stat(digest)).toBeUndefined();
    expect(await cache.repository('team/stale').stat(digest)).toBeUndefined();
  });

  it('berth gc clears a removed layer link from its repository', async () => {
    const { cache, driver, repo } = setup();
    await pushBlob(repo, content);
    // Data gone, link left (what an interrupted delete leaves): GC removes the link.
    await driver.delete(pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: digest.slice(7) }));
    await cache.set(digest, expected);
    // Past the grace window, which counts in whole milliseconds.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const report = await garbageCollect({ driver, graceMs: 0, settleMs: 0, blobDescriptorCache: cache });
    expect(report.deleted.layerLinks).toEqual([{ repository: 'team/app', digest }]);
    expect(await cache.repository('team/app').stat(digest)).toBeUndefined();
  });
});
