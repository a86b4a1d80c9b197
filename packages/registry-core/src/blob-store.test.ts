import { digestOf } from '@berth/digest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { createBlobStore } from './blob-store.ts';
import { pathFor } from './paths.ts';
import { bytes, codeOf, plain, readAll } from './test-support/stores.ts';

describe('global blob store', () => {
  const content = bytes('hello, blob store');
  const digest = digestOf(content);
  const hex = digest.slice('sha256:'.length);

  it('stores content at registry:2 blob path, only when absent', async () => {
    const driver = createInMemoryDriver();
    const blobs = createBlobStore(driver);
    expect(await blobs.exists(digest)).toBe(false);
    expect(await blobs.putContent(digest, content)).toEqual({
      digest,
      size: content.byteLength,
      mediaType: 'application/octet-stream',
    });
    const path = `/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
    expect(blobs.dataPath(digest)).toBe(path);
    expect(plain(await driver.getContent(path))).toEqual(content);
    const before = (await driver.stat(path)).modTime;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await blobs.putContent(digest, content);
    expect((await driver.stat(path)).modTime).toEqual(before);
    expect(await blobs.exists(digest)).toBe(true);
    expect(await blobs.stat(digest)).toEqual({
      digest,
      size: content.byteLength,
      mediaType: 'application/octet-stream',
    });
    expect(plain(await blobs.getContent(digest))).toEqual(content);
  });

  it('refuses content that does not match the digest', async () => {
    const blobs = createBlobStore(createInMemoryDriver());
    expect(await codeOf(blobs.putContent(digest, bytes('other')))).toBe('DIGEST_INVALID');
  });

  it('answers BLOB_UNKNOWN for missing blobs and DIGEST_INVALID for bad digests', async () => {
    const blobs = createBlobStore(createInMemoryDriver());
    expect(await codeOf(blobs.stat(digest))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(blobs.open(digest))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(blobs.getContent(digest))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(blobs.stat('sha256:nope' as typeof digest))).toBe('DIGEST_INVALID');
  });

  it('opens whole blobs and byte ranges', async () => {
    const driver = createInMemoryDriver();
    const blobs = createBlobStore(driver);
    await blobs.putContent(digest, content);
    expect(await readAll(await blobs.open(digest))).toEqual(content);
    expect(new TextDecoder().decode(await readAll(await blobs.open(digest, { start: 7, end: 11 })))).toBe(
      'blob',
    );
    expect(await readAll(await blobs.open(digest, { start: 3, end: 3 }))).toHaveLength(0);
    expect(await readAll(await blobs.open(digest, { start: 7, end: 1000 }))).toEqual(content.subarray(7));
    // a range across several stored chunks
    const big = new Uint8Array(3000).map((_, i) => i % 251);
    const bigDigest = digestOf(big);
    const writer = await driver.writer(
      pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: bigDigest.slice(7) }),
    );
    for (let i = 0; i < 3000; i += 1000) await writer.write(big.subarray(i, i + 1000));
    await writer.commit();
    expect(await readAll(await blobs.open(bigDigest, { start: 900, end: 2100 }))).toEqual(
      big.subarray(900, 2100),
    );
  });

  it('has no redirect URL on the in-memory driver', async () => {
    const blobs = createBlobStore(createInMemoryDriver());
    expect(await blobs.redirectURL(digest, 'GET')).toBeUndefined();
  });
});
