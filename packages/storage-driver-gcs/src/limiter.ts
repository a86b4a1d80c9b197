/**
 * At most `limit` tasks at a time (`maxconcurrency`); the rest wait in order. Tasks must not
 * wait for other tasks of the same limiter, or they can deadlock it.
 */
export class Limiter {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Runs `task` once a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next task.
      if (next === undefined) this.#running--;
      else next();
    }
  }

  /** Runs `task` for every item, as many at a time as the limiter allows, and waits for all. */
  async each<T>(items: readonly T[], task: (item: T) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(items.map((item) => this.run(() => task(item))));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }
}
