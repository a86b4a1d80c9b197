/**
 * The machine-readable codes a {@link DigestError} can carry.
 *
 * - `DIGEST_INVALID`: the string is not a digest per the OCI grammar, or its encoded part has the
 *   wrong length or characters for its (registered) algorithm. Also used for non-string input.
 * - `DIGEST_UNSUPPORTED_ALGORITHM`: the string is grammatical but names an algorithm other than
 *   `sha256` or `sha512`; likewise an unknown algorithm name passed to a hashing function.
 * - `DIGEST_MISMATCH`: content hashed to a different digest than the one expected.
 * - `HASH_STATE_INVALID`: a saved resumable-hash state is truncated, corrupted, of an unknown format
 *   version, or not what the caller said to expect.
 * - `HASHER_FINALIZED`: a digester or resumable hasher was used after `digest()` finalized it.
 * - `HASH_ENGINE_INCOMPATIBLE`: the installed `hash-wasm` build keeps its hash state in a layout this
 *   package does not recognise (only possible after a `hash-wasm` upgrade); resumable hashing is
 *   refused rather than risk a wrong digest.
 */
export type DigestErrorCode =
  | 'DIGEST_INVALID'
  | 'DIGEST_UNSUPPORTED_ALGORITHM'
  | 'DIGEST_MISMATCH'
  | 'HASH_STATE_INVALID'
  | 'HASHER_FINALIZED'
  | 'HASH_ENGINE_INCOMPATIBLE';

const CODES: ReadonlySet<string> = new Set<DigestErrorCode>([
  'DIGEST_INVALID',
  'DIGEST_UNSUPPORTED_ALGORITHM',
  'DIGEST_MISMATCH',
  'HASH_STATE_INVALID',
  'HASHER_FINALIZED',
  'HASH_ENGINE_INCOMPATIBLE',
]);

/** Extra details attached to a {@link DigestError}. */
export interface DigestErrorOptions {
  /** For `DIGEST_MISMATCH`: the digest the caller expected. */
  expected?: string;
  /** For `DIGEST_MISMATCH`: the digest the content actually has. */
  actual?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The one error type this package throws for bad input, bad state and content mismatches.
 *
 * Match on `code` (or use {@link isDigestError}); never rely on `instanceof`, since several copies of
 * this package may be loaded at once.
 *
 * @example
 * ```ts
 * try {
 *   await verify(stream, expected);
 * } catch (err) {
 *   if (isDigestError(err, 'DIGEST_MISMATCH')) console.log(err.expected, err.actual);
 *   throw err;
 * }
 * ```
 */
export class DigestError extends Error {
  override readonly name: 'DigestError' = 'DigestError';
  /** What went wrong, as a stable machine-readable code. */
  readonly code: DigestErrorCode;
  /** For `DIGEST_MISMATCH`: the expected digest; otherwise `undefined`. */
  readonly expected: string | undefined;
  /** For `DIGEST_MISMATCH`: the digest the content actually has; otherwise `undefined`. */
  readonly actual: string | undefined;

  /**
   * @param code - the error code.
   * @param message - a human-readable message naming the problem precisely.
   * @param options - mismatch details and/or the cause.
   */
  constructor(code: DigestErrorCode, message: string, options: DigestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.expected = options.expected;
    this.actual = options.actual;
  }
}

/**
 * Tells whether `value` is a {@link DigestError} (from any copy of this package), optionally with a
 * specific code. It checks `name === 'DigestError'` and that `code` is one of {@link DigestErrorCode},
 * never `instanceof`.
 *
 * @example
 * ```ts
 * if (isDigestError(err, 'DIGEST_INVALID')) return badRequest(err.message);
 * ```
 */
export function isDigestError(value: unknown, code?: DigestErrorCode): value is DigestError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; code?: unknown };
  if (candidate.name !== 'DigestError') return false;
  const actual = candidate.code;
  if (typeof actual !== 'string' || !CODES.has(actual)) return false;
  return code === undefined || actual === code;
}
