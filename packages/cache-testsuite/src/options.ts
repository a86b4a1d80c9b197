import type { BlobDescriptorCache, BlobDescriptorCacheStats } from '@berth/registry-core';

/** A cache under test, as `create()` returns it. */
export interface BlobDescriptorCacheSubject {
  /** The cache. */
  readonly cache: BlobDescriptorCache;
  /** Its counters, when it keeps them; the `stats.*` tests check that they move. */
  readonly stats?: () => BlobDescriptorCacheStats;
  /** Called once after the suite, e.g. to close the cache's connection. */
  readonly clean?: () => Promise<void>;
}

/**
 * Returns a cache on the backend under test. Called once before the tests, and once more by the
 * `shared.*` tests for a *second instance on the same backend*, as a second registry replica
 * would see it. A backend that lives inside one instance (the in-memory cache) may return the
 * same cache again.
 */
export type CreateBlobDescriptorCache = () =>
  | BlobDescriptorCacheSubject
  | Promise<BlobDescriptorCacheSubject>;

/** Options of `describeBlobDescriptorCache`. */
export interface BlobDescriptorCacheSuiteOptions {
  /**
   * Tests not to run, as test id → why. The reason is shown in the skipped test's name. An id
   * not in `BLOB_DESCRIPTOR_CACHE_SUITE_TESTS`, or an empty reason, makes the suite throw.
   */
  readonly skip?: Readonly<Record<string, string>>;
  /** Per-test timeout in ms. @default the runner's */
  readonly timeoutMs?: number;
}
