import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import {
  concatBytes,
  expectBytes,
  expectCode,
  expectContent,
  expectOneOfCodes,
  randomBytesFor,
  readVia,
  text,
} from '../helpers.ts';

export const moveTests: SuiteGroup = group('move', 'move', [
  [
    'new-path',
    'moves a file to a new path; the source is gone',
    async ({ driver, path }) => {
      const content = randomBytesFor(10_000, 61);
      await driver.putContent(path('src'), content);
      await driver.move(path('src'), path('dst'));
      await expectContent(driver, path('dst'), content);
      await expectCode(driver.stat(path('src')), 'PATH_NOT_FOUND', 'stat of the source');
      await expectCode(driver.getContent(path('src')), 'PATH_NOT_FOUND', 'getContent of the source');
      expect(await driver.list(path())).toEqual([path('dst')]);
      await driver.delete(path('dst'));
    },
  ],
  [
    'overwrite',
    'replaces an existing destination wholly',
    async ({ driver, path }) => {
      await driver.putContent(path('src'), text('new'));
      await driver.putContent(path('dst'), randomBytesFor(5000, 62));
      await driver.move(path('src'), path('dst'));
      await expectContent(driver, path('dst'), text('new'));
      await expectCode(driver.stat(path('src')), 'PATH_NOT_FOUND', 'stat of the source');
      await driver.delete(path('dst'));
    },
  ],
  [
    'new-tree',
    'creates the destination directories',
    async ({ driver, path }) => {
      await driver.putContent(path('src'), text('x'));
      await driver.move(path('src'), path('a', 'b', 'c', 'dst'));
      expectBytes(await driver.getContent(path('a', 'b', 'c', 'dst')), text('x'));
      expect(await driver.list(path())).toEqual([path('a')]);
      expect(await driver.list(path('a', 'b'))).toEqual([path('a', 'b', 'c')]);
      await driver.delete(path('a'));
    },
  ],
  [
    'missing-source',
    'rejects with PATH_NOT_FOUND and leaves the destination untouched (or uncreated)',
    async ({ driver, path }) => {
      await driver.putContent(path('dst'), text('untouched'));
      await expectCode(
        driver.move(path('missing'), path('dst')),
        'PATH_NOT_FOUND',
        'move onto an existing file',
      );
      expectBytes(await driver.getContent(path('dst')), text('untouched'));
      await expectCode(
        driver.move(path('missing'), path('new', 'dst')),
        'PATH_NOT_FOUND',
        'move to a new path',
      );
      await expectCode(
        driver.stat(path('new')),
        'PATH_NOT_FOUND',
        'stat of the would-be destination directory',
      );
      expect(await driver.list(path())).toEqual([path('dst')]);
      await driver.delete(path('dst'));
    },
  ],
  [
    'source-directory-cleanup',
    'a source directory left empty by the move disappears',
    async ({ driver, path }) => {
      await driver.putContent(path('from', 'deep', 'file'), text('x'));
      await driver.move(path('from', 'deep', 'file'), path('to', 'file'));
      expect(await driver.list(path())).toEqual([path('to')]);
      await expectCode(driver.stat(path('from')), 'PATH_NOT_FOUND', 'stat of the emptied source directory');
      await driver.delete(path('to'));
    },
  ],
  [
    'onto-itself',
    'moving a file onto itself keeps its content',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('stay'));
      try {
        await driver.move(path('file'), path('file'));
      } catch (err) {
        // Rejecting is acceptable; losing the file is not.
        expectBytes(
          await driver.getContent(path('file')),
          text('stay'),
          `after a rejected self-move (${err})`,
        );
      }
      expectBytes(await driver.getContent(path('file')), text('stay'));
      await driver.delete(path('file'));
    },
  ],
  [
    'written-file',
    'moves a file written in several writer sessions; offsets still work at the destination',
    async ({ driver, path }) => {
      const parts = [randomBytesFor(1000, 63), randomBytesFor(3, 64), randomBytesFor(70_000, 65)];
      let writer = await driver.writer(path('upload'));
      for (const part of parts) {
        await writer.write(part);
        await writer.close();
        writer = await driver.writer(path('upload'), { append: true });
      }
      await writer.commit();
      await driver.move(path('upload'), path('blob', 'data'));
      const content = concatBytes(parts);
      expectBytes(await readVia(driver, path('blob', 'data')), content);
      expectBytes(
        await readVia(driver, path('blob', 'data'), 1001),
        content.subarray(1001),
        'from offset 1001',
      );
      await expectCode(
        driver.writer(path('upload'), { append: true }),
        'PATH_NOT_FOUND',
        'append to the source',
      );
      await driver.delete(path('blob'));
    },
  ],
  [
    'directory',
    'moving a directory rejects (UNSUPPORTED or PATH_NOT_FOUND) and leaves it intact',
    async ({ driver, path }) => {
      await driver.putContent(path('dir', 'file'), text('x'));
      await expectOneOfCodes(
        driver.move(path('dir'), path('moved')),
        ['UNSUPPORTED', 'PATH_NOT_FOUND'],
        'move',
      );
      expectBytes(await driver.getContent(path('dir', 'file')), text('x'));
      await expectCode(driver.stat(path('moved')), 'PATH_NOT_FOUND', 'stat of the destination');
      await driver.delete(path('dir'));
    },
  ],
]);
