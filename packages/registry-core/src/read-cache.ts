import { LruCache } from './lru.ts';

/** Options of {@link ReadCache}. */
export interface ReadCacheOptions {
  /** How long a value read from storage may be answered from memory; 0 disables the cache. */
  readonly ttlMs: number;
  /** The most entries kept (least recently used evicted first). */
  readonly maxEntries: number;
  /** The clock, in milliseconds. @default performance.now */
  readonly now?: () => number;
  /**
   * Whether entries may be answered and kept now; while it returns false every read goes to
   * `load` and nothing is kept (a change feed that may be missing removals). @default always
   */
  readonly usable?: () => boolean;
}

/**
 * A short-lived, bounded, in-process memo of storage reads on the hot read paths (a manifest
 * revision link, a repository's layer link, a blob's size): the equivalent of registry:2's
 * `storage.cache.blobdescriptor: inmemory`, except that entries expire after `ttlMs`, so a
 * deletion made by another replica (or by an operator tool) is seen within `ttlMs`. Only
 * positive results are kept (something that does not exist is read again every time), and tag
 * links are never cached: a tag moved anywhere is seen by the next request.
 *
 * Deletions made through this process call {@link invalidate}, which takes effect at once,
 * including over a read that was in flight when it happened (that read's result is not kept).
 *
 * @example
 * ```ts
 * const links = new ReadCache<Digest>({ ttlMs: 1000, maxEntries: 16384 });
 * const digest = await links.read(path, () => readLink(driver, path));
 * ```
 */
export class ReadCache<V> {
  readonly #entries: LruCache<string, { readonly value: V; readonly expires: number }>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #usable: () => boolean;
  /** Bumped by every invalidation: a read that saw another epoch at its start is not kept. */
  #epoch = 0;

  constructor(options: ReadCacheOptions) {
    this.#ttlMs = Math.max(0, options.ttlMs);
    this.#entries = new LruCache({ maxEntries: this.#ttlMs > 0 ? options.maxEntries : 0 });
    this.#now = options.now ?? (() => performance.now());
    this.#usable = options.usable ?? (() => true);
  }

  /** Number of entries (expired ones included until they are read or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The value of `key`: from memory when read less than `ttlMs` ago, else from `load` (kept
   * when it is not `undefined`). The age counts from the start of the read that produced it.
   */
  async read(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (this.#ttlMs === 0 || !this.#usable()) return load();
    const hit = this.#entries.get(key);
    const started = this.#now();
    if (hit !== undefined) {
      if (hit.expires > started) return hit.value;
      this.#entries.delete(key);
    }
    const epoch = this.#epoch;
    const value = await load();
    if (value !== undefined && epoch === this.#epoch) {
      this.#entries.set(key, { value, expires: started + this.#ttlMs });
    }
    return value;
  }

  /** Forgets `key`, and keeps no result of a read of any key in flight now. */
  invalidate(key: string): void {
    this.#epoch++;
    this.#entries.delete(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }
}
