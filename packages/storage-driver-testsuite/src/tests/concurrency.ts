import { isStorageDriverError } from '@berth/storage-driver';
import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import {
  concatBytes,
  describeError,
  expectBytes,
  expectOneOf,
  MiB,
  randomBytesFor,
  readVia,
} from '../helpers.ts';

export const concurrencyTests: SuiteGroup = group('concurrency', 'concurrency', [
  [
    'put-get',
    '16 concurrent putContent then getContent calls on distinct paths',
    async ({ driver, path }) => {
      const contents = Array.from({ length: 16 }, (_, i) => randomBytesFor(1000 + i * 997, 80 + i));
      await Promise.all(contents.map((content, i) => driver.putContent(path('dir', `f${i}`), content)));
      const read = await Promise.all(contents.map((_, i) => driver.getContent(path('dir', `f${i}`))));
      read.forEach((bytes, i) => {
        expectBytes(bytes, contents[i]!, `f${i}`);
      });
      expect(await driver.list(path('dir'))).toHaveLength(16);
      await Promise.all(contents.map((_, i) => driver.delete(path('dir', `f${i}`))));
      await expect(driver.list(path())).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    },
  ],
  [
    'writers',
    '4 writers on distinct paths with interleaved writes and concurrent commits',
    async ({ driver, path }) => {
      const writers = await Promise.all([0, 1, 2, 3].map((i) => driver.writer(path(`w${i}`))));
      const parts: Uint8Array[][] = [[], [], [], []];
      for (let round = 0; round < 8; round++) {
        await Promise.all(
          writers.map((writer, i) => {
            const part = randomBytesFor(1 + ((round * 7919 + i * 104_729) % 70_000), round * 10 + i);
            parts[i]!.push(part);
            return writer.write(part);
          }),
        );
      }
      await Promise.all(writers.map((writer) => writer.commit()));
      for (const [i, writerParts] of parts.entries()) {
        expectBytes(await readVia(driver, path(`w${i}`)), concatBytes(writerParts), `w${i}`);
      }
      await driver.delete(path());
    },
  ],
  [
    'readers',
    'concurrent readers of one file, from different offsets',
    async ({ driver, path }) => {
      const content = randomBytesFor(2 * MiB + 333, 91);
      await driver.putContent(path('file'), content);
      const offsets = [0, 1, 1000, MiB, MiB + 1, 2 * MiB, 2 * MiB + 332, 0];
      const results = await Promise.all(offsets.map((offset) => readVia(driver, path('file'), offset)));
      results.forEach((bytes, i) => {
        expectBytes(bytes, content.subarray(offsets[i]), `reader at ${offsets[i]}`);
      });
      await driver.delete(path('file'));
    },
  ],
  [
    'same-path-writers',
    'two writers racing on one path: the result is one of them wholly, never a mix',
    async ({ driver, path }) => {
      const a = randomBytesFor(600_000, 92);
      const b = randomBytesFor(450_001, 93);
      const [wa, wb] = await Promise.all([driver.writer(path('file')), driver.writer(path('file'))]);
      const step = 64 * 1024;
      for (let offset = 0; offset < Math.max(a.length, b.length); offset += step) {
        await Promise.all([
          offset < a.length ? wa.write(a.subarray(offset, offset + step)) : undefined,
          offset < b.length ? wb.write(b.subarray(offset, offset + step)) : undefined,
        ]);
      }
      const outcomes = await Promise.allSettled([wa.commit(), wb.commit()]);
      const committed = [a, b].filter((_, i) => outcomes[i]!.status === 'fulfilled');
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected' && !isStorageDriverError(outcome.reason)) {
          throw new Error(
            `a losing commit must reject with a StorageDriverError: ${describeError(outcome.reason)}`,
          );
        }
      }
      expect(committed.length, 'at least one of the racing commits succeeds').toBeGreaterThan(0);
      expectOneOf(await driver.getContent(path('file')), committed, 'content after the race');
      await driver.delete(path('file'));
    },
  ],
]);
