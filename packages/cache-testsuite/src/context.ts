import { randomBytes } from 'node:crypto';
import { type Digest, parseDigest } from '@berth/digest';
import type {
  BlobDescriptor,
  BlobDescriptorCache,
  BlobDescriptorCacheStats,
  RepositoryBlobDescriptorCache,
} from '@berth/registry-core';
import type { BlobDescriptorCacheSubject } from './options.ts';

/** The media type registry:2 records for layers and other blobs. */
export const OCTET_STREAM = 'application/octet-stream';

/** What a suite test gets to work with. */
export interface CacheTestContext {
  /** The cache under test. */
  readonly cache: BlobDescriptorCache;
  /** Its counters, if it keeps them. */
  readonly stats: (() => BlobDescriptorCacheStats) | undefined;
  /** A second instance on the same backend (created on first use, cleaned after the suite). */
  otherInstance(): Promise<BlobDescriptorCache>;
  /** A fresh random digest (`sha256` unless asked otherwise): no other test uses it. */
  digest(algorithm?: 'sha256' | 'sha512'): Digest;
  /** A fresh repository name, `suite-<random>/<suffix>`: no other test uses it. */
  repositoryName(suffix?: string): string;
  /** `cache.repository(repositoryName(suffix))`. */
  repository(suffix?: string): RepositoryBlobDescriptorCache;
  /** A descriptor of `digest` with `size` and `mediaType` (default `application/octet-stream`). */
  descriptor(digest: Digest, size?: number, mediaType?: string): BlobDescriptor;
}

/** One conformance test. */
export interface CacheSuiteTest {
  /** Stable id (`group.name`), the key of `options.skip`. */
  readonly id: string;
  /** What it checks, in a few words. */
  readonly title: string;
  run(t: CacheTestContext): Promise<void>;
}

/** A titled group of tests. */
export interface CacheSuiteGroup {
  readonly title: string;
  readonly tests: readonly CacheSuiteTest[];
}

/** Builds the context of one test. */
export function testContext(
  subject: BlobDescriptorCacheSubject,
  otherInstance: () => Promise<BlobDescriptorCache>,
): CacheTestContext {
  const run = randomBytes(6).toString('hex');
  let repositories = 0;
  const repositoryName = (suffix = 'app'): string => `suite-${run}-${repositories++}/${suffix}`;
  return {
    cache: subject.cache,
    stats: subject.stats,
    otherInstance,
    digest: (algorithm = 'sha256') =>
      parseDigest(`${algorithm}:${randomBytes(algorithm === 'sha256' ? 32 : 64).toString('hex')}`).digest,
    repositoryName,
    repository: (suffix) => subject.cache.repository(repositoryName(suffix)),
    descriptor: (digest, size = 1234, mediaType = OCTET_STREAM) => ({ digest, size, mediaType }),
  };
}
