import './test-support/sdk-conditions.ts';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Driver } from './factory.ts';
import { KeyMapper } from './keys.ts';
import type { S3DriverOptions } from './options.ts';
import { patternBytes, patternHash, sha256 } from './test-support/pattern.ts';
import {
  driverOptions,
  type RunningRadosgw,
  rawClient,
  rawEntries,
  startRadosgw,
} from './test-support/radosgw.ts';
import { type RecordedRequest, startRecordingProxy } from './test-support/recording-proxy.ts';

const MiB = 1024 * 1024;
const BUCKET = 'berth-driver';
const ROOT_DIRECTORY = '/registry';
const CHILD = fileURLToPath(new URL('../test/child-writer.ts', import.meta.url));

let rgw: RunningRadosgw;
let raw: S3Client;
let options: S3DriverOptions;
let driver: StorageDriver;
const keys = new KeyMapper(ROOT_DIRECTORY);

beforeAll(async () => {
  rgw = await startRadosgw({ buckets: [BUCKET] });
  raw = rawClient(rgw);
  options = driverOptions(rgw, BUCKET, { rootdirectory: ROOT_DIRECTORY, chunksize: 5 * MiB });
  driver = await createS3Driver(options);
}, 120_000);

afterAll(async () => {
  raw?.destroy();
  await rgw?.stop();
});

let counter = 0;
/** A fresh top-level directory for one test. */
function testDir(): string {
  return `/t${Date.now().toString(36)}${(counter++).toString(36)}`;
}

/** Runs test/child-writer.ts in a separate Node process and returns its stdout. */
async function runChild(args: string[]): Promise<string> {
  const child = spawn(
    process.execPath,
    ['--conditions=@berth/source', CHILD, JSON.stringify(options), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (data: string) => {
    output += data;
  });
  child.stderr.setEncoding('utf8').on('data', (data: string) => {
    output += data;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`child exited with ${code}: ${output}`);
  return output;
}

async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

/** The parts of the one pending multipart upload of `path`, and its tail object's size. */
async function pendingState(path: string): Promise<{ parts: number[]; tail: number | undefined }> {
  const key = keys.key(path);
  const listed = await raw.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
  const uploads = (listed.Uploads ?? []).filter((upload) => upload.Key === key);
  expect(uploads, `pending uploads of ${path}`).toHaveLength(1);
  const uploadId = uploads[0]!.UploadId!;
  const parts = await raw.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
  let tail: number | undefined;
  try {
    const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keys.tailKey(path, uploadId) }));
    tail = head.ContentLength;
  } catch {
    tail = undefined;
  }
  return { parts: (parts.Parts ?? []).map((part) => part.Size ?? 0), tail };
}

async function expectNothingLeft(dir: string): Promise<void> {
  expect(await rawEntries(raw, BUCKET, ROOT_DIRECTORY, dir)).toEqual([]);
}

describe('key layout', () => {
  it('stores paths under rootdirectory exactly where registry:2 does', async () => {
    const dir = testDir();
    const path = `${dir}/docker/registry/v2/blobs/sha256/ab/abcd/data`;
    await driver.putContent(path, Buffer.from('blob'));
    const head = await raw.send(
      new HeadObjectCommand({
        Bucket: BUCKET,
        Key: `registry${dir}/docker/registry/v2/blobs/sha256/ab/abcd/data`,
      }),
    );
    expect(head.ContentLength).toBe(4);
    // And reads what another writer (registry:2) stored at a key.
    await raw.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `registry${dir}/docker/other`, Body: Buffer.from('r2') }),
    );
    expect(Buffer.from(await driver.getContent(`${dir}/docker/other`)).toString()).toBe('r2');
    expect(await driver.list(`${dir}/docker`)).toEqual([`${dir}/docker/other`, `${dir}/docker/registry`]);
    await driver.delete(dir);
    await expectNothingLeft(dir);
  });

  it('never lists its hidden tail objects', async () => {
    const dir = testDir();
    const writer = await driver.writer(`${dir}/pending`);
    await writer.write(Buffer.from('tail'));
    await writer.close();
    await driver.putContent(`${dir}/file`, Buffer.from('x'));
    expect(await driver.list('/')).not.toContainEqual(expect.stringContaining('berth'));
    const walked: string[] = [];
    for await (const info of driver.walk('/')) walked.push(info.path);
    expect(walked.filter((path) => path.includes('berth'))).toEqual([]);
    expect(walked).toContain(`${dir}/file`);
    await driver.delete(dir);
    await expectNothingLeft(dir);
  });
});

