import { digestOf } from '@berth/digest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { garbageCollect } from '../gc/gc.ts';
import { pathFor } from '../paths.ts';
import { createRegistry } from '../registry.ts';
import { bytes, codeOf, pushBlob } from '../test-support/stores.ts';
import { createLocalChangeFeed, type StorageChange, type StorageChangeFeed } from './changes.ts';

const content = bytes('a blob two replicas serve');
const digest = digestOf(content);
const LIMITS = { readCacheTtlMs: 60_000 };

/** Two registries on one storage (two replicas), each with its own view of one feed. */
function replicas(feed = createLocalChangeFeed()) {
  const driver = createInMemoryDriver();
  const a = createRegistry({ driver, deleteEnabled: true, changes: feed.peer() }, LIMITS);
  const b = createRegistry({ driver, deleteEnabled: true, changes: feed.peer() }, LIMITS);
  return { driver, feed, a: a.repository('team/app'), b: b.repository('team/app') };
}

describe('in-process read caches with a change feed', () => {
  it('a blob link deleted on one replica is unknown on the other at once', async () => {
    const { a, b } = replicas();
    await pushBlob(a, content);
    // B reads (and keeps) the link and the blob's size.
    expect((await b.blobs.stat(digest, { cached: true })).size).toBe(content.byteLength);
    await a.blobs.delete(digest);
    expect(await codeOf(b.blobs.stat(digest, { cached: true }))).toBe('BLOB_UNKNOWN');
  });

  it('without the feed, the other replica answers from memory until its entry expires', async () => {
    const driver = createInMemoryDriver();
    const a = createRegistry({ driver, deleteEnabled: true }, LIMITS).repository('team/app');
    const b = createRegistry({ driver, deleteEnabled: true }, LIMITS).repository('team/app');
    await pushBlob(a, content);
    await b.blobs.stat(digest, { cached: true });
    await a.blobs.delete(digest);
    // What the feed prevents: B still says the blob is there.
    expect((await b.blobs.stat(digest, { cached: true })).size).toBe(content.byteLength);
  });

  it('berth gc announces what it removes; replicas forget it', async () => {
    const feed = createLocalChangeFeed();
    const { driver, a, b } = replicas(feed);
    await pushBlob(a, content);
    await b.blobs.stat(digest, { cached: true });
    // The link goes first (as `DELETE …/blobs/<digest>` would from a process without the feed),
    // then GC removes the data the cached size still describes.
    const seen: StorageChange['kind'][] = [];
    feed.peer().subscribe((change) => seen.push(change.kind));
    await driver.delete(
      pathFor({ kind: 'layerLink', name: 'team/app', algorithm: 'sha256', encoded: digest.slice(7) }),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    await garbageCollect({ driver, graceMs: 0, settleMs: 0, changes: feed.peer() });
    expect(seen).toContain('blob-removed');
    expect(seen.at(-1)).toBe('reset');
    expect(await codeOf(b.blobs.stat(digest, { cached: true }))).toBe('BLOB_UNKNOWN');
  });

  it('while the feed is disconnected nothing is answered from memory', async () => {
    const local = createLocalChangeFeed();
    let connected = true;
    const flaky = (view: StorageChangeFeed): StorageChangeFeed => ({
      get connected() {
        return connected;
      },
      publish: (change) => view.publish(change),
      subscribe: (listener) => view.subscribe(listener),
    });
    const driver = createInMemoryDriver();
    const a = createRegistry({ driver, deleteEnabled: true, changes: flaky(local.peer()) }, LIMITS);
    const b = createRegistry({ driver, deleteEnabled: true, changes: flaky(local.peer()) }, LIMITS);
    await pushBlob(a.repository('team/app'), content);
    await b.repository('team/app').blobs.stat(digest, { cached: true });
    connected = false;
    // A removal announced while B may not hear it: B must read storage.
    await driver.delete(
      pathFor({ kind: 'layerLink', name: 'team/app', algorithm: 'sha256', encoded: digest.slice(7) }),
    );
    expect(await codeOf(b.repository('team/app').blobs.stat(digest, { cached: true }))).toBe('BLOB_UNKNOWN');
  });
});
