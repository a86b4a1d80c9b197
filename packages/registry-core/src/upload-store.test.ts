import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { type Digest, digestOf } from '@berth/digest';
import { createInMemoryDriver, type StorageDriver } from '@berth/storage-driver';
import { createFilesystemDriver } from '@berth/storage-driver-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRegistryError } from './errors.ts';
import { pathFor } from './paths.ts';
import { createRegistry } from './registry.ts';
import {
  bytes,
  type CallCounts,
  chunked,
  codeOf,
  countingDriver,
  expectSameBytes,
  filesOf,
  plain,
  randomBytes,
  readAll,
  tempDir,
  textOf,
} from './test-support/stores.ts';
import type { Registry, Upload } from './types.ts';

const NAME = 'library/app';
const MiB = 1024 * 1024;

/** Resumes `upload` through `registry` (as another replica would, from the `_state` token). */
function resume(registry: Registry, upload: Upload): Promise<Upload> {
  return registry.repository(upload.name).uploads.get(upload.uuid, {
    offset: upload.size,
    startedAt: upload.startedAt,
  });
}

async function* failingAfter(data: Uint8Array, error: Error): AsyncGenerator<Uint8Array> {
  yield data;
  throw error;
}

describe('upload store (in-memory)', () => {
  let driver: StorageDriver;
  let counts: CallCounts;
  let registry: Registry;

  beforeEach(() => {
    ({ driver, counts } = countingDriver(createInMemoryDriver()));
    registry = createRegistry({ driver });
  });

  it('creates an upload the registry:2 way: startedat, and no data until the first byte', async () => {
    const before = Date.now();
    const upload = await registry.repository(NAME).uploads.create();
    expect(upload.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(upload.size).toBe(0);
    expect(upload.algorithm).toBe('sha256');
    expect(upload.name).toBe(NAME);
    const startedAt = await textOf(driver, pathFor({ kind: 'uploadStartedAt', name: NAME, id: upload.uuid }));
    expect(startedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(new Date(startedAt)).toEqual(upload.startedAt);
    expect(upload.startedAt.getTime()).toBeGreaterThan(before - 1000);
    // Nothing but startedat; the data write starts with the first byte.
    expect(counts.writer ?? 0).toBe(0);
    expect(await filesOf(driver)).toEqual([
      pathFor({ kind: 'uploadStartedAt', name: NAME, id: upload.uuid }),
    ]);
    const resumed = await resume(registry, upload);
    expect(resumed.size).toBe(0);
    expect(resumed.startedAt).toEqual(upload.startedAt);
  });

  it('records a non-default algorithm for other processes', async () => {
    const upload = await registry.repository(NAME).uploads.create({ algorithm: 'sha512' });
    expect(upload.algorithm).toBe('sha512');
    expect(await textOf(driver, pathFor({ kind: 'berthUploadAlgorithm', name: NAME, id: upload.uuid }))).toBe(
      'sha512',
    );
    const other = createRegistry({ driver });
    expect((await resume(other, upload)).algorithm).toBe('sha512');
    expect(await codeOf(registry.repository(NAME).uploads.create({ algorithm: 'md5' as 'sha256' }))).toBe(
      'DIGEST_INVALID',
    );
  });

  it('answers BLOB_UPLOAD_UNKNOWN for unknown and malformed ids', async () => {
    const uploads = registry.repository(NAME).uploads;
    const state = { offset: 0, startedAt: new Date() };
    expect(await codeOf(uploads.get('6d1a4c56-2c36-4f8a-9a3e-2b2f9c1f0a11', state))).toBe(
      'BLOB_UPLOAD_UNKNOWN',
    );
    expect(await codeOf(uploads.get('..', state))).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(await codeOf(uploads.get('a=b', state))).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(await codeOf(uploads.get('', state))).toBe('BLOB_UPLOAD_UNKNOWN');
    // another repository's upload is unknown here
    const upload = await uploads.create();
    expect(await codeOf(registry.repository('other').uploads.get(upload.uuid, state))).toBe(
      'BLOB_UPLOAD_UNKNOWN',
    );
  });

  it('refuses an upload whose recorded algorithm is unknown; falls back to the token start time', async () => {
    const uploads = registry.repository(NAME).uploads;
    const upload = await uploads.create();
    const startedAt = new Date('2021-02-03T04:05:06Z');
    await driver.putContent(
      pathFor({ kind: 'uploadStartedAt', name: NAME, id: upload.uuid }),
      bytes('not a date'),
    );
    expect((await uploads.get(upload.uuid, { offset: 0, startedAt })).startedAt).toEqual(startedAt);
    await driver.putContent(
      pathFor({ kind: 'berthUploadAlgorithm', name: NAME, id: upload.uuid }),
      bytes('md5'),
    );
    expect(await codeOf(uploads.get(upload.uuid, { offset: 0, startedAt }))).toBe('BLOB_UPLOAD_INVALID');
  });

  it('answers RANGE_INVALID with the stored size when the token offset is stale', async () => {
    const uploads = registry.repository(NAME).uploads;
    const upload = await uploads.create();
    await upload.append(chunked(bytes('12345')));
    try {
      await uploads.get(upload.uuid, { offset: 0, startedAt: upload.startedAt });
      expect.unreachable();
    } catch (err) {
      expect(isRegistryError(err) && err.code).toBe('RANGE_INVALID');
      expect(isRegistryError(err) && err.status).toBe(416);
      expect(isRegistryError(err) && err.detail).toEqual({ offset: 0, size: 5 });
    }
  });

  it('skips the offset check when no offset is given (status and cancel with any location)', async () => {
    const uploads = registry.repository(NAME).uploads;
    const upload = await uploads.create();
    await upload.append(chunked(bytes('12345')));
    const resumed = await uploads.get(upload.uuid, { startedAt: new Date(0) });
    expect(resumed.size).toBe(5);
    expect(resumed.startedAt).toEqual(upload.startedAt);
    // the check still applies to whoever passes an offset, even a stale one after this
    expect(await codeOf(uploads.get(upload.uuid, { offset: 3, startedAt: upload.startedAt }))).toBe(
      'RANGE_INVALID',
    );
    expect(await codeOf(uploads.get('6d1a4c56-2c36-4f8a-9a3e-2b2f9c1f0a11', { startedAt: new Date() }))).toBe(
      'BLOB_UPLOAD_UNKNOWN',
    );
    await resumed.cancel();
    expect(await codeOf(uploads.get(upload.uuid, { startedAt: upload.startedAt }))).toBe(
      'BLOB_UPLOAD_UNKNOWN',
    );
  });

  it('checks the chunk start before writing anything', async () => {
    const upload = await registry.repository(NAME).uploads.create();
    await upload.append(chunked(bytes('abc')), 0);
    expect(await codeOf(upload.append(chunked(bytes('def')), 0))).toBe('RANGE_INVALID');
    expect(await codeOf(upload.append(chunked(bytes('def')), 4))).toBe('RANGE_INVALID');
    expect(upload.size).toBe(3);
    expect((await resume(registry, upload)).size).toBe(3);
    expect(await upload.append(chunked(bytes('def')), 3)).toBe(6);
    const descriptor = await upload.complete(digestOf(bytes('abcdef')));
    expect(descriptor).toEqual({
      digest: digestOf(bytes('abcdef')),
      size: 6,
      mediaType: 'application/octet-stream',
    });
  });

  it('completes: blob at the blob path, linked, upload gone', async () => {
    const repo = registry.repository(NAME);
    const data = randomBytes(300_000);
    const digest = digestOf(data);
    const upload = await repo.uploads.create();
    expect(await upload.append(chunked(data, 70_000))).toBe(data.byteLength);
    // in progress: no blob anywhere
    expect(await filesOf(driver, pathFor({ kind: 'blobs' }))).toEqual([]);
    expect(await codeOf(repo.blobs.stat(digest))).toBe('BLOB_UNKNOWN');

    expect(await upload.complete(digest)).toEqual({
      digest,
      size: data.byteLength,
      mediaType: 'application/octet-stream',
    });
    expectSameBytes(await readAll(await repo.blobs.open(digest)), data);
    expect(await filesOf(driver, pathFor({ kind: 'repository', name: NAME }))).toEqual([
      pathFor({ kind: 'layerLink', name: NAME, algorithm: 'sha256', encoded: digest.slice(7) }),
    ]);
    expect(await codeOf(resume(registry, upload))).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(counts.reader ?? 0).toBe(1); // only the open() above
  });

  it('completes an empty upload', async () => {
    const repo = registry.repository(NAME);
    const upload = await repo.uploads.create();
    const digest = digestOf(new Uint8Array(0));
    expect((await upload.complete(digest)).size).toBe(0);
    expect((await repo.blobs.stat(digest)).size).toBe(0);
  });

  it('hashes one 64 MiB PATCH with node:crypto and never reads it back', async () => {
    const repo = registry.repository(NAME);
    const data = cryptoRandomBytes(64 * MiB);
    const digest = digestOf(data);
    const upload = await repo.uploads.create();
    await upload.append(chunked(data, MiB));
    expect(await upload.complete(digest)).toMatchObject({ digest, size: 64 * MiB });
    expect(counts.reader ?? 0).toBe(0);
    expect((await repo.blobs.stat(digest)).size).toBe(64 * MiB);
  });

  it('keeps the fast hasher across PATCHes on one process (no states, no reads)', async () => {
    const repo = registry.repository(NAME);
    const data = randomBytes(200_000, 7);
    let upload = await repo.uploads.create();
    for (let i = 0; i < data.byteLength; i += 50_000) {
      upload = await resume(registry, upload); // a new request, same process
      await upload.append(chunked(data.subarray(i, i + 50_000)), i);
    }
    const last = await resume(registry, upload);
    await last.complete(digestOf(data));
    expect(counts.reader ?? 0).toBe(0);
    expectSameBytes(await readAll(await repo.blobs.open(digestOf(data))), data);
  });

  it('rejects a wrong digest with DIGEST_INVALID and keeps the upload for a retry', async () => {
    const repo = registry.repository(NAME);
    const data = bytes('the real content');
    const upload = await repo.uploads.create();
    await upload.append(chunked(data));
    const wrong = digestOf(bytes('something else'));
    expect(await codeOf(upload.complete(wrong))).toBe('DIGEST_INVALID');
    expect(await codeOf(repo.blobs.stat(wrong))).toBe('BLOB_UNKNOWN');
    // still there, same size, and it can even grow before the retry
    const again = await resume(registry, upload);
    expect(again.size).toBe(data.byteLength);
    await again.append(chunked(bytes('!')));
    const full = bytes('the real content!');
    expect(await codeOf(again.complete(digestOf(data)))).toBe('DIGEST_INVALID');
    expect((await again.complete(digestOf(full))).size).toBe(full.byteLength);
    expect(counts.reader ?? 0).toBe(0);
  });

  it('verifies a digest of the other algorithm by rehashing', async () => {
    const repo = registry.repository(NAME);
    const data = randomBytes(100_000, 3);
    const upload = await repo.uploads.create();
    await upload.append(chunked(data));
    expect(await codeOf(upload.complete(digestOf(bytes('x'), 'sha512')))).toBe('DIGEST_INVALID');
    const digest = digestOf(data, 'sha512');
    expect(await upload.complete(digest)).toMatchObject({ digest, size: data.byteLength });
    expect(counts.reader).toBeGreaterThan(0);
    expectSameBytes(await readAll(await repo.blobs.open(digest)), data);
  });

  it('uploads with sha512', async () => {
    const repo = registry.repository(NAME);
    const data = randomBytes(150_000, 5);
    const digest = digestOf(data, 'sha512');
    const upload = await repo.uploads.create({ algorithm: 'sha512' });
    await upload.append(chunked(data.subarray(0, 100_000)));
    await (await resume(registry, upload)).append(chunked(data.subarray(100_000)), 100_000);
    const final = await repo.uploads.get(upload.uuid, {
      offset: data.byteLength,
      startedAt: upload.startedAt,
    });
    expect(await final.complete(digest)).toMatchObject({ digest, size: data.byteLength });
    expect(counts.reader ?? 0).toBe(0);
    expectSameBytes(
      plain(
        await driver.getContent(pathFor({ kind: 'blobData', algorithm: 'sha512', encoded: digest.slice(7) })),
      ),
      data,
    );
  });

  it('stores a whole blob sent with complete() straight at the blob path, verified, with no upload data', async () => {
    const repo = registry.repository(NAME);
    const data = randomBytes(300_000, 5);
    const digest = digestOf(data);
    const upload = await repo.uploads.create();
    expect(await upload.complete(digest, { source: chunked(data, 64_000), expectedStart: 0 })).toEqual({
      digest,
      size: data.byteLength,
      mediaType: 'application/octet-stream',
    });
    expectSameBytes(await readAll(await repo.blobs.open(digest)), data);
    expect(await filesOf(driver, pathFor({ kind: 'repository', name: NAME }))).toEqual([
      pathFor({ kind: 'layerLink', name: NAME, algorithm: 'sha256', encoded: digest.slice(7) }),
    ]);
    // One write (the blob's; the other writer call only reads the upload's size, still 0, once
    // the upload is claimed), no moves, no reads, no saved states.
    expect(counts.writer).toBe(2);
    expect(counts.move ?? 0).toBe(0);
    expect(counts.reader ?? 0).toBe(1); // the open() above
    expect(await codeOf(resume(registry, upload))).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('a whole blob with the wrong digest, or whose body fails, leaves nothing and the upload empty', async () => {
    const repo = registry.repository(NAME);
    const data = bytes('the whole blob');
    const digest = digestOf(data);
    const upload = await repo.uploads.create();
    const wrong = digestOf(bytes('something else'));
    expect(await codeOf(upload.complete(wrong, { source: chunked(data) }))).toBe('DIGEST_INVALID');
    await expect(
      upload.complete(digest, { source: failingAfter(data.subarray(0, 5), new Error('client went away')) }),
    ).rejects.toThrow('client went away');
    expect(await codeOf(upload.complete(digest, { source: chunked(data), expectedStart: 3 }))).toBe(
      'RANGE_INVALID',
    );
    expect(await filesOf(driver, pathFor({ kind: 'blobs' }))).toEqual([]);
    const resumed = await resume(registry, upload);
    expect(resumed.size).toBe(0);
    expect((await resumed.complete(digest, { source: chunked(data) })).size).toBe(data.byteLength);
    expectSameBytes(await readAll(await repo.blobs.open(digest)), data);
  });

  it('a final chunk after earlier ones is appended, then verified', async () => {
    const repo = registry.repository(NAME);
    const data = bytes('first part;final part');
    const upload = await repo.uploads.create();
    await upload.append(chunked(data.subarray(0, 11)));
    const done = await upload.complete(digestOf(data), {
      source: chunked(data.subarray(11)),
      expectedStart: 11,
    });
    expect(done.size).toBe(data.byteLength);
    expectSameBytes(await readAll(await repo.blobs.open(digestOf(data))), data);
  });

  it('keeps the bytes that arrived when the request body fails midway', async () => {
    const repo = registry.repository(NAME);
    const upload = await repo.uploads.create();
    const head = bytes('first part;');
    await expect(upload.append(failingAfter(head, new Error('client went away')))).rejects.toThrow(
      'client went away',
    );
    expect(upload.size).toBe(head.byteLength);
    const resumed = await resume(registry, upload);
    expect(resumed.size).toBe(head.byteLength);
    await resumed.append(chunked(bytes('second part')), head.byteLength);
    await resumed.complete(digestOf(bytes('first part;second part')));
    expect(counts.reader ?? 0).toBe(0);
  });

  it('does not touch storage for an empty body', async () => {
    const upload = await registry.repository(NAME).uploads.create();
    await upload.append(chunked(bytes('abc')));
    const other = createRegistry({ driver });
    const resumed = await resume(other, upload);
    const before = { ...counts };
    async function* empty(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(0);
    }
    expect(await resumed.append(empty(), 3)).toBe(3);
    expect(counts).toEqual(before);
    expect(await codeOf(resumed.append(empty(), 2))).toBe('RANGE_INVALID');
    await resumed.complete(digestOf(bytes('abc'))); // from the recorded digest, no re-read
    expect(counts.reader ?? 0).toBe(0);
  });

  it('lets two concurrent uploads of the same content both succeed', async () => {
    const a = registry.repository('team/a');
    const b = registry.repository('team/b');
    const data = randomBytes(500_000, 11);
    const digest = digestOf(data);
    const [ua, ub] = await Promise.all([a.uploads.create(), b.uploads.create()]);
    await Promise.all([ua.append(chunked(data, 10_000)), ub.append(chunked(data, 30_000))]);
    const [da, db] = await Promise.all([ua.complete(digest), ub.complete(digest)]);
    expect(da).toEqual(db);
    expectSameBytes(await readAll(await a.blobs.open(digest)), data);
    expectSameBytes(await readAll(await b.blobs.open(digest)), data);
    expect(await filesOf(driver, pathFor({ kind: 'uploads', name: 'team/a' }))).toEqual([]);
  });

  it('drops the upload data when the blob already exists', async () => {
    const a = registry.repository('team/a');
    const b = registry.repository('team/b');
    const data = bytes('shared layer');
    const digest = digestOf(data);
    const first = await a.uploads.create();
    await first.append(chunked(data));
    await first.complete(digest);
    const blobPath = pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: digest.slice(7) });
    const before = await driver.stat(blobPath);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await b.uploads.create();
    await second.append(chunked(data));
    await second.complete(digest);
    expect((await driver.stat(blobPath)).modTime).toEqual(before.modTime);
    expect((await b.blobs.stat(digest)).size).toBe(data.byteLength);
    expect(await filesOf(driver, pathFor({ kind: 'uploads', name: 'team/b' }))).toEqual([]);
  });

  it('switches to resumable mode when the hasher was evicted from the bounded cache', async () => {
    const small = createRegistry({ driver }, { uploadHashers: 1 });
    const repo = small.repository(NAME);
    const one = randomBytes(120_000, 21);
    const two = randomBytes(90_000, 22);
    let u1 = await repo.uploads.create();
    let u2 = await repo.uploads.create();
    await u1.append(chunked(one.subarray(0, 60_000)));
    await u2.append(chunked(two.subarray(0, 45_000))); // evicts u1's hasher
    u1 = await resume(small, u1);
    await u1.append(chunked(one.subarray(60_000)), 60_000); // rehashes u1's first 60 000 bytes
    expect(counts.reader).toBe(1);
    u2 = await resume(small, u2);
    await u2.append(chunked(two.subarray(45_000)), 45_000); // u2's was evicted by u1's in turn
    expect(counts.reader).toBe(2);
    await (await resume(small, u1)).complete(digestOf(one));
    await (await resume(small, u2)).complete(digestOf(two));
    expect(counts.reader).toBe(2);
  });

  it('cancels; a second cancel finds the upload unknown', async () => {
    const upload = await registry.repository(NAME).uploads.create();
    await upload.append(chunked(bytes('data')));
    await upload.cancel();
    expect(await codeOf(upload.cancel())).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(await filesOf(driver)).toEqual([]);
    expect(await codeOf(resume(registry, upload))).toBe('BLOB_UPLOAD_UNKNOWN');
    expect(await codeOf(upload.append(chunked(bytes('more'))))).toBe('BLOB_UPLOAD_UNKNOWN');
  });
});

describe('upload store across processes (filesystem driver)', () => {
  let root: string;
  let remove: () => Promise<void>;
  let reads: { counts: CallCounts[] };

  beforeEach(async () => {
    ({ dir: root, remove } = await tempDir('uploads'));
    reads = { counts: [] };
  });
  afterEach(async () => {
    await remove();
  });

  /** A new "process": its own driver instance and registry on the shared root. */
  function instance(): Registry {
    const { driver, counts } = countingDriver(createFilesystemDriver({ rootdirectory: root, fsync: false }));
    reads.counts.push(counts);
    return createRegistry({ driver });
  }
  const totalReads = () => reads.counts.reduce((sum, c) => sum + (c.reader ?? 0), 0);

  it('a whole blob on a session started by another process: concurrent pushes of one blob all succeed', async () => {
    const starter = instance();
    const data = randomBytes(2 * MiB, 21);
    const digest = digestOf(data);
    const uploads = await Promise.all(
      Array.from({ length: 6 }, (_, i) => starter.repository(`team/r${i}`).uploads.create()),
    );
    // Each completes on its own "process", all writing the same blob path at once.
    await Promise.all(
      uploads.map(async (upload) => {
        const resumed = await resume(instance(), upload);
        expect(resumed.size).toBe(0);
        await resumed.complete(digest, { source: chunked(data, 100_000), expectedStart: 0 });
      }),
    );
    for (let i = 0; i < 6; i++) {
      expectSameBytes(await readAll(await starter.repository(`team/r${i}`).blobs.open(digest)), data);
    }
    // Nothing left of the uploads, and no pending or temporary file anywhere.
    const leftovers = (await readdir(root, { recursive: true })).filter(
      (entry) => entry.includes('_uploads/') || /#(pending|tmp)-/.test(entry),
    );
    expect(leftovers).toEqual([]);
  });

  /** Splits `data` into `n` nearly equal chunks. */
  function split(data: Uint8Array, n: number): Uint8Array[] {
    const size = Math.ceil(data.byteLength / n);
    return Array.from({ length: n }, (_, i) =>
      data.subarray(i * size, Math.min((i + 1) * size, data.byteLength)),
    );
  }

  async function appendOn(registry: Registry, upload: Upload, chunk: Uint8Array): Promise<Upload> {
    const current = await resume(registry, upload);
    await current.append(chunked(chunk, 100_000), current.size);
    return current;
  }

  it('gets the digest right when chunks alternate between two processes', async () => {
    const a = instance();
    const b = instance();
    const data = cryptoRandomBytes(3 * MiB + 12_345);
    const digest = digestOf(data);
    let upload = await a.repository(NAME).uploads.create();
    const chunks = split(data, 6);
    for (const [i, chunk] of chunks.entries()) upload = await appendOn(i % 2 === 0 ? b : a, upload, chunk);
    const last = await resume(a, upload);
    expect(await last.complete(digest)).toMatchObject({ digest, size: data.byteLength });
    expectSameBytes(await readAll(await b.repository(NAME).blobs.open(digest)), new Uint8Array(data));
    // Chunk 1 was hashed fast on b; chunk 2 on a switched to resumable mode and read chunk 1
    // back once. Every later request found a saved state at its offset.
    expect(totalReads()).toBe(2); // the one rehash + the open() above
    expect(await filesOf(a.options.driver, pathFor({ kind: 'uploads', name: NAME }))).toEqual([]);
  });

  it('survives restarts in the middle of an upload', async () => {
    const data = cryptoRandomBytes(2 * MiB + 7);
    const digest = digestOf(data);
    const chunks = split(data, 4);
    let upload = await instance().repository(NAME).uploads.create();
    upload = await appendOn(instance(), upload, chunks[0]!);
    upload = await appendOn(instance(), upload, chunks[1]!); // restarted: switches, rehashes chunk 0
    const same = instance();
    upload = await appendOn(same, upload, chunks[2]!);
    upload = await appendOn(same, upload, chunks[3]!);
    const final = await resume(instance(), upload);
    expect(await final.complete(digest)).toMatchObject({ digest, size: data.byteLength });
    expect(totalReads()).toBe(1);
  });

  it('never re-reads a monolithic upload whose requests land on three processes', async () => {
    const data = cryptoRandomBytes(4 * MiB);
    const digest = digestOf(data);
    const upload = await instance().repository(NAME).uploads.create();
    const patched = await appendOn(instance(), upload, data);
    const final = await resume(instance(), patched);
    expect(await final.complete(digest)).toMatchObject({ digest, size: data.byteLength });
    expect(totalReads()).toBe(0);
  });

  it('uploads sha512 across processes', async () => {
    const a = instance();
    const b = instance();
    const data = cryptoRandomBytes(MiB + 99);
    const digest = digestOf(data, 'sha512');
    let upload = await a.repository(NAME).uploads.create({ algorithm: 'sha512' });
    for (const [i, chunk] of split(data, 3).entries()) upload = await appendOn(i % 2 ? a : b, upload, chunk);
    const final = await resume(b, upload);
    expect(final.algorithm).toBe('sha512');
    expect(await final.complete(digest)).toMatchObject({ digest, size: data.byteLength });
  });

  it('re-reads at complete when no state covers the end, and a mismatch stays resumable', async () => {
    const data = cryptoRandomBytes(MiB + 1);
    const a = instance();
    let upload = await a.repository(NAME).uploads.create();
    upload = await appendOn(a, upload, data.subarray(0, 500_000));
    upload = await appendOn(instance(), upload, data.subarray(500_000, 800_000)); // resumable from here
    // Lose every saved digest and state, as if the processes had died before saving them.
    const { driver } = a.options;
    await driver.delete(`${pathFor({ kind: 'upload', name: NAME, id: upload.uuid })}/_berth`);

    const wrong = await resume(instance(), upload);
    expect(await codeOf(wrong.complete(digestOf(data)))).toBe('DIGEST_INVALID');
    expect(await filesOf(driver, pathFor({ kind: 'blobs' }))).toEqual([]);
    // the data was committed to be read; the upload continues anyway, on yet another process
    upload = await appendOn(instance(), upload, data.subarray(800_000));
    const final = await resume(instance(), upload);
    expect(await final.complete(digestOf(data))).toMatchObject({ size: data.byteLength });
    expectSameBytes(
      await readAll(await instance().repository(NAME).blobs.open(digestOf(data))),
      new Uint8Array(data),
    );
  });

  it('purges nothing that is still needed after a successful push', async () => {
    const reg = instance();
    const data = bytes('small');
    const upload = await reg.repository(NAME).uploads.create();
    await upload.append(chunked(data));
    await upload.complete(digestOf(data) as Digest);
    expect(await reg.purgeUploads({ olderThanMs: -60_000 })).toEqual([]);
    expect((await reg.repository(NAME).blobs.stat(digestOf(data))).size).toBe(5);
  });
});
