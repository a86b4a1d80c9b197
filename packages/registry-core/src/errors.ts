/**
 * The OCI / registry:2 error codes, each with its HTTP status and default message. One table,
 * rendered once by the app's error handler.
 */
/** A registry error code, e.g. `BLOB_UNKNOWN`. */
export type RegistryErrorCode =
  | 'UNKNOWN'
  | 'UNSUPPORTED'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNAVAILABLE'
  | 'TOOMANYREQUESTS'
  | 'DIGEST_INVALID'
  | 'SIZE_INVALID'
  | 'RANGE_INVALID'
  | 'NAME_INVALID'
  | 'TAG_INVALID'
  | 'NAME_UNKNOWN'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNVERIFIED'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'PAGINATION_NUMBER_INVALID';

/** The HTTP status and default message of an error code. */
export interface ErrorDescriptor {
  readonly status: number;
  readonly message: string;
}

export const ERROR_DESCRIPTORS: Readonly<Record<RegistryErrorCode, ErrorDescriptor>> = {
  UNKNOWN: { status: 500, message: 'unknown error' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNVERIFIED: { status: 400, message: 'manifest failed signature verification' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'blob unknown to registry' },
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 404, message: 'blob upload invalid' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
};

/** One entry of the OCI error envelope `{"errors":[…]}`. */
export interface RegistryErrorEntry {
  readonly code: RegistryErrorCode;
  readonly message: string;
  readonly detail?: unknown;
}

/** Options of {@link RegistryError}. */
export interface RegistryErrorOptions {
  /** Overrides the descriptor's status (the spec answers an oversized manifest with 413). */
  status?: number;
  /** Further entries rendered after the first, e.g. one `MANIFEST_BLOB_UNKNOWN` per digest. */
  more?: readonly RegistryErrorEntry[];
  /** Extra response headers (e.g. `WWW-Authenticate` on a challenge). */
  headers?: Readonly<Record<string, string>>;
  cause?: unknown;
}

/**
 * An error a handler throws to answer with the OCI error envelope. The HTTP status is the first
 * entry's, as registry:2 does.
 *
 * @example
 * ```ts
 * throw new RegistryError('BLOB_UNKNOWN', undefined, { digest });
 * ```
 */
export class RegistryError extends Error {
  override readonly name: 'RegistryError' = 'RegistryError';
  readonly code: RegistryErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly entries: readonly RegistryErrorEntry[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: RegistryErrorCode,
    message?: string,
    detail?: unknown,
    options: RegistryErrorOptions = {},
  ) {
    const text = message ?? ERROR_DESCRIPTORS[code].message;
    super(text, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? ERROR_DESCRIPTORS[code].status;
    this.detail = detail;
    const first: RegistryErrorEntry =
      detail === undefined ? { code, message: text } : { code, message: text, detail };
    this.entries = [first, ...(options.more ?? [])];
    this.headers = options.headers ?? {};
  }

  /** The JSON body: `{"errors":[{"code","message","detail"}]}`. */
  toJSON(): { errors: readonly RegistryErrorEntry[] } {
    return { errors: this.entries };
  }
}

/** True when `err` is a {@link RegistryError} (from any copy of this package). */
export function isRegistryError(err: unknown): err is RegistryError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'RegistryError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    Object.hasOwn(ERROR_DESCRIPTORS, (err as { code: string }).code)
  );
}
