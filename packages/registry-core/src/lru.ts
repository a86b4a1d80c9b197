/** Options of {@link LruCache}. */
export interface LruCacheOptions<V> {
  /** The most entries kept. */
  readonly maxEntries: number;
  /** The most total weight kept (see `weigh`). @default Infinity */
  readonly maxWeight?: number;
  /** The weight of one value (e.g. its size in bytes). @default () => 1 */
  readonly weigh?: (value: V) => number;
}

/**
 * A small least-recently-used map bounded by entry count and, optionally, total weight. Used
 * for the in-process caches of the stores (upload hashers, parsed manifests); it never does
 * I/O and is safe to share between every repository of one registry.
 *
 * @example
 * ```ts
 * const cache = new LruCache<string, Uint8Array>({ maxEntries: 100, maxWeight: 1 << 20, weigh: (b) => b.length });
 * cache.set('a', bytes);
 * cache.get('a'); // bytes, now the most recently used
 * ```
 */
export class LruCache<K, V> {
  readonly #map = new Map<K, { value: V; weight: number }>();
  readonly #maxEntries: number;
  readonly #maxWeight: number;
  readonly #weigh: (value: V) => number;
  #weight = 0;

  constructor(options: LruCacheOptions<V>) {
    this.#maxEntries = Math.max(0, options.maxEntries);
    this.#maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;
    this.#weigh = options.weigh ?? (() => 1);
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** Total weight of the entries. */
  get weight(): number {
    return this.#weight;
  }

  /** The value of `key` (marking it most recently used), or `undefined`. */
  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  /** True when `key` is cached (does not change its recency). */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Removes `key` and returns its value, or `undefined`. */
  take(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.delete(key);
    return entry.value;
  }

  /**
   * Stores `value` as the most recently used entry, evicting the least recently used ones
   * beyond the limits. A value heavier than `maxWeight` on its own is not stored.
   */
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.#weigh(value);
    if (weight > this.#maxWeight || this.#maxEntries === 0) return;
    this.#map.set(key, { value, weight });
    this.#weight += weight;
    for (const [oldest, entry] of this.#map) {
      if (this.#map.size <= this.#maxEntries && this.#weight <= this.#maxWeight) break;
      this.#map.delete(oldest);
      this.#weight -= entry.weight;
    }
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: K): boolean {
    const entry = this.#map.get(key);
    if (entry === undefined) return false;
    this.#map.delete(key);
    this.#weight -= entry.weight;
    return true;
  }

  /** Removes everything. */
  clear(): void {
    this.#map.clear();
    this.#weight = 0;
  }
}
