/** Error codes of this package. */
export type HtpasswdErrorCode =
  | 'HTPASSWD_UNREADABLE'
  | 'HTPASSWD_INVALID'
  | 'BCRYPT_POOL_BUSY'
  | 'BCRYPT_POOL_CLOSED';

/** An error of this package; test `code`, not `instanceof`. */
export class HtpasswdError extends Error {
  override readonly name: 'HtpasswdError' = 'HtpasswdError';
  readonly code: HtpasswdErrorCode;
  /** 1-based line of the file, for `HTPASSWD_INVALID`. */
  readonly line: number | undefined;
  /** The user of that line, when known. */
  readonly user: string | undefined;

  constructor(
    code: HtpasswdErrorCode,
    message: string,
    options: { line?: number; user?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.line = options.line;
    this.user = options.user;
  }
}

/** True when `err` is an {@link HtpasswdError}, optionally with `code`. */
export function isHtpasswdError(err: unknown, code?: HtpasswdErrorCode): err is HtpasswdError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'HtpasswdError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (code === undefined || (err as { code: string }).code === code)
  );
}
