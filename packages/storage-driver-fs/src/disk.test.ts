import { mkdir, open, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Disk } from './disk.ts';
import { makeTempDir, removeTempDir } from './test-support/tmp.ts';

describe('Disk.syncDir', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('disk');
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await removeTempDir(root);
  });

  /** Counts the fsyncs issued on directory handles (FileHandle.prototype.sync). */
  async function countSyncs(): Promise<{ count: () => number }> {
    const probe = await open(root, 'r');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const spy = vi.spyOn(proto, 'sync');
    return { count: () => spy.mock.calls.length };
  }

  it('calls that arrive together share one fsync; a later call gets its own', async () => {
    const dir = join(root, 'd');
    await mkdir(dir);
    const disk = new Disk(root, 4, true);
    const syncs = await countSyncs();
    await Promise.all(Array.from({ length: 10 }, () => disk.syncDir(dir)));
    expect(syncs.count()).toBe(1);
    await disk.syncDir(dir);
    expect(syncs.count()).toBe(2);
    // Another directory is never covered by this one's fsync.
    await mkdir(join(root, 'e'));
    await Promise.all([disk.syncDir(dir), disk.syncDir(join(root, 'e'))]);
    expect(syncs.count()).toBe(4);
  });

  it('a call made while an fsync is already issued waits for it and issues a new one', async () => {
    const dir = join(root, 'd');
    await mkdir(dir);
    const disk = new Disk(root, 4, true);
    const syncs = await countSyncs();
    const first = disk.syncDir(dir);
    // Wait until the first fsync has been handed over (the count moves), then call again.
    while (syncs.count() === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = disk.syncDir(dir);
    const third = disk.syncDir(dir); // joins the second: not issued yet
    await Promise.all([first, second, third]);
    expect(syncs.count()).toBe(2);
  });
});

describe('Disk.removeTree', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('disk-trash');
  });
  afterEach(async () => {
    await removeTempDir(root);
  });

  it('removes a tree by way of the trash, and sweeps trash a killed process left an hour ago', async () => {
    const disk = new Disk(root, 4, false);
    const stale = join(disk.trashRoot, `${(Date.now() - 2 * 3600_000).toString(36).padStart(9, '0')}-dead`);
    const fresh = join(disk.trashRoot, `${Date.now().toString(36).padStart(9, '0')}-busy`);
    await mkdir(join(stale, 'a'), { recursive: true });
    await mkdir(join(fresh, 'b'), { recursive: true });
    await mkdir(join(root, 'x', 'y'), { recursive: true });
    await (await open(join(root, 'x', 'y', 'f'), 'w')).close();

    await disk.removeTree(join(root, 'x'));
    expect(await disk.exists(join(root, 'x'))).toBe(false);
    // Another process's removal still in progress is left alone.
    expect((await readdir(disk.trashRoot)).sort()).toEqual([basename(fresh)]);
    // A missing tree is nothing to do.
    await disk.removeTree(join(root, 'x'));
  });
});
