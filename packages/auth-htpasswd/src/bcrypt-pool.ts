/**
 * bcrypt off the event loop: bcryptjs is pure JavaScript (~70 ms at cost 10, ~270 ms at cost
 * 12 on a 2-core CI machine), so every comparison runs in a small pool of worker threads. The
 * queue in front of the pool is bounded: when it is full, `compare` rejects at once
 * (`BCRYPT_POOL_BUSY`) instead of letting a flood of bad passwords pile up work and latency.
 */

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HtpasswdError } from './errors.ts';

/** Options of {@link BcryptPool}. */
export interface BcryptPoolOptions {
  /**
   * Worker threads. @default half the cores (at least 1, at most 4), so bcrypt never takes
   * every core from the request handling.
   */
  readonly size?: number;
  /** Comparisons waiting for a worker before `compare` rejects with `BCRYPT_POOL_BUSY`. @default 16 per worker */
  readonly maxQueue?: number;
}

/** The default {@link BcryptPoolOptions.size} on this machine. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

// Run as CommonJS from a string, so it works the same from src/ (TypeScript), dist/ and tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', (task) => {
  let ok = false;
  let error;
  try {
    ok = bcrypt.compareSync(task.password, task.hash);
  } catch (e) {
    error = String((e && e.message) || e);
  }
  parentPort.postMessage({ id: task.id, ok, error });
});
`;

interface Task {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
  readonly resolve: (ok: boolean) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  task: Task | undefined;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
}

/**
 * A fixed-size pool of worker threads comparing passwords with bcrypt hashes. Workers start on
 * first use and do not keep the process alive while idle.
 *
 * @example
 * ```ts
 * const pool = new BcryptPool({ size: 2 });
 * await pool.compare('secret', '$2y$10$…'); // true or false
 * await pool.close();
 * ```
 */
export class BcryptPool {
  readonly size: number;
  readonly maxQueue: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  readonly #bcryptPath: string;
  #nextId = 0;
  #closed = false;

  constructor(options: BcryptPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? defaultPoolSize()));
    this.maxQueue = Math.max(0, Math.floor(options.maxQueue ?? 16 * this.size));
    this.#bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
  }

  /** Comparisons running now. */
  get running(): number {
    return this.#slots.filter((slot) => slot.task !== undefined).length;
  }

  /** Comparisons waiting for a worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Compares `password` with a bcrypt `hash` in a worker.
   * @throws {HtpasswdError} `BCRYPT_POOL_BUSY` when every worker is busy and the queue is full;
   * `BCRYPT_POOL_CLOSED` after {@link close}.
   */
  compare(password: string, hash: string): Promise<boolean> {
    if (this.#closed)
      return Promise.reject(new HtpasswdError('BCRYPT_POOL_CLOSED', 'the bcrypt pool is closed'));
    return new Promise<boolean>((resolve, reject) => {
      const task: Task = { id: this.#nextId++, password, hash, resolve, reject };
      const slot = this.#idleSlot();
      if (slot !== undefined) {
        this.#run(slot, task);
      } else if (this.#queue.length < this.maxQueue) {
        this.#queue.push(task);
      } else {
        reject(new HtpasswdError('BCRYPT_POOL_BUSY', 'too many password checks in progress'));
      }
    });
  }

  /** Stops the workers; pending comparisons reject with `BCRYPT_POOL_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new HtpasswdError('BCRYPT_POOL_CLOSED', 'the bcrypt pool is closed');
    for (const task of this.#queue.splice(0)) task.reject(error);
    const slots = this.#slots.splice(0);
    for (const slot of slots) slot.task?.reject(error);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #idleSlot(): Slot | undefined {
    const idle = this.#slots.find((slot) => slot.task === undefined);
    if (idle !== undefined) return idle;
    if (this.#slots.length < this.size) return this.#spawn();
    return undefined;
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath: this.#bcryptPath } });
    worker.unref();
    const slot: Slot = { worker, task: undefined };
    worker.on('message', (reply: Reply) => {
      const task = slot.task;
      if (task === undefined || task.id !== reply.id) return;
      slot.task = undefined;
      worker.unref();
      // A hash bcryptjs cannot read never matches (the file was validated when loaded).
      task.resolve(reply.error === undefined && reply.ok === true);
      this.#next(slot);
    });
    const fail = (error: Error): void => {
      const index = this.#slots.indexOf(slot);
      if (index < 0) return;
      this.#slots.splice(index, 1);
      slot.task?.reject(error);
      slot.task = undefined;
      // Keep the queue moving with a fresh worker.
      if (!this.#closed && this.#queue.length > 0) {
        const replacement = this.#spawn();
        this.#next(replacement);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`bcrypt worker exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }

  #next(slot: Slot): void {
    const task = this.#queue.shift();
    if (task !== undefined) this.#run(slot, task);
  }

  #run(slot: Slot, task: Task): void {
    slot.task = task;
    // Keep the process alive while a comparison is in flight.
    slot.worker.ref();
    slot.worker.postMessage({ id: task.id, password: task.password, hash: task.hash });
  }
}
