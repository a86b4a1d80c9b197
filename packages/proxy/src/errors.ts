/** The `code` of an {@link UpstreamError}. */
export type UpstreamErrorCode =
  /** The options are contradictory or out of range (thrown at creation, naming the option). */
  | 'UPSTREAM_INVALID_OPTIONS'
  /** The upstream cannot be reached (refused, reset, DNS, TLS) or did not answer in time. */
  | 'UPSTREAM_UNREACHABLE'
  /** The upstream answered 429. `retryAfterSeconds` carries its `Retry-After`, if any. */
  | 'UPSTREAM_TOO_MANY_REQUESTS'
  /** The upstream refused the credentials, or its token endpoint did (401/403 after auth). */
  | 'UPSTREAM_UNAUTHORIZED'
  /** The upstream answered 5xx or another status the proxy cannot use. */
  | 'UPSTREAM_ERROR'
  /** The upstream's answer breaks the protocol (a bad challenge, token or redirect). */
  | 'UPSTREAM_INVALID_RESPONSE';

/** Options of {@link UpstreamError}. */
export interface UpstreamErrorOptions {
  /** The upstream's HTTP status, when it answered. */
  readonly status?: number;
  /** The upstream's `Retry-After` in seconds (429 and 503). */
  readonly retryAfterSeconds?: number;
  readonly cause?: unknown;
}

/**
 * The error of this package: test `code`, never `instanceof` (the package may be installed
 * twice). Messages name the upstream and what failed, never a credential or a token.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  readonly code: UpstreamErrorCode;
  /** The upstream's HTTP status, when it answered. */
  readonly status: number | undefined;
  /** The upstream's `Retry-After` in seconds, when it sent one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: UpstreamErrorCode, message: string, options: UpstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

const CODES: ReadonlySet<string> = new Set<UpstreamErrorCode>([
  'UPSTREAM_INVALID_OPTIONS',
  'UPSTREAM_UNREACHABLE',
  'UPSTREAM_TOO_MANY_REQUESTS',
  'UPSTREAM_UNAUTHORIZED',
  'UPSTREAM_ERROR',
  'UPSTREAM_INVALID_RESPONSE',
]);

/** Whether `error` is an {@link UpstreamError} (by `name` and `code`, not `instanceof`). */
export function isUpstreamError(error: unknown): error is UpstreamError {
  return (
    error instanceof Error &&
    error.name === 'UpstreamError' &&
    CODES.has((error as { code?: unknown }).code as string)
  );
}
