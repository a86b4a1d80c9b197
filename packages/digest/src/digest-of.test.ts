import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHMS } from './algorithm.ts';
import { digestOf } from './digest-of.ts';
import { isDigestError } from './errors.ts';
import { isDigest, parseDigest } from './parse-digest.ts';
import { VECTORS, vectorBytes } from './test-support/vectors.ts';

describe('digestOf', () => {
  for (const v of VECTORS) {
    for (const algorithm of ALGORITHMS) {
      it(`${algorithm} of ${v.name} matches the published digest`, () => {
        expect(digestOf(vectorBytes(v), algorithm)).toBe(`${algorithm}:${v.digests[algorithm]}`);
      });
    }
  }

  it('defaults to sha256', () => {
    expect(digestOf(new Uint8Array(0))).toBe(`sha256:${VECTORS[0]!.digests.sha256}`);
  });

  it('hashes exactly the viewed bytes of a subarray or Buffer', () => {
    const big = new TextEncoder().encode('xxabcxx');
    expect(digestOf(big.subarray(2, 5))).toBe(`sha256:${VECTORS[1]!.digests.sha256}`);
    expect(digestOf(Buffer.from('abc'), 'sha512')).toBe(`sha512:${VECTORS[1]!.digests.sha512}`);
  });

  it('rejects unsupported algorithms with DIGEST_UNSUPPORTED_ALGORITHM', () => {
    for (const bad of ['md5', 'SHA256', 'sha384', '']) {
      let caught: unknown;
      try {
        digestOf(new Uint8Array(1), bad as 'sha256');
      } catch (err) {
        caught = err;
      }
      expect(isDigestError(caught, 'DIGEST_UNSUPPORTED_ALGORITHM')).toBe(true);
      expect((caught as Error).message).toContain(JSON.stringify(bad));
    }
  });

  it('rejects strings with a TypeError', () => {
    expect(() => digestOf('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('always produces a valid digest that parses back to itself', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom(...ALGORITHMS), (bytes, algorithm) => {
        const d = digestOf(bytes, algorithm);
        expect(isDigest(d)).toBe(true);
        expect(parseDigest(d)).toEqual({ algorithm, encoded: d.slice(algorithm.length + 1), digest: d });
      }),
    );
  });

  it('gives different digests for different content', () => {
    const a = randomBytes(100);
    const b = Buffer.from(a);
    b[50]! ^= 1;
    expect(digestOf(a)).not.toBe(digestOf(b));
  });
});
