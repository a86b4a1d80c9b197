/**
 * Block ids of the writer, and how the state of a pending write is read back from a blob's
 * block list. Everything a resume needs is in the ids themselves (see the design note in
 * `azure-driver.ts`), so this module is pure and tested on its own.
 *
 * An id is the base64 of 56 ASCII characters (Azure wants every id of a blob equally long, at
 * most 64 bytes before encoding):
 *
 * ```
 * berth1-000000000007-9f3c2a71b0e4-nd-000002-000040-000041
 *        generation   write id     ││ session start  sequence number
 *                                  │└ kind: d data, m marker (an empty pending write), x cancelled
 *                                  └ base: n starts empty, c continues the committed blocks
 * ```
 *
 * A *session* is one writer of the write (the first, then one per resume); *start* is the
 * sequence number its first block took. Both are in every block so that a resume after a crash
 * can tell stale blocks from current ones: when a block failed to stage (or a process died with
 * blocks in flight), the write is cut at the first missing block, and the next session restages
 * from there — every older-session block at or after its start is superseded, even where the new
 * session has not (yet) overwritten it.
 */

/** What a block is for. */
export type BlockKind = 'd' | 'm' | 'x';

/** What a write starts from: nothing (`n`), or the blob's committed blocks (`c`). */
export type WriteBase = 'n' | 'c';

/** The fields encoded in one of the writer's block ids. */
export interface BlockIdFields {
  /** Orders writes of one blob: a new write gets a generation above every existing one. */
  readonly generation: number;
  /** 12 hex digits, random per write: tells apart two writes that picked the same generation. */
  readonly writeId: string;
  readonly base: WriteBase;
  readonly kind: BlockKind;
  /** 0 for the writer that started the write, +1 for each resume. */
  readonly session: number;
  /** The sequence number of the session's first block. */
  readonly start: number;
  /** Position of a data block in its write (0, 1, 2, …); {@link MARKER_SEQ} for `m` and `x`. */
  readonly seq: number;
}

/** A block as `getBlockList` reports it. */
export interface BlockInfo {
  /** The base64 block id. */
  readonly name: string;
  readonly size: number;
}

/** The largest sequence number, session or start (six digits; Azure commits at most 50,000 blocks). */
export const MAX_SEQ = 999_999;
/** The sequence number of marker and cancellation blocks. */
export const MARKER_SEQ: number = MAX_SEQ;
/** The highest generation an id can carry. */
export const MAX_GENERATION = 999_999_999_999;

const PREFIX = 'berth1';
const PATTERN = /^berth1-(\d{12})-([0-9a-f]{12})-([nc])([dmx])-(\d{6})-(\d{6})-(\d{6})$/;

function sixDigits(name: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_SEQ) {
    throw new RangeError(`block ${name} out of range: ${value}`);
  }
  return String(value).padStart(6, '0');
}

/** The base64 block id for `fields`. */
export function encodeBlockId(fields: BlockIdFields): string {
  if (
    !Number.isSafeInteger(fields.generation) ||
    fields.generation < 0 ||
    fields.generation > MAX_GENERATION
  ) {
    throw new RangeError(`block generation out of range: ${fields.generation}`);
  }
  if (!/^[0-9a-f]{12}$/.test(fields.writeId)) throw new RangeError(`bad write id: ${fields.writeId}`);
  const text =
    `${PREFIX}-${String(fields.generation).padStart(12, '0')}-${fields.writeId}-${fields.base}${fields.kind}-` +
    `${sixDigits('session', fields.session)}-${sixDigits('start', fields.start)}-${sixDigits('seq', fields.seq)}`;
  return Buffer.from(text, 'latin1').toString('base64');
}

/** The fields of one of the writer's block ids, or `undefined` for any other id. */
export function decodeBlockId(id: string): BlockIdFields | undefined {
  const match = PATTERN.exec(Buffer.from(id, 'base64').toString('latin1'));
  if (match === null) return undefined;
  return {
    generation: Number(match[1]),
    writeId: match[2]!,
    base: match[3] as WriteBase,
    kind: match[4] as BlockKind,
    session: Number(match[5]),
    start: Number(match[6]),
    seq: Number(match[7]),
  };
}

/** A blob's block lists, as `getBlockList('all')` reports them. */
export interface BlockListState {
  /** The committed blocks, in blob order. */
  readonly committed: readonly BlockInfo[];
  /** The uncommitted blocks, in no particular order. */
  readonly uncommitted: readonly BlockInfo[];
  /** The committed blob's size (0 when there is none). */
  readonly contentLength: number;
}

