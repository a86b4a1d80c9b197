/** The `code` of a {@link RedisCacheError}. */
export type RedisCacheErrorCode =
  /** The options are contradictory or out of range (thrown at creation, naming the option). */
  | 'REDIS_CACHE_INVALID_OPTIONS'
  /** A TLS file named in the options cannot be read. */
  | 'REDIS_CACHE_TLS_FILE'
  /** Redis cannot be reached or answered with an error. */
  | 'REDIS_CACHE_UNAVAILABLE'
  /** Redis did not answer within the timeout. */
  | 'REDIS_CACHE_TIMEOUT'
  /** The cache was closed. */
  | 'REDIS_CACHE_CLOSED';

/** Options of {@link RedisCacheError}. */
export interface RedisCacheErrorOptions {
  readonly cause?: unknown;
}

/**
 * The error of this package: test `code`, never `instanceof` (the package may be installed
 * twice). Lookups and writes of the cache never throw it; `health()` rejects with it, the
 * outage listeners receive it, and creation throws it for invalid options.
 */
export class RedisCacheError extends Error {
  override readonly name = 'RedisCacheError';
  readonly code: RedisCacheErrorCode;

  constructor(code: RedisCacheErrorCode, message: string, options: RedisCacheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

const CODES: ReadonlySet<string> = new Set<RedisCacheErrorCode>([
  'REDIS_CACHE_INVALID_OPTIONS',
  'REDIS_CACHE_TLS_FILE',
  'REDIS_CACHE_UNAVAILABLE',
  'REDIS_CACHE_TIMEOUT',
  'REDIS_CACHE_CLOSED',
]);

/** Whether `error` is a {@link RedisCacheError} (by its `code`, from any copy of this package). */
export function isRedisCacheError(error: unknown): error is RedisCacheError {
  if (!(error instanceof Error)) return false;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' && CODES.has(code);
}
