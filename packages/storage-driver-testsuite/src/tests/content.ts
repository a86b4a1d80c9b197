import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import { concatBytes, expectBytes, expectCode, expectContent, randomBytesFor, text } from '../helpers.ts';

export const contentTests: SuiteGroup = group('content', 'getContent / putContent', [
  [
    'round-trip',
    'putContent then getContent returns the same bytes',
    async ({ driver, path }) => {
      const content = text('hello, registry');
      await driver.putContent(path('file'), content);
      expectBytes(await driver.getContent(path('file')), content);
      await driver.delete(path('file'));
    },
  ],
  [
    'not-durable',
    'putContent with durable: false stores, replaces and creates directories like any other write',
    async ({ driver, path }) => {
      const p = path('scratch/deep/file');
      await driver.putContent(p, text('first'), { durable: false });
      expectBytes(await driver.getContent(p), text('first'));
      await driver.putContent(p, text('second, longer'), { durable: false });
      expectBytes(await driver.getContent(p), text('second, longer'));
      expect(await driver.list(path('scratch/deep'))).toEqual([p]);
      await driver.delete(path('scratch'));
    },
  ],
  [
    'empty',
    'stores and returns empty content',
    async ({ driver, path }) => {
      await driver.putContent(path('empty'), new Uint8Array(0));
      expectBytes(await driver.getContent(path('empty')), new Uint8Array(0));
      expect((await driver.stat(path('empty'))).size).toBe(0);
      await driver.delete(path('empty'));
    },
  ],
  [
    'overwrite',
    'putContent replaces earlier content whether longer or shorter',
    async ({ driver, path }) => {
      const p = path('file');
      for (const content of [
        randomBytesFor(1000, 1),
        text('short'),
        randomBytesFor(4096, 2),
        new Uint8Array(0),
      ]) {
        await driver.putContent(p, content);
        await expectContent(driver, p, content, `after writing ${content.byteLength} bytes`);
      }
      await driver.delete(p);
    },
  ],
  [
    'binary',
    'round-trips every byte value unchanged',
    async ({ driver, path }) => {
      const ascending = Uint8Array.from({ length: 256 }, (_, i) => i);
      const content = concatBytes([ascending, ascending.slice().reverse(), randomBytesFor(512, 3)]);
      await driver.putContent(path('bin'), content);
      expectBytes(await driver.getContent(path('bin')), content);
      await driver.delete(path('bin'));
    },
  ],
  [
    'missing',
    'getContent of a missing path rejects with PATH_NOT_FOUND',
    async ({ driver, path }) => {
      await expectCode(driver.getContent(path('missing')), 'PATH_NOT_FOUND', 'getContent of a missing root');
      await driver.putContent(path('present'), text('x'));
      await expectCode(
        driver.getContent(path('absent')),
        'PATH_NOT_FOUND',
        'getContent of a missing sibling',
      );
      await expectCode(
        driver.getContent(path('present', 'below')),
        'PATH_NOT_FOUND',
        'getContent below a file',
      );
      await driver.delete(path('present'));
    },
  ],
  [
    'directory-is-not-a-file',
    'getContent of a directory rejects with PATH_NOT_FOUND',
    async ({ driver, path }) => {
      await driver.putContent(path('dir', 'file'), text('x'));
      await expectCode(driver.getContent(path('dir')), 'PATH_NOT_FOUND', 'getContent of a directory');
      await driver.delete(path('dir'));
    },
  ],
  [
    'many-files',
    'keeps 200 files in one directory apart',
    async ({ driver, path }) => {
      const names = Array.from({ length: 200 }, (_, i) => `f${String(i).padStart(3, '0')}`);
      for (const name of names) await driver.putContent(path('dir', name), text(`content of ${name}`));
      expect(await driver.list(path('dir'))).toEqual(names.map((name) => path('dir', name)));
      for (const name of [names[0]!, names[99]!, names[199]!]) {
        expectBytes(await driver.getContent(path('dir', name)), text(`content of ${name}`), name);
      }
      await driver.delete(path('dir'));
    },
  ],
  [
    'deep-nesting',
    'stores a file 32 directories deep and lists every level',
    async ({ driver, path }) => {
      const levels = Array.from({ length: 32 }, (_, i) => `d${i}`);
      const file = path(...levels, 'leaf');
      await driver.putContent(file, text('deep'));
      expectBytes(await driver.getContent(file), text('deep'));
      for (let depth = 0; depth < levels.length; depth++) {
        const dir = path(...levels.slice(0, depth));
        const child = path(...levels.slice(0, depth + 1));
        expect(await driver.list(dir)).toEqual([child]);
        expect((await driver.stat(child)).isDir).toBe(true);
      }
      await driver.delete(path(levels[0]!));
    },
  ],
  [
    'creates-parents',
    'putContent creates the missing parent directories',
    async ({ driver, path }) => {
      await driver.putContent(path('a', 'b', 'c', 'file'), text('x'));
      expect((await driver.stat(path('a'))).isDir).toBe(true);
      expect((await driver.stat(path('a', 'b', 'c'))).isDir).toBe(true);
      expect(await driver.list(path('a', 'b'))).toEqual([path('a', 'b', 'c')]);
      await driver.delete(path('a'));
    },
  ],
  [
    'copies-buffers',
    'neither changing the input after putContent nor the output of getContent changes what is stored',
    async ({ driver, path }) => {
      const input = text('original');
      await driver.putContent(path('file'), input);
      input.fill(0x21);
      const output = await driver.getContent(path('file'));
      expectBytes(output, text('original'), 'after changing the input');
      output.fill(0x22);
      expectBytes(await driver.getContent(path('file')), text('original'), 'after changing an output');
      await driver.delete(path('file'));
    },
  ],
  [
    'views',
    'stores exactly the bytes of a Uint8Array view into a larger buffer',
    async ({ driver, path }) => {
      const backing = text('0123456789abcdef');
      const view = backing.subarray(3, 9);
      await driver.putContent(path('file'), view);
      expectBytes(await driver.getContent(path('file')), text('345678'));
      await driver.putContent(path('buffer'), Buffer.from('node buffer'));
      expectBytes(await driver.getContent(path('buffer')), text('node buffer'));
      await driver.delete(path('file'));
      await driver.delete(path('buffer'));
    },
  ],
]);
