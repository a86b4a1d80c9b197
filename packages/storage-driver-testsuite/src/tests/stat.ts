import type { FileInfo } from '@berth/storage-driver';
import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import { expectCode, sleep, text } from '../helpers.ts';

/** How far a modTime may be from the test's own clock (backend clock skew, coarse timestamps). */
const CLOCK_SLACK_MS = 2 * 60 * 1000;

function expectModTimeNear(info: FileInfo, started: number, label: string): void {
  expect(info.modTime, `${label}: modTime is a Date`).toBeInstanceOf(Date);
  const time = info.modTime.getTime();
  expect(Number.isNaN(time), `${label}: modTime is a valid date`).toBe(false);
  expect(time, `${label}: modTime not long before the test`).toBeGreaterThanOrEqual(started - CLOCK_SLACK_MS);
  expect(time, `${label}: modTime not after the test`).toBeLessThanOrEqual(Date.now() + CLOCK_SLACK_MS);
}

export const statTests: SuiteGroup = group('stat', 'stat', [
  [
    'file',
    'describes a file: path, size, isDir false, a recent modTime',
    async ({ driver, path }) => {
      const started = Date.now();
      await driver.putContent(path('file'), text('0123456789'));
      const info = await driver.stat(path('file'));
      expect(info.path).toBe(path('file'));
      expect(info.size).toBe(10);
      expect(info.isDir).toBe(false);
      expectModTimeNear(info, started, 'file');
      await driver.delete(path('file'));
    },
  ],
  [
    'empty-file',
    'describes an empty file as a file of size 0',
    async ({ driver, path }) => {
      await driver.putContent(path('empty'), new Uint8Array(0));
      const info = await driver.stat(path('empty'));
      expect(info).toMatchObject({ path: path('empty'), size: 0, isDir: false });
      await driver.delete(path('empty'));
    },
  ],
  [
    'directory',
    'describes a directory: isDir true, size 0',
    async ({ driver, path }) => {
      const started = Date.now();
      await driver.putContent(path('dir', 'sub', 'file'), text('x'));
      for (const dir of [path(), path('dir'), path('dir', 'sub')]) {
        const info = await driver.stat(dir);
        expect(info).toMatchObject({ path: dir, size: 0, isDir: true });
        expect(info.modTime).toBeInstanceOf(Date);
        expect(info.modTime.getTime()).toBeLessThanOrEqual(Date.now() + CLOCK_SLACK_MS);
        if (dir !== path()) expect(info.modTime.getTime()).not.toBeNaN();
      }
      expectModTimeNear(await driver.stat(path('dir', 'sub', 'file')), started, 'file');
      await driver.delete(path('dir'));
    },
  ],
  [
    'root',
    'describes / as a directory when the store is not empty',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('x'));
      const info = await driver.stat('/');
      expect(info.isDir).toBe(true);
      expect(info.path).toBe('/');
      expect(info.size).toBe(0);
      await driver.delete(path('file'));
    },
  ],
  [
    'missing',
    'rejects with PATH_NOT_FOUND for a missing path, a sibling prefix and a path below a file',
    async ({ driver, path }) => {
      await expectCode(driver.stat(path('missing')), 'PATH_NOT_FOUND', 'stat of a missing path');
      await driver.putContent(path('dir', 'file'), text('x'));
      await expectCode(driver.stat(path('di')), 'PATH_NOT_FOUND', 'stat of a prefix of a directory name');
      await expectCode(driver.stat(path('dir', 'fil')), 'PATH_NOT_FOUND', 'stat of a prefix of a file name');
      await expectCode(driver.stat(path('dir', 'file', 'x')), 'PATH_NOT_FOUND', 'stat below a file');
      await driver.delete(path('dir'));
    },
  ],
  [
    'modtime-rewrite',
    'modTime does not go backwards when a file is rewritten',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('one'));
      const first = await driver.stat(path('file'));
      await sleep(20);
      await driver.putContent(path('file'), text('two!'));
      const second = await driver.stat(path('file'));
      expect(second.size).toBe(4);
      expect(second.modTime.getTime()).toBeGreaterThanOrEqual(first.modTime.getTime());
      await driver.delete(path('file'));
    },
  ],
]);
