import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { StorageDriver } from '@berth/storage-driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFilesystemDriver } from './fs-driver.ts';
import { patternBytes, sha256 } from './test-support/pattern.ts';
import { makeTempDir, removeTempDir, shadowEntries } from './test-support/tmp.ts';

const MiB = 1024 * 1024;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Distinct versions of a file, of different sizes, by seed. */
function versions(count: number, size: (i: number) => number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => patternBytes(0, size(i), i + 1));
}

/**
 * Reads `path` in a loop (alternating `getContent` and a streamed `reader`) until `done()`,
 * and checks every read is exactly one of `known` (by hash). Returns how many reads saw a file.
 */
async function readLoop(
  driver: StorageDriver,
  path: string,
  known: ReadonlySet<string>,
  done: () => boolean,
): Promise<number> {
  let seen = 0;
  for (let i = 0; !done(); i++) {
    let content: Uint8Array;
    try {
      content = i % 2 === 0 ? await driver.getContent(path) : await readAll(await driver.reader(path));
    } catch (err) {
      // Before the first commit there is nothing to read yet.
      if ((err as { code?: string }).code === 'PATH_NOT_FOUND') continue;
      throw err;
    }
    seen++;
    const hash = sha256(content);
    if (!known.has(hash)) throw new Error(`read ${content.byteLength} bytes that match no committed version`);
  }
  return seen;
}

