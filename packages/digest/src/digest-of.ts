import { hash } from 'node:crypto';
import { type Algorithm, requireAlgorithm } from './algorithm.ts';
import { requireBytes } from './bytes.ts';
import type { Digest } from './parse-digest.ts';

/**
 * Computes the digest of a complete byte sequence in one call, with node:crypto (native, uses the
 * CPU's SHA extensions where available).
 *
 * @param bytes - the content; a `Buffer` is a `Uint8Array` and works as is. Strings are not accepted:
 *   digests are over exact bytes, so encode text yourself.
 * @param algorithm - `'sha256'` (default) or `'sha512'`.
 * @returns the digest, e.g. `sha256:ba7816bf...`.
 * @throws {DigestError} `DIGEST_UNSUPPORTED_ALGORITHM` for any other algorithm.
 * @throws {TypeError} when `bytes` is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * digestOf(new TextEncoder().encode('abc'));
 * // 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export function digestOf(bytes: Uint8Array, algorithm: Algorithm = 'sha256'): Digest {
  const alg = requireAlgorithm(algorithm);
  requireBytes(bytes, 'digestOf()');
  return `${alg}:${hash(alg, bytes, 'hex')}` as Digest;
}
