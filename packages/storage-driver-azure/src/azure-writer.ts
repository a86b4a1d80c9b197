import { randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { type FileWriter, pathNotFound, StorageDriverError } from '@berth/storage-driver';
import {
  type BlockKind,
  type BlockListState,
  encodeBlockId,
  findPendingWrite,
  latestGeneration,
  MARKER_SEQ,
  MAX_GENERATION,
  reusableCommittedBlocks,
  type WriteBase,
} from './block-ids.ts';
import { isNotFound, statusOf } from './errors.ts';

/** Azure commits at most this many blocks into one blob. */
export const MAX_COMMITTED_BLOCKS = 50_000;
/** The first buffer of a write; it doubles up to the block size as bytes arrive. */
const INITIAL_BUFFER_SIZE = 64 * 1024;
/** Content of marker and cancellation blocks (never committed, so never read). */
const ONE_BYTE: Buffer = Buffer.from([0x2e]);

/** What a writer needs from the driver. */
export interface WriterSetup {
  readonly client: BlockBlobClient;
  readonly path: string;
  readonly blockSize: number;
  readonly concurrency: number;
}

interface Identity {
  readonly generation: number;
  /** Uncommitted blocks of other writes may exist (an earlier pending write this one replaces). */
  readonly othersPending: boolean;
}

function newWriteId(): string {
  return randomBytes(6).toString('hex');
}

function nextGeneration(state: BlockListState | undefined): number {
  const generation = (state === undefined ? 0 : latestGeneration(state)) + 1;
  if (generation > MAX_GENERATION) throw new StorageDriverError('DRIVER_ERROR', 'block generation overflow');
  return generation;
}

/** The blob's block lists, or `undefined` when there is no blob (not even uncommitted blocks). */
export async function readBlockList(
  client: BlockBlobClient,
  signal?: AbortSignal,
): Promise<BlockListState | undefined> {
  try {
    const response = await client.getBlockList('all', signal === undefined ? {} : { abortSignal: signal });
    const blocks = (list: { name?: string; size?: number }[] | undefined) =>
      (list ?? []).map((block) => ({ name: block.name ?? '', size: block.size ?? 0 }));
    return {
      committed: blocks(response.committedBlocks),
      uncommitted: blocks(response.uncommittedBlocks),
      contentLength: response.blobContentLength ?? 0,
    };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (statusOf(error) === 409) {
      throw new StorageDriverError(
        'UNSUPPORTED',
        'the blob is not a block blob (an append or page blob from another tool); it cannot be written to',
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Starts a write that replaces whatever is at the path on commit. Nothing is sent yet: the block
 * list (for the generation) is read in the background and awaited before the first block.
 */
export function openNewWrite(setup: WriterSetup): AzureWriter {
  const identity = readBlockList(setup.client).then((state) => ({
    generation: nextGeneration(state),
    othersPending: (state?.uncommitted.length ?? 0) > 0,
  }));
  // Awaited before the first block; until then, a failure must not be an unhandled rejection.
  identity.catch(() => {});
  return new AzureWriter(setup, {
    identity,
    writeId: newWriteId(),
    base: 'n',
    session: 0,
    committed: [],
    blocks: [],
  });
}

/**
 * Continues the pending write of the path, else the committed blob, else rejects with
 * `PATH_NOT_FOUND`. A committed blob whose blocks cannot be reused (one written by `putContent`)
 * is copied into the first blocks of a new write.
 */
export async function openAppendWrite(setup: WriterSetup, signal?: AbortSignal): Promise<AzureWriter> {
  const state = await readBlockList(setup.client, signal);
  if (state === undefined) throw pathNotFound(setup.path);
  const pending = findPendingWrite(state);
  if (pending !== undefined) {
    const committed = pending.base === 'c' ? reusableCommittedBlocks(state)! : [];
    return new AzureWriter(setup, {
      identity: { generation: pending.generation, othersPending: true },
      writeId: pending.writeId,
      base: pending.base,
      session: pending.nextSession,
      committed: committed.map((block) => block.name),
      baseSize: committed.reduce((sum, block) => sum + block.size, 0),
      blocks: pending.blocks.map((block) => block.name),
      dataSize: pending.dataSize,
      hasMarker: pending.hasMarker,
      resumed: true,
    });
  }
  // No pending write. getBlockList cannot tell an empty committed blob from a blob that has
  // only (stale) uncommitted blocks; ask for the properties only in that case.
  if (state.committed.length === 0 && state.contentLength === 0) {
    try {
      await setup.client.getProperties(signal === undefined ? {} : { abortSignal: signal });
    } catch (error) {
      if (isNotFound(error)) throw pathNotFound(setup.path, error);
      throw error;
    }
  }
  const generation = nextGeneration(state);
  const reusable = reusableCommittedBlocks(state);
  if (reusable !== undefined) {
    return new AzureWriter(setup, {
      identity: { generation, othersPending: false },
      writeId: newWriteId(),
      base: 'c',
      session: 0,
      committed: reusable.map((block) => block.name),
      baseSize: state.contentLength,
      blocks: [],
    });
  }
  // A blob without a usable block list: its bytes become the first blocks of a new write.
  const writer = new AzureWriter(setup, {
    identity: { generation, othersPending: false },
    writeId: newWriteId(),
    base: 'n',
    session: 0,
    committed: [],
    blocks: [],
  });
  try {
    const download = await setup.client.download(
      0,
      undefined,
      signal === undefined ? {} : { abortSignal: signal },
    );
    for await (const chunk of download.readableStreamBody ?? []) await writer.write(chunk as Buffer);
  } catch (error) {
    await writer.cancel().catch(() => {});
    if (isNotFound(error)) throw pathNotFound(setup.path, error);
    throw error;
  }
  return writer;
}

interface WriterState {
  identity: Identity | Promise<Identity>;
  writeId: string;
  base: WriteBase;
  /** This writer's session number (see `block-ids.ts`). */
  session: number;
  /** Ids of the committed blocks a base-`c` write continues. */
  committed: string[];
  baseSize?: number;
  /** Ids of the write's data blocks so far, in order (index = sequence number). */
  blocks: string[];
  dataSize?: number;
  hasMarker?: boolean;
  /** The write was pending before this writer (so a cancel must mark it cancelled). */
  resumed?: boolean;
}

/**
 * A write of one block blob: bytes are buffered into blocks of `blockSize`, staged (up to
 * `concurrency` at a time) under ids that encode the write and the block's position, and
 * committed with one `commitBlockList`. See the design note in `azure-driver.ts`.
 */
export class AzureWriter implements FileWriter {
  readonly #setup: WriterSetup;
  readonly #state: WriterState;
  /** The sequence number of this session's first block. */
  readonly #start: number;
  #size: number;
  #buffer: Buffer | undefined;
  #filled = 0;
  /** Whether a block was sealed by this writer (so it is a big write: buffers are whole blocks). */
  #sealed = false;
  /** Whole-block buffers whose blocks have been staged, for the next blocks. */
  readonly #spare: Buffer[] = [];
  /** Closed, committed or cancelled: buffers are dropped, not kept. */
  #ended = false;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(setup: WriterSetup, state: WriterState) {
    this.#setup = setup;
    this.#state = state;
    this.#start = state.blocks.length;
    this.#size = (state.baseSize ?? 0) + (state.dataSize ?? 0);
  }

  get size(): number {
    return this.#size;
  }

  async #identity(): Promise<Identity> {
    const identity = await this.#state.identity;
    this.#state.identity = identity;
    return identity;
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    const { blockSize } = this.#setup;
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.#buffer === undefined || this.#filled === this.#buffer.byteLength) {
        if (this.#filled === blockSize) await this.#seal();
        this.#grow(chunk.byteLength - offset);
      }
      const buffer = this.#buffer!;
      const count = Math.min(buffer.byteLength - this.#filled, chunk.byteLength - offset);
      buffer.set(chunk.subarray(offset, offset + count), this.#filled);
      this.#filled += count;
      offset += count;
      this.#size += count;
    }
    if (this.#filled === blockSize) await this.#seal();
  }

  /**
   * Makes room in the buffer. The first block starts small and doubles (a short write costs
   * little memory); once a block has been sealed the write is a big one, and every later buffer
   * is a whole block, reused once its block is staged (no page faults or GC churn per block).
   */
  #grow(wanted: number): void {
    const { blockSize } = this.#setup;
    const current = this.#buffer?.byteLength ?? 0;
    const size = this.#sealed
      ? blockSize
      : Math.min(blockSize, Math.max(INITIAL_BUFFER_SIZE, current * 2, this.#filled + wanted));
    const next =
      size === blockSize ? (this.#spare.pop() ?? Buffer.allocUnsafe(size)) : Buffer.allocUnsafe(size);
    if (this.#buffer !== undefined && this.#filled > 0) this.#buffer.copy(next, 0, 0, this.#filled);
    this.#buffer = next;
  }

  /** Stages the buffered bytes as the next block (in the background, bounded by `concurrency`). */
  async #seal(): Promise<void> {
    if (this.#filled === 0) return;
    const buffer = this.#buffer!;
    const data = buffer.subarray(0, this.#filled);
    this.#buffer = undefined;
    this.#filled = 0;
    this.#sealed = true;
    const { generation } = await this.#identity();
    const seq = this.#state.blocks.length;
    const id = this.#blockId(generation, 'd', seq);
    this.#state.blocks.push(id);
    const staged = this.#setup.client
      .stageBlock(id, data, data.byteLength)
      .then(
        () => {},
        (error: unknown) => {
          this.#failure ??= { error };
        },
      )
      .finally(() => {
        this.#inFlight.delete(staged);
        // The request is over: the buffer can take the next block.
        if (buffer.byteLength === this.#setup.blockSize && !this.#ended) this.#spare.push(buffer);
      });
    this.#inFlight.add(staged);
    while (this.#inFlight.size >= this.#setup.concurrency) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
  }

  /** Stages everything buffered and waits until every block is on the service. */
  async #flush(): Promise<void> {
    await this.#seal();
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
  }

  #blockId(generation: number, kind: BlockKind, seq: number): string {
    const { writeId, base, session } = this.#state;
    return encodeBlockId({ generation, writeId, base, kind, session, start: this.#start, seq });
  }

  async #stageMarker(kind: 'm' | 'x'): Promise<void> {
    const { generation } = await this.#identity();
    const id = this.#blockId(generation, kind, MARKER_SEQ);
    await this.#setup.client.stageBlock(id, ONE_BYTE, ONE_BYTE.byteLength);
  }

  async close(): Promise<void> {
    try {
      await this.#flush();
      // A new write with no bytes still has to exist as a pending write: a marker block says so.
      if (this.#state.base === 'n' && this.#state.blocks.length === 0 && !this.#state.hasMarker) {
        await this.#stageMarker('m');
        this.#state.hasMarker = true;
      }
    } finally {
      this.#release();
    }
  }

  /** Drops the buffers (the writer is done with them). */
  #release(): void {
    this.#ended = true;
    this.#buffer = undefined;
    this.#filled = 0;
    this.#spare.length = 0;
  }

  async commit(): Promise<void> {
    await this.#flush();
    const ids = [...this.#state.committed, ...this.#state.blocks];
    if (ids.length > MAX_COMMITTED_BLOCKS) {
      throw new StorageDriverError(
        'DRIVER_ERROR',
        `${this.#setup.path}: ${ids.length} blocks, more than the ${MAX_COMMITTED_BLOCKS} Azure commits into one blob`,
        { path: this.#setup.path },
      );
    }
    await this.#setup.client.commitBlockList(ids, {
      blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
    });
    this.#release();
  }

  async cancel(): Promise<void> {
    this.#release();
    await Promise.allSettled(this.#inFlight);
    const identity = await this.#identity();
    // Uncommitted blocks cannot be deleted (Azure drops them after 7 days or on the blob's next
    // commit). A cancellation block makes the write, and any older pending write this new write
    // replaced, invisible to a resume.
    const onService = this.#state.blocks.length > 0 || this.#state.hasMarker === true || this.#state.resumed;
    if (onService || identity.othersPending) await this.#stageMarker('x');
  }
}