describe('writer', () => {
  it('resumes a multipart write closed by another process, and the other way round', async () => {
    const dir = testDir();
    const path = `${dir}/_uploads/u1/data`;
    // The child writes one full part and a tail, then closes.
    const first = 7 * MiB + 12_345;
    expect(await runChild([path, 'write-close', String(first)])).toContain(`closed ${first}`);
    await expect(driver.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    expect(await pendingState(path)).toEqual({ parts: [5 * MiB], tail: first - 5 * MiB });

    const second = 13 * MiB + 7;
    const writer = await driver.writer(path, { append: true });
    expect(writer.size).toBe(first);
    await writer.write(patternBytes(first, second - first));
    await writer.close();
    expect(await pendingState(path)).toEqual({ parts: [5 * MiB, 5 * MiB], tail: second - 10 * MiB });

    // The child continues and commits.
    const total = 16 * MiB + 99;
    expect(await runChild([path, 'append-commit', String(total)])).toContain(`committed ${second} ${total}`);
    expect((await driver.stat(path)).size).toBe(total);
    expect(await hashStream(await driver.reader(path))).toBe(patternHash(total));
    await driver.delete(dir);
    await expectNothingLeft(dir);
  }, 60_000);

  it('buffers small appends across close and resume in the tail object, never as small parts', async () => {
    const dir = testDir();
    const path = `${dir}/file`;
    const expected: Buffer[] = [];
    for (let round = 0; round < 7; round++) {
      const writer = round === 0 ? await driver.writer(path) : await driver.writer(path, { append: true });
      expect(writer.size).toBe(round * MiB);
      const chunk = Buffer.from(patternBytes(round * MiB, MiB));
      await writer.write(chunk);
      expected.push(chunk);
      await writer.close();
      const size = (round + 1) * MiB;
      const parts = size >= 5 * MiB ? [5 * MiB] : [];
      const tail = size - (parts[0] ?? 0);
      expect(await pendingState(path), `after round ${round}`).toEqual({
        parts,
        tail: tail === 0 ? undefined : tail,
      });
    }
    const last = await driver.writer(path, { append: true });
    await last.commit();
    expect(sha256(await driver.getContent(path))).toBe(sha256(Buffer.concat(expected)));
    const uploads = await raw.send(
      new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: keys.key(dir) }),
    );
    expect(uploads.Uploads ?? []).toEqual([]);
    await driver.delete(dir);
    await expectNothingLeft(dir);
  }, 60_000);

  it('3 appends of 1 MiB from different driver instances give the right content', async () => {
    const dir = testDir();
    const path = `${dir}/file`;
    const chunks = [0, 1, 2].map((i) => Buffer.from(patternBytes(i * MiB, MiB)));
    for (const [i, chunk] of chunks.entries()) {
      const instance = await createS3Driver(options);
      const writer = await instance.writer(path, { append: i > 0 });
      await writer.write(chunk);
      await (i === 2 ? writer.commit() : writer.close());
    }
    expect(sha256(await driver.getContent(path))).toBe(sha256(Buffer.concat(chunks)));
    await driver.delete(dir);
    await expectNothingLeft(dir);
  });

  it('resumes only parts 1..n before a gap or a small part, and a tail only if written after them', async () => {
    const dir = testDir();
    const part1 = Buffer.from(patternBytes(0, 5 * MiB));
    const more = Buffer.from(patternBytes(5 * MiB, 5 * MiB));
    const cases = [
      // A tail from before part 1 was uploaded (its bytes are in part 1): stale.
      {
        name: 'stale',
        parts: [part1],
        tail: { bytes: part1.subarray(0, MiB), parts: 0, offset: 0 },
        size: 5 * MiB,
        write: [Buffer.from('!')],
        after: [Buffer.from('!')],
      },
      // A failed commit: a small last part, and the tail written after part 1.
      {
        name: 'small-last',
        parts: [part1, Buffer.from('small')],
        tail: { bytes: Buffer.from('tail bytes'), parts: 1, offset: 5 * MiB },
        size: 5 * MiB + 10,
        write: [Buffer.from('!')],
        after: [Buffer.from('tail bytes'), Buffer.from('!')],
      },
      // Part 2 missing (a crash with parts in flight): part 3 is not used, and is overwritten by
      // the resumed write (radosgw refuses to complete an upload with parts left out).
      {
        name: 'gap',
        parts: [part1, undefined, part1],
        tail: undefined,
        size: 5 * MiB,
        write: [more, Buffer.from('!')],
        after: [more, Buffer.from('!')],
      },
    ];
    for (const c of cases) {
      const path = `${dir}/${c.name}`;
      const key = keys.key(path);
      const { UploadId } = await raw.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      for (const [i, body] of c.parts.entries()) {
        if (body === undefined) continue;
        await raw.send(
          new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body: body }),
        );
      }
      if (c.tail !== undefined) {
        await raw.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: keys.tailKey(path, UploadId!),
            Body: c.tail.bytes,
            Metadata: { 'berth-parts': String(c.tail.parts), 'berth-offset': String(c.tail.offset) },
          }),
        );
      }
      const writer = await driver.writer(path, { append: true });
      expect(writer.size, c.name).toBe(c.size);
      for (const chunk of c.write) await writer.write(chunk);
      await writer.commit();
      const content = Buffer.from(await driver.getContent(path));
      expect(sha256(content), c.name).toBe(sha256(Buffer.concat([part1, ...c.after])));
    }
    await driver.delete(dir);
    await expectNothingLeft(dir);
  }, 60_000);

  it('seeds an append to a committed file of 5 MiB or more with a server-side copy of it', async () => {
    const dir = testDir();
    const path = `${dir}/file`;
    const content = Buffer.from(patternBytes(0, 6 * MiB + 1));
    await driver.putContent(path, content);
    const writer = await driver.writer(path, { append: true });
    expect(writer.size).toBe(content.byteLength);
    // The copy is a part already, before anything is written.
    expect(await pendingState(path)).toEqual({ parts: [content.byteLength], tail: undefined });
    await writer.write(Buffer.from('more'));
    await expect(driver.stat(path)).resolves.toMatchObject({ size: content.byteLength });
    await writer.commit();
    expect(sha256(await driver.getContent(path))).toBe(sha256(Buffer.concat([content, Buffer.from('more')])));
    await driver.delete(dir);
    await expectNothingLeft(dir);
  });

  it('delete of a directory aborts the pending writes below it and removes their tails', async () => {
    const dir = testDir();
    const writer = await driver.writer(`${dir}/sub/pending`);
    await writer.write(Buffer.from(patternBytes(0, 5 * MiB + 10)));
    await writer.close();
    await driver.putContent(`${dir}/sub/file`, Buffer.from('x'));
    expect((await rawEntries(raw, BUCKET, ROOT_DIRECTORY, dir)).length).toBe(3);
    await driver.delete(`${dir}/sub`);
    await expectNothingLeft(dir);
    await expect(driver.writer(`${dir}/sub/pending`, { append: true })).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
  });
});

