/** The HTTP status of an SDK error (`RestError.statusCode`), if it has one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The service's error code (`BlobNotFound`, `InvalidRange`, …), if the response carried one. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown; details?: { errorCode?: unknown } } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A 404 about the blob (or the source of a copy). A missing *container* is a configuration
 * problem, not a missing path, and stays an error (responses to HEAD carry no code, so those
 * count as the blob).
 */
export function isNotFound(error: unknown): boolean {
  const code = codeOf(error);
  if (code === 'CannotVerifyCopySource') return true;
  return statusOf(error) === 404 && code !== 'ContainerNotFound';
}
