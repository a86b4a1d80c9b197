/**
 * registry:2's key layout (`registry/storage/cache/redis/redis.go`), byte for byte, so Berth and
 * registry:2 can share one Redis:
 *
 * ```
 * blobs::<digest>                         hash  digest, size (decimal), mediatype
 * repository::<name>::blobs               set   digests linked into <name>
 * repository::<name>::blobs::<digest>     hash  mediatype (the repository's, overrides the global one)
 * ```
 *
 * No key has a TTL. Each operation touches one key per command, so the layout works on a
 * Redis Cluster as it is (no hash tags, which registry:2 does not use either).
 */
import type { Digest } from '@berth/digest';

/** The three hash fields of a global descriptor, in registry:2's spelling. */
export const FIELD_DIGEST = 'digest';
export const FIELD_SIZE = 'size';
export const FIELD_MEDIA_TYPE = 'mediatype';

/** Key names, each prefixed with `prefix` (empty for registry:2 interop). */
export interface KeyLayout {
  /** `blobs::<digest>`. */
  blob(digest: Digest): string;
  /** `repository::<name>::blobs`. */
  repositorySet(name: string): string;
  /** `repository::<name>::blobs::<digest>`. */
  repositoryBlob(name: string, digest: Digest): string;
}

/** The key layout with an optional prefix. */
export function keyLayout(prefix = ''): KeyLayout {
  return {
    blob: (digest) => `${prefix}blobs::${digest}`,
    repositorySet: (name) => `${prefix}repository::${name}::blobs`,
    repositoryBlob: (name, digest) => `${prefix}repository::${name}::blobs::${digest}`,
  };
}
