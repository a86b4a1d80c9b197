/**
 * Remembers successful verifications for a short time, so a CI job's hundreds of requests with
 * the same credentials pay bcrypt once. Entries are keyed by an HMAC-SHA256 of the user, the
 * user's current hash and the password, with a key drawn at random per process: the cache
 * holds no password and nothing that can be checked offline, and changing a password or
 * removing a user invalidates the entry at once (the hash is part of the key).
 */
import { createHmac, randomBytes } from 'node:crypto';

/** Options of {@link VerifiedCache}. */
export interface VerifiedCacheOptions {
  /** How long a success is remembered; 0 disables the cache. @default 300_000 (5 min) */
  readonly ttlMs?: number;
  /** Entries kept (least recently used go first). @default 1000 */
  readonly maxEntries?: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/** See the module comment. */
export class VerifiedCache {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly #key: Buffer = randomBytes(32);
  readonly #expiry = new Map<string, number>();
  readonly #now: () => number;

  constructor(options: VerifiedCacheOptions = {}) {
    this.ttlMs = Math.max(0, options.ttlMs ?? 300_000);
    this.maxEntries = Math.max(0, options.maxEntries ?? 1000);
    this.#now = options.now ?? Date.now;
  }

  /** Entries held (some may have expired). */
  get size(): number {
    return this.#expiry.size;
  }

  /** The cache key of a credential checked against `hash`. */
  keyOf(user: string, hash: string, password: string): string {
    return createHmac('sha256', this.#key)
      .update(user)
      .update('\u0000')
      .update(hash)
      .update('\u0000')
      .update(password)
      .digest('base64url');
  }

  /** True when `key` was verified less than `ttlMs` ago. */
  has(key: string): boolean {
    const expiry = this.#expiry.get(key);
    if (expiry === undefined) return false;
    if (expiry <= this.#now()) {
      this.#expiry.delete(key);
      return false;
    }
    this.#expiry.delete(key);
    this.#expiry.set(key, expiry);
    return true;
  }

  /** Remembers a successful verification. */
  add(key: string): void {
    if (this.ttlMs === 0 || this.maxEntries === 0) return;
    this.#expiry.delete(key);
    this.#expiry.set(key, this.#now() + this.ttlMs);
    while (this.#expiry.size > this.maxEntries) {
      this.#expiry.delete(this.#expiry.keys().next().value as string);
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#expiry.clear();
  }
}
