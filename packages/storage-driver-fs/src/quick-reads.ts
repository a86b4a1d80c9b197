import { closeSync, openSync, readSync, type Stats, statSync } from 'node:fs';

/**
 * Synchronous reads of small files and stats, on the caller's thread, while they stay fast.
 *
 * Each asynchronous `fs` call is a round trip through libuv's thread pool: on a small machine
 * the hand-offs, wake-ups and lock traffic of the three calls behind one 70-byte link read
 * (open, read, close) cost far more CPU than the calls themselves, which the page cache answers
 * in microseconds. Registry reads are dominated by such files (links, manifests, blob sizes).
 *
 * Blocking the event loop is only acceptable while the calls are that fast, so every quick call
 * is timed. When {@link SLOW_CALLS} of the last {@link WINDOW} calls took longer than
 * {@link SLOW_CALL_MS} (a cold cache on a spinning disk, a network filesystem, a stalled
 * device), quick reads are off for {@link BACKOFF_MS} and the caller uses the asynchronous
 * calls. One slow call alone does not count: a thread the scheduler preempted in the middle of
 * a 10 µs call looks just as slow, and on a busy machine that happens now and then. The worst
 * case is {@link SLOW_CALLS} slow calls per back-off period blocking the loop.
 */
export class QuickReads {
  #offUntil = 0;
  /** Whether each of the last {@link WINDOW} calls was slow (a ring), and how many were. */
  readonly #recent: boolean[] = new Array<boolean>(WINDOW).fill(false);
  #next = 0;
  #slow = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Whether quick (synchronous) calls may be used now. */
  get enabled(): boolean {
    return this.#now() >= this.#offUntil;
  }

  /**
   * Reads the whole file if it is at most `limit` bytes, synchronously. `undefined` when quick
   * reads are off or the file is larger (the caller then reads it asynchronously); throws the
   * `fs` error (ENOENT, EISDIR, …) like the asynchronous read would.
   */
  readSmall(abs: string, limit: number): Uint8Array | undefined {
    if (!this.enabled) return undefined;
    const started = this.#now();
    try {
      const fd = openSync(abs, 'r');
      try {
        const buffer = Buffer.allocUnsafe(limit);
        const bytesRead = readSync(fd, buffer, 0, limit, 0);
        return bytesRead < limit ? Uint8Array.prototype.slice.call(buffer, 0, bytesRead) : undefined;
      } finally {
        closeSync(fd);
      }
    } finally {
      this.#timed(started);
    }
  }

  /** `stat`, synchronously; `undefined` when quick reads are off. */
  stat(abs: string): Stats | undefined {
    if (!this.enabled) return undefined;
    const started = this.#now();
    try {
      return statSync(abs);
    } finally {
      this.#timed(started);
    }
  }

  #timed(started: number): void {
    const now = this.#now();
    const slow = now - started > SLOW_CALL_MS;
    if (this.#recent[this.#next]) this.#slow--;
    this.#recent[this.#next] = slow;
    if (slow) this.#slow++;
    this.#next = (this.#next + 1) % WINDOW;
    if (this.#slow >= SLOW_CALLS) {
      this.#offUntil = now + BACKOFF_MS;
      this.#recent.fill(false);
      this.#slow = 0;
    }
  }
}

/** A quick call slower than this counts as slow (milliseconds). */
export const SLOW_CALL_MS = 2;
/** How many recent calls are looked at. */
export const WINDOW = 16;
/** How many slow calls among the last {@link WINDOW} turn quick reads off. */
export const SLOW_CALLS = 4;
/** How long quick reads stay off then (milliseconds). */
export const BACKOFF_MS = 10_000;
