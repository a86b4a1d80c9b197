/**
 * Every way a storage operation can fail, as a string code.
 *
 * - `PATH_NOT_FOUND`: nothing is stored at the path (or, for `writer({ append: true })`, there is
 *   neither a pending write nor a committed file to continue).
 * - `INVALID_PATH`: the path does not match {@link PATH_PATTERN} or has a `.`/`..` component.
 * - `INVALID_OFFSET`: a reader offset that is negative or not an integer.
 * - `WRITER_CLOSED`: a writer was used after `close()`, `commit()` or `cancel()` ended it.
 * - `UNSUPPORTED`: the driver cannot do this (for example `move` of a directory).
 * - `ABORTED`: the caller's `AbortSignal` fired.
 * - `INVALID_PARAMETER`: a driver option is missing or malformed (see {@link InvalidParameterError}).
 * - `DRIVER_ERROR`: anything else the backend reported; the original error is the `cause`.
 */
export type StorageDriverErrorCode =
  | 'PATH_NOT_FOUND'
  | 'INVALID_PATH'
  | 'INVALID_OFFSET'
  | 'WRITER_CLOSED'
  | 'UNSUPPORTED'
  | 'ABORTED'
  | 'INVALID_PARAMETER'
  | 'DRIVER_ERROR';

const CODES: ReadonlySet<string> = new Set<StorageDriverErrorCode>([
  'PATH_NOT_FOUND',
  'INVALID_PATH',
  'INVALID_OFFSET',
  'WRITER_CLOSED',
  'UNSUPPORTED',
  'ABORTED',
  'INVALID_PARAMETER',
  'DRIVER_ERROR',
]);

/** Extra facts attached to a {@link StorageDriverError}. */
export interface StorageDriverErrorDetails {
  /** The storage path the operation was about. */
  path?: string;
  /** The `name` of the driver that failed, set by `withBase()`. */
  driver?: string;
  /** The underlying error (SDK or system error). */
  cause?: unknown;
}

/**
 * The one error type storage drivers throw. Test `code`, never `instanceof`: independently
 * versioned packages may load this class twice.
 *
 * @example
 * ```ts
 * try {
 *   await driver.getContent('/missing');
 * } catch (err) {
 *   if (isStorageDriverError(err, 'PATH_NOT_FOUND')) return undefined;
 *   throw err;
 * }
 * ```
 */
export class StorageDriverError extends Error {
  override readonly name: 'StorageDriverError' = 'StorageDriverError';
  readonly code: StorageDriverErrorCode;
  readonly path: string | undefined;
  readonly driver: string | undefined;

  constructor(code: StorageDriverErrorCode, message: string, details: StorageDriverErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.path = details.path;
    this.driver = details.driver;
  }
}

/**
 * True when `err` is a storage driver error (from any copy of this package), optionally with
 * the given code.
 */
export function isStorageDriverError(err: unknown, code?: StorageDriverErrorCode): err is StorageDriverError {
  if (typeof err !== 'object' || err === null) return false;
  const candidate = err as { name?: unknown; code?: unknown };
  if (candidate.name !== 'StorageDriverError' || typeof candidate.code !== 'string') return false;
  if (!CODES.has(candidate.code)) return false;
  return code === undefined || candidate.code === code;
}

/** Shorthand for `isStorageDriverError(err, 'PATH_NOT_FOUND')`. */
export function isPathNotFound(err: unknown): err is StorageDriverError {
  return isStorageDriverError(err, 'PATH_NOT_FOUND');
}

/** Creates the `PATH_NOT_FOUND` error for `path`. */
export function pathNotFound(path: string, cause?: unknown): StorageDriverError {
  return new StorageDriverError('PATH_NOT_FOUND', `path not found: ${path}`, { path, cause });
}

/** Creates the `WRITER_CLOSED` error for a writer on `path` that was already ended. */
export function writerClosed(path: string, how: 'closed' | 'committed' | 'cancelled'): StorageDriverError {
  return new StorageDriverError('WRITER_CLOSED', `writer for ${path} was already ${how}`, { path });
}

/**
 * A driver option that is missing or malformed. `parameter` is the option's key as written in
 * `config.yml` (for example `rootdirectory`), so the server can report `storage.filesystem.rootdirectory`.
 */
export class InvalidParameterError extends StorageDriverError {
  readonly parameter: string;

  constructor(parameter: string, problem: string) {
    super('INVALID_PARAMETER', `${parameter}: ${problem}`);
    this.parameter = parameter;
  }
}
