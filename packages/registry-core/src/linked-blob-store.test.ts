import { digestOf } from '@berth/digest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { pathFor } from './paths.ts';
import { createRegistry } from './registry.ts';
import { bytes, codeOf, plain, pushBlob, readAll, textOf } from './test-support/stores.ts';

function setup() {
  const driver = createInMemoryDriver();
  const registry = createRegistry({ driver });
  return { driver, registry, a: registry.repository('team/a'), b: registry.repository('team/b') };
}

const content = bytes('linked blob content');
const digest = digestOf(content);
const hex = digest.slice(7);

describe('linked blob store', () => {
  it('sees a blob only while it is linked here and its data exists', async () => {
    const { driver, a, b } = setup();
    await pushBlob(a, content);
    expect(await a.blobs.stat(digest)).toEqual({
      digest,
      size: content.byteLength,
      mediaType: 'application/octet-stream',
    });
    expect(await codeOf(b.blobs.stat(digest))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(b.blobs.open(digest))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(b.blobs.redirectURL(digest, 'GET'))).toBe('BLOB_UNKNOWN');
    expect(await readAll(await a.blobs.open(digest))).toEqual(content);
    expect(new TextDecoder().decode(await readAll(await a.blobs.open(digest, { start: 0, end: 6 })))).toBe(
      'linked',
    );
    expect(await a.blobs.redirectURL(digest, 'HEAD')).toBeUndefined();

    // link without data (GC'd): unknown
    await driver.delete(pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: hex }));
    expect(await codeOf(a.blobs.stat(digest))).toBe('BLOB_UNKNOWN');
  });

  it('treats a link with garbage content as missing', async () => {
    const { driver, a } = setup();
    await pushBlob(a, content);
    await driver.putContent(
      pathFor({ kind: 'layerLink', name: 'team/a', algorithm: 'sha256', encoded: hex }),
      bytes('junk'),
    );
    expect(await codeOf(a.blobs.stat(digest))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(a.blobs.open(digest))).toBe('BLOB_UNKNOWN');
  });

  it('mounts from a repository where the blob is linked', async () => {
    const { driver, a, b } = setup();
    await pushBlob(a, content);
    expect(await b.blobs.mount(digest, 'team/a')).toEqual({
      digest,
      size: content.byteLength,
      mediaType: 'application/octet-stream',
    });
    expect(
      await textOf(driver, pathFor({ kind: 'layerLink', name: 'team/b', algorithm: 'sha256', encoded: hex })),
    ).toBe(digest);
    expect((await b.blobs.stat(digest)).size).toBe(content.byteLength);
    // mounting from itself: already linked
    expect(await a.blobs.mount(digest, 'team/a')).toBeDefined();
  });

  it('does not mount from an invalid, unknown or unlinked source', async () => {
    const { registry, a } = setup();
    await pushBlob(a, content);
    const c = registry.repository('c');
    expect(await c.blobs.mount(digest, 'Team/A')).toBeUndefined();
    expect(await c.blobs.mount(digest, '../team/a')).toBeUndefined();
    expect(await c.blobs.mount(digest, 'nowhere')).toBeUndefined();
    expect(await c.blobs.mount(digestOf(bytes('other')), 'team/a')).toBeUndefined();
    expect(await codeOf(c.blobs.stat(digest))).toBe('BLOB_UNKNOWN');
  });

  it('deletes only the link', async () => {
    const { driver, a, b } = setup();
    await pushBlob(a, content);
    await b.blobs.mount(digest, 'team/a');
    await a.blobs.delete(digest);
    expect(await codeOf(a.blobs.stat(digest))).toBe('BLOB_UNKNOWN');
    expect(await codeOf(a.blobs.delete(digest))).toBe('BLOB_UNKNOWN');
    expect((await b.blobs.stat(digest)).size).toBe(content.byteLength);
    expect(
      plain(await driver.getContent(pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: hex }))),
    ).toEqual(content);
  });
});
