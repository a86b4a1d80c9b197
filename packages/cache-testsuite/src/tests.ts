import type { Digest } from '@berth/digest';
import type { BlobDescriptor } from '@berth/registry-core';
import { expect } from 'vitest';
import { type CacheSuiteGroup, OCTET_STREAM } from './context.ts';

/** Awaits `promise`, treating a rejection as an allowed outcome (for invalid input). */
async function settle(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch {
    // Rejecting invalid input is as good as ignoring it.
  }
}

const HEX64 = 'a'.repeat(64);

/** Strings that are not valid digests, typed as digests to get past the compiler. */
export const INVALID_DIGESTS: readonly Digest[] = [
  '',
  'sha256',
  'sha256:',
  'sha256:abc',
  `sha256:${'A'.repeat(64)}`,
  `SHA256:${HEX64}`,
  `sha256:${'a'.repeat(63)}`,
  `sha256:${'a'.repeat(65)}`,
  `sha256:${'g'.repeat(64)}`,
  `sha512:${HEX64}`,
  `md5:${'a'.repeat(32)}`,
  ` sha256:${HEX64}`,
  `sha256:${HEX64}\n`,
  `sha256:${HEX64}::blobs`,
  `sha256${HEX64}`,
] as unknown as Digest[];

export const emptyTests: CacheSuiteGroup = {
  title: 'empty cache',
  tests: [
    {
      id: 'empty.global-miss',
      title: 'a global stat of an unknown digest is a miss',
      async run(t) {
        expect(await t.cache.stat(t.digest())).toBeUndefined();
        expect(await t.cache.stat(t.digest('sha512'))).toBeUndefined();
      },
    },
    {
      id: 'empty.repository-miss',
      title: 'a repository stat of an unknown digest is a miss',
      async run(t) {
        expect(await t.repository().stat(t.digest())).toBeUndefined();
      },
    },
  ],
};

