/**
 * Makes failed logins cost the caller, not the server. Failures are counted per (user, client
 * address):
 *
 * - the first `freeFailures` are answered at once (typos happen);
 * - each further failure is answered only after a delay that doubles from `baseDelayMs` up to
 *   `maxDelayMs` (the server holds a timer, not a CPU);
 * - from `lockoutAfter` failures on, the pair is locked out for `lockoutMs` (doubling with each
 *   further failure, up to `maxLockoutMs`): requests are answered 429 with `Retry-After`
 *   without running bcrypt at all, whether the password is right or not;
 * - `resetAfterMs` without a failure, or a success, forgets the pair.
 *
 * Independently, at most `maxConcurrentPerClient` checks of one pair, and at most
 * `maxConcurrentPerAddress` checks from one address (whatever the user names), run at the same
 * time; the rest are answered 429 at once, so one client cannot fill the bcrypt queue for
 * everyone else. Locking a pair never locks the user out from other addresses.
 */

/** Options of {@link FailureThrottle}; see the module comment. */
export interface ThrottleOptions {
  /** @default 3 */
  readonly freeFailures?: number;
  /** @default 250 */
  readonly baseDelayMs?: number;
  /** @default 4000 */
  readonly maxDelayMs?: number;
  /** @default 10 */
  readonly lockoutAfter?: number;
  /** @default 60_000 */
  readonly lockoutMs?: number;
  /** @default 900_000 (15 min) */
  readonly maxLockoutMs?: number;
  /** @default 900_000 (15 min) */
  readonly resetAfterMs?: number;
  /** @default 2 */
  readonly maxConcurrentPerClient?: number;
  /** @default 8 */
  readonly maxConcurrentPerAddress?: number;
  /** Pairs remembered (least recently failed are forgotten first). @default 10_000 */
  readonly maxEntries?: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

interface State {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
  running: number;
}

/** The throttle's answer before a check. */
export type ThrottleAdmission =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly retryAfterMs: number };

/** See the module comment. */
export class FailureThrottle {
  readonly #options: Required<Omit<ThrottleOptions, 'now'>>;
  readonly #now: () => number;
  readonly #states = new Map<string, State>();
  readonly #byAddress = new Map<string, number>();

  constructor(options: ThrottleOptions = {}) {
    this.#options = {
      freeFailures: options.freeFailures ?? 3,
      baseDelayMs: options.baseDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 4000,
      lockoutAfter: options.lockoutAfter ?? 10,
      lockoutMs: options.lockoutMs ?? 60_000,
      maxLockoutMs: options.maxLockoutMs ?? 900_000,
      resetAfterMs: options.resetAfterMs ?? 900_000,
      maxConcurrentPerClient: options.maxConcurrentPerClient ?? 2,
      maxConcurrentPerAddress: options.maxConcurrentPerAddress ?? 8,
      maxEntries: options.maxEntries ?? 10_000,
    };
    this.#now = options.now ?? Date.now;
  }

  /** Pairs remembered. */
  get size(): number {
    return this.#states.size;
  }

  /** Checks running from `address`. */
  runningFrom(address: string | undefined): number {
    return this.#byAddress.get(address ?? '') ?? 0;
  }

  #key(user: string, address: string | undefined): string {
    return `${user}\u0000${address ?? ''}`;
  }

  #done(address: string | undefined): void {
    const key = address ?? '';
    const running = (this.#byAddress.get(key) ?? 1) - 1;
    if (running <= 0) this.#byAddress.delete(key);
    else this.#byAddress.set(key, running);
  }

  #state(key: string): State | undefined {
    const state = this.#states.get(key);
    if (state === undefined) return undefined;
    if (
      state.running === 0 &&
      state.failures > 0 &&
      this.#now() - state.lastFailureAt >= this.#options.resetAfterMs &&
      this.#now() >= state.blockedUntil
    ) {
      this.#states.delete(key);
      return undefined;
    }
    return state;
  }

  /**
   * Whether a check of this pair may run now. When admitted, the caller must call
   * {@link success} or {@link failure} (or {@link release}) once the check is done.
   */
  admit(user: string, address: string | undefined): ThrottleAdmission {
    const key = this.#key(user, address);
    const now = this.#now();
    let state = this.#state(key);
    if (state !== undefined && state.blockedUntil > now) {
      return { admitted: false, retryAfterMs: state.blockedUntil - now };
    }
    if (state !== undefined && state.running >= this.#options.maxConcurrentPerClient) {
      return { admitted: false, retryAfterMs: 1000 };
    }
    if (this.runningFrom(address) >= this.#options.maxConcurrentPerAddress) {
      return { admitted: false, retryAfterMs: 1000 };
    }
    this.#byAddress.set(address ?? '', this.runningFrom(address) + 1);
    if (state === undefined) {
      state = { failures: 0, lastFailureAt: 0, blockedUntil: 0, running: 0 };
      this.#remember(key, state);
    }
    state.running++;
    return { admitted: true };
  }

  /** An admitted check ended without a verdict (e.g. the bcrypt queue was full). */
  release(user: string, address: string | undefined): void {
    this.#done(address);
    const key = this.#key(user, address);
    const state = this.#states.get(key);
    if (state === undefined) return;
    state.running = Math.max(0, state.running - 1);
    if (state.running === 0 && state.failures === 0) this.#states.delete(key);
  }

  /** An admitted check succeeded: the pair is forgotten. */
  success(user: string, address: string | undefined): void {
    this.#done(address);
    const state = this.#states.get(this.#key(user, address));
    if (state !== undefined) state.running = Math.max(0, state.running - 1);
    this.forget(user, address);
  }

  /**
   * The pair proved its password without an admitted check (a cached success): its failures
   * and any lockout are forgotten, as after {@link success}. Checks of the pair still running
   * keep their slots.
   */
  forget(user: string, address: string | undefined): void {
    const key = this.#key(user, address);
    const state = this.#states.get(key);
    if (state === undefined) return;
    state.failures = 0;
    state.blockedUntil = 0;
    if (state.running === 0) this.#states.delete(key);
  }

  /**
   * An admitted check failed.
   * @returns how long to wait before answering (0 for the first `freeFailures`).
   */
  failure(user: string, address: string | undefined): number {
    this.#done(address);
    const key = this.#key(user, address);
    const now = this.#now();
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { failures: 0, lastFailureAt: 0, blockedUntil: 0, running: 1 };
    }
    state.running = Math.max(0, state.running - 1);
    state.failures++;
    state.lastFailureAt = now;
    this.#remember(key, state);
    const o = this.#options;
    if (state.failures >= o.lockoutAfter) {
      const lockout = Math.min(
        o.maxLockoutMs,
        o.lockoutMs * 2 ** Math.min(30, state.failures - o.lockoutAfter),
      );
      state.blockedUntil = now + lockout;
    }
    if (state.failures <= o.freeFailures) return 0;
    return Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(30, state.failures - o.freeFailures - 1));
  }

  #remember(key: string, state: State): void {
    // Most recently failed last, so the oldest pairs go first when the map is full.
    this.#states.delete(key);
    this.#states.set(key, state);
    while (this.#states.size > this.#options.maxEntries) {
      const oldest = this.#states.keys().next().value as string;
      this.#states.delete(oldest);
    }
  }
}
