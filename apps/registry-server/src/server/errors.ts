/**
 * The server could not start for a reason the operator can fix (a certificate that cannot be
 * read, an address in use). Printed without a stack trace.
 */
export class StartupError extends Error {
  override readonly name: 'StartupError' = 'StartupError';
  readonly code: 'STARTUP_FAILED' = 'STARTUP_FAILED';
}

/** True for a {@link StartupError} (tested by `code`). */
export function isStartupError(err: unknown): err is StartupError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'STARTUP_FAILED';
}
