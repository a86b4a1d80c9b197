interface Waiter {
  readonly wake: () => void;
  next: Waiter | undefined;
}

/**
 * Bounds how many filesystem calls are outstanding at once (`maxthreads`). Callers past the
 * bound wait in FIFO order. Only leaf calls go through a limiter — never a call that itself
 * waits for another slot — so it cannot deadlock.
 */
export class Limiter {
  readonly max: number;
  #active = 0;
  #waiting = 0;
  #head: Waiter | undefined;
  #tail: Waiter | undefined;

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1)
      throw new RangeError(`limit must be a positive integer, got ${max}`);
    this.max = max;
  }

  /** Calls currently running. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Runs `fn` once a slot is free and releases the slot when its promise settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active < this.max) {
      this.#active++;
    } else {
      await new Promise<void>((wake) => {
        const waiter: Waiter = { wake, next: undefined };
        if (this.#tail) this.#tail.next = waiter;
        else this.#head = waiter;
        this.#tail = waiter;
        this.#waiting++;
      });
    }
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    const next = this.#head;
    if (next === undefined) {
      this.#active--;
      return;
    }
    // Hand the slot straight to the next waiter: `#active` stays the same.
    this.#head = next.next;
    if (this.#head === undefined) this.#tail = undefined;
    this.#waiting--;
    next.wake();
  }
}
