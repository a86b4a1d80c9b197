import { describe, expect, it } from 'vitest';
import { ALGORITHMS, isAlgorithm, requireAlgorithm } from './algorithm.ts';
import { isDigestError } from './errors.ts';

describe('algorithms', () => {
  it('lists sha256 then sha512, frozen', () => {
    expect(ALGORITHMS).toEqual(['sha256', 'sha512']);
    expect(Object.isFrozen(ALGORITHMS)).toBe(true);
  });

  it('isAlgorithm accepts exactly the supported names', () => {
    expect(isAlgorithm('sha256')).toBe(true);
    expect(isAlgorithm('sha512')).toBe(true);
    for (const other of ['SHA256', 'sha384', 'sha256 ', 'sha-256', '', null, undefined, 256, {}]) {
      expect(isAlgorithm(other)).toBe(false);
    }
  });

  it('requireAlgorithm throws DIGEST_UNSUPPORTED_ALGORITHM naming the value', () => {
    expect(requireAlgorithm('sha512')).toBe('sha512');
    try {
      requireAlgorithm('md5');
      expect.unreachable();
    } catch (err) {
      expect(isDigestError(err, 'DIGEST_UNSUPPORTED_ALGORITHM')).toBe(true);
      expect((err as Error).message).toBe('unsupported digest algorithm "md5"; supported: sha256, sha512');
    }
    expect(() => requireAlgorithm(() => 'sha256')).toThrow('unsupported digest algorithm a function');
  });
});
