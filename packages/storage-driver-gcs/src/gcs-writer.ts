import { type FileWriter, pathNotFound, StorageDriverError } from '@berth/storage-driver';
import type { Bucket } from '@google-cloud/storage';
import { planCompose } from './compose-plan.ts';
import { isNotFound } from './errors.ts';
import { MAX_SEQ, newWriteId, type ObjectKeys, parsePendingName } from './keys.ts';
import type { Limiter } from './limiter.ts';
import { listFlat } from './listing.ts';
import { readObject } from './read-stream.ts';

/** The first buffer of a write; it doubles up to the chunk size as bytes arrive. */
const INITIAL_BUFFER_SIZE = 64 * 1024;
const CONTENT_TYPE = 'application/octet-stream';

/** What a writer needs from the driver. */
export interface WriterSetup {
  readonly bucket: Bucket;
  readonly keys: ObjectKeys;
  readonly limiter: Limiter;
  readonly path: string;
  readonly chunkSize: number;
  readonly uploadConcurrency: number;
  readonly pageSize: number;
}

/** One part of a write: an object below the write's pending prefix. */
interface Part {
  readonly seq: number;
  readonly name: string;
  readonly size: number;
}

/** Uploads `data` as the whole content of object `name`, in one request. */
export async function uploadObject(
  setup: Pick<WriterSetup, 'bucket' | 'limiter'>,
  name: string,
  data: Uint8Array,
): Promise<void> {
  const body = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  await setup.limiter.run(() =>
    setup.bucket.file(name).save(body, { resumable: false, metadata: { contentType: CONTENT_TYPE } }),
  );
}

