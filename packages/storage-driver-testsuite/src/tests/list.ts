import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import { expectCode, text } from '../helpers.ts';

export const listTests: SuiteGroup = group('list', 'list', [
  [
    'children',
    'returns the full paths of the direct children (files and directories), sorted',
    async ({ driver, path }) => {
      for (const name of ['bc', 'b/d/e', 'a', 'b.c', 'b/c', 'b-c', 'B'])
        await driver.putContent(path(name), text(name));
      expect(await driver.list(path())).toEqual(
        ['B', 'a', 'b', 'b-c', 'b.c', 'bc'].map((name) => path(name)),
      );
      expect(await driver.list(path('b'))).toEqual([path('b', 'c'), path('b', 'd')]);
      expect(await driver.list(path('b', 'd'))).toEqual([path('b', 'd', 'e')]);
      await driver.delete(path());
    },
  ],
  [
    'root',
    "list('/') includes the test's top-level directory",
    async ({ driver, root, path }) => {
      await driver.putContent(path('file'), text('x'));
      const top = await driver.list('/');
      expect(top).toContain(root);
      for (const entry of top) expect(entry).toMatch(/^\/[^/]+$/);
      await driver.delete(path('file'));
      expect(await driver.list('/')).not.toContain(root);
    },
  ],
  [
    'missing',
    'rejects with PATH_NOT_FOUND for a missing directory',
    async ({ driver, path }) => {
      await expectCode(driver.list(path()), 'PATH_NOT_FOUND', 'list of a missing top-level directory');
      await driver.putContent(path('file'), text('x'));
      await expectCode(driver.list(path('missing')), 'PATH_NOT_FOUND', 'list of a missing subdirectory');
      await driver.delete(path('file'));
    },
  ],
  [
    'file',
    'rejects with PATH_NOT_FOUND for a file',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('x'));
      await expectCode(driver.list(path('file')), 'PATH_NOT_FOUND', 'list of a file');
      await driver.putContent(path('empty'), new Uint8Array(0));
      await expectCode(driver.list(path('empty')), 'PATH_NOT_FOUND', 'list of an empty file');
      await driver.delete(path());
    },
  ],
  [
    'sibling-prefix',
    'never includes entries of a sibling whose name starts with the same characters',
    async ({ driver, path }) => {
      for (const name of ['a/f', 'ab/g', 'a.b', 'a-b', 'a0/h'])
        await driver.putContent(path('x', name), text(name));
      expect(await driver.list(path('x', 'a'))).toEqual([path('x', 'a', 'f')]);
      expect(await driver.list(path('x', 'ab'))).toEqual([path('x', 'ab', 'g')]);
      expect(await driver.list(path('x'))).toEqual(
        ['a', 'a-b', 'a.b', 'a0', 'ab'].map((name) => path('x', name)),
      );
      await driver.delete(path('x'));
    },
  ],
  [
    'empty-dir-disappears',
    'a directory whose last file was deleted disappears from its parent',
    async ({ driver, path }) => {
      await driver.putContent(path('keep'), text('k'));
      await driver.putContent(path('d', 'e', 'f'), text('f'));
      expect(await driver.list(path())).toEqual([path('d'), path('keep')]);
      await driver.delete(path('d', 'e', 'f'));
      expect(await driver.list(path())).toEqual([path('keep')]);
      await expectCode(driver.list(path('d')), 'PATH_NOT_FOUND', 'list of the emptied directory');
      await expectCode(driver.stat(path('d', 'e')), 'PATH_NOT_FOUND', 'stat of the emptied subdirectory');
      await driver.delete(path('keep'));
    },
  ],
]);
