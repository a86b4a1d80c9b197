/**
 * The suite must catch broken caches: each mutant below wraps the in-memory cache with one
 * realistic bug, and the named tests must fail on it (and every other test may pass or fail).
 */
import type { Digest } from '@berth/digest';
import {
  type BlobDescriptor,
  type BlobDescriptorCache,
  createInMemoryBlobDescriptorCache,
  type RepositoryBlobDescriptorCache,
} from '@berth/registry-core';
import { describe, expect, it } from 'vitest';
import { testContext } from './context.ts';
import { CACHE_SUITE_TESTS } from './suite.ts';

interface Mutation {
  readonly name: string;
  readonly make: () => BlobDescriptorCache;
  readonly caughtBy: readonly string[];
}

function delegate(inner: BlobDescriptorCache, overrides: Partial<BlobDescriptorCache>): BlobDescriptorCache {
  return {
    stat: (digest) => inner.stat(digest),
    set: (digest, descriptor) => inner.set(digest, descriptor),
    clear: (digest) => inner.clear(digest),
    repository: (name) => inner.repository(name),
    ...overrides,
  };
}

function withRepositories(
  inner: BlobDescriptorCache,
  wrap: (repository: RepositoryBlobDescriptorCache, name: string) => Partial<RepositoryBlobDescriptorCache>,
): BlobDescriptorCache {
  return delegate(inner, {
    repository: (name) => {
      const repository = inner.repository(name);
      return {
        stat: (digest) => repository.stat(digest),
        set: (digest, descriptor) => repository.set(digest, descriptor),
        clear: (digest) => repository.clear(digest),
        ...wrap(repository, name),
      };
    },
  });
}

const MUTATIONS: readonly Mutation[] = [
  {
    name: 'repository entries survive a global clear',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      const kept = new Map<string, BlobDescriptor>();
      return withRepositories(inner, (repository, name) => ({
        async set(digest, descriptor) {
          kept.set(`${name} ${digest}`, descriptor);
          await repository.set(digest, descriptor);
        },
        async stat(digest) {
          return (await repository.stat(digest)) ?? kept.get(`${name} ${digest}`);
        },
        async clear(digest) {
          kept.delete(`${name} ${digest}`);
          await repository.clear(digest);
        },
      }));
    },
    caughtBy: ['clear.global-hides-repositories', 'shared.clear-visible'],
  },
  {
    name: 'a repository clear also clears the global descriptor',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      return withRepositories(inner, (repository) => ({
        async clear(digest) {
          await repository.clear(digest);
          await inner.clear(digest);
        },
      }));
    },
    caughtBy: ['clear.repository-keeps-global'],
  },
  {
    name: 'membership is global instead of per repository',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      const one = inner.repository('shared/one');
      return delegate(inner, { repository: () => one });
    },
    caughtBy: ['set.repository-membership', 'set.repository-media-type'],
  },
  {
    name: 'a repository stat ignores membership (answers the global descriptor)',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      return withRepositories(inner, () => ({ stat: (digest) => inner.stat(digest) }));
    },
    caughtBy: ['set.global-does-not-link', 'set.repository-membership', 'clear.repository-keeps-global'],
  },
  {
    name: 'sizes are stored as 32-bit integers',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      const truncate = (descriptor: BlobDescriptor): BlobDescriptor => ({
        ...descriptor,
        size: descriptor.size | 0,
      });
      return withRepositories(
        delegate(inner, { set: (digest, descriptor) => inner.set(digest, truncate(descriptor)) }),
        (repository) => ({ set: (digest, descriptor) => repository.set(digest, truncate(descriptor)) }),
      );
    },
    caughtBy: ['round-trip.large-sizes'],
  },
  {
    name: 'size 0 is treated as a miss',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      const nonZero = async (hit: Promise<BlobDescriptor | undefined>) => {
        const descriptor = await hit;
        return descriptor?.size ? descriptor : undefined;
      };
      return withRepositories(
        delegate(inner, { stat: (digest) => nonZero(inner.stat(digest)) }),
        (repository) => ({
          stat: (digest) => nonZero(repository.stat(digest)),
        }),
      );
    },
    caughtBy: ['round-trip.size-zero'],
  },
  {
    name: 'digests are lower-cased before use',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      const lower = (digest: Digest): Digest => digest.toLowerCase() as Digest;
      return delegate(inner, {
        stat: (digest) => inner.stat(lower(digest)),
        set: (digest, descriptor) => inner.set(lower(digest), { ...descriptor, digest: lower(digest) }),
        clear: (digest) => inner.clear(lower(digest)),
      });
    },
    caughtBy: ['invalid.set', 'invalid.clear'],
  },
  {
    name: 'a stat of an invalid digest throws',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      return delegate(inner, {
        stat: async (digest) => {
          if (!/^sha(256|512):[a-f0-9]+$/.test(digest)) throw new Error('invalid digest');
          return inner.stat(digest);
        },
      });
    },
    caughtBy: ['invalid.stat'],
  },
  {
    name: 'the repository media type is ignored',
    make: () => {
      const inner = createInMemoryBlobDescriptorCache();
      return withRepositories(inner, (repository) => ({
        stat: async (digest) => {
          const hit = await repository.stat(digest);
          return hit === undefined ? undefined : await inner.stat(digest);
        },
      }));
    },
    caughtBy: ['set.repository-media-type', 'concurrency.same-digest-many-repositories'],
  },
];

describe('the suite catches broken caches', () => {
  for (const mutation of MUTATIONS) {
    it.each(mutation.caughtBy)(`${mutation.name}: %s fails`, async (id) => {
      const test = CACHE_SUITE_TESTS.find((candidate) => candidate.id === id);
      expect(test, id).toBeDefined();
      const cache = mutation.make();
      const context = testContext({ cache }, async () => cache);
      await expect(test!.run(context)).rejects.toThrow();
    });
  }

  it('every test passes on the unmodified in-memory cache', async () => {
    const cache = createInMemoryBlobDescriptorCache();
    for (const test of CACHE_SUITE_TESTS) {
      await test.run(testContext({ cache, stats: () => cache.stats() }, async () => cache));
    }
  });
});
