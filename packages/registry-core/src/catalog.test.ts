import { digestOf } from '@berth/digest';
import { createInMemoryDriver, type StorageDriver, type WalkOptions } from '@berth/storage-driver';
import { createFilesystemDriver } from '@berth/storage-driver-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listRepositories, purgeUploads } from './catalog.ts';
import { pathFor } from './paths.ts';
import { createRegistry } from './registry.ts';
import { bytes, chunked, filesOf, tempDir } from './test-support/stores.ts';

const digest = digestOf(bytes('m'));
/**
 * In registry:2's catalog order (component-wise: `/` before any other character). `a/0b` is
 * visited before `a/_manifests` by the walk; `x` is not a repository but has a child that is.
 */
const REPOS = ['a', 'a/0b', 'a/b', 'a/b/c', 'a-b', 'b', 'c/d/e', 'x/1y', 'z9'];

async function populate(driver: StorageDriver = createInMemoryDriver()): Promise<StorageDriver> {
  const registry = createRegistry({ driver });
  // Shuffled, so the order comes from the walk, not from insertion.
  for (const name of [...REPOS].reverse()) await registry.repository(name).tags.set('t', digest);
  // Not repositories for the catalog (registry:2 lists only directories holding _manifests):
  await driver.putContent(
    pathFor({ kind: 'layerLink', name: 'onlyblobs', algorithm: 'sha256', encoded: digest.slice(7) }),
    bytes(digest),
  );
  await registry.repository('onlyuploads').uploads.create();
  await driver.putContent(`${pathFor({ kind: 'repository', name: 'a/b' })}/_berth/x/link`, bytes(digest));
  return driver;
}

/** `driver` recording the options of each walk. */
function recordingWalks(driver: StorageDriver): {
  driver: StorageDriver;
  walks: (WalkOptions | undefined)[];
} {
  const walks: (WalkOptions | undefined)[] = [];
  return {
    walks,
    driver: new Proxy(driver, {
      get(target, property, receiver) {
        if (property === 'walk') {
          return (path: string, options?: WalkOptions) => {
            walks.push(options);
            return target.walk(path, options);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  };
}

describe('catalog', () => {
  it('is empty on an empty registry', async () => {
    expect(await listRepositories(createInMemoryDriver(), { n: 10 })).toEqual({ items: [], more: false });
    expect(await createRegistry({ driver: createInMemoryDriver() }).catalog({ n: 10 })).toEqual({
      items: [],
      more: false,
    });
  });

  it('lists repositories (nested ones too) in order', async () => {
    const driver = await populate();
    expect(await listRepositories(driver, { n: 100 })).toEqual({ items: REPOS, more: false });
  });

  it('pages with n=1 through every page, each walk starting after the last name', async () => {
    const { driver, walks } = recordingWalks(await populate());
    const seen: string[] = [];
    let last: string | undefined;
    for (;;) {
      const page = await listRepositories(driver, last === undefined ? { n: 1 } : { n: 1, last });
      if (page.items.length === 0) break;
      expect(page.items).toHaveLength(1);
      seen.push(page.items[0]!);
      last = page.items[0]!;
      if (!page.more) break;
      expect(seen.length).toBeLessThan(20);
    }
    const expected = REPOS;
    expect(seen).toEqual(expected);
    expect(walks.map((w) => w?.startAfter)).toEqual([
      undefined,
      ...expected.slice(0, -1).map((name) => `${pathFor({ kind: 'repositories' })}/${name}`),
    ]);
  });

  it('says more only when another repository follows', async () => {
    const driver = await populate();
    expect(await listRepositories(driver, { n: 9 })).toMatchObject({ more: false });
    expect(await listRepositories(driver, { n: 8 })).toMatchObject({ more: true });
    expect(await listRepositories(driver, { n: 2, last: 'c/d/e' })).toEqual({
      items: ['x/1y', 'z9'],
      more: false,
    });
    expect(await listRepositories(driver, { n: 1, last: 'c/d/e' })).toEqual({ items: ['x/1y'], more: true });
    expect(await listRepositories(driver, { n: 0 })).toEqual({ items: [], more: true });
    expect(await listRepositories(driver, { n: 0, last: 'z9' })).toEqual({ items: [], more: false });
  });

  it('accepts a last that names no repository', async () => {
    const driver = await populate();
    expect((await listRepositories(driver, { n: 3, last: 'a/a' })).items).toEqual(['a/b', 'a/b/c', 'a-b']);
    expect((await listRepositories(driver, { n: 10, last: 'aa' })).items).toEqual([
      'b',
      'c/d/e',
      'x/1y',
      'z9',
    ]);
    expect((await listRepositories(driver, { n: 10, last: 'x' })).items).toEqual(['x/1y', 'z9']);
    expect((await listRepositories(driver, { n: 10, last: 'zzz' })).items).toEqual([]);
    expect((await listRepositories(driver, { n: 2, last: '0' })).items).toEqual(['a', 'a/0b']);
    expect((await listRepositories(driver, { n: 2, last: 'A!' })).items).toEqual(['a', 'a/0b']); // not a name
    expect((await listRepositories(driver, { n: 2, last: '' })).items).toEqual(['a', 'a/0b']);
  });
});

describe('catalog on the filesystem driver (native walk)', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, remove } = await tempDir('catalog'));
  });
  afterEach(async () => {
    await remove();
  });

  it('pages through every repository in order', async () => {
    const { driver, walks } = recordingWalks(
      await populate(createFilesystemDriver({ rootdirectory: dir, fsync: false })),
    );
    const seen: string[] = [];
    let page = await listRepositories(driver, { n: 2 });
    seen.push(...page.items);
    while (page.more) {
      page = await listRepositories(driver, { n: 2, last: seen.at(-1)! });
      seen.push(...page.items);
    }
    expect(seen).toEqual(REPOS);
    expect(walks).toHaveLength(5);
    expect((await listRepositories(driver, { n: 3, last: 'a/a' })).items).toEqual(['a/b', 'a/b/c', 'a-b']);
  });
});

