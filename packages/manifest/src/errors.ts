/**
 * The machine-readable codes a {@link ManifestError} can carry.
 *
 * - `MANIFEST_INVALID`: the bytes are not a well-formed manifest of the resolved type; `pointer` names the field.
 * - `MANIFEST_TOO_LARGE`: the manifest is larger than the configured size limit.
 * - `MANIFEST_UNSUPPORTED`: the media type is unknown, not a manifest type, or deliberately unsupported
 *   (Docker schema1).
 */
export type ManifestErrorCode = 'MANIFEST_INVALID' | 'MANIFEST_TOO_LARGE' | 'MANIFEST_UNSUPPORTED';

const CODES: ReadonlySet<string> = new Set<ManifestErrorCode>([
  'MANIFEST_INVALID',
  'MANIFEST_TOO_LARGE',
  'MANIFEST_UNSUPPORTED',
]);

/** Extra details attached to a {@link ManifestError}. */
export interface ManifestErrorOptions {
  /** JSON pointer (RFC 6901) of the offending field; `''` means the whole document. */
  pointer?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The only error type thrown by this package for bad input.
 *
 * Match on `code` (or use {@link isManifestError}); never rely on `instanceof`, since several copies of
 * this package may be loaded at once.
 */
export class ManifestError extends Error {
  override readonly name: string = 'ManifestError';
  /** What went wrong, as a stable machine-readable code. */
  readonly code: ManifestErrorCode;
  /**
   * For `MANIFEST_INVALID`: the JSON pointer of the offending field, e.g. `/layers/2/digest`
   * (`''` for the document as a whole). `undefined` for the other codes.
   */
  readonly pointer: string | undefined;

  /**
   * @param code - the error code.
   * @param message - a human-readable message naming the field (if any) and the problem.
   * @param options - the JSON pointer and/or cause.
   */
  constructor(code: ManifestErrorCode, message: string, options: ManifestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.pointer = options.pointer;
  }
}

/**
 * Tells whether `value` is a {@link ManifestError}, optionally with a specific code. It tests the
 * `code` property, so it also recognises errors created by another copy of this package.
 *
 * @example
 * ```ts
 * try {
 *   parseManifest(body);
 * } catch (err) {
 *   if (isManifestError(err, 'MANIFEST_INVALID')) console.log(err.pointer);
 * }
 * ```
 */
export function isManifestError(value: unknown, code?: ManifestErrorCode): value is ManifestError {
  if (typeof value !== 'object' || value === null) return false;
  const actual: unknown = (value as { code?: unknown }).code;
  if (typeof actual !== 'string' || !CODES.has(actual)) return false;
  return code === undefined || actual === code;
}
