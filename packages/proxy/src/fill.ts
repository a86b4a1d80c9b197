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
  /** Bytes received and spooled so far. */
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
  let received = 0;
  let size = options.size;
  let readers = 0;
  let timedOut = false;
  const writeTimeoutMs = options.writeTimeoutMs ?? 300_000;
  const upstream = options.body.getReader();

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
      hasher.update(chunk);
      // The spool write and the sink's write of the same chunk overlap.
      const spooled = spool.write(chunk, 0, chunk.byteLength, received);
      yield chunk;
      await spooled;
      received += chunk.byteLength;
      if (size !== undefined && received > size) {
        throw new FillError(
          'FILL_SIZE_MISMATCH',
          `the upstream sent more than the ${size} bytes of ${digest}`,
        );
      }
      events.emit('change');
    }
    if (size !== undefined && received !== size) {
      throw new FillError(
        'FILL_SIZE_MISMATCH',
        `the upstream sent ${received} of the ${size} bytes of ${digest}`,
      );
    }
    const actual = hasher.digest();
    if (actual !== digest) {
      throw new FillError(
        'FILL_DIGEST_MISMATCH',
        `the upstream sent content with digest ${actual} for ${digest}`,
      );
    }
    size = received;
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
      return received;
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
                if (position < received) {
                  const length = Math.min(READ_CHUNK, received - position);
                  const buffer = Buffer.allocUnsafe(length);
                  const { bytesRead } = await handle.read(buffer, 0, length, position);
                  position += bytesRead;
                  this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
                  return;
                }
                if (state === 'verified') {
                  this.push(null);
                  return;
                }
                if (state === 'failed') throw failure;
                await waitForChange();
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