/** Deletes objects, ignoring those already gone. Parts 0 go first: a write without part 0 is no pending write. */
export async function deleteObjects(
  setup: Pick<WriterSetup, 'bucket' | 'limiter'>,
  names: readonly string[],
): Promise<void> {
  const remove = async (name: string) => {
    try {
      await setup.bucket.file(name).delete();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  };
  const anchors = names.filter((name) => name.endsWith('/00000000'));
  await setup.limiter.each(anchors, remove);
  await setup.limiter.each(
    names.filter((name) => !name.endsWith('/00000000')),
    remove,
  );
}

/** The objects of every write (pending or abandoned) of `setup.path`, by write id. */
async function pendingObjects(
  setup: WriterSetup,
  signal?: AbortSignal,
): Promise<Map<string, { parts: Map<number, { name: string; size: number }>; names: string[] }>> {
  const prefix = setup.keys.pendingOf(setup.path);
  const writes = new Map<string, { parts: Map<number, { name: string; size: number }>; names: string[] }>();
  for await (const page of listFlat(setup.bucket, setup.limiter, prefix, setup.pageSize, signal)) {
    for (const object of page) {
      const parsed = parsePendingName(object.name.slice(prefix.length));
      if (parsed === undefined) continue;
      let write = writes.get(parsed.writeId);
      if (write === undefined) {
        write = { parts: new Map(), names: [] };
        writes.set(parsed.writeId, write);
      }
      write.names.push(object.name);
      if (parsed.kind === 'part') write.parts.set(parsed.seq, { name: object.name, size: object.size });
    }
  }
  return writes;
}

/** Deletes every write of the path older than `writeId` (their ids sort below it). */
async function discardOlder(setup: WriterSetup, writeId: string): Promise<void> {
  const writes = await pendingObjects(setup);
  const stale = [...writes].filter(([id]) => id < writeId).flatMap(([, write]) => write.names);
  if (stale.length > 0) await deleteObjects(setup, stale);
}

/**
 * Starts a write that replaces whatever is at the path on commit. Older pending writes of the
 * path are deleted in the background (awaited before this write stores anything).
 */
export function openNewWrite(setup: WriterSetup): GcsWriter {
  const writeId = newWriteId();
  const ready = discardOlder(setup, writeId);
  // Awaited before the first part; until then a failure must not be an unhandled rejection.
  ready.catch(() => {});
  return new GcsWriter(setup, writeId, [], ready);
}

/**
 * Continues the newest pending write of the path (the one with the greatest id that has a part
 * 0), else the committed file (copied server-side into part 0 of a new write), else rejects with
 * `PATH_NOT_FOUND`. Parts after a gap (uploads that were in flight when a process died) are
 * deleted first: the write continues after the unbroken run of parts from 0.
 */
export async function openAppendWrite(setup: WriterSetup, signal?: AbortSignal): Promise<GcsWriter> {
  const writes = await pendingObjects(setup, signal);
  const resumable = [...writes]
    .filter(([, write]) => write.parts.has(0))
    .sort(([a], [b]) => (a < b ? 1 : -1));
  const newest = resumable[0];
  if (newest !== undefined) {
    const [writeId, write] = newest;
    const parts: Part[] = [];
    for (let seq = 0; write.parts.has(seq); seq++) {
      const part = write.parts.get(seq)!;
      parts.push({ seq, name: part.name, size: part.size });
    }
    const kept = new Set(parts.map((part) => part.name));
    const leftovers = write.names.filter((name) => !kept.has(name));
    if (leftovers.length > 0) await deleteObjects(setup, leftovers);
    const ready = discardOlder(setup, writeId);
    ready.catch(() => {});
    return new GcsWriter(setup, writeId, parts, ready);
  }
  const target = setup.bucket.file(setup.keys.object(setup.path));
  let size: number;
  try {
    const [metadata] = await setup.limiter.run(() => target.getMetadata());
    size = Number(metadata.size ?? 0);
  } catch (error) {
    if (isNotFound(error)) throw pathNotFound(setup.path, error);
    throw error;
  }
  const writeId = newWriteId();
  const ready = discardOlder(setup, writeId);
  ready.catch(() => {});
  if (size === 0) return new GcsWriter(setup, writeId, [], ready);
  // The committed content becomes part 0 (a server-side copy), so the pending write holds
  // everything it needs, for any process, whatever happens to the file until the commit.
  const part: Part = { seq: 0, name: setup.keys.part(setup.path, writeId, 0), size };
  try {
    await setup.limiter.run(() => target.copy(setup.bucket.file(part.name)));
  } catch (error) {
    if (isNotFound(error)) throw pathNotFound(setup.path, error);
    throw error;
  }
  return new GcsWriter(setup, writeId, [part], ready);
}

/**
 * A write of one object: bytes are buffered into chunks of `chunkSize`, each uploaded as a part
 * (up to `uploadConcurrency` at a time), and `commit()` puts them together at the path. See the
 * design note in `gcs-driver.ts`.
 */
export class GcsWriter implements FileWriter {
  readonly #setup: WriterSetup;
  readonly #writeId: string;
  /** Every part of the write in order, including those still uploading. */
  readonly #parts: Part[];
  /** Older writes of the path are being discarded; awaited before anything is stored. */
  readonly #ready: Promise<void>;
  #size: number;
  #buffer: Buffer | undefined;
  #filled = 0;
  /** Whether a chunk was sealed by this writer (so later buffers are whole chunks at once). */
  #sealed = false;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(setup: WriterSetup, writeId: string, parts: Part[], ready: Promise<void>) {
    this.#setup = setup;
    this.#writeId = writeId;
    this.#parts = parts;
    this.#ready = ready;
    this.#size = parts.reduce((sum, part) => sum + part.size, 0);
  }

  get size(): number {
    return this.#size;
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    const { chunkSize } = this.#setup;
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.#buffer === undefined || this.#filled === this.#buffer.byteLength) {
        if (this.#filled === chunkSize) await this.#seal();
        this.#grow(chunk.byteLength - offset);
      }
      const buffer = this.#buffer!;
      const count = Math.min(buffer.byteLength - this.#filled, chunk.byteLength - offset);
      buffer.set(chunk.subarray(offset, offset + count), this.#filled);
      this.#filled += count;
      offset += count;
      this.#size += count;
    }
    if (this.#filled === chunkSize) await this.#seal();
  }

  /** Makes room in the buffer: small at first and doubling, whole chunks once the write is big. */
  #grow(wanted: number): void {
    const { chunkSize } = this.#setup;
    const current = this.#buffer?.byteLength ?? 0;
    const size = this.#sealed
      ? chunkSize
      : Math.min(chunkSize, Math.max(INITIAL_BUFFER_SIZE, current * 2, this.#filled + wanted));
    const next = Buffer.allocUnsafe(size);
    if (this.#buffer !== undefined && this.#filled > 0) this.#buffer.copy(next, 0, 0, this.#filled);
    this.#buffer = next;
  }

  /** The buffered bytes, taken out of the buffer. */
  #take(): Buffer {
    const data = this.#buffer === undefined ? Buffer.alloc(0) : this.#buffer.subarray(0, this.#filled);
    this.#buffer = undefined;
    this.#filled = 0;
    return data;
  }

  #nextPart(size: number): Part {
    const seq = this.#parts.length;
    if (seq > MAX_SEQ) {
      throw new StorageDriverError('DRIVER_ERROR', `${this.#setup.path}: more than ${MAX_SEQ} parts`, {
        path: this.#setup.path,
      });
    }
    const part = { seq, name: this.#setup.keys.part(this.#setup.path, this.#writeId, seq), size };
    this.#parts.push(part);
    return part;
  }

  /** Uploads the buffered bytes as the next part, in the background (bounded by `uploadConcurrency`). */
  async #seal(): Promise<void> {
    if (this.#filled === 0) return;
    this.#sealed = true;
    await this.#ready;
    const data = this.#take();
    const part = this.#nextPart(data.byteLength);
    const upload = uploadObject(this.#setup, part.name, data)
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => this.#inFlight.delete(upload));
    this.#inFlight.add(upload);
    while (this.#inFlight.size >= this.#setup.uploadConcurrency) await Promise.race(this.#inFlight);
    this.#throwIfFailed();
  }

  async #settle(): Promise<void> {
    await Promise.all(this.#inFlight);
    this.#throwIfFailed();
  }

  async close(): Promise<void> {
    await this.#settle();
    await this.#ready;
    await this.#storeRest(this.#take());
  }

  async commit(): Promise<void> {
    await this.#settle();
    await this.#ready;
    const { bucket, keys, limiter, path, chunkSize } = this.#setup;
    const target = keys.object(path);
    const tail = this.#take();
    let tailStored = tail.byteLength === 0;
    const stored = this.#parts.filter((part) => part.size > 0);
    const intermediates: string[] = [];
    try {
      if (stored.length === 0) {
        await uploadObject(this.#setup, target, tail);
      } else if (stored.length === 1 && tail.byteLength === 0) {
        await limiter.run(() => bucket.file(stored[0]!.name).copy(bucket.file(target)));
      } else if (this.#size <= chunkSize) {
        // A small write is read back and stored as one ordinary object: one upload of at most a
        // chunk instead of a composite object (which has no MD5, and costs a compose request).
        const bodies = await Promise.all(
          stored.map((part) => limiter.run(() => readObject(bucket.file(part.name)))),
        );
        await uploadObject(this.#setup, target, Buffer.concat([...bodies, tail]));
      } else {
        if (!tailStored) {
          stored.push(await this.#uploadPart(tail));
          tailStored = true;
        }
        await this.#compose(
          stored.map((part) => part.name),
          target,
          intermediates,
        );
      }
    } catch (error) {
      // A failed commit leaves the write pending as close() would: with every byte stored.
      await this.#storeRest(tailStored ? undefined : tail).catch(() => {});
      await deleteObjects(this.#setup, intermediates).catch(() => {});
      throw error;
    }
    await deleteObjects(this.#setup, [...this.#parts.map((part) => part.name), ...intermediates]);
  }

  /** What close() stores after the full chunks: the last bytes as a part, or an empty part 0. */
  async #storeRest(tail: Buffer | undefined): Promise<void> {
    if (tail !== undefined && tail.byteLength > 0) {
      await this.#uploadPart(tail);
    } else if (this.#parts.length === 0) {
      // A write with no bytes still has to exist as a pending write: an empty part 0 says so.
      await this.#uploadPart(Buffer.alloc(0));
    }
  }

  /** Uploads `data` as the next part and waits for it; a failed upload leaves no gap behind. */
  async #uploadPart(data: Buffer): Promise<Part> {
    const part = this.#nextPart(data.byteLength);
    try {
      await uploadObject(this.#setup, part.name, data);
    } catch (error) {
      // Nothing is uploading in the background now, so the part is the last one.
      this.#parts.pop();
      throw error;
    }
    return part;
  }

  /**
   * Concatenates `sources` into `target` with compose requests (up to 32 sources each, through
   * intermediate objects below the write's prefix for more). The only code path that needs
   * compose, which no local server implements.
   */
  async #compose(sources: string[], target: string, intermediates: string[]): Promise<void> {
    const { bucket, keys, limiter, path } = this.#setup;
    const prefix = keys.write(path, this.#writeId);
    const rounds = planCompose(sources, target, (round, index) => `${prefix}c${round}-${index}`);
    for (const steps of rounds) {
      await Promise.all(
        steps.map((step) => {
          const destination = bucket.file(step.destination);
          destination.metadata.contentType = CONTENT_TYPE;
          if (step.destination !== target) intermediates.push(step.destination);
          return limiter.run(() => bucket.combine([...step.sources], destination));
        }),
      );
    }
  }

  async cancel(): Promise<void> {
    this.#buffer = undefined;
    this.#filled = 0;
    await Promise.allSettled(this.#inFlight);
    await this.#ready.catch(() => {});
    await deleteObjects(
      this.#setup,
      this.#parts.map((part) => part.name),
    );
  }
}
