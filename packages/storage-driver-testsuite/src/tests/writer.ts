import type { FileWriter, StorageDriver } from '@berth/storage-driver';
import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import {
  collect,
  concatBytes,
  expectBytes,
  expectCode,
  expectContent,
  expectOneOf,
  MiB,
  randomBytesFor,
  readAll,
  readVia,
  sha256,
  text,
} from '../helpers.ts';

/** Asserts that nothing is visible at `path` through stat, reader and getContent. */
async function expectInvisible(driver: StorageDriver, path: string, label: string): Promise<void> {
  await expectCode(driver.stat(path), 'PATH_NOT_FOUND', `${label}: stat`);
  await expectCode(driver.reader(path), 'PATH_NOT_FOUND', `${label}: reader`);
  await expectCode(driver.getContent(path), 'PATH_NOT_FOUND', `${label}: getContent`);
}

/** Asserts the write methods of an ended writer reject with WRITER_CLOSED. */
async function expectEnded(
  writer: FileWriter,
  methods: readonly ('write' | 'commit' | 'cancel')[],
  how: string,
) {
  for (const method of methods) {
    const call = method === 'write' ? () => writer.write(text('late')) : () => writer[method]();
    await expectCode(call, 'WRITER_CLOSED', `${method}() after ${how}`);
  }
}

