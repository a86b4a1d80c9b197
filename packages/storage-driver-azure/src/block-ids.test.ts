import { describe, expect, it } from 'vitest';
import {
  type BlockIdFields,
  type BlockInfo,
  decodeBlockId,
  encodeBlockId,
  findPendingWrite,
  latestGeneration,
  MARKER_SEQ,
  reusableCommittedBlocks,
} from './block-ids.ts';

const W = 'aaaaaaaaaaaa';
const V = 'bbbbbbbbbbbb';

function block(fields: Partial<BlockIdFields> & { seq: number }, size = 10): BlockInfo {
  return {
    name: encodeBlockId({
      generation: 1,
      writeId: W,
      base: 'n',
      kind: 'd',
      session: 0,
      start: 0,
      ...fields,
    }),
    size,
  };
}

describe('block ids', () => {
  it('round-trip, all of one length', () => {
    const fields: BlockIdFields = {
      generation: 42,
      writeId: W,
      base: 'c',
      kind: 'd',
      session: 3,
      start: 17,
      seq: 20,
    };
    const id = encodeBlockId(fields);
    expect(decodeBlockId(id)).toEqual(fields);
    expect(Buffer.from(id, 'base64').byteLength).toBeLessThanOrEqual(64);
    expect(encodeBlockId({ ...fields, generation: 999_999_999_999, seq: MARKER_SEQ }).length).toBe(id.length);
    expect(decodeBlockId(Buffer.from('some-other-tool-0001').toString('base64'))).toBeUndefined();
    expect(() => encodeBlockId({ ...fields, seq: -1 })).toThrow(RangeError);
    expect(() => encodeBlockId({ ...fields, writeId: 'xyz' })).toThrow(RangeError);
  });
});

describe('findPendingWrite', () => {
  it('orders data blocks by sequence number, whatever order the service lists them in', () => {
    const state = {
      committed: [],
      uncommitted: [block({ seq: 2 }, 3), block({ seq: 0 }, 1), block({ seq: 1 }, 2)],
      contentLength: 0,
    };
    const pending = findPendingWrite(state)!;
    expect(pending.blocks.map((b) => b.size)).toEqual([1, 2, 3]);
    expect(pending).toMatchObject({ dataSize: 6, base: 'n', hasMarker: false, nextSession: 1 });
  });

  it('picks the newest write: highest generation, then write id', () => {
    const state = {
      committed: [],
      uncommitted: [
        block({ seq: 0 }, 100),
        block({ seq: 0, generation: 2 }, 5),
        block({ seq: 0, generation: 2, writeId: V }, 7),
      ],
      contentLength: 0,
    };
    expect(findPendingWrite(state)).toMatchObject({ generation: 2, writeId: V, dataSize: 7 });
    expect(latestGeneration(state)).toBe(2);
  });

  it('an empty pending write exists through its marker; a cancelled one does not exist', () => {
    const marker = block({ seq: MARKER_SEQ, kind: 'm' }, 1);
    expect(findPendingWrite({ committed: [], uncommitted: [marker], contentLength: 0 })).toMatchObject({
      dataSize: 0,
      blocks: [],
      hasMarker: true,
    });
    const cancelled = block({ seq: MARKER_SEQ, kind: 'x' }, 1);
    expect(
      findPendingWrite({ committed: [], uncommitted: [block({ seq: 0 }), cancelled], contentLength: 0 }),
    ).toBeUndefined();
    // ... and a cancelled newer write hides an older one it replaced.
    const older = block({ seq: 0, generation: 1 });
    const newerCancelled = block({ seq: MARKER_SEQ, kind: 'x', generation: 2, writeId: V });
    expect(
      findPendingWrite({ committed: [], uncommitted: [older, newerCancelled], contentLength: 0 }),
    ).toBeUndefined();
  });

  it('ignores writes a commit superseded, and blocks of other tools', () => {
    const committed = [block({ seq: 0, generation: 3 }, 4)];
    const stale = block({ seq: 0, generation: 2 });
    const foreign = { name: Buffer.from('x'.repeat(56)).toString('base64'), size: 1 };
    expect(findPendingWrite({ committed, uncommitted: [stale, foreign], contentLength: 4 })).toBeUndefined();
  });

  it('cuts a write at its first missing block', () => {
    const state = {
      committed: [],
      uncommitted: [block({ seq: 0 }), block({ seq: 1 }), block({ seq: 3 }), block({ seq: 4 })],
      contentLength: 0,
    };
    expect(findPendingWrite(state)).toMatchObject({ dataSize: 20, nextSession: 1 });
  });

  it('a later session supersedes every older block from its start on, even where it has not written yet', () => {
    // Session 0 staged 0, 1, 3, 4 (2 was lost). Session 1 resumed at 2 and staged 2 only.
    const state = {
      committed: [],
      uncommitted: [
        block({ seq: 0 }, 1),
        block({ seq: 1 }, 1),
        block({ seq: 3 }, 100),
        block({ seq: 4 }, 100),
        block({ seq: 2, session: 1, start: 2 }, 5),
      ],
      contentLength: 0,
    };
    const pending = findPendingWrite(state)!;
    expect(pending.blocks.map((b) => b.size)).toEqual([1, 1, 5]);
    expect(pending.nextSession).toBe(2);
    // Session 1 lost its first block: the write ends before it, old blocks from 2 on are void.
    const lostFirst = {
      ...state,
      uncommitted: [
        block({ seq: 0 }, 1),
        block({ seq: 1 }, 1),
        block({ seq: 2 }, 100),
        block({ seq: 3, session: 1, start: 2 }, 5),
      ],
    };
    expect(findPendingWrite(lostFirst)!.blocks.map((b) => b.size)).toEqual([1, 1]);
  });

  it('continues committed blocks only while they still make up the blob', () => {
    const committed = [block({ seq: 0, generation: 1 }, 10)];
    const append = block({ seq: 0, generation: 2, base: 'c' }, 3);
    expect(findPendingWrite({ committed, uncommitted: [append], contentLength: 10 })).toMatchObject({
      base: 'c',
      dataSize: 3,
    });
    // putContent replaced the blob (no block list) behind the pending append's back.
    expect(findPendingWrite({ committed: [], uncommitted: [append], contentLength: 99 })).toBeUndefined();
  });
});

describe('reusableCommittedBlocks', () => {
  it('only when every committed block is ours and they cover the blob', () => {
    const ours = [block({ seq: 0 }, 10), block({ seq: 1 }, 5)];
    expect(reusableCommittedBlocks({ committed: ours, uncommitted: [], contentLength: 15 })).toBe(ours);
    expect(reusableCommittedBlocks({ committed: [], uncommitted: [], contentLength: 0 })).toEqual([]);
    expect(reusableCommittedBlocks({ committed: [], uncommitted: [], contentLength: 3 })).toBeUndefined();
    const foreign = [{ name: Buffer.from('blk0').toString('base64'), size: 15 }];
    expect(
      reusableCommittedBlocks({ committed: foreign, uncommitted: [], contentLength: 15 }),
    ).toBeUndefined();
  });
});
