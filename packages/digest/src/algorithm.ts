import { describeValue } from './describe-value.ts';
import { DigestError } from './errors.ts';

/** A digest algorithm this package supports: the two registered in the OCI image spec. */
export type Algorithm = 'sha256' | 'sha512';

/** Every supported {@link Algorithm}, in order of preference (`sha256` is the registry default). */
export const ALGORITHMS: readonly Algorithm[] = Object.freeze(['sha256', 'sha512'] as const);

/**
 * Tells whether `value` is the name of a supported algorithm (`'sha256'` or `'sha512'`, exactly;
 * no case folding). Never throws.
 */
export function isAlgorithm(value: unknown): value is Algorithm {
  return value === 'sha256' || value === 'sha512';
}

/**
 * Returns `algorithm` if it is supported; throws `DIGEST_UNSUPPORTED_ALGORITHM` otherwise.
 * Internal guard for functions that take an algorithm from (possibly untyped) callers.
 */
export function requireAlgorithm(algorithm: unknown): Algorithm {
  if (isAlgorithm(algorithm)) return algorithm;
  throw new DigestError(
    'DIGEST_UNSUPPORTED_ALGORITHM',
    `unsupported digest algorithm ${describeValue(algorithm)}; supported: ${ALGORITHMS.join(', ')}`,
  );
}
