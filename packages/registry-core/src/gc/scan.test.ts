import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { pathFor } from '../paths.ts';
import { createRegistry } from '../registry.ts';
import { manifestRefsOf } from './manifest-refs.ts';
import { readTagHistory, scanBlobs, scanRepositories } from './scan.ts';
import { bytes, pushBlob, pushImage } from './test-support.ts';

describe('scanRepositories', () => {
  it('finds nested repositories, reads their links and tags, and skips uploads and tag history', async () => {
    const driver = createInMemoryDriver();
    const registry = createRegistry({ driver });
    const parent = registry.repository('a');
    const child = registry.repository('a/b');
    const v1 = await pushImage(parent, 'parent', { tags: ['v1'] });
    const v2 = await pushImage(child, 'child', { tags: ['latest', 'v2'] });
    const upload = await child.uploads.create();
    await upload.append(
      (async function* () {
        yield bytes('in progress');
      })(),
    );
    const walked: string[] = [];
    const spy = new Proxy(driver, {
      get(target, property) {
        if (property === 'walk') {
          return (path: string, options: Parameters<typeof driver.walk>[1]) => {
            walked.push(path);
            return target.walk(path, options);
          };
        }
        const value = Reflect.get(target, property) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });

    const scans = await scanRepositories(spy);
    expect([...scans.keys()].sort()).toEqual(['a', 'a/b']);
    const a = scans.get('a')!;
    expect([...a.revisions.keys()]).toEqual([v1.digest]);
    expect(a.tags.get('v1')?.digest).toBe(v1.digest);
    expect([...a.layers.keys()].sort()).toEqual([v1.config, ...v1.layers].sort());
    const b = scans.get('a/b')!;
    expect([...b.tags.keys()].sort()).toEqual(['latest', 'v2']);
    expect(b.tags.get('v2')?.digest).toBe(v2.digest);
    expect(walked.filter((p) => p.includes('_uploads'))).toEqual([]);

    const history = await readTagHistory(driver, 'a/b', new Set([v2.digest]));
    expect(history.get(v2.digest)?.sort()).toEqual(['latest', 'v2']);
  });

  it('ignores a revision directory without its link (registry:2 deletion) and paths off the layout', async () => {
    const driver = createInMemoryDriver();
    const repo = createRegistry({ driver }).repository('r');
    const image = await pushImage(repo, 'x', { tags: ['t'] });
    await driver.delete(
      pathFor({
        kind: 'manifestRevisionLink',
        name: 'r',
        algorithm: 'sha256',
        encoded: image.digest.slice(7),
      }),
    );
    await driver.putContent(
      pathFor({ kind: 'manifestRevision', name: 'r', algorithm: 'sha256', encoded: image.digest.slice(7) }) +
        '/other',
      bytes('x'),
    );
    await driver.putContent(`${pathFor({ kind: 'blobs' })}/sha256/zz/not-a-digest/data`, bytes('x'));
    const scans = await scanRepositories(driver);
    expect(scans.get('r')!.revisions.size).toBe(0);
    const blobs = await scanBlobs(driver);
    expect([...blobs.keys()].sort()).toEqual([image.digest, image.config, ...image.layers].sort());
    const orphan = await pushBlob(repo, bytes('orphan'));
    expect((await scanBlobs(driver)).get(orphan)?.size).toBe(6);
  });
});

describe('manifestRefsOf', () => {
  it('reads a manifest it cannot parse leniently: every digest in it is a reference', () => {
    const d1 = `sha256:${'a'.repeat(64)}`;
    const d2 = `sha256:${'b'.repeat(64)}`;
    const schema1 = bytes(
      JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [{ blobSum: d1 }, { blobSum: d2 }] }),
    );
    expect(manifestRefsOf(schema1)).toMatchObject({ status: 'lenient', blobs: [d1, d2], children: [d1, d2] });
    expect(manifestRefsOf(bytes('not json'))).toMatchObject({ status: 'unreadable', blobs: [] });
  });
});