export const writerTests: SuiteGroup = group('writer', 'writer', [
  [
    'commit',
    'writes chunks, tracks size and makes the content visible on commit',
    async ({ driver, path }) => {
      const chunks = [text('hello'), text(', '), text('world')];
      const writer = await driver.writer(path('file'));
      expect(writer.size).toBe(0);
      let size = 0;
      for (const chunk of chunks) {
        await writer.write(chunk);
        size += chunk.byteLength;
        expect(writer.size).toBe(size);
      }
      await writer.commit();
      await expectContent(driver, path('file'), text('hello, world'));
      expect((await driver.stat(path('file'))).size).toBe(size);
      await driver.delete(path('file'));
    },
  ],
  [
    'invisible-before-commit',
    'a pending write is invisible to stat, reader, getContent, list and walk',
    async ({ driver, path }) => {
      await driver.putContent(path('sibling'), text('s'));
      const writer = await driver.writer(path('dir', 'file'));
      await writer.write(text('pending'));
      await expectInvisible(driver, path('dir', 'file'), 'open writer');
      expect(await driver.list(path())).toEqual([path('sibling')]);
      expect((await collect(driver.walk(path()))).map((info) => info.path)).toEqual([path('sibling')]);
      await writer.close();
      await expectInvisible(driver, path('dir', 'file'), 'closed writer');
      expect(await driver.list(path())).toEqual([path('sibling')]);
      const resumed = await driver.writer(path('dir', 'file'), { append: true });
      await resumed.commit();
      await expectContent(driver, path('dir', 'file'), text('pending'));
      await driver.delete(path());
    },
  ],
  [
    'old-content-until-commit',
    'an existing file keeps its old content until the new write commits',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('old content'));
      const writer = await driver.writer(path('file'));
      await writer.write(text('new'));
      await expectContent(driver, path('file'), text('old content'), 'while open');
      expect((await driver.stat(path('file'))).size).toBe(11);
      await writer.close();
      expectBytes(await readVia(driver, path('file')), text('old content'), 'after close');
      const resumed = await driver.writer(path('file'), { append: true });
      expect(resumed.size).toBe(3);
      await resumed.write(text(' content!'));
      await expectContent(driver, path('file'), text('old content'), 'while resumed');
      await resumed.commit();
      await expectContent(driver, path('file'), text('new content!'), 'after commit');
      await driver.delete(path('file'));
    },
  ],
  [
    'resume-same-instance',
    'close keeps the pending write; append on the same instance continues it',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.write(text('hello '));
      await writer.close();
      const resumed = await driver.writer(path('file'), { append: true });
      expect(resumed.size).toBe(6);
      await resumed.write(text('world'));
      expect(resumed.size).toBe(11);
      await resumed.commit();
      await expectContent(driver, path('file'), text('hello world'));
      await driver.delete(path('file'));
    },
  ],
  [
    'resume-other-instance',
    'a write closed on one driver instance resumes and commits on another',
    async ({ driver, path, otherInstance }) => {
      const other = await otherInstance();
      const first = await driver.writer(path('file'));
      await first.write(text('written by one, '));
      await first.close();
      const second = await other.writer(path('file'), { append: true });
      expect(second.size).toBe(16);
      await second.write(text('continued by another'));
      await second.close();
      const third = await driver.writer(path('file'), { append: true });
      expect(third.size).toBe(36);
      await third.write(text('.'));
      await third.commit();
      const expected = text('written by one, continued by another.');
      await expectContent(driver, path('file'), expected, 'via the first instance');
      await expectContent(other, path('file'), expected, 'via the second instance');
      await other.delete(path('file'));
      await expectCode(
        driver.stat(path('file')),
        'PATH_NOT_FOUND',
        'stat after delete via the other instance',
      );
    },
  ],
  [
    'resume-rounds',
    'survives many close/append rounds of very different chunk sizes',
    async ({ driver, path }) => {
      const sizes = [1, 1, 5 * MiB + 1, 7, 1, 64 * 1024, 0, 1 * MiB, 3, 1];
      const parts: Uint8Array[] = [];
      let writer = await driver.writer(path('file'));
      for (const [round, size] of sizes.entries()) {
        const part = randomBytesFor(size, 100 + round);
        // Within a round, write the part as one chunk and as two halves in turn.
        if (round % 2 === 0) {
          await writer.write(part);
        } else {
          await writer.write(part.subarray(0, size >> 1));
          await writer.write(part.subarray(size >> 1));
        }
        parts.push(part);
        const expectedSize = parts.reduce((sum, p) => sum + p.byteLength, 0);
        expect(writer.size, `size after round ${round}`).toBe(expectedSize);
        await writer.close();
        writer = await driver.writer(path('file'), { append: true });
        expect(writer.size, `size after resuming round ${round}`).toBe(expectedSize);
      }
      await writer.commit();
      const expected = concatBytes(parts);
      const actual = await readVia(driver, path('file'));
      expect(actual.byteLength).toBe(expected.byteLength);
      expect(sha256(actual)).toBe(sha256(expected));
      await driver.delete(path('file'));
    },
    120_000,
  ],
  [
    'zero-byte',
    'a zero-byte write commits an empty file that append then continues',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.write(new Uint8Array(0));
      expect(writer.size).toBe(0);
      await writer.commit();
      const info = await driver.stat(path('file'));
      expect(info.size).toBe(0);
      expect(info.isDir).toBe(false);
      await expectContent(driver, path('file'), new Uint8Array(0));
      const appended = await driver.writer(path('file'), { append: true });
      expect(appended.size).toBe(0);
      await appended.write(text('more'));
      await appended.commit();
      await expectContent(driver, path('file'), text('more'));
      await driver.delete(path('file'));
    },
  ],
  [
    'zero-byte-pending',
    'a closed write with no bytes is still a pending write that append resumes',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.close();
      await expectInvisible(driver, path('file'), 'empty pending write');
      const resumed = await driver.writer(path('file'), { append: true });
      expect(resumed.size).toBe(0);
      await resumed.write(text('late bytes'));
      await resumed.commit();
      await expectContent(driver, path('file'), text('late bytes'));
      await driver.delete(path('file'));
    },
  ],
  [
    'append-committed',
    'append with no pending write continues the committed file',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('abc'));
      const writer = await driver.writer(path('file'), { append: true });
      expect(writer.size).toBe(3);
      await writer.write(text('def'));
      await expectContent(driver, path('file'), text('abc'), 'before commit');
      await writer.commit();
      await expectContent(driver, path('file'), text('abcdef'));
      const again = await driver.writer(path('file'), { append: true });
      expect(again.size).toBe(6);
      await again.write(text('g'));
      await again.commit();
      await expectContent(driver, path('file'), text('abcdefg'));
      await driver.delete(path('file'));
    },
  ],
  [
    'append-nothing',
    'append with neither a pending write nor a file rejects with PATH_NOT_FOUND and creates nothing',
    async ({ driver, path }) => {
      await expectCode(driver.writer(path('file'), { append: true }), 'PATH_NOT_FOUND', 'append to nothing');
      await expectCode(driver.stat(path('file')), 'PATH_NOT_FOUND', 'stat afterwards');
      await driver.putContent(path('dir', 'x'), text('x'));
      await expectCode(
        driver.writer(path('dir'), { append: true }),
        'PATH_NOT_FOUND',
        'append to a directory',
      );
      await driver.delete(path('dir'));
    },
  ],
  [
    'cancel-discards',
    'cancel discards a pending write, whether open or resumed',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.write(text('discard me'));
      await writer.cancel();
      await expectInvisible(driver, path('file'), 'after cancel');
      await expectCode(
        driver.writer(path('file'), { append: true }),
        'PATH_NOT_FOUND',
        'append after cancel',
      );

      const closed = await driver.writer(path('other'));
      await closed.write(text('discard me too'));
      await closed.close();
      const resumed = await driver.writer(path('other'), { append: true });
      await resumed.cancel();
      await expectInvisible(driver, path('other'), 'after cancelling a resumed write');
      await expectCode(driver.writer(path('other'), { append: true }), 'PATH_NOT_FOUND', 'append after that');
    },
  ],
  [
    'cancel-keeps-committed',
    'cancelling an append to a committed file keeps the file as it was',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('committed'));
      const writer = await driver.writer(path('file'), { append: true });
      await writer.write(text(' and more'));
      await writer.close();
      const resumed = await driver.writer(path('file'), { append: true });
      expect(resumed.size).toBe(18);
      await resumed.cancel();
      await expectContent(driver, path('file'), text('committed'));
      const fresh = await driver.writer(path('file'), { append: true });
      expect(fresh.size, 'append after cancel continues the committed file').toBe(9);
      await fresh.cancel();
      await driver.delete(path('file'));
    },
  ],
  [
    'cancelled-state',
    'after cancel: cancel and close are no-ops, write and commit reject with WRITER_CLOSED',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.write(text('x'));
      await writer.cancel();
      await writer.cancel();
      await writer.close();
      await expectEnded(writer, ['write', 'commit'], 'cancel');
      await expectInvisible(driver, path('file'), 'after cancel');
    },
  ],
  [
    'closed-state',
    'after close: close is a no-op, write, commit and cancel reject with WRITER_CLOSED',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.write(text('kept'));
      await writer.close();
      await writer.close();
      await expectEnded(writer, ['write', 'commit', 'cancel'], 'close');
      const resumed = await driver.writer(path('file'), { append: true });
      expect(resumed.size, 'the rejected calls changed nothing').toBe(4);
      await resumed.cancel();
    },
  ],
  [
    'committed-state',
    'after commit: close is a no-op, write, commit and cancel reject with WRITER_CLOSED',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.write(text('done'));
      await writer.commit();
      await writer.close();
      await expectEnded(writer, ['write', 'commit', 'cancel'], 'commit');
      await expectContent(driver, path('file'), text('done'));
      await driver.delete(path('file'));
    },
  ],
  [
    'new-writer-discards-pending',
    'a writer without append starts empty, discarding an earlier pending write',
    async ({ driver, path }) => {
      const first = await driver.writer(path('file'));
      await first.write(text('stale data'));
      await first.close();
      const second = await driver.writer(path('file'));
      expect(second.size).toBe(0);
      await second.write(text('new'));
      await second.close();
      const resumed = await driver.writer(path('file'), { append: true });
      expect(resumed.size, 'append resumes the newer write').toBe(3);
      await resumed.write(text('er'));
      await resumed.commit();
      await expectContent(driver, path('file'), text('newer'));
      await driver.delete(path('file'));
    },
  ],
  [
    'commit-replaces',
    'commit replaces a longer existing file exactly, with no old bytes left over',
    async ({ driver, path }) => {
      const old = randomBytesFor(64 * 1024, 51);
      await driver.putContent(path('file'), old);
      const writer = await driver.writer(path('file'));
      await writer.write(text('short'));
      const openedBefore = await driver.reader(path('file'));
      await writer.commit();
      await expectContent(driver, path('file'), text('short'));
      expect((await driver.stat(path('file'))).size).toBe(5);
      expectOneOf(await readAll(openedBefore), [old, text('short')], 'reader opened before commit');
      await driver.delete(path('file'));
    },
  ],
  [
    'reused-buffer',
    'the caller may reuse a chunk buffer once write settles',
    async ({ driver, path }) => {
      const buffer = new Uint8Array(4);
      const writer = await driver.writer(path('file'));
      for (const letter of 'abc') {
        buffer.fill(letter.charCodeAt(0));
        await writer.write(buffer);
      }
      buffer.fill(0x7a);
      await writer.commit();
      await expectContent(driver, path('file'), text('aaaabbbbcccc'));
      await driver.delete(path('file'));
    },
  ],
  [
    'creates-parents',
    'commit creates the missing parent directories',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('a', 'b', 'c', 'file'));
      await writer.write(text('x'));
      await writer.commit();
      expect(await driver.list(path('a', 'b'))).toEqual([path('a', 'b', 'c')]);
      await expectContent(driver, path('a', 'b', 'c', 'file'), text('x'));
      await driver.delete(path('a'));
    },
  ],
  [
    'delete-after-commit',
    'a committed and deleted file leaves nothing to append to',
    async ({ driver, path }) => {
      const writer = await driver.writer(path('file'));
      await writer.write(text('x'));
      await writer.commit();
      await driver.delete(path('file'));
      await expectCode(
        driver.writer(path('file'), { append: true }),
        'PATH_NOT_FOUND',
        'append after delete',
      );
    },
  ],
]);
