import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsDriver } from './gcs-driver.ts';
import { onRealGcs, startBackend, type TestBackend } from './test-support/backend.ts';
import { patternBytes, patternHash, sha256 } from './test-support/pattern.ts';

const KiB = 1024;
const text = (value: string) => new TextEncoder().encode(value);

let backend: TestBackend;
let driver: StorageDriver;
/** Object names are below this (the test file's own prefix on real GCS). */
let root: string;

beforeAll(async () => {
  backend = await startBackend('behaviour');
  root = backend.rootPrefix === '' ? '' : `${backend.rootPrefix}/`;
  driver = await createGcsDriver(backend.options({ chunksize: 256 * KiB }));
});

afterAll(async () => {
  await backend?.stop();
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('object names', () => {
  it("stores registry:2's names below rootdirectory, and pending writes in the hidden tree", async () => {
    const rooted = await createGcsDriver(backend.options({ rootdirectory: `/${root}registry/` }));
    await rooted.putContent('/docker/registry/v2/x', text('x'));
    const writer = await rooted.writer('/docker/registry/v2/pending');
    await writer.write(text('p'));
    await writer.close();
    const names = await backend.objectNames(`${root}registry/`);
    expect(names.filter((name) => !name.includes('~berth-pending'))).toEqual([
      `${root}registry/docker/registry/v2/x`,
    ]);
    expect(names.filter((name) => name.includes('~berth-pending'))).toEqual([
      expect.stringMatching(
        new RegExp(`^${root}registry/~berth-pending/docker/registry/v2/pending/~[0-9a-z]{21}/00000000$`),
      ),
    ]);
    // The hidden tree is no directory of the driver.
    expect(await rooted.list('/')).toEqual(['/docker']);
    expect((await collect(rooted.walk('/'))).map((info) => info.path)).toEqual([
      '/docker',
      '/docker/registry',
      '/docker/registry/v2',
      '/docker/registry/v2/x',
    ]);
    await rooted.delete('/docker');
    expect(await backend.objectNames(`${root}registry/`), 'delete took the pending write along').toEqual([]);
  });

  it('ignores objects no driver path can name (a console folder placeholder, other characters)', async () => {
    await driver.putContent('/foreign/ok', text('ok'));
    for (const name of ['foreign/', 'foreign/with space', 'foreign/sub//double', 'foreign/#hash']) {
      await backend.bucket.file(`${root}${name}`).save('x', { resumable: false });
    }
    expect(await driver.list('/foreign')).toEqual(['/foreign/ok', '/foreign/sub']);
    await driver.delete('/foreign');
    expect(await backend.objectNames(`${root}foreign/`)).toEqual([]);
  });
});

describe('listings', () => {
  it('pages through directories of any size (2 entries per page here)', async () => {
    const paged = await createGcsDriver(backend.options({ pageSize: 2 }));
    const files = Array.from({ length: 7 }, (_, i) => `/paged/f${i}`);
    const dirs = Array.from({ length: 5 }, (_, i) => `/paged/d${i}`);
    await Promise.all([
      ...files.map((path) => paged.putContent(path, text(path))),
      ...dirs.map((path) => paged.putContent(`${path}/inner`, text(path))),
    ]);
    expect(await paged.list('/paged')).toEqual([...dirs, ...files].sort());
    const walked = (await collect(paged.walk('/paged'))).map((info) => info.path);
    expect(walked).toHaveLength(17);
    await paged.delete('/paged');
    await expect(paged.stat('/paged')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });
});

describe('deletes', () => {
  it('drop the pending writes at and below a directory, and no sibling’s', async () => {
    await driver.putContent('/del/a/file', text('f'));
    for (const path of ['/del/a/file', '/del/a/deep/pending', '/del/ab/pending']) {
      const writer = await driver.writer(path);
      await writer.write(text(path));
      await writer.close();
    }
    await driver.delete('/del/a');
    await expect(driver.writer('/del/a/file', { append: true })).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    await expect(driver.writer('/del/a/deep/pending', { append: true })).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    const sibling = await driver.writer('/del/ab/pending', { append: true });
    expect(sibling.size).toBe('/del/ab/pending'.length);
    await sibling.cancel();
    expect(await backend.objectNames(`${root}~berth-pending/del/`)).toEqual([]);
  });

  it('of a path with only a pending write is PATH_NOT_FOUND and keeps the write', async () => {
    const writer = await driver.writer('/only/pending');
    await writer.write(text('kept'));
    await writer.close();
    await expect(driver.delete('/only/pending')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.delete('/only')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const resumed = await driver.writer('/only/pending', { append: true });
    expect(resumed.size).toBe(4);
    await resumed.cancel();
  });
});

describe('writes', () => {
  it('a small write in several parts is read back and stored as one ordinary object', async () => {
    const path = '/small/parts';
    const writer = await driver.writer(path);
    await writer.write(patternBytes(0, 100 * KiB));
    await writer.close();
    const resumed = await driver.writer(path, { append: true });
    await resumed.write(patternBytes(100 * KiB, 50 * KiB));
    await resumed.close();
    const last = await driver.writer(path, { append: true });
    await last.write(patternBytes(150 * KiB, 7));
    await last.commit();
    const [metadata] = await backend.bucket.file(`${root}small/parts`).getMetadata();
    expect(metadata.componentCount).toBeUndefined();
    expect(metadata.md5Hash).toBeTruthy();
    expect(sha256(await driver.getContent(path))).toBe(patternHash(150 * KiB + 7));
    await driver.delete('/small');
  });

  it('a new write replaces an older pending write of the path, which is deleted', async () => {
    const old = await driver.writer('/replaced/file');
    await old.write(patternBytes(0, 300 * KiB));
    await old.close();
    const replacement = await driver.writer('/replaced/file');
    await replacement.write(text('new'));
    await replacement.close();
    const names = await backend.objectNames(`${root}~berth-pending/replaced/file/`);
    expect(new Set(names.map((name) => name.split('/').at(-2))).size, 'one write left').toBe(1);
    const resumed = await driver.writer('/replaced/file', { append: true });
    expect(resumed.size).toBe(3);
    await resumed.cancel();
  });

  it('works with maxconcurrency 1 (no request waits for another while holding the only slot)', async () => {
    const serial = await createGcsDriver(backend.options({ maxconcurrency: 1, chunksize: 256 * KiB }));
    const writer = await serial.writer('/serial/file');
    await writer.write(patternBytes(0, 200 * KiB));
    await writer.close();
    const resumed = await serial.writer('/serial/file', { append: true });
    await resumed.write(patternBytes(200 * KiB, 50 * KiB));
    await resumed.commit();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => serial.putContent(`/serial/dir/f${i}`, text('x'))),
    );
    expect(sha256(await serial.getContent('/serial/file'))).toBe(patternHash(250 * KiB));
    await serial.delete('/serial');
    expect(await backend.objectNames(`${root}serial/`)).toEqual([]);
  });
});

describe('start-up', () => {
  const noBuckets = 'the emulator creates every bucket a request names (it has no missing buckets)';
  it(`a bucket that does not exist stops the driver at creation${onRealGcs() ? '' : ` — skipped: ${noBuckets}`}`, async ({
    skip,
  }) => {
    if (!onRealGcs()) skip(noBuckets);
    await expect(
      createGcsDriver(backend.options({ bucket: `berth-missing-${Date.now()}` })),
    ).rejects.toMatchObject({ code: 'DRIVER_ERROR', message: expect.stringMatching(/cannot list bucket/) });
  });
});
