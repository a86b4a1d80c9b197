import type { Digest } from '@berth/digest';
import type { BlobDescriptor } from '../types.ts';

/**
 * A cache of blob descriptors, registry:2's `storage.cache.blobdescriptor`: what a blob is
 * (digest, size, media type) in the global store, and which repositories it is linked into.
 * It saves the storage round trips of `HEAD`/`GET …/blobs/<digest>` and of the existence checks
 * of a manifest push.
 *
 * A cache is advisory and shared: several replicas (and registry:2 itself, with the Redis
 * implementation) read and write the same entries, and `berth gc` clears what it deletes. So
 * an implementation must
 * - answer `undefined` (a miss) rather than fail when its backend is unreachable or slow —
 *   the caller then reads storage, so an outage never fails a request;
 * - make a `clear` visible to every reader at once (no TTL-bound staleness after a delete);
 * - never invent an entry: a hit is always something a caller `set` and nobody cleared since.
 *
 * Entries have no expiry; a bounded implementation evicts (registry:2 expects Redis to run
 * with `maxmemory-policy allkeys-lru`).
 */
export interface BlobDescriptorCache {
  /** The descriptor of `digest` in the global store, or `undefined` on a miss. */
  stat(digest: Digest): Promise<BlobDescriptor | undefined>;
  /** Records the descriptor of a blob whose data is in the global store. */
  set(digest: Digest, descriptor: BlobDescriptor): Promise<void>;
  /** Forgets `digest` in the global store (its data was deleted). */
  clear(digest: Digest): Promise<void>;
  /** The cache of repository `name` (validated by the caller). */
  repository(name: string): RepositoryBlobDescriptorCache;
}

/**
 * The blobs linked into one repository. A hit means the repository's link was read or written
 * and not removed since; a repository-scoped `set` also records the global descriptor.
 */
export interface RepositoryBlobDescriptorCache {
  /** The descriptor of `digest` when it is linked into this repository, else `undefined`. */
  stat(digest: Digest): Promise<BlobDescriptor | undefined>;
  /** Records that `digest` is linked into this repository (and its global descriptor). */
  set(digest: Digest, descriptor: BlobDescriptor): Promise<void>;
  /** Forgets the link of `digest` in this repository (the global descriptor stays). */
  clear(digest: Digest): Promise<void>;
}

/** Counters every implementation keeps, for metrics. */
export interface BlobDescriptorCacheStats {
  /** Lookups answered from the cache. */
  readonly hits: number;
  /** Lookups not found in the cache. */
  readonly misses: number;
  /** Lookups and writes that failed (backend unreachable, timeout) and were treated as misses. */
  readonly errors: number;
}
