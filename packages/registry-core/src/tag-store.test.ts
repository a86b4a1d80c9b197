import { digestOf } from '@berth/digest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { pathFor } from './paths.ts';
import { createRegistry } from './registry.ts';
import { bytes, codeOf, filesOf, textOf } from './test-support/stores.ts';

const d1 = digestOf(bytes('one'));
const d2 = digestOf(bytes('two'));
const NAME = 'library/tags';

function setup() {
  const driver = createInMemoryDriver();
  const registry = createRegistry({ driver });
  return { driver, registry, tags: registry.repository(NAME).tags };
}

describe('tag store', () => {
  it('writes current/link and index/<alg>/<hex>/link as registry:2 does', async () => {
    const { driver, tags } = setup();
    await tags.set('latest', d1);
    await tags.set('latest', d2);
    expect(await textOf(driver, pathFor({ kind: 'tagCurrentLink', name: NAME, tag: 'latest' }))).toBe(d2);
    expect(await filesOf(driver)).toEqual(
      [
        pathFor({ kind: 'tagCurrentLink', name: NAME, tag: 'latest' }),
        pathFor({
          kind: 'tagIndexEntryLink',
          name: NAME,
          tag: 'latest',
          algorithm: 'sha256',
          encoded: d1.slice(7),
        }),
        pathFor({
          kind: 'tagIndexEntryLink',
          name: NAME,
          tag: 'latest',
          algorithm: 'sha256',
          encoded: d2.slice(7),
        }),
      ].sort(),
    );
    expect(await tags.resolve('latest')).toBe(d2);
  });

  it('rejects invalid tags', async () => {
    const { tags } = setup();
    expect(await codeOf(tags.set('-bad', d1))).toBe('TAG_INVALID');
    expect(await codeOf(tags.set('a'.repeat(129), d1))).toBe('TAG_INVALID');
    expect(await codeOf(tags.set('..', d1))).toBe('TAG_INVALID');
    expect(await codeOf(tags.set('ok', 'sha256:zz' as typeof d1))).toBe('DIGEST_INVALID');
    expect(await codeOf(tags.resolve('..'))).toBe('MANIFEST_UNKNOWN');
    expect(await codeOf(tags.delete('..'))).toBe('MANIFEST_UNKNOWN');
  });

  it('answers MANIFEST_UNKNOWN for unknown tags and corrupt links', async () => {
    const { driver, tags } = setup();
    expect(await codeOf(tags.resolve('nope'))).toBe('MANIFEST_UNKNOWN');
    expect(await codeOf(tags.delete('nope'))).toBe('MANIFEST_UNKNOWN');
    await driver.putContent(pathFor({ kind: 'tagCurrentLink', name: NAME, tag: 'broken' }), bytes('garbage'));
    expect(await codeOf(tags.resolve('broken'))).toBe('MANIFEST_UNKNOWN');
  });

  it('deletes the whole tag directory', async () => {
    const { driver, tags } = setup();
    await tags.set('v1', d1);
    await tags.set('v2', d1);
    await tags.delete('v1');
    expect(await codeOf(tags.resolve('v1'))).toBe('MANIFEST_UNKNOWN');
    expect(await filesOf(driver, pathFor({ kind: 'tag', name: NAME, tag: 'v2' }))).toHaveLength(2);
    expect(await filesOf(driver, pathFor({ kind: 'tag', name: NAME, tag: 'v1' }))).toEqual([]);
  });

  it('lists tags in lexical order; NAME_UNKNOWN only for a repository that does not exist', async () => {
    const { registry, tags } = setup();
    expect(await codeOf(tags.list())).toBe('NAME_UNKNOWN');
    for (const tag of ['b', 'a', 'B', '1.0', 'a.b', 'a-b', '_x']) await tags.set(tag, d1);
    expect(await tags.list()).toEqual(['1.0', 'B', '_x', 'a', 'a-b', 'a.b', 'b']);
    for (const tag of await tags.list()) await tags.delete(tag);
    // the repository still exists (it has an upload), just no tags
    await registry.repository(NAME).uploads.create();
    expect(await tags.list()).toEqual([]);
  });

  it('finds the tags pointing at a digest', async () => {
    const { tags } = setup();
    expect(await tags.tagsOf(d1)).toEqual([]);
    await tags.set('x', d1);
    await tags.set('y', d2);
    await tags.set('z', d1);
    expect(await tags.tagsOf(d1)).toEqual(['x', 'z']);
    expect(await tags.tagsOf(d2)).toEqual(['y']);
  });

  it('pages leave out tag directories without a current link, reading more to fill the page', async () => {
    const { driver, tags } = setup();
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await tags.set(tag, d1);
    // What a process killed between a tag's two links leaves: the history entry alone.
    for (const tag of ['b', 'c']) await driver.delete(pathFor({ kind: 'tagCurrentLink', name: NAME, tag }));
    expect(await tags.list()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await tags.page('', undefined)).toEqual({ tags: ['a', 'd', 'e'], more: false });
    expect(await tags.page('', 2)).toEqual({ tags: ['a', 'd'], more: true });
    expect(await tags.page('d', 2)).toEqual({ tags: ['e'], more: false });
    expect(await tags.page('', 0)).toEqual({ tags: [], more: true });
    expect(await tags.page('e', 1)).toEqual({ tags: [], more: false });
  });
});