describe('atomic commits under concurrent readers', () => {
  let parent: string;
  let root: string;

  beforeEach(async () => {
    parent = await makeTempDir('atomic');
    root = join(parent, 'registry');
  });

  afterEach(async () => {
    await removeTempDir(parent);
  });

  for (const fsync of [true, false]) {
    it(`readers never see a partial or mixed file while a writer commits repeatedly (fsync: ${fsync})`, async () => {
      const driver = createFilesystemDriver({ rootdirectory: root, fsync });
      const all = versions(12, (i) => 2 * MiB + i * 77_777 + (i % 2) * 3 * MiB);
      const known = new Set(all.map(sha256));
      const path = '/blobs/sha256/ab/abc/data';
      let finished = false;
      const readers = [0, 1, 2].map(() => readLoop(driver, path, known, () => finished));
      try {
        for (let round = 0; round < 3; round++) {
          for (const content of all) {
            const writer = await driver.writer(path);
            // Odd chunk sizes, so commits also cover a partly filled write buffer.
            for (let offset = 0; offset < content.byteLength; offset += 100_003) {
              await writer.write(content.subarray(offset, offset + 100_003));
            }
            await writer.commit();
          }
        }
      } finally {
        finished = true;
      }
      const seen = await Promise.all(readers);
      expect(seen.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(await readdir(join(root, 'blobs/sha256/ab/abc'))).toEqual(['data']);
      expect(await shadowEntries(root)).toEqual([]);
    });
  }

  it('putContent is atomic under concurrent readers', async () => {
    const driver = createFilesystemDriver({ rootdirectory: root });
    const all = versions(16, (i) => 256 * 1024 + i * 40_009);
    const known = new Set(all.map(sha256));
    const path = '/repositories/app/_manifests/tags/latest/current/link';
    let finished = false;
    const readers = [0, 1, 2, 3].map(() => readLoop(driver, path, known, () => finished));
    try {
      for (let round = 0; round < 8; round++) {
        // Several concurrent putContent calls of the same path: the last rename wins, whole.
        await Promise.all(
          all.slice((round * 4) % 16, ((round * 4) % 16) + 4).map((c) => driver.putContent(path, c)),
        );
      }
    } finally {
      finished = true;
    }
    const seen = await Promise.all(readers);
    expect(seen.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(known.has(sha256(await driver.getContent(path)))).toBe(true);
    expect(await readdir(join(root, 'repositories/app/_manifests/tags/latest/current'))).toEqual(['link']);
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('a reader opened before a commit streams the old version to the end', async () => {
    const driver = createFilesystemDriver({ rootdirectory: root });
    const [oldContent, newContent] = versions(2, (i) => (8 - i * 5) * MiB);
    await driver.putContent('/file', oldContent!);
    const reader = await driver.reader('/file');
    const writer = await driver.writer('/file');
    await writer.write(newContent!);
    await writer.commit();
    expect(sha256(await readAll(reader))).toBe(sha256(oldContent!));
    expect(sha256(await driver.getContent('/file'))).toBe(sha256(newContent!));
  });
});

describe('writers of the same path', () => {
  let parent: string;
  let root: string;
  let driver: StorageDriver;

  beforeEach(async () => {
    parent = await makeTempDir('same-path');
    root = join(parent, 'registry');
    driver = createFilesystemDriver({ rootdirectory: root });
  });

  afterEach(async () => {
    await removeTempDir(parent);
  });

  it('a writer superseded by a newer one still commits its own bytes, whole', async () => {
    const first = await driver.writer('/dir/file');
    await first.write(patternBytes(0, 3 * MiB, 1));
    const second = await driver.writer('/dir/file');
    await second.write(patternBytes(0, 2 * MiB, 2));
    await first.write(patternBytes(3 * MiB, 5, 1));

    await first.commit();
    expect(sha256(await driver.getContent('/dir/file'))).toBe(sha256(patternBytes(0, 3 * MiB + 5, 1)));
    // The newer write is still pending and untouched.
    await second.close();
    const resumed = await driver.writer('/dir/file', { append: true });
    expect(resumed.size).toBe(2 * MiB);
    await resumed.commit();
    expect(sha256(await driver.getContent('/dir/file'))).toBe(sha256(patternBytes(0, 2 * MiB, 2)));
    expect(await readdir(join(root, 'dir'))).toEqual(['file']);
  });

  it("cancelling a superseded writer leaves the newer writer's pending write alone", async () => {
    const first = await driver.writer('/dir/file');
    await first.write(patternBytes(0, 1000, 1));
    const second = await driver.writer('/dir/file');
    await second.write(patternBytes(0, 2000, 2));
    await second.close();
    await first.cancel();
    const resumed = await driver.writer('/dir/file', { append: true });
    expect(resumed.size).toBe(2000);
    await resumed.cancel();
    expect(await readdir(root)).toEqual(['#berth']);
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('three writers racing on one path leave exactly one of them, whole, and no stray files', async () => {
    const contents = versions(3, (i) => MiB + i * 12_345);
    const writers = await Promise.all(contents.map(() => driver.writer('/race')));
    for (let offset = 0; offset < 2 * MiB; offset += 64 * 1024) {
      await Promise.all(
        writers.map((w, i) =>
          offset < contents[i]!.byteLength
            ? w.write(contents[i]!.subarray(offset, offset + 64 * 1024))
            : undefined,
        ),
      );
    }
    await Promise.all(writers.map((w) => w.commit()));
    const result = sha256(await driver.getContent('/race'));
    expect(contents.map(sha256)).toContain(result);
    expect(await readdir(root)).toEqual(['#berth', 'race']);
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('pending writes left by writers that raced: append continues the newest and removes the rest', async () => {
    const [a, b] = await Promise.all([driver.writer('/dir/file'), driver.writer('/dir/file')]);
    await a.write(patternBytes(0, 100, 1));
    await b.write(patternBytes(0, 200, 2));
    await a.close();
    await new Promise((resolve) => setTimeout(resolve, 5));
    // A third writer, surely the newest, supersedes both.
    const c = await driver.writer('/dir/file');
    await c.write(patternBytes(0, 300, 3));
    await c.close();
    await b.close();
    // Pending writes live in the pending tree, never beside their target.
    expect(await readdir(root)).toEqual(['#berth']);
    expect(
      (await readdir(join(root, '#berth/pending/dir'))).filter((n) => n.startsWith('file#pending-')),
    ).toHaveLength(1);
    const resumed = await driver.writer('/dir/file', { append: true });
    expect(resumed.size).toBe(300);
    await resumed.commit();
    expect(sha256(await driver.getContent('/dir/file'))).toBe(sha256(patternBytes(0, 300, 3)));
    expect(await readdir(join(root, 'dir'))).toEqual(['file']);
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('deleting a file also discards its pending write', async () => {
    await driver.putContent('/dir/file', patternBytes(0, 10));
    const writer = await driver.writer('/dir/file', { append: true });
    await writer.write(patternBytes(10, 10));
    await writer.close();
    await driver.delete('/dir/file');
    await expect(driver.writer('/dir/file', { append: true })).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    expect(await readdir(root)).toEqual(['#berth']);
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('writers that create and prune one directory concurrently never fail (mkdir -p racing rmdir)', async () => {
    // Each writer creates `<pending>/dir/sub/` for its file, and its cancel or commit removes
    // that directory when it is left empty, while the others are between their own `mkdir`
    // and `open`. A recursive mkdir that loses this race reports ENOENT or ENOTDIR.
    const loops = Array.from({ length: 16 }, async (_, i) => {
      for (let round = 0; round < 40; round++) {
        const writer = await driver.writer(`/dir/sub/f${i}`);
        await writer.write(patternBytes(0, 16, i));
        if (round % 2 === 0) await writer.cancel();
        else await writer.commit();
      }
    });
    await Promise.all(loops);
    expect((await driver.list('/dir/sub')).length).toBe(16);
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('a commit after the directory was deleted under the writer recreates it', async () => {
    await driver.putContent('/dir/sub/other', new Uint8Array([1]));
    const writer = await driver.writer('/dir/sub/file');
    await writer.write(patternBytes(0, 10_000));
    await driver.delete('/dir');
    await writer.commit();
    expect(sha256(await driver.getContent('/dir/sub/file'))).toBe(sha256(patternBytes(0, 10_000)));
    expect(await driver.list('/dir/sub')).toEqual(['/dir/sub/file']);
  });

  it('deleting a directory while another driver writes into it never fails, and loses no later write', async () => {
    // Two drivers on one root, as two processes: one deletes `/t/r<n>` while the other
    // publishes files below it. A recursive rm in place fails with ENOTEMPTY when a file
    // appears between its unlinks and its rmdir.
    const other = createFilesystemDriver({ rootdirectory: root });
    for (let round = 0; round < 30; round++) {
      const dir = `/t/r${round}`;
      await driver.putContent(`${dir}/index/sha256/seed/link`, new Uint8Array([0]));
      const written: string[] = [];
      const writes = (async () => {
        for (let i = 0; i < 20; i++) {
          const path = `${dir}/index/sha256/w${i}/link`;
          await other.putContent(path, new Uint8Array([i]));
          written.push(path);
        }
      })();
      const deletes = (async () => {
        for (let i = 0; i < 5; i++) {
          await driver.delete(dir).catch((err: { code?: string }) => {
            if (err.code !== 'PATH_NOT_FOUND') throw err;
          });
          await new Promise((r) => setImmediate(r));
        }
      })();
      await Promise.all([writes, deletes]);
      // Every write after the last delete is there; what is there is whole.
      const files: string[] = [];
      try {
        for await (const info of driver.walk(dir)) if (!info.isDir) files.push(info.path);
      } catch (err) {
        if ((err as { code?: string }).code !== 'PATH_NOT_FOUND') throw err;
      }
      for (const file of files) expect((await driver.getContent(file)).byteLength).toBe(1);
      await other.putContent(`${dir}/after`, new Uint8Array([9]));
      expect([...(await driver.getContent(`${dir}/after`))]).toEqual([9]);
    }
    expect(await shadowEntries(root)).toEqual([]);
  });
});
