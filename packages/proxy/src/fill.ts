/**
 * One fill of the cache: a blob streamed from the upstream once, spooled to a local file that
 * every waiting client reads as it grows, hashed on the way and committed to storage only when
 * its digest matched.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type FileHandle, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createDigester, type Digest, parseDigest } from '@berth/digest';

/** Where a fill stands. */
export type FillState = 'running' | 'verified' | 'failed';

/** What a fill writes the verified blob with (the local upload, in the mirror). */
export interface FillSink {
  /** Consumes the blob's bytes; rejects when they cannot be stored. */
  write(source: AsyncIterable<Uint8Array>): Promise<void>;
  /** Makes the blob visible once every byte was written and its digest matched. */
  commit(): Promise<void>;
  /** Discards what was written (the fill failed). */
  abort(): Promise<void>;
}

/** Options of {@link startFill}. */
export interface FillOptions {
  readonly digest: Digest;
  /** The size the upstream announced (`Content-Length`), when it did. */
  readonly size: number | undefined;
  /** The upstream's body. */
  readonly body: ReadableStream<Uint8Array>;
  readonly sink: FillSink;
  /** The directory of the spool files (created when missing). */
  readonly spoolDirectory: string;
  /**
   * `proxy.cachewritetimeout`: once a fill has run this long, it is abandoned as soon as no
   * client is reading it (a client still reading keeps it going). @default 300000
   */
  readonly writeTimeoutMs?: number;
}

/** The `code` of a {@link FillError}. */
export type FillErrorCode =
  /** The upstream's bytes do not hash to the digest asked for: nothing is committed. */
  | 'FILL_DIGEST_MISMATCH'
  /** The upstream sent more or fewer bytes than its `Content-Length`. */
  | 'FILL_SIZE_MISMATCH'
  /** The upstream's body broke off, or storing it failed. */
  | 'FILL_UPSTREAM_FAILED'
  /** `cachewritetimeout` passed with no client reading. */
  | 'FILL_ABANDONED';