describe('move', () => {
  it('copies with UploadPartCopy above multipartcopythresholdsize, with CopyObject below', async () => {
    const dir = testDir();
    const copying = await createS3Driver({
      ...options,
      multipartcopythresholdsize: 5 * MiB,
      multipartcopychunksize: 5 * MiB,
      multipartcopymaxconcurrency: 2,
    });
    const big = Buffer.from(patternBytes(0, 12 * MiB + 3));
    await copying.putContent(`${dir}/big`, big);
    await copying.move(`${dir}/big`, `${dir}/moved/big`);
    await expect(copying.stat(`${dir}/big`)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    expect(sha256(await copying.getContent(`${dir}/moved/big`))).toBe(sha256(big));
    expect(sha256(await readAll(await copying.reader(`${dir}/moved/big`, { offset: 10 * MiB })))).toBe(
      sha256(big.subarray(10 * MiB)),
    );
    // A multipart object's ETag ends in -<number of parts>.
    const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keys.key(`${dir}/moved/big`) }));
    expect(head.ETag).toMatch(/-3"$/);

    const small = Buffer.from(patternBytes(0, 5 * MiB));
    await copying.putContent(`${dir}/small`, small);
    await copying.move(`${dir}/small`, `${dir}/moved/small`);
    const smallHead = await raw.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: keys.key(`${dir}/moved/small`) }),
    );
    expect(smallHead.ETag).not.toContain('-');
    expect(sha256(await copying.getContent(`${dir}/moved/small`))).toBe(sha256(small));
    await copying.delete(dir);
    await expectNothingLeft(dir);
  });
});