describe('purgeUploads', () => {
  async function setup() {
    const driver = createInMemoryDriver();
    const registry = createRegistry({ driver });
    const fresh = await registry.repository('a').uploads.create();
    const old = await registry.repository('a').uploads.create();
    const nested = await registry.repository('b/c').uploads.create();
    await nested.append(chunked(bytes('some data')));
    const put = (id: string, name: string, text: string) =>
      driver.putContent(pathFor({ kind: 'uploadStartedAt', name, id }), bytes(text));
    await put(old.uuid, 'a', '2020-01-01T00:00:00Z');
    await put(nested.uuid, 'b/c', '2020-01-02T00:00:00Z');
    return { driver, registry, fresh, old, nested };
  }

  it('deletes uploads started before the cutoff, in every repository', async () => {
    const { driver, registry, fresh, old, nested } = await setup();
    const purged = await registry.purgeUploads({ olderThanMs: 24 * 3600_000 });
    expect(purged.sort()).toEqual([`a/${old.uuid}`, `b/c/${nested.uuid}`]);
    expect(await filesOf(driver)).toEqual([pathFor({ kind: 'uploadStartedAt', name: 'a', id: fresh.uuid })]);
  });

  it('only reports in a dry run', async () => {
    const { driver, old, nested } = await setup();
    const before = await filesOf(driver);
    expect((await purgeUploads(driver, { olderThanMs: 3600_000, dryRun: true })).sort()).toEqual(
      [`a/${old.uuid}`, `b/c/${nested.uuid}`].sort(),
    );
    expect(await filesOf(driver)).toEqual(before);
  });

  it('ages uploads without a readable startedat by their directory', async () => {
    const { driver, fresh, old, nested } = await setup();
    await driver.delete(pathFor({ kind: 'uploadStartedAt', name: 'b/c', id: nested.uuid })); // _berth files remain
    await driver.putContent(
      pathFor({ kind: 'uploadStartedAt', name: 'a', id: fresh.uuid }),
      bytes('yesterday'),
    );
    // their directories are new
    expect(await purgeUploads(driver, { olderThanMs: 3600_000 })).toEqual([`a/${old.uuid}`]);
    const later = Date.now() + 2 * 3600_000;
    const purged = await purgeUploads(driver, { olderThanMs: 3600_000, now: later });
    expect(purged).toContain(`b/c/${nested.uuid}`);
    expect(purged).toContain(`a/${fresh.uuid}`);
  });

  it('does nothing on an empty registry', async () => {
    expect(await purgeUploads(createInMemoryDriver(), { olderThanMs: 0 })).toEqual([]);
  });
});
