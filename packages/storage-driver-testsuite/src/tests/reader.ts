import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import {
  concatBytes,
  expectBytes,
  expectCode,
  expectOneOf,
  hashAll,
  MiB,
  PseudoRandom,
  randomBytesFor,
  readAll,
  readRest,
  readVia,
  text,
} from '../helpers.ts';

export const readerTests: SuiteGroup = group('reader', 'reader', [
  [
    'full',
    'streams the whole file',
    async ({ driver, path }) => {
      const content = randomBytesFor(300 * 1024 + 3, 21);
      await driver.putContent(path('file'), content);
      expectBytes(await readVia(driver, path('file')), content);
      expectBytes(await readVia(driver, path('file'), 0), content, 'with offset 0');
      await driver.delete(path('file'));
    },
  ],
  [
    'empty-file',
    'streams nothing from an empty file',
    async ({ driver, path }) => {
      await driver.putContent(path('empty'), new Uint8Array(0));
      expectBytes(await readVia(driver, path('empty')), new Uint8Array(0));
      expectBytes(await readVia(driver, path('empty'), 1), new Uint8Array(0), 'offset 1');
      await driver.delete(path('empty'));
    },
  ],
  [
    'offsets',
    'starts at the offset; at or past the end gives an empty stream',
    async ({ driver, path }) => {
      const size = 10_000;
      const content = randomBytesFor(size, 22);
      await driver.putContent(path('file'), content);
      for (const offset of [0, 1, 4999, 5000, size - 1, size, size + 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
        const expected = content.subarray(Math.min(offset, size));
        expectBytes(await readVia(driver, path('file'), offset), expected, `offset ${offset}`);
      }
      await driver.delete(path('file'));
    },
  ],
  [
    'offsets-across-writes',
    'honours every offset of a file written in many small chunks and sessions',
    async ({ driver, path }) => {
      const chunks = [3, 5, 1, 7, 64, 2, 100, 1, 33].map((size, i) => randomBytesFor(size, 30 + i));
      const writer = await driver.writer(path('file'));
      for (const chunk of chunks.slice(0, 4)) await writer.write(chunk);
      await writer.close();
      const resumed = await driver.writer(path('file'), { append: true });
      for (const chunk of chunks.slice(4)) await resumed.write(chunk);
      await resumed.commit();
      const content = concatBytes(chunks);
      for (let offset = 0; offset <= content.byteLength + 1; offset++) {
        expectBytes(
          await readVia(driver, path('file'), offset),
          content.subarray(Math.min(offset, content.byteLength)),
          `offset ${offset}`,
        );
      }
      await driver.delete(path('file'));
    },
  ],
  [
    'invalid-offset',
    'rejects negative, fractional and non-finite offsets with INVALID_OFFSET',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('0123456789'));
      for (const offset of [
        -1,
        -10,
        1.5,
        0.5,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ]) {
        await expectCode(driver.reader(path('file'), { offset }), 'INVALID_OFFSET', `offset ${offset}`);
      }
      await driver.delete(path('file'));
    },
  ],
  [
    'missing',
    'rejects with PATH_NOT_FOUND for a missing file, a directory or a path below a file',
    async ({ driver, path }) => {
      await expectCode(driver.reader(path('missing')), 'PATH_NOT_FOUND', 'reader of a missing path');
      await expectCode(
        driver.reader(path('missing'), { offset: 10 }),
        'PATH_NOT_FOUND',
        'reader of a missing path with an offset',
      );
      await driver.putContent(path('dir', 'file'), text('x'));
      await expectCode(driver.reader(path('dir')), 'PATH_NOT_FOUND', 'reader of a directory');
      await expectCode(driver.reader(path('dir', 'file', 'x')), 'PATH_NOT_FOUND', 'reader below a file');
      await driver.delete(path('dir'));
    },
  ],
  [
    'large-stream',
    'writes a large file in 1 MiB chunks and streams it back (sha256), also from the middle',
    async ({ driver, path, capabilities }) => {
      const size = capabilities.largeFileSize;
      const chunkSize = Math.min(MiB, size);
      const tailOffset = Math.min(size - 1, Math.floor(size / 2) + 3);
      const rng = new PseudoRandom(4242);
      const buffer = new Uint8Array(chunkSize);
      const full = createHash('sha256');
      const tail = createHash('sha256');
      const writer = await driver.writer(path('large'));
      for (let written = 0; written < size; ) {
        const chunk = rng.fill(buffer.subarray(0, Math.min(chunkSize, size - written)));
        full.update(chunk);
        if (written + chunk.byteLength > tailOffset)
          tail.update(chunk.subarray(Math.max(0, tailOffset - written)));
        // The buffer is refilled as soon as the write settles, which the contract allows.
        await writer.write(chunk);
        written += chunk.byteLength;
        expect(writer.size).toBe(written);
      }
      await writer.commit();
      expect((await driver.stat(path('large'))).size).toBe(size);
      expect(await hashAll(await driver.reader(path('large')))).toEqual({ size, sha256: full.digest('hex') });
      expect(await hashAll(await driver.reader(path('large'), { offset: tailOffset }))).toEqual({
        size: size - tailOffset,
        sha256: tail.digest('hex'),
      });
      await driver.delete(path('large'));
    },
    300_000,
  ],
  [
    'consistent-during-rewrite',
    'readers see the old or the new content wholly while another writer replaces the file',
    async ({ driver, path }) => {
      const p = path('file');
      const before = randomBytesFor(2 * MiB + 5, 41);
      const after = randomBytesFor(3 * MiB + 7, 42);
      await driver.putContent(p, before);

      const early = (await driver.reader(p))[Symbol.asyncIterator]();
      const firstStep = await early.next();
      const first = firstStep.done ? [] : [firstStep.value as Uint8Array];

      const writer = await driver.writer(p);
      for (let offset = 0; offset < after.byteLength; offset += 256 * 1024) {
        await writer.write(after.subarray(offset, offset + 256 * 1024));
        if (offset === 0) expectBytes(await readVia(driver, p), before, 'read while the write is pending');
      }
      const openedBeforeCommit = await driver.reader(p);
      await writer.commit();

      expectOneOf(await readRest(early, first), [before, after], 'reader started before the write');
      expectOneOf(await readAll(openedBeforeCommit), [before, after], 'reader opened before the commit');
      expectBytes(await readVia(driver, p), after, 'read after commit');
      await driver.delete(p);
    },
  ],
]);
