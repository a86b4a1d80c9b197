import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHMS } from './algorithm.ts';
import { createDigester } from './digester.ts';
import { isDigestError } from './errors.ts';
import { VECTORS, vectorBytes } from './test-support/vectors.ts';

describe('createDigester', () => {
  it('matches the published vectors when fed one byte at a time and in one piece', () => {
    for (const v of VECTORS.slice(0, 3)) {
      for (const algorithm of ALGORITHMS) {
        const bytes = vectorBytes(v);
        const oneByOne = createDigester(algorithm);
        for (let i = 0; i < bytes.length; i++) oneByOne.update(bytes.subarray(i, i + 1));
        const whole = createDigester(algorithm);
        whole.update(bytes);
        expect(oneByOne.digest()).toBe(`${algorithm}:${v.digests[algorithm]}`);
        expect(whole.digest()).toBe(`${algorithm}:${v.digests[algorithm]}`);
        expect(oneByOne.size).toBe(bytes.length);
      }
    }
  });

  it('counts bytes and equals node:crypto for random chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 })),
        fc.constantFrom(...ALGORITHMS),
        (chunks, algorithm) => {
          const d = createDigester(algorithm);
          const reference = createHash(algorithm);
          let total = 0;
          for (const chunk of chunks) {
            d.update(chunk);
            reference.update(chunk);
            total += chunk.length;
            expect(d.size).toBe(total);
          }
          expect(d.digest()).toBe(`${algorithm}:${reference.digest('hex')}`);
          expect(d.algorithm).toBe(algorithm);
        },
      ),
    );
  });

  it('is finalized by digest()', () => {
    const d = createDigester();
    d.update(new Uint8Array([1]));
    d.digest();
    expect(d.size).toBe(1);
    for (const use of [() => d.update(new Uint8Array([2])), () => d.digest()]) {
      try {
        use();
        expect.unreachable();
      } catch (err) {
        expect(isDigestError(err, 'HASHER_FINALIZED')).toBe(true);
      }
    }
  });

  it('rejects non-bytes and unsupported algorithms', () => {
    expect(() => createDigester().update('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => createDigester('md5' as 'sha256')).toThrow(/unsupported digest algorithm "md5"/);
  });
});