describe('redirectURL', () => {
  it('presigns GET and HEAD URLs that radosgw verifies: tampered, expired or misused ones get 403', async () => {
    const dir = testDir();
    await driver.putContent(`${dir}/blob`, Buffer.from('presigned content'));
    await driver.putContent(`${dir}/other`, Buffer.from('other content'));
    const url = (await driver.redirectURL(`${dir}/blob`))!;
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('1200');
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('presigned content');

    const parsed = new URL(url);
    const signature = parsed.searchParams.get('X-Amz-Signature')!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    const tampered = new URL(url);
    tampered.searchParams.set('X-Amz-Signature', flipped);
    const otherKey = new URL(url);
    otherKey.pathname = otherKey.pathname.replace(/blob$/, 'other');
    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '604800');
    for (const [label, bad] of [
      ['signature', tampered],
      ['key', otherKey],
      ['expiry', longer],
    ] as const) {
      const response = await fetch(bad);
      await response.body?.cancel();
      expect({ label, status: response.status }).toEqual({ label, status: 403 });
    }

    const head = (await driver.redirectURL(`${dir}/blob`, { method: 'HEAD', expiresIn: 60 }))!;
    const headResponse = await fetch(head, { method: 'HEAD' });
    expect(headResponse.status).toBe(200);
    expect(headResponse.headers.get('content-length')).toBe('17');
    const getWithHeadUrl = await fetch(head);
    await getWithHeadUrl.body?.cancel();
    expect(getWithHeadUrl.status).toBe(403);

    const short = (await driver.redirectURL(`${dir}/blob`, { expiresIn: 1 }))!;
    await sleep(2_500);
    const expired = await fetch(short);
    await expired.body?.cancel();
    expect(expired.status).toBe(403);

    const configured = await createS3Driver({ ...options, redirectexpiry: 90 });
    expect(new URL((await configured.redirectURL(`${dir}/blob`))!).searchParams.get('X-Amz-Expires')).toBe(
      '90',
    );
    await driver.delete(dir);
  });
});

describe('checksummode', () => {
  const checksumHeaders = (requests: readonly RecordedRequest[]): string[] =>
    requests.flatMap((request) =>
      Object.entries(request.headers)
        .filter(
          ([name, value]) =>
            name.startsWith('x-amz-checksum-') ||
            name === 'x-amz-sdk-checksum-algorithm' ||
            name === 'x-amz-trailer' ||
            (name === 'content-encoding' && String(value).includes('aws-chunked')),
        )
        .map(([name]) => `${request.method} ${name}`),
    );

  it('when_required (the default with regionendpoint) sends plain bodies; when_supported adds CRC32s', async () => {
    const proxy = await startRecordingProxy(rgw.endpoint);
    try {
      const dir = testDir();
      const seen: Record<string, string[]> = {};
      for (const mode of [undefined, 'when_supported'] as const) {
        proxy.requests.length = 0;
        const through = await createS3Driver({
          ...options,
          regionendpoint: proxy.endpoint,
          ...(mode === undefined ? {} : { checksummode: mode }),
        });
        const path = `${dir}/${mode ?? 'default'}`;
        await through.putContent(`${path}/small`, Buffer.from('hello'));
        const writer = await through.writer(`${path}/big`);
        await writer.write(Buffer.from(patternBytes(0, 6 * MiB)));
        await writer.commit();
        expect(sha256(await through.getContent(`${path}/big`))).toBe(sha256(patternBytes(0, 6 * MiB)));
        seen[mode ?? 'default'] = checksumHeaders(proxy.requests);
      }
      expect(seen.default).toEqual([]);
      expect(seen.when_supported).toEqual(
        expect.arrayContaining(['PUT x-amz-checksum-crc32', 'POST x-amz-checksum-algorithm']),
      );
      await driver.delete(dir);
      await expectNothingLeft(dir);
    } finally {
      await proxy.close();
    }
  });

  it('reads back objects unchanged in both modes (no aws-chunked framing stored)', async () => {
    const dir = testDir();
    for (const checksummode of ['when_required', 'when_supported'] as const) {
      const d = await createS3Driver({ ...options, checksummode });
      await d.putContent(`${dir}/${checksummode}`, Buffer.from('exact bytes'));
      const stored = await raw.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: keys.key(`${dir}/${checksummode}`) }),
      );
      expect(Buffer.from(await stored.Body!.transformToByteArray()).toString()).toBe('exact bytes');
    }
    await driver.delete(dir);
  });
});
