import { createHash } from 'node:crypto';
import { type Algorithm, requireAlgorithm } from './algorithm.ts';
import { requireBytes } from './bytes.ts';
import { DigestError } from './errors.ts';
import type { Digest } from './parse-digest.ts';

/**
 * An incremental hasher over node:crypto. Fast, but its state cannot be saved; use
 * `createResumableHasher` when hashing must continue in another process.
 */
export interface Digester {
  /** The algorithm this digester computes. */
  readonly algorithm: Algorithm;
  /** Number of bytes passed to `update()` so far. */
  readonly size: number;
  /**
   * Hashes `chunk` (which may be reused by the caller once this returns).
   * @throws {DigestError} `HASHER_FINALIZED` after `digest()`.
   * @throws {TypeError} when `chunk` is not a `Uint8Array`.
   */
  update(chunk: Uint8Array): void;
  /**
   * Finalizes and returns the digest of everything passed to `update()`. The digester cannot be
   * used again afterwards.
   * @throws {DigestError} `HASHER_FINALIZED` when called a second time.
   */
  digest(): Digest;
}

/**
 * Creates an incremental {@link Digester} backed by node:crypto.
 *
 * @param algorithm - `'sha256'` (default) or `'sha512'`.
 * @throws {DigestError} `DIGEST_UNSUPPORTED_ALGORITHM` for any other algorithm.
 *
 * @example
 * ```ts
 * const d = createDigester('sha256');
 * for await (const chunk of request) d.update(chunk);
 * console.log(d.digest(), d.size);
 * ```
 */
export function createDigester(algorithm: Algorithm = 'sha256'): Digester {
  const alg = requireAlgorithm(algorithm);
  const hash = createHash(alg);
  let size = 0;
  let finalized = false;
  const ensureOpen = (what: string) => {
    if (finalized)
      throw new DigestError('HASHER_FINALIZED', `${what} called after digest() on a ${alg} digester`);
  };
  return {
    algorithm: alg,
    get size() {
      return size;
    },
    update(chunk: Uint8Array): void {
      ensureOpen('update()');
      requireBytes(chunk, 'Digester.update()');
      hash.update(chunk);
      size += chunk.length;
    },
    digest(): Digest {
      ensureOpen('digest()');
      finalized = true;
      return `${alg}:${hash.digest('hex')}` as Digest;
    },
  };
}
