import type { Digest } from '@berth/digest';
import type { StorageDriver } from '@berth/storage-driver';
import { type BlobStore, createBlobStore } from './blob-store.ts';
import { KeyedMutex } from './concurrency.ts';
import { LruCache } from './lru.ts';
import type { ManifestCacheEntry } from './manifest-store.ts';
import { ReadCache } from './read-cache.ts';
import type { ReferrersScanState } from './referrers-index.ts';
import type { BlobDescriptor, Page, RegistryOptions } from './types.ts';
import type { UploadHasher } from './upload-store.ts';

/** How large the in-process caches of one registry may grow. */
export interface CacheLimits {
  /** Uploads whose fast (node:crypto) hasher is kept between requests. @default 1024 */
  readonly uploadHashers?: number;
  /** Parsed manifests kept. @default 1024 */
  readonly manifests?: number;
  /** Total bytes of the parsed manifests kept. @default 33554432 (32 MiB) */
  readonly manifestBytes?: number;
  /** Repositories whose referrers-scan state (revisions already checked) is kept. @default 1024 */
  readonly referrerScans?: number;
  /**
   * Total revision digests in the referrers-scan states kept (a repository with more is
   * scanned from its persisted record on every referrers request). @default 262144
   */
  readonly referrerScanDigests?: number;
  /**
   * How long a manifest revision link, a layer link or a blob's size, once read, may answer
   * manifest and blob GET/HEAD requests from memory (see `read-cache.ts`); 0 disables it. A
   * deletion by another replica is seen within this time — at once when every process shares
   * a {@link RegistryOptions.changes} feed; tag links are never cached. Off by default: without
   * a feed, an answer "this blob exists" served from memory after `berth gc` (another process)
   * removed the blob would let a client skip re-uploading it, and its manifest push would fail.
   * The server turns it on when Redis carries the feed.
   * @default 0
   */
  readonly readCacheTtlMs?: number;
  /** Entries of each read cache (links; blob sizes). @default 16384 */
  readonly readCacheEntries?: number;
  /**
   * How long a `_catalog` page, once walked, may be answered from memory; 0 disables it. A
   * manifest push or delete through this process forgets every page at once; a repository
   * created or removed by another replica (or registry:2 on the same storage) shows within
   * this time. The catalog decides nothing else: no push, pull or GC reads it.
   * @default 1000
   */
  readonly catalogTtlMs?: number;
  /** `_catalog` pages kept (one per `n` and `last`). @default 64 */
  readonly catalogPages?: number;
}

/** {@link CacheLimits.readCacheTtlMs}'s default. */
export const DEFAULT_READ_CACHE_TTL_MS = 0;

/** {@link CacheLimits.catalogTtlMs}'s default. */
export const DEFAULT_CATALOG_TTL_MS = 1000;

/**
 * What every store of one registry shares: the driver, the options, the global blob store and
 * the in-process caches. Created once by `createRegistry`; repository objects built on it are
 * cheap and do no I/O.
 */
export interface StoreContext {
  readonly driver: StorageDriver;
  readonly options: Readonly<RegistryOptions>;
  readonly blobs: BlobStore;
  /** upload key → the hasher that has hashed exactly the upload's bytes so far. */
  readonly uploadHashers: LruCache<string, UploadHasher>;
  /** manifest digest → parsed manifest (content is immutable, so never stale). */
  readonly manifests: LruCache<string, ManifestCacheEntry>;
  /** Serializes operations on one upload within this process. */
  readonly uploadLocks: KeyedMutex;
  /** repository name → its manifest revisions already checked for a `subject` (see `referrers-index.ts`). */
  readonly referrerScans: LruCache<string, ReferrersScanState>;
  /** Serializes referrers scans (and manifest deletions) of one repository within this process. */
  readonly referrerLocks: KeyedMutex;
  /** link path → digest: revision and layer links read recently (never tag links). */
  readonly links: ReadCache<Digest>;
  /** blob digest → descriptor of its data in the global store, read recently. */
  readonly descriptors: ReadCache<BlobDescriptor>;
  /** `<n>/<last>` → a `_catalog` page walked recently. */
  readonly catalog: ReadCache<Page<string>>;
}

/** Creates the shared {@link StoreContext} for `options`. */
export function createStoreContext(options: RegistryOptions, limits: CacheLimits = {}): StoreContext {
  const readCacheTtl = limits.readCacheTtlMs ?? DEFAULT_READ_CACHE_TTL_MS;
  // While the change feed may be missing removals, nothing is answered from memory.
  const usable = (): boolean => options.changes?.connected ?? true;
  return {
    driver: options.driver,
    options,
    blobs: createBlobStore(options.driver),
    uploadHashers: new LruCache({ maxEntries: limits.uploadHashers ?? 1024 }),
    manifests: new LruCache({
      maxEntries: limits.manifests ?? 1024,
      maxWeight: limits.manifestBytes ?? 32 * 1024 * 1024,
      weigh: (entry: ManifestCacheEntry) => entry.bytes.byteLength + 512,
    }),
    uploadLocks: new KeyedMutex(),
    referrerScans: new LruCache({
      maxEntries: limits.referrerScans ?? 1024,
      maxWeight: limits.referrerScanDigests ?? 262_144,
      weigh: (state: ReferrersScanState) => state.checked.size + state.absent.size + 1,
    }),
    referrerLocks: new KeyedMutex(),
    links: new ReadCache({ ttlMs: readCacheTtl, maxEntries: limits.readCacheEntries ?? 16_384, usable }),
    descriptors: new ReadCache({
      ttlMs: readCacheTtl,
      maxEntries: limits.readCacheEntries ?? 16_384,
      usable,
    }),
    catalog: new ReadCache({
      ttlMs: limits.catalogTtlMs ?? DEFAULT_CATALOG_TTL_MS,
      maxEntries: limits.catalogPages ?? 64,
      usable,
    }),
  };
}
