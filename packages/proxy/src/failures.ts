/**
 * How an upstream's failure is answered to the client: with the cause (rate limit, outage,
 * refused credentials) rather than registry:2's misleading `404 MANIFEST_UNKNOWN`.
 */
import { RegistryError } from '@berth/registry-core';
import { isUpstreamError } from './errors.ts';

/** Whether `error` is the upstream failing (as opposed to an answer such as 404). */
export function isUpstreamFailure(error: unknown): boolean {
  return isUpstreamError(error);
}

/**
 * The registry error for a failed upstream request: `429 TOOMANYREQUESTS` (with the upstream's
 * `Retry-After`), `503 UNAVAILABLE` when it cannot be reached, `502 UNAVAILABLE` for any other
 * failure (5xx, refused credentials, a broken answer). Anything else is returned as it is.
 */
export function failureResponse(error: unknown, what: string): unknown {
  if (!isUpstreamError(error)) return error;
  const detail = { upstream: error.message, ...(error.status === undefined ? {} : { status: error.status }) };
  switch (error.code) {
    case 'UPSTREAM_TOO_MANY_REQUESTS':
      return new RegistryError(
        'TOOMANYREQUESTS',
        `${what}: the upstream is rate limiting (HTTP 429)`,
        detail,
        {
          cause: error,
          ...(error.retryAfterSeconds === undefined
            ? {}
            : { headers: { 'Retry-After': String(error.retryAfterSeconds) } }),
        },
      );
    case 'UPSTREAM_UNREACHABLE':
      return new RegistryError('UNAVAILABLE', `${what}: the upstream cannot be reached`, detail, {
        cause: error,
      });
    case 'UPSTREAM_UNAUTHORIZED':
      return new RegistryError(
        'UNAVAILABLE',
        `${what}: the upstream refused the mirror's credentials`,
        detail,
        {
          status: 502,
          cause: error,
        },
      );
    default:
      return new RegistryError('UNAVAILABLE', `${what}: the upstream failed`, detail, {
        status: 502,
        cause: error,
      });
  }
}
