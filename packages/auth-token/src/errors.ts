/** Why a token, key or certificate was refused. */
export type TokenErrorCode =
  /** Not three base64url parts with JSON header and claims. */
  | 'TOKEN_MALFORMED'
  /** `alg: none`, an algorithm not in `signingalgorithms`, or one that does not fit the key (HS* with a public key). */
  | 'TOKEN_ALGORITHM_REJECTED'
  /** No `x5c`, `jwk` or `kid` leads to a trusted key. */
  | 'TOKEN_KEY_UNTRUSTED'
  /** The `x5c` chain does not lead to a root of `rootcertbundle` (or a certificate is expired). */
  | 'TOKEN_CHAIN_UNTRUSTED'
  | 'TOKEN_SIGNATURE_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_ISSUER_INVALID'
  | 'TOKEN_AUDIENCE_INVALID'
  /** A missing `exp`, or an `access` claim of the wrong shape. */
  | 'TOKEN_CLAIMS_INVALID'
  /** A key, JWKS or certificate given in the options cannot be used. */
  | 'KEY_INVALID';

/** An error of this package; test `code`, not `instanceof`. */
export class TokenError extends Error {
  override readonly name: 'TokenError' = 'TokenError';
  readonly code: TokenErrorCode;

  constructor(code: TokenErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True when `err` is a {@link TokenError}, optionally with `code`. */
export function isTokenError(err: unknown, code?: TokenErrorCode): err is TokenError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'TokenError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (code === undefined || (err as { code: string }).code === code)
  );
}
