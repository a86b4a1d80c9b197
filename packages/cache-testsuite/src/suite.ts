import type { BlobDescriptorCache } from '@berth/registry-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type CacheSuiteGroup, type CacheSuiteTest, testContext } from './context.ts';
import type {
  BlobDescriptorCacheSubject,
  BlobDescriptorCacheSuiteOptions,
  CreateBlobDescriptorCache,
} from './options.ts';
import {
  clearTests,
  concurrencyTests,
  emptyTests,
  invalidTests,
  roundTripTests,
  setTests,
  sharedTests,
  statsTests,
} from './tests.ts';

/** Every group of the suite, in the order they run. */
export const CACHE_SUITE_GROUPS: readonly CacheSuiteGroup[] = [
  emptyTests,
  setTests,
  clearTests,
  invalidTests,
  roundTripTests,
  concurrencyTests,
  sharedTests,
  statsTests,
];

/** Every test of the suite, in the order they run. */
export const CACHE_SUITE_TESTS: readonly CacheSuiteTest[] = CACHE_SUITE_GROUPS.flatMap(
  (group) => group.tests,
);

/** The ids of every conformance test, the valid keys of `options.skip`. */
export const BLOB_DESCRIPTOR_CACHE_SUITE_TESTS: readonly string[] = Object.freeze(
  CACHE_SUITE_TESTS.map((test) => test.id),
);

/**
 * Checks `skip` against the suite's test ids.
 * @throws {Error} naming every unknown id or empty reason.
 */
export function validateCacheSuiteSkip(skip: Readonly<Record<string, string>> | undefined): void {
  if (skip === undefined) return;
  const known = new Set(BLOB_DESCRIPTOR_CACHE_SUITE_TESTS);
  const unknown = Object.keys(skip).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new Error(
      `describeBlobDescriptorCache: unknown test id(s) in skip: ${unknown.join(', ')} ` +
        '(see BLOB_DESCRIPTOR_CACHE_SUITE_TESTS for the valid ids)',
    );
  }
  const unexplained = Object.entries(skip)
    .filter(([, reason]) => typeof reason !== 'string' || reason.trim() === '')
    .map(([id]) => id);
  if (unexplained.length > 0) {
    throw new Error(`describeBlobDescriptorCache: skip needs a reason for ${unexplained.join(', ')}`);
  }
}

/**
 * Registers the blob descriptor cache conformance suite as a vitest `describe` block named after
 * the cache. Call it at the top level of a test file. The cache is created once; every test uses
 * its own random digests and repository names, so the backend may be shared with other tests
 * (and need not be emptied between them).
 *
 * It pins registry:2's semantics: a repository `set` also records the global descriptor, a
 * repository `clear` forgets that link only, a global `clear` (a deleted blob) makes the digest
 * unknown in every repository at once, invalid digests are never cached, and descriptors come
 * back exactly (size 0, sizes above 2^32, any media type).
 *
 * @example
 * ```ts
 * import { createInMemoryBlobDescriptorCache } from '@berth/registry-core';
 * import { describeBlobDescriptorCache } from '@berth/cache-testsuite';
 *
 * const cache = createInMemoryBlobDescriptorCache();
 * describeBlobDescriptorCache('inmemory', () => ({ cache, stats: () => cache.stats() }));
 * ```
 * @throws {Error} when `options.skip` names an unknown test id or gives no reason.
 */
export function describeBlobDescriptorCache(
  name: string,
  create: CreateBlobDescriptorCache,
  options: BlobDescriptorCacheSuiteOptions = {},
): void {
  validateCacheSuiteSkip(options.skip);
  describe(`blob descriptor cache conformance: ${name}`, () => {
    let subject: BlobDescriptorCacheSubject | undefined;
    let other: Promise<BlobDescriptorCacheSubject> | undefined;
    const otherInstance = async (): Promise<BlobDescriptorCache> => {
      other ??= Promise.resolve(create());
      return (await other).cache;
    };
    beforeAll(async () => {
      subject = await create();
    });
    afterAll(async () => {
      const second = other === undefined ? undefined : await other.catch(() => undefined);
      if (second !== undefined && second !== subject && second.cache !== subject?.cache)
        await second.clean?.();
      await subject?.clean?.();
    });
    for (const group of CACHE_SUITE_GROUPS) {
      describe(group.title, () => {
        for (const test of group.tests) {
          const title = `${test.title} [${test.id}]`;
          const reason = options.skip?.[test.id];
          if (reason !== undefined) {
            it.skip(`${title} — skipped: ${reason}`, () => {});
            continue;
          }
          it(
            title,
            async () => {
              if (subject === undefined) throw new Error('create() did not return a cache');
              await test.run(testContext(subject, otherInstance));
            },
            options.timeoutMs,
          );
        }
      });
    }
  });
}
