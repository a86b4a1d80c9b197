/** The HTTP status of an SDK error (`ApiError.code`), if it has one. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  const status = (error as { response?: { status?: unknown } } | null)?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * A 404 about an object (or a compose or copy source). A missing *bucket* is a configuration
 * problem, not a missing path, and stays an error.
 */
export function isNotFound(error: unknown): boolean {
  if (statusOf(error) !== 404) return false;
  const message = (error as { message?: unknown } | null)?.message;
  return !(typeof message === 'string' && /bucket does not exist/i.test(message));
}