/** Raised through readers when a fill fails; `code` says why. */
export class FillError extends Error {
  override readonly name = 'FillError';
  readonly code: FillErrorCode;
  constructor(code: FillErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A running or finished fill. */
export interface Fill {
  readonly digest: Digest;
  readonly state: FillState;
  /** The blob's size when known: the upstream's `Content-Length`, or the bytes once verified. */
  readonly size: number | undefined;
  /** Bytes received from the upstream so far. */
  readonly received: number;
  /** Clients reading it now. */
  readonly readers: number;
  /**
   * A stream of the whole blob from the start, as far as it has arrived and then as it
   * arrives; it ends once the digest is verified and errors (no clean end) if the fill fails.
   * Destroying it (the client went away) does not affect the fill.
   */
  read(): Promise<Readable>;
  /** Settles when the fill is committed (resolves) or failed (rejects). */
  readonly done: Promise<void>;
}

const READ_CHUNK = 256 * 1024;

/**
 * Bytes of the upstream's body that may be on their way to the spool file at once: the next
 * chunk is read from the upstream while earlier ones are still being written (one thread-pool
 * round trip per chunk, in series, would cap a fill far below the network), and no further.
 */
const SPOOL_AHEAD = 8 * 1024 * 1024;

/**
 * The newest bytes of the body stay in memory (as the upstream's chunks, shared, never copied)
 * while they are this many or fewer: a reader that keeps up with the fill — the usual case,
 * and every client of a rollout's concurrent pulls — gets them from there, without a read of
 * the spool file and without a buffer of its own. Bytes not yet spooled always stay.
 */
const RECENT_BYTES = 8 * 1024 * 1024;

/**
 * Bytes of the upstream's body read ahead of the sink. An HTTP client reads its socket only
 * while its body stream is being read: reading it only between the sink's writes would hold
 * the network to one chunk per turn of the event loop.
 */
const READ_AHEAD = 8 * 1024 * 1024;

/** A reader of the upstream's body that keeps reading it into memory, up to `limit` bytes ahead. */
interface ReadAhead {
  read(): Promise<{ done: true; value: undefined } | { done: false; value: Uint8Array }>;
  cancel(reason: unknown): Promise<void>;
}

function readAhead(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number): ReadAhead {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failed: { error: unknown } | undefined;
  let pumping = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (!ended && failed === undefined && queued < limit) {
        const next = await reader.read();
        if (next.done) ended = true;
        else {
          queue.push(next.value);
          queued += next.value.byteLength;
        }
        notify();
      }
    } catch (error) {
      failed ??= { error };
    } finally {
      pumping = false;
      notify();
    }
  };
  return {
    async read() {
      for (;;) {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          queued -= chunk.byteLength;
          void pump();
          return { done: false, value: chunk };
        }
        if (failed !== undefined) throw failed.error;
        if (ended) return { done: true, value: undefined };
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        void pump();
        await woken;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/** The most a reader takes from memory at once (joined into one buffer when it spans chunks). */
const MAX_PUSH = 1024 * 1024;

/** One chunk of the body, kept in memory: its bytes and where they start. */
interface RecentChunk {
  readonly at: number;
  readonly bytes: Uint8Array;
}

/**
 * Up to `max` bytes of `recent` from `position` on, as one buffer (the chunk itself when one
 * chunk holds them: no copy), or `undefined` when `position` is older than what is kept.
 */
function recentRange(recent: readonly RecentChunk[], position: number, max: number): Uint8Array | undefined {
  const first = chunkAt(recent, position);
  if (first === undefined) return undefined;
  const head = first.bytes.subarray(position - first.at);
  if (head.byteLength >= max / 4) return head.byteLength > max ? head.subarray(0, max) : head;
  const parts = [head];
  let length = head.byteLength;
  for (let next = chunkAt(recent, position + length); next !== undefined && length < max; ) {
    const part = next.bytes.subarray(0, Math.min(next.bytes.byteLength, max - length));
    parts.push(part);
    length += part.byteLength;
    next = chunkAt(recent, position + length);
  }
  return parts.length === 1 ? head : Buffer.concat(parts, length);
}

/** The chunk of `recent` (sorted by `at`, contiguous) that holds byte `position`, if any. */
function chunkAt(recent: readonly RecentChunk[], position: number): RecentChunk | undefined {
  let low = 0;
  let high = recent.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const chunk = recent[mid] as RecentChunk;
    if (position < chunk.at) high = mid - 1;
    else if (position >= chunk.at + chunk.bytes.byteLength) low = mid + 1;
    else return chunk;
  }
  return undefined;
}

/**
 * Starts a fill. The upstream body is read at the pace of the sink and the spool file, never
 * of the clients: a slow or departed client holds nothing back.
 */
export async function startFill(options: FillOptions): Promise<Fill> {
  const { digest, sink } = options;
  const algorithm = parseDigest(digest).algorithm;
  await mkdir(options.spoolDirectory, { recursive: true });
  const path = join(options.spoolDirectory, `fill-${randomBytes(12).toString('hex')}`);
  const spool = await open(path, 'w+');
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let state: FillState = 'running';
  let failure: FillError | undefined;
  /** Bytes read from the upstream (hashed, handed to the sink, readable from memory or the spool). */
  let accepted = 0;
  /** Bytes written to the spool file, in order from the start. */
  let spooledTo = 0;
  /** The newest chunks: every one not yet spooled, and more up to {@link RECENT_BYTES}. */
  const recent: RecentChunk[] = [];
  let recentBytes = 0;
  let size = options.size;
  let readers = 0;
  let timedOut = false;
  const writeTimeoutMs = options.writeTimeoutMs ?? 300_000;
  const upstream = readAhead(options.body.getReader(), READ_AHEAD);

  const fail = (error: FillError): void => {
    failure ??= error;
    if (state !== 'running') return;
    state = 'failed';
    events.emit('change');
    void upstream.cancel(error).catch(() => {});
  };
  const timer = setTimeout(() => {
    timedOut = true;
    if (readers === 0)
      fail(new FillError('FILL_ABANDONED', `no client read ${digest} within the write timeout`));
  }, writeTimeoutMs);
  timer.unref();

  async function* source(): AsyncGenerator<Uint8Array> {
    const hasher = createDigester(algorithm);
    // `spooledTo` follows `accepted` as the spool writes complete, in order: each write
    // advances it only after the one before.
    let spooled: Promise<void> = Promise.resolve();
    let spoolFailure: { error: unknown } | undefined;
    const spoolFailed = (): FillError =>
      new FillError('FILL_UPSTREAM_FAILED', `spooling ${digest} failed`, { cause: spoolFailure?.error });
    for (;;) {
      let next: Awaited<ReturnType<typeof upstream.read>>;
      try {
        next = await upstream.read();
      } catch (cause) {
        if (failure !== undefined) throw failure;
        throw new FillError('FILL_UPSTREAM_FAILED', `the upstream's body of ${digest} broke off`, { cause });
      }
      if (failure !== undefined) throw failure;
      if (next.done) break;
      const chunk = next.value;
      const at = accepted;
      accepted += chunk.byteLength;
      if (size !== undefined && accepted > size) {
        throw new FillError(
          'FILL_SIZE_MISMATCH',
          `the upstream sent more than the ${size} bytes of ${digest}`,
        );
      }
      hasher.update(chunk);
      recent.push({ at, bytes: chunk });
      recentBytes += chunk.byteLength;
      events.emit('change');
      const written = spool.write(chunk, 0, chunk.byteLength, at);
      spooled = Promise.all([spooled, written]).then(
        () => {
          if (spoolFailure !== undefined) return;
          spooledTo = at + chunk.byteLength;
          // Drop the oldest chunks that are spooled, down to the memory budget.
          let oldest = recent[0];
          while (
            oldest !== undefined &&
            recentBytes - oldest.bytes.byteLength >= RECENT_BYTES &&
            oldest.at + oldest.bytes.byteLength <= spooledTo
          ) {
            recent.shift();
            recentBytes -= oldest.bytes.byteLength;
            oldest = recent[0];
          }
        },
        (error: unknown) => {
          spoolFailure ??= { error };
        },
      );
      yield chunk;
      if (spoolFailure !== undefined) throw spoolFailed();
      if (accepted - spooledTo > SPOOL_AHEAD) await spooled;
    }
    await spooled;
    if (spoolFailure !== undefined) throw spoolFailed();
    if (size !== undefined && accepted !== size) {
      throw new FillError(
        'FILL_SIZE_MISMATCH',
        `the upstream sent ${accepted} of the ${size} bytes of ${digest}`,
      );
    }
    const actual = hasher.digest();
    if (actual !== digest) {
      throw new FillError(
        'FILL_DIGEST_MISMATCH',
        `the upstream sent content with digest ${actual} for ${digest}`,
      );
    }
    size = accepted;
    state = 'verified';
    events.emit('change');
  }

  const done = (async () => {
    try {
      await sink.write(source());
      if ((state as FillState) !== 'verified')
        throw failure ?? new FillError('FILL_UPSTREAM_FAILED', `the fill of ${digest} stopped`);
      await sink.commit();
    } catch (error) {
      fail(
        error instanceof FillError
          ? error
          : new FillError('FILL_UPSTREAM_FAILED', `storing ${digest} failed`, { cause: error }),
      );
      await sink.abort().catch(() => {});
      throw failure;
    } finally {
      clearTimeout(timer);
      // Readers have their own handles: the file lives on until the last closes it.
      await spool.close().catch(() => {});
      await unlink(path).catch(() => {});
    }
  })();
  // Observed by whoever awaits `done`; never an unhandled rejection.
  done.catch(() => {});

  const waitForChange = (): Promise<void> => new Promise((resolve) => events.once('change', resolve));

  return {
    digest,
    get state() {
      return state;
    },
    get size() {
      return size;
    },
    get received() {
      return accepted;
    },
    get readers() {
      return readers;
    },
    done,
    async read() {
      if (state === 'failed') throw failure;
      const handle: FileHandle = await open(path, 'r');
      readers += 1;
      let position = 0;
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        readers -= 1;
        void handle.close().catch(() => {});
        if (readers === 0 && timedOut)
          fail(new FillError('FILL_ABANDONED', `every client of ${digest} left`));
      };
      const stream = new Readable({
        highWaterMark: READ_CHUNK,
        read() {
          void (async () => {
            try {
              for (;;) {
                if (state === 'failed') throw failure;
                // A write to the client's socket costs about as much for 64 KiB as for 1 MiB:
                // while the fill runs, wait for a batch instead of sending each chunk alone.
                if (state === 'running' && accepted - position < READ_CHUNK) {
                  await waitForChange();
                  continue;
                }
                if (position >= accepted) {
                  this.push(null);
                  return;
                }
                const kept = recentRange(recent, position, MAX_PUSH);
                if (kept !== undefined) {
                  position += kept.byteLength;
                  this.push(kept);
                  return;
                }
                // Older than what is kept in memory, so spooled.
                const length = Math.min(READ_CHUNK, spooledTo - position);
                const buffer = Buffer.allocUnsafe(length);
                const { bytesRead } = await handle.read(buffer, 0, length, position);
                position += bytesRead;
                this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
                return;
              }
            } catch (error) {
              this.destroy(error as Error);
            }
          })();
        },
        destroy(error, callback) {
          release();
          callback(error);
        },
      });
      stream.once('end', release);
      return stream;
    },
  };
}