/** A write that was closed but not committed (or is still open elsewhere), read back from the block list. */
export interface PendingWrite {
  readonly generation: number;
  readonly writeId: string;
  readonly base: WriteBase;
  /** Its data blocks, in order (for base `c`, the committed blocks come before them). */
  readonly blocks: readonly BlockInfo[];
  /** Bytes in its data blocks (without the committed blocks of base `c`). */
  readonly dataSize: number;
  /** Whether an empty-write marker exists (so no other one is needed). */
  readonly hasMarker: boolean;
  /** The session number the next writer of this write takes. */
  readonly nextSession: number;
}

/** The highest generation in any of the writer's ids on the blob, committed or not (0 if none). */
export function latestGeneration(state: BlockListState): number {
  let latest = 0;
  for (const block of [...state.committed, ...state.uncommitted]) {
    const fields = decodeBlockId(block.name);
    if (fields !== undefined && fields.generation > latest) latest = fields.generation;
  }
  return latest;
}

/**
 * The committed blocks, when a write can continue them by committing them again with more
 * blocks after: every committed block is one of the writer's (equal id lengths) and together
 * they make up the whole blob. Otherwise `undefined` (a blob from `putContent`, which has no
 * block list, or from another tool).
 */
export function reusableCommittedBlocks(state: BlockListState): readonly BlockInfo[] | undefined {
  let total = 0;
  for (const block of state.committed) {
    if (decodeBlockId(block.name) === undefined) return undefined;
    total += block.size;
  }
  return total === state.contentLength ? state.committed : undefined;
}

/**
 * The pending write of the blob, if any: among the uncommitted blocks of the writer's format,
 * the write with the highest (generation, write id). There is none when that write was
 * cancelled (it has an `x` block), when a commit since then superseded it (its generation is not
 * above every committed one), or when it continues committed blocks that no longer make up the
 * blob. Its data is the longest run of blocks from sequence number 0 without a gap, taking for
 * each position the block of the latest session that covers it (see the module comment).
 */
export function findPendingWrite(state: BlockListState): PendingWrite | undefined {
  let committedGeneration = 0;
  for (const block of state.committed) {
    const fields = decodeBlockId(block.name);
    if (fields !== undefined && fields.generation > committedGeneration)
      committedGeneration = fields.generation;
  }
  let best: BlockIdFields | undefined;
  const parsed: { fields: BlockIdFields; block: BlockInfo }[] = [];
  for (const block of state.uncommitted) {
    const fields = decodeBlockId(block.name);
    if (fields === undefined || fields.generation <= committedGeneration) continue;
    parsed.push({ fields, block });
    if (
      best === undefined ||
      fields.generation > best.generation ||
      (fields.generation === best.generation && fields.writeId > best.writeId)
    ) {
      best = fields;
    }
  }
  if (best === undefined) return undefined;
  const mine = parsed.filter(
    ({ fields }) => fields.generation === best.generation && fields.writeId === best.writeId,
  );
  if (mine.some(({ fields }) => fields.kind === 'x')) return undefined;
  if (best.base === 'c' && reusableCommittedBlocks(state) === undefined) return undefined;
  const data = mine.filter(({ fields }) => fields.kind === 'd');
  // Where each session started: a block is superseded by any later session that started at or
  // before its position.
  const sessionStart = new Map<number, number>();
  for (const { fields } of data) sessionStart.set(fields.session, fields.start);
  const current = new Map<number, BlockInfo>();
  const currentSession = new Map<number, number>();
  for (const { fields, block } of data) {
    let superseded = false;
    for (const [session, start] of sessionStart) {
      if (session > fields.session && start <= fields.seq) superseded = true;
    }
    if (superseded) continue;
    if ((currentSession.get(fields.seq) ?? -1) < fields.session) {
      current.set(fields.seq, block);
      currentSession.set(fields.seq, fields.session);
    }
  }
  const blocks: BlockInfo[] = [];
  for (let seq = 0; current.has(seq); seq++) blocks.push(current.get(seq)!);
  const sessions = mine.map(({ fields }) => fields.session);
  return {
    generation: best.generation,
    writeId: best.writeId,
    base: best.base,
    blocks,
    dataSize: blocks.reduce((sum, block) => sum + block.size, 0),
    hasMarker: mine.some(({ fields }) => fields.kind === 'm'),
    nextSession: Math.max(...sessions) + 1,
  };
}
