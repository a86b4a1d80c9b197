import { type Digest, isDigest } from '@berth/digest';
import { LruCache } from '../lru.ts';
import type { BlobDescriptor } from '../types.ts';
import type {
  BlobDescriptorCache,
  BlobDescriptorCacheStats,
  RepositoryBlobDescriptorCache,
} from './blob-descriptor-cache.ts';

/** Options of {@link createInMemoryBlobDescriptorCache}. */
export interface InMemoryBlobDescriptorCacheOptions {
  /**
   * The most entries kept, of global descriptors and of repository links each (least recently
   * used evicted first): registry:2's `storage.cache.blobdescriptorsize`. @default 10000
   */
  readonly size?: number;
}

/** {@link InMemoryBlobDescriptorCacheOptions.size}'s default, as registry:2's. */
export const DEFAULT_BLOB_DESCRIPTOR_CACHE_SIZE = 10_000;

/** A {@link BlobDescriptorCache} with the counters of its lookups. */
export interface InMemoryBlobDescriptorCache extends BlobDescriptorCache {
  /** Hits and misses so far (`errors` is always 0). */
  stats(): BlobDescriptorCacheStats;
}

/**
 * registry:2's `storage.cache.blobdescriptor: inmemory`: a bounded cache in this process.
 *
 * It sees only what this process sets and clears, so it is right only where nothing else
 * deletes blobs from the storage: one process, no `berth gc` while it serves. With several
 * replicas, or GC running beside the server, use the Redis cache, which every process shares.
 *
 * A repository entry answers only while the global descriptor is there too, so clearing a
 * deleted blob's digest makes it unknown in every repository at once. Invalid digests are
 * never stored: a lookup of one is a miss, a `set` or `clear` of one does nothing.
 *
 * @example
 * ```ts
 * const cache = createInMemoryBlobDescriptorCache({ size: 10_000 });
 * await cache.repository('team/app').set(digest, { digest, size: 1234, mediaType: 'application/octet-stream' });
 * await cache.repository('team/app').stat(digest); // the descriptor
 * ```
 */
export function createInMemoryBlobDescriptorCache(
  options: InMemoryBlobDescriptorCacheOptions = {},
): InMemoryBlobDescriptorCache {
  const size = options.size ?? DEFAULT_BLOB_DESCRIPTOR_CACHE_SIZE;
  const global = new LruCache<Digest, BlobDescriptor>({ maxEntries: size });
  /** `<name>\n<digest>` → the media type the repository recorded for the blob. */
  const links = new LruCache<string, string>({ maxEntries: size });
  let hits = 0;
  let misses = 0;

  const counted = (descriptor: BlobDescriptor | undefined): BlobDescriptor | undefined => {
    if (descriptor === undefined) misses++;
    else hits++;
    return descriptor;
  };
  const copy = (descriptor: BlobDescriptor): BlobDescriptor => ({
    digest: descriptor.digest,
    size: descriptor.size,
    mediaType: descriptor.mediaType,
  });

  const cache: InMemoryBlobDescriptorCache = {
    async stat(digest) {
      const descriptor = isDigest(digest) ? global.get(digest) : undefined;
      // A copy, so a caller changing what it got cannot change the cache.
      return counted(descriptor === undefined ? undefined : copy(descriptor));
    },
    async set(digest, descriptor) {
      if (isDigest(digest)) global.set(digest, copy(descriptor));
    },
    async clear(digest) {
      if (isDigest(digest)) global.delete(digest);
    },
    repository(name): RepositoryBlobDescriptorCache {
      const key = (digest: Digest): string => `${name}\n${digest}`;
      return {
        async stat(digest) {
          if (!isDigest(digest)) return counted(undefined);
          const mediaType = links.get(key(digest));
          const descriptor = mediaType === undefined ? undefined : global.get(digest);
          if (descriptor === undefined) return counted(undefined);
          // A media type the repository recorded wins over the global one (registry:2's rule).
          return counted(mediaType === '' ? copy(descriptor) : { ...descriptor, mediaType: mediaType! });
        },
        async set(digest, descriptor) {
          if (!isDigest(digest)) return;
          links.set(key(digest), descriptor.mediaType);
          global.set(digest, copy(descriptor));
        },
        async clear(digest) {
          if (isDigest(digest)) links.delete(key(digest));
        },
      };
    },
    stats: () => ({ hits, misses, errors: 0 }),
  };
  return cache;
}