export const setTests: CacheSuiteGroup = {
  title: 'set and stat',
  tests: [
    {
      id: 'set.global',
      title: 'a global set is a global hit with the same descriptor',
      async run(t) {
        const digest = t.digest();
        const descriptor = t.descriptor(digest, 4096);
        await t.cache.set(digest, descriptor);
        expect(await t.cache.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'set.sha512',
      title: 'sha512 digests are cached like sha256 ones',
      async run(t) {
        const digest = t.digest('sha512');
        const descriptor = t.descriptor(digest, 77);
        const repository = t.repository();
        await repository.set(digest, descriptor);
        expect(await repository.stat(digest)).toEqual(descriptor);
        expect(await t.cache.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'set.global-does-not-link',
      title: 'a global set does not link the blob into any repository',
      async run(t) {
        const digest = t.digest();
        await t.cache.set(digest, t.descriptor(digest));
        expect(await t.repository().stat(digest)).toBeUndefined();
      },
    },
    {
      id: 'set.repository',
      title: 'a repository set is a hit in that repository',
      async run(t) {
        const digest = t.digest();
        const descriptor = t.descriptor(digest, 99, 'application/vnd.oci.image.manifest.v1+json');
        const repository = t.repository();
        await repository.set(digest, descriptor);
        expect(await repository.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'set.repository-implies-global',
      title: 'a repository set also records the global descriptor',
      async run(t) {
        const digest = t.digest();
        const descriptor = t.descriptor(digest, 12_345);
        await t.repository().set(digest, descriptor);
        expect(await t.cache.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'set.repository-membership',
      title: 'a link is per repository, also between names that share a prefix',
      async run(t) {
        const digest = t.digest();
        const base = t.repositoryName('app');
        const names = [`${base}/sub`, `${base}-x`, `${base}x`, `${base}.x`, base.slice(0, -1)];
        await t.cache.repository(base).set(digest, t.descriptor(digest));
        expect(await t.cache.repository(base).stat(digest)).toEqual(t.descriptor(digest));
        for (const name of names) {
          expect(await t.cache.repository(name).stat(digest), name).toBeUndefined();
        }
        expect(await t.repository().stat(digest)).toBeUndefined();
      },
    },
    {
      id: 'set.repository-media-type',
      title: "each repository answers with the media type it recorded (registry:2's override)",
      async run(t) {
        const digest = t.digest();
        const a = t.repository('a');
        const b = t.repository('b');
        const inA = t.descriptor(digest, 10, 'application/vnd.oci.image.config.v1+json');
        const inB = t.descriptor(digest, 10, 'application/vnd.docker.container.image.v1+json');
        await a.set(digest, inA);
        await b.set(digest, inB);
        expect(await a.stat(digest)).toEqual(inA);
        expect(await b.stat(digest)).toEqual(inB);
        const global = await t.cache.stat(digest);
        expect(global?.size).toBe(10);
        expect(global?.digest).toBe(digest);
        // Which one the global descriptor keeps differs: registry:2's Redis cache keeps the
        // first, an in-process cache may keep the last. Either is a media type somebody set.
        expect([inA.mediaType, inB.mediaType]).toContain(global?.mediaType);
      },
    },
    {
      id: 'set.idempotent',
      title: 'setting the same descriptor again changes nothing',
      async run(t) {
        const digest = t.digest();
        const descriptor = t.descriptor(digest, 5);
        const repository = t.repository();
        for (let i = 0; i < 3; i++) {
          await repository.set(digest, descriptor);
          await t.cache.set(digest, descriptor);
        }
        expect(await repository.stat(digest)).toEqual(descriptor);
        expect(await t.cache.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'set.copies-input',
      title: 'changing a descriptor object after set does not change what is cached',
      async run(t) {
        const digest = t.digest();
        const repository = t.repository();
        const input = { digest, size: 42, mediaType: OCTET_STREAM };
        await repository.set(digest, input);
        input.size = 43;
        input.mediaType = 'text/plain';
        expect(await repository.stat(digest)).toEqual(t.descriptor(digest, 42));
        expect(await t.cache.stat(digest)).toEqual(t.descriptor(digest, 42));
      },
    },
  ],
};

export const clearTests: CacheSuiteGroup = {
  title: 'clear',
  tests: [
    {
      id: 'clear.global',
      title: 'a global clear makes the global stat a miss',
      async run(t) {
        const digest = t.digest();
        await t.cache.set(digest, t.descriptor(digest));
        await t.cache.clear(digest);
        expect(await t.cache.stat(digest)).toBeUndefined();
      },
    },
    {
      id: 'clear.global-hides-repositories',
      title: 'a global clear (a deleted blob) makes it unknown in every repository at once',
      async run(t) {
        const digest = t.digest();
        const repositories = [t.repository('a'), t.repository('b'), t.repository('c')];
        for (const repository of repositories) await repository.set(digest, t.descriptor(digest));
        await t.cache.clear(digest);
        for (const repository of repositories) expect(await repository.stat(digest)).toBeUndefined();
        expect(await t.cache.stat(digest)).toBeUndefined();
      },
    },
    {
      id: 'clear.repository-keeps-global',
      title: 'a repository clear forgets that link only: the global descriptor and other links stay',
      async run(t) {
        const digest = t.digest();
        const descriptor = t.descriptor(digest, 8);
        const a = t.repository('a');
        const b = t.repository('b');
        await a.set(digest, descriptor);
        await b.set(digest, descriptor);
        await a.clear(digest);
        expect(await a.stat(digest)).toBeUndefined();
        expect(await b.stat(digest)).toEqual(descriptor);
        expect(await t.cache.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'clear.relink',
      title: 'a cleared link or descriptor can be set again',
      async run(t) {
        const digest = t.digest();
        const descriptor = t.descriptor(digest, 9);
        const repository = t.repository();
        await repository.set(digest, descriptor);
        await repository.clear(digest);
        await repository.set(digest, descriptor);
        expect(await repository.stat(digest)).toEqual(descriptor);
        await t.cache.clear(digest);
        expect(await repository.stat(digest)).toBeUndefined();
        await repository.set(digest, descriptor);
        expect(await repository.stat(digest)).toEqual(descriptor);
        expect(await t.cache.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'clear.unknown',
      title: 'clearing what is not cached resolves',
      async run(t) {
        const digest = t.digest();
        await t.cache.clear(digest);
        await t.repository().clear(digest);
        expect(await t.cache.stat(digest)).toBeUndefined();
      },
    },
    {
      id: 'clear.other-digests-stay',
      title: 'a clear leaves other digests alone',
      async run(t) {
        const [kept, cleared] = [t.digest(), t.digest()];
        const repository = t.repository();
        await repository.set(kept, t.descriptor(kept));
        await repository.set(cleared, t.descriptor(cleared));
        await repository.clear(cleared);
        await t.cache.clear(cleared);
        expect(await repository.stat(kept)).toEqual(t.descriptor(kept));
        expect(await t.cache.stat(kept)).toEqual(t.descriptor(kept));
      },
    },
  ],
};

export const invalidTests: CacheSuiteGroup = {
  title: 'invalid digests',
  tests: [
    {
      id: 'invalid.stat',
      title: 'a stat of an invalid digest is a miss, never an error',
      async run(t) {
        const repository = t.repository();
        for (const digest of INVALID_DIGESTS) {
          expect(await t.cache.stat(digest), JSON.stringify(digest)).toBeUndefined();
          expect(await repository.stat(digest), JSON.stringify(digest)).toBeUndefined();
        }
      },
    },
    {
      id: 'invalid.set',
      title: 'a set of an invalid digest is ignored or rejected, and caches nothing',
      async run(t) {
        const repository = t.repository();
        for (const digest of INVALID_DIGESTS) {
          const descriptor = { digest, size: 1, mediaType: OCTET_STREAM };
          await settle(t.cache.set(digest, descriptor));
          await settle(repository.set(digest, descriptor));
          expect(await t.cache.stat(digest), JSON.stringify(digest)).toBeUndefined();
          expect(await repository.stat(digest), JSON.stringify(digest)).toBeUndefined();
        }
        // Not normalised into a valid digest either.
        const lower = `sha256:${HEX64}` as Digest;
        expect(await t.cache.stat(lower)).toBeUndefined();
        expect(await repository.stat(lower)).toBeUndefined();
      },
    },
    {
      id: 'invalid.clear',
      title: 'a clear of an invalid digest is ignored or rejected, and clears nothing',
      async run(t) {
        const digest = t.digest();
        const repository = t.repository();
        await repository.set(digest, t.descriptor(digest));
        const variants = [
          ...INVALID_DIGESTS,
          digest.toUpperCase(),
          `${digest}\n`,
          digest.slice(0, -1),
        ] as Digest[];
        for (const invalid of variants) {
          await settle(t.cache.clear(invalid));
          await settle(repository.clear(invalid));
        }
        expect(await repository.stat(digest)).toEqual(t.descriptor(digest));
        expect(await t.cache.stat(digest)).toEqual(t.descriptor(digest));
      },
    },
  ],
};

export const roundTripTests: CacheSuiteGroup = {
  title: 'round trip',
  tests: [
    {
      id: 'round-trip.size-zero',
      title: 'size 0 is a hit with size 0 (the empty blob), not a miss',
      async run(t) {
        const digest = t.digest();
        const repository = t.repository();
        await repository.set(digest, t.descriptor(digest, 0));
        expect(await repository.stat(digest)).toEqual(t.descriptor(digest, 0));
        expect(await t.cache.stat(digest)).toEqual(t.descriptor(digest, 0));
      },
    },
    {
      id: 'round-trip.large-sizes',
      title: 'sizes above 2^32, up to Number.MAX_SAFE_INTEGER, come back exactly',
      async run(t) {
        for (const size of [2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 5 * 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
          const digest = t.digest();
          const repository = t.repository();
          await repository.set(digest, t.descriptor(digest, size));
          const hit = await repository.stat(digest);
          expect(hit?.size, String(size)).toBe(size);
          expect(typeof hit?.size).toBe('number');
          expect((await t.cache.stat(digest))?.size, String(size)).toBe(size);
        }
      },
    },
    {
      id: 'round-trip.media-types',
      title: 'media types come back byte for byte (suffixes, parameters, long and non-ASCII ones)',
      async run(t) {
        const mediaTypes = [
          OCTET_STREAM,
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.image.rootfs.diff.tar.gzip',
          'application/vnd.oci.image.layer.v1.tar+zstd',
          'text/plain; charset=utf-8',
          `application/vnd.example.${'x'.repeat(200)}+json`,
          'application/vnd.example.größe',
        ];
        for (const mediaType of mediaTypes) {
          const digest = t.digest();
          const repository = t.repository();
          await repository.set(digest, t.descriptor(digest, 3, mediaType));
          expect(await repository.stat(digest), mediaType).toEqual(t.descriptor(digest, 3, mediaType));
          expect((await t.cache.stat(digest))?.mediaType, mediaType).toBe(mediaType);
        }
      },
    },
    {
      id: 'round-trip.exact-shape',
      title: 'a hit has exactly digest, size and mediaType',
      async run(t) {
        const digest = t.digest();
        const repository = t.repository();
        await repository.set(digest, {
          ...t.descriptor(digest, 6),
          extra: 'not cached',
        } as unknown as BlobDescriptor);
        expect(Object.keys((await repository.stat(digest)) ?? {}).sort()).toEqual([
          'digest',
          'mediaType',
          'size',
        ]);
        expect(Object.keys((await t.cache.stat(digest)) ?? {}).sort()).toEqual([
          'digest',
          'mediaType',
          'size',
        ]);
      },
    },
  ],
};

export const concurrencyTests: CacheSuiteGroup = {
  title: 'concurrency',
  tests: [
    {
      id: 'concurrency.same-digest',
      title: 'concurrent sets of one digest, globally and in one repository, leave one sound entry',
      async run(t) {
        const digest = t.digest();
        const descriptor = t.descriptor(digest, 321);
        const repository = t.repository();
        await Promise.all(
          Array.from({ length: 32 }, (_, i) =>
            i % 2 === 0 ? repository.set(digest, descriptor) : t.cache.set(digest, descriptor),
          ),
        );
        expect(await repository.stat(digest)).toEqual(descriptor);
        expect(await t.cache.stat(digest)).toEqual(descriptor);
      },
    },
    {
      id: 'concurrency.same-digest-many-repositories',
      title: 'concurrent sets of one digest in many repositories keep each repository its own media type',
      async run(t) {
        const digest = t.digest();
        const names = Array.from({ length: 12 }, (_, i) => t.repositoryName(`r${i}`));
        const typeOf = (i: number): string => `application/vnd.example.r${i}+json`;
        await Promise.all(
          names.map((name, i) => t.cache.repository(name).set(digest, t.descriptor(digest, 64, typeOf(i)))),
        );
        const hits = await Promise.all(names.map((name) => t.cache.repository(name).stat(digest)));
        hits.forEach((hit, i) => {
          expect(hit).toEqual(t.descriptor(digest, 64, typeOf(i)));
        });
        expect((await t.cache.stat(digest))?.size).toBe(64);
      },
    },
    {
      id: 'concurrency.many-digests',
      title: '200 concurrent sets of distinct digests are all hits, then concurrent clears all misses',
      async run(t) {
        const repository = t.repository();
        const digests = Array.from({ length: 200 }, () => t.digest());
        await Promise.all(digests.map((digest, i) => repository.set(digest, t.descriptor(digest, i))));
        const hits = await Promise.all(digests.map((digest) => repository.stat(digest)));
        hits.forEach((hit, i) => {
          expect(hit).toEqual(t.descriptor(digests[i]!, i));
        });
        await Promise.all(
          digests.map((digest, i) => (i % 2 === 0 ? t.cache.clear(digest) : repository.clear(digest))),
        );
        const after = await Promise.all(digests.map((digest) => repository.stat(digest)));
        expect(after.filter((hit) => hit !== undefined)).toEqual([]);
      },
    },
  ],
};

export const sharedTests: CacheSuiteGroup = {
  title: 'shared between instances',
  tests: [
    {
      id: 'shared.set-visible',
      title: 'what one instance sets, a second instance on the same backend sees',
      async run(t) {
        const other = await t.otherInstance();
        const digest = t.digest();
        const name = t.repositoryName();
        await t.cache.repository(name).set(digest, t.descriptor(digest, 17));
        expect(await other.repository(name).stat(digest)).toEqual(t.descriptor(digest, 17));
        expect(await other.stat(digest)).toEqual(t.descriptor(digest, 17));
      },
    },
    {
      id: 'shared.clear-visible',
      title: 'a clear on one instance is a miss on the other at once',
      async run(t) {
        const other = await t.otherInstance();
        const digest = t.digest();
        const name = t.repositoryName();
        await t.cache.repository(name).set(digest, t.descriptor(digest));
        expect(await other.repository(name).stat(digest)).toEqual(t.descriptor(digest));
        await other.clear(digest);
        expect(await t.cache.repository(name).stat(digest)).toBeUndefined();
        expect(await t.cache.stat(digest)).toBeUndefined();
      },
    },
  ],
};

export const statsTests: CacheSuiteGroup = {
  title: 'stats',
  tests: [
    {
      id: 'stats.counters',
      title: 'hits and misses count lookups; errors stay 0 on a healthy backend',
      async run(t) {
        if (t.stats === undefined) return;
        const digest = t.digest();
        const repository = t.repository();
        const before = t.stats();
        expect(await t.cache.stat(digest)).toBeUndefined();
        expect(await repository.stat(digest)).toBeUndefined();
        const afterMisses = t.stats();
        expect(afterMisses.misses - before.misses).toBe(2);
        expect(afterMisses.hits - before.hits).toBe(0);
        await repository.set(digest, t.descriptor(digest));
        expect(await t.cache.stat(digest)).toBeDefined();
        expect(await repository.stat(digest)).toBeDefined();
        const afterHits = t.stats();
        expect(afterHits.hits - afterMisses.hits).toBe(2);
        expect(afterHits.misses - afterMisses.misses).toBe(0);
        expect(afterHits.errors - before.errors).toBe(0);
      },
    },
  ],
};
