import type { StorageDriver } from '@berth/storage-driver';
import { expect } from 'vitest';
import { group, SUITE_ROOT_PREFIX, type SuiteGroup, type SuiteTestContext } from '../context.ts';
import { collect, expectBytes, expectCode, text } from '../helpers.ts';

/** Paths no method accepts (`list`, `walk` and `stat` accept `/`, the others reject it too). */
export const INVALID_PATHS: readonly string[] = [
  '',
  'a',
  'a/b',
  '/a/',
  '//a',
  '/a//b',
  '/a/../b',
  '/..',
  '/.',
  '/a/.',
  '/a/..',
  '/./a',
  '/a b',
  '/a%2e',
  '/a\\b',
  '/ä',
  '/a\n',
  '/a\u0000',
  '/a:b',
  '/a*',
  ' /a',
];

/** Non-string values in the place of a path (the array would pass a coercing regex test). */
const NOT_STRINGS: readonly unknown[] = [undefined, null, 42, {}, ['/a'], new String('/a')];

/** The invalid paths for one test: the fixed list, the same shapes below the test root, non-strings. */
function invalidPaths(root: string, rootAllowed: boolean): unknown[] {
  const belowRoot = ['/', '//x', '/x/', '/x//y', '/x/../y', '/.', '/..', '/x y', '/x%2fy'].map(
    (suffix) => `${root}${suffix}`,
  );
  return [...INVALID_PATHS, ...belowRoot, ...NOT_STRINGS, ...(rootAllowed ? [] : ['/'])];
}

/** Top-level entries not belonging to any suite run, to notice an invalid path that created something. */
async function topLevelSnapshot(driver: StorageDriver): Promise<string[]> {
  return (await driver.list('/')).filter((path) => !path.startsWith(SUITE_ROOT_PREFIX));
}

type Call = (driver: StorageDriver, path: string, t: SuiteTestContext) => Promise<unknown>;

function invalidPathTest(method: string, label: string, call: Call, rootAllowed = false, optional = false) {
  return [
    `invalid-${method}`,
    `${label} rejects invalid paths with INVALID_PATH and creates nothing`,
    async (t: SuiteTestContext) => {
      const { driver } = t;
      // A file outside the probed paths, so move's other argument is valid and the root exists.
      await driver.putContent(t.path('keep'), text('keep'));
      const before = await topLevelSnapshot(driver);
      for (const path of invalidPaths(t.root, rootAllowed)) {
        // An optional path option left undefined means "not given", which is valid.
        if (optional && path === undefined) continue;
        await expectCode(
          () => call(driver, path as string, t),
          'INVALID_PATH',
          `${label} with ${JSON.stringify(path) ?? String(path)}`,
        );
      }
      expect(await topLevelSnapshot(driver)).toEqual(before);
      expect(await driver.list(t.root)).toEqual([t.path('keep')]);
      expectBytes(await driver.getContent(t.path('keep')), text('keep'));
      await driver.delete(t.path('keep'));
    },
  ] as const;
}

const ODD_NAMES: readonly string[] = ['a.b', '-_.x', '...', '.x', 'x.', '_', '-', '0', 'a..b', '.-'];

export const pathTests: SuiteGroup = group('paths', 'paths', [
  invalidPathTest('getContent', 'getContent', (d, p) => d.getContent(p)),
  invalidPathTest('putContent', 'putContent', (d, p) => d.putContent(p, text('x'))),
  invalidPathTest('reader', 'reader', (d, p) => d.reader(p)),
  invalidPathTest('writer', 'writer', (d, p) => d.writer(p)),
  invalidPathTest('writer-append', 'writer({ append: true })', (d, p) => d.writer(p, { append: true })),
  invalidPathTest('stat', 'stat (/ allowed)', (d, p) => d.stat(p), true),
  invalidPathTest('list', 'list (/ allowed)', (d, p) => d.list(p), true),
  invalidPathTest('move-source', 'move (source)', (d, p, t) => d.move(p, t.path('moved'))),
  invalidPathTest('move-destination', 'move (destination)', (d, p, t) => d.move(t.path('keep'), p)),
  invalidPathTest('delete', 'delete', (d, p) => d.delete(p)),
  invalidPathTest('redirectURL', 'redirectURL', (d, p) => d.redirectURL(p)),
  invalidPathTest('walk', 'walk (/ allowed)', (d, p) => collect(d.walk(p)), true),
  invalidPathTest(
    'walk-startAfter',
    'walk (startAfter)',
    (d, p, t) => collect(d.walk(t.root, { startAfter: p })),
    false,
    true,
  ),
  [
    'odd-names',
    'accepts names made of dots, dashes and underscores as ordinary files',
    async ({ driver, path }) => {
      for (const name of ODD_NAMES) await driver.putContent(path(name), text(name));
      for (const name of ODD_NAMES) expectBytes(await driver.getContent(path(name)), text(name), name);
      expect(new Set(await driver.list(path()))).toEqual(new Set(ODD_NAMES.map((name) => path(name))));
      const walked = await collect(driver.walk(path()));
      expect(new Set(walked.map((info) => info.path))).toEqual(new Set(ODD_NAMES.map((name) => path(name))));
      await driver.putContent(path('..d', '..x', '...y'), text('nested'));
      expectBytes(await driver.getContent(path('..d', '..x', '...y')), text('nested'));
      expect(await driver.list(path('..d'))).toEqual([path('..d', '..x')]);
      await driver.delete(path('..d'));
      for (const name of ODD_NAMES) await driver.delete(path(name));
    },
  ],
  [
    'case-sensitive',
    'treats /A and /a as different files',
    async ({ driver, path }) => {
      await driver.putContent(path('a'), text('lower'));
      await driver.putContent(path('A'), text('UPPER'));
      expectBytes(await driver.getContent(path('a')), text('lower'));
      expectBytes(await driver.getContent(path('A')), text('UPPER'));
      expect(await driver.list(path())).toEqual([path('A'), path('a')]);
      await driver.delete(path('a'));
      expectBytes(await driver.getContent(path('A')), text('UPPER'));
      await driver.delete(path('A'));
    },
  ],
  [
    'long-names',
    'handles a 255-character name and a long multi-level path',
    async ({ driver, path }) => {
      const long = `${'n'.repeat(250)}.long`;
      expect(long).toHaveLength(255);
      await driver.putContent(path(long), text('long name'));
      expectBytes(await driver.getContent(path(long)), text('long name'));
      expect(await driver.list(path())).toEqual([path(long)]);
      const deep = path('a'.repeat(150), 'b'.repeat(150), 'c'.repeat(150), 'd'.repeat(150));
      await driver.putContent(deep, text('long path'));
      expectBytes(await driver.getContent(deep), text('long path'));
      await driver.delete(path(long));
      await driver.delete(path('a'.repeat(150)));
    },
  ],
]);
