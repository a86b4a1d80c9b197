import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import { expectBytes, expectCode, text } from '../helpers.ts';

export const deleteTests: SuiteGroup = group('delete', 'delete', [
  [
    'file',
    'deletes a file',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('x'));
      await driver.putContent(path('other'), text('y'));
      await driver.delete(path('file'));
      await expectCode(driver.getContent(path('file')), 'PATH_NOT_FOUND', 'getContent after delete');
      await expectCode(driver.stat(path('file')), 'PATH_NOT_FOUND', 'stat after delete');
      expect(await driver.list(path())).toEqual([path('other')]);
      await driver.delete(path('other'));
    },
  ],
  [
    'directory',
    'deletes a directory tree recursively',
    async ({ driver, path }) => {
      const files = ['d/a', 'd/b/c', 'd/b/d/e', 'd/b/d/f', 'd/g/h/i/j'];
      for (const name of files) await driver.putContent(path(name), text(name));
      await driver.putContent(path('keep'), text('k'));
      await driver.delete(path('d'));
      for (const name of files)
        await expectCode(driver.stat(path(name)), 'PATH_NOT_FOUND', `stat of ${name}`);
      await expectCode(driver.list(path('d')), 'PATH_NOT_FOUND', 'list of the deleted directory');
      expect(await driver.list(path())).toEqual([path('keep')]);
      await driver.delete(path('keep'));
    },
  ],
  [
    'missing',
    'rejects with PATH_NOT_FOUND for a missing path or a path below a file',
    async ({ driver, path }) => {
      await expectCode(
        driver.delete(path('missing')),
        'PATH_NOT_FOUND',
        'delete of a missing top-level path',
      );
      await driver.putContent(path('file'), text('x'));
      await expectCode(driver.delete(path('fil')), 'PATH_NOT_FOUND', 'delete of a prefix of a file name');
      await expectCode(driver.delete(path('file', 'below')), 'PATH_NOT_FOUND', 'delete below a file');
      expectBytes(await driver.getContent(path('file')), text('x'));
      await driver.delete(path('file'));
      await expectCode(driver.delete(path('file')), 'PATH_NOT_FOUND', 'second delete');
    },
  ],
  [
    'sibling-prefix',
    'deleting /x/a keeps /x/ab, /x/a.b, /x/a-b and /x/a0 (as a file and as a directory)',
    async ({ driver, path }) => {
      const siblings = ['ab', 'a.b', 'a-b', 'a0/f', 'ab.c/g'];
      for (const target of ['a', 'a/inner']) {
        for (const name of siblings) await driver.putContent(path('x', name), text(name));
        await driver.putContent(path('x', target), text('doomed'));
        await driver.delete(path('x', 'a'));
        await expectCode(driver.stat(path('x', 'a')), 'PATH_NOT_FOUND', `stat of the deleted ${target}`);
        for (const name of siblings) {
          expectBytes(
            await driver.getContent(path('x', name)),
            text(name),
            `${name} after deleting ${target}`,
          );
        }
        expect(await driver.list(path('x'))).toEqual(
          ['a-b', 'a.b', 'a0', 'ab', 'ab.c'].map((n) => path('x', n)),
        );
        await driver.delete(path('x'));
      }
    },
  ],
  [
    'sibling-pending-write',
    'deleting /x/a leaves a pending write at /x/ab resumable',
    async ({ driver, path }) => {
      await driver.putContent(path('x', 'a'), text('doomed'));
      await driver.putContent(path('x', 'a.b'), text('keeps the directory'));
      const writer = await driver.writer(path('x', 'ab'));
      await writer.write(text('pending'));
      await writer.close();
      await driver.delete(path('x', 'a'));
      const resumed = await driver.writer(path('x', 'ab'), { append: true });
      expect(resumed.size, 'size of the resumed sibling write').toBe(7);
      await resumed.commit();
      expectBytes(await driver.getContent(path('x', 'ab')), text('pending'));
      await driver.delete(path('x'));
    },
  ],
  [
    'empty-parents',
    'directories emptied by a delete disappear from listings',
    async ({ driver, root, path }) => {
      await driver.putContent(path('a', 'b', 'c', 'file'), text('x'));
      await driver.delete(path('a', 'b', 'c', 'file'));
      await expectCode(driver.stat(path('a')), 'PATH_NOT_FOUND', 'stat of the emptied top directory');
      await expectCode(driver.list(path()), 'PATH_NOT_FOUND', 'list of the emptied test root');
      expect(await driver.list('/')).not.toContain(root);
    },
  ],
  [
    'recreate',
    'a deleted directory can become a file and a deleted file a directory',
    async ({ driver, path }) => {
      await driver.putContent(path('node', 'child'), text('child'));
      await driver.delete(path('node'));
      await driver.putContent(path('node'), text('now a file'));
      expectBytes(await driver.getContent(path('node')), text('now a file'));
      expect((await driver.stat(path('node'))).isDir).toBe(false);
      await driver.delete(path('node'));
      await driver.putContent(path('node', 'again'), text('a directory again'));
      expect((await driver.stat(path('node'))).isDir).toBe(true);
      await driver.delete(path('node'));
    },
  ],
]);
