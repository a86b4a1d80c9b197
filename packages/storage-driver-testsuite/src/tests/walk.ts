import { type FileInfo, isWithin, type StorageDriver } from '@berth/storage-driver';
import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import { collect, expectCode, text } from '../helpers.ts';

/**
 * The walk fixture: files (with distinct sizes) chosen so that `/` sorts before `-` and `.` in
 * walk order although it does not in plain string order.
 */
const FILES: readonly string[] = ['a', 'b/c', 'b/d/e', 'b-c', 'b.c', 'bc', 'c/x'];

/** Every entry below the fixture's root in walk order: files and (implicit) directories. */
const WALK_ORDER: readonly string[] = ['a', 'b', 'b/c', 'b/d', 'b/d/e', 'b-c', 'b.c', 'bc', 'c', 'c/x'];

const DIRS: ReadonlySet<string> = new Set(['b', 'b/d', 'c']);

async function writeFixture(driver: StorageDriver, path: (...names: string[]) => string): Promise<void> {
  for (const [i, name] of FILES.entries()) await driver.putContent(path(name), text('x'.repeat(i + 1)));
}

function expectEntries(
  entries: readonly FileInfo[],
  names: readonly string[],
  path: (...n: string[]) => string,
) {
  expect(entries.map((info) => info.path)).toEqual(names.map((name) => path(name)));
  for (const info of entries) {
    const name = info.path.slice(path().length + 1);
    const isDir = DIRS.has(name);
    expect(info.isDir, `isDir of ${info.path}`).toBe(isDir);
    expect(info.size, `size of ${info.path}`).toBe(isDir ? 0 : FILES.indexOf(name) + 1);
    expect(info.modTime, `modTime of ${info.path}`).toBeInstanceOf(Date);
  }
}

function startAfterTest(id: string, title: string, startAfter: string | null, expected: readonly string[]) {
  return [
    `start-after-${id}`,
    `startAfter ${title}`,
    async ({ driver, path }: { driver: StorageDriver; path: (...names: string[]) => string }) => {
      await writeFixture(driver, path);
      const after = startAfter === null ? path() : path(startAfter);
      expectEntries(await collect(driver.walk(path(), { startAfter: after })), expected, path);
      await driver.delete(path());
    },
  ] as const;
}

export const walkTests: SuiteGroup = group('walk', 'walk', [
  [
    'all',
    'yields every file and directory below the path, depth-first in comparePaths order',
    async ({ driver, path }) => {
      await writeFixture(driver, path);
      expectEntries(await collect(driver.walk(path())), WALK_ORDER, path);
      await driver.delete(path());
    },
  ],
  [
    'subdirectory',
    'walks a subdirectory with full paths, not including the directory itself',
    async ({ driver, path }) => {
      await writeFixture(driver, path);
      expectEntries(await collect(driver.walk(path('b'))), ['b/c', 'b/d', 'b/d/e'], path);
      await driver.delete(path());
    },
  ],
  [
    'descend',
    'descend returning false prunes the subtree but still yields the directory',
    async ({ driver, path }) => {
      await writeFixture(driver, path);
      const asked: string[] = [];
      const entries = await collect(
        driver.walk(path(), {
          descend: (dir) => {
            asked.push(dir.path);
            expect(dir.isDir).toBe(true);
            return dir.path !== path('b');
          },
        }),
      );
      expectEntries(entries, ['a', 'b', 'b-c', 'b.c', 'bc', 'c', 'c/x'], path);
      expect(asked, 'descend is called for each yielded directory').toEqual([path('b'), path('c')]);
      await driver.delete(path());
    },
  ],
  startAfterTest('file', 'a file resumes after it', 'b/c', ['b/d', 'b/d/e', 'b-c', 'b.c', 'bc', 'c', 'c/x']),
  startAfterTest('directory', 'a directory resumes with its children', 'b', [
    'b/c',
    'b/d',
    'b/d/e',
    'b-c',
    'b.c',
    'bc',
    'c',
    'c/x',
  ]),
  startAfterTest('missing', 'a missing path resumes at the next entry', 'b/cc', [
    'b/d',
    'b/d/e',
    'b-c',
    'b.c',
    'bc',
    'c',
    'c/x',
  ]),
  startAfterTest('missing-sibling', 'a missing path between siblings', 'bb', ['bc', 'c', 'c/x']),
  startAfterTest('below-file', 'a missing path below a file', 'b/d/e/f', ['b-c', 'b.c', 'bc', 'c', 'c/x']),
  startAfterTest('before-all', 'before every entry yields everything', '0', WALK_ORDER),
  startAfterTest('walk-root', 'the walked directory itself yields everything', null, WALK_ORDER),
  startAfterTest('after-all', 'after every entry yields nothing', 'z', []),
  startAfterTest('last', 'the last entry yields nothing', 'c/x', []),
  [
    'modtime-matches-stat',
    "reports each file's modTime exactly as stat does (gc compares the two to see a rewrite)",
    async ({ driver, path }) => {
      await writeFixture(driver, path);
      for (const info of await collect(driver.walk(path()))) {
        if (info.isDir) continue;
        const stat = await driver.stat(info.path);
        expect(info.modTime.getTime(), `walk vs stat modTime of ${info.path}`).toBe(stat.modTime.getTime());
      }
      await driver.delete(path());
    },
  ],
  [
    'break',
    'stops when the consumer breaks, and the iterator is finished afterwards',
    async ({ driver, path }) => {
      await writeFixture(driver, path);
      const seen: string[] = [];
      for await (const info of driver.walk(path())) {
        seen.push(info.path);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual(WALK_ORDER.slice(0, 3).map((name) => path(name)));
      const iterator = driver.walk(path())[Symbol.asyncIterator]();
      expect((await iterator.next()).value?.path).toBe(path('a'));
      await iterator.return?.();
      expect((await iterator.next()).done, 'next() after return()').toBe(true);
      await driver.delete(path());
    },
  ],
  [
    'missing',
    'rejects with PATH_NOT_FOUND for a missing path or a file',
    async ({ driver, path }) => {
      await expectCode(collect(driver.walk(path())), 'PATH_NOT_FOUND', 'walk of a missing path');
      await driver.putContent(path('file'), text('x'));
      await expectCode(collect(driver.walk(path('file'))), 'PATH_NOT_FOUND', 'walk of a file');
      await expectCode(
        collect(driver.walk(path('nope'))),
        'PATH_NOT_FOUND',
        'walk of a missing subdirectory',
      );
      await driver.delete(path('file'));
    },
  ],
  [
    'root',
    "walk('/') yields the test's directory and its content",
    async ({ driver, root, path }) => {
      await writeFixture(driver, path);
      const entries = await collect(
        driver.walk('/', { descend: (dir) => dir.path === root || isWithin(dir.path, root) }),
      );
      const own = entries.filter((info) => info.path === root || isWithin(info.path, root));
      expect(own[0]).toMatchObject({ path: root, isDir: true });
      expectEntries(own.slice(1), WALK_ORDER, path);
      for (const info of entries) expect(info.path).not.toBe('/');
      await driver.delete(path());
    },
  ],
]);
