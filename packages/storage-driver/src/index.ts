export {
  InvalidParameterError,
  isPathNotFound,
  isStorageDriverError,
  pathNotFound,
  StorageDriverError,
  type StorageDriverErrorCode,
  type StorageDriverErrorDetails,
  writerClosed,
} from './errors.ts';
export { createInMemoryDriver, type InMemoryDriverOptions, inMemoryDriverFactory } from './memory-driver.ts';
export { booleanParameter, type IntegerBounds, integerParameter, stringParameter } from './parameters.ts';
export {
  assertValidPath,
  baseName,
  comparePaths,
  isValidPath,
  isWithin,
  joinPath,
  PATH_PATTERN,
  parentPath,
  ROOT_PATH,
} from './paths.ts';
export {
  normalizeRedirectBaseUrl,
  type RedirectMiddlewareOptions,
  redirectMiddlewareFactory,
  withRedirectMiddleware,
} from './redirect-middleware.ts';
export type {
  FileInfo,
  FileWriter,
  OperationOptions,
  PutContentOptions,
  ReaderOptions,
  RedirectOptions,
  StorageDriver,
  StorageDriverFactory,
  StorageMiddlewareFactory,
  WalkOptions,
  WriterOptions,
} from './types.ts';
export { walkFallback } from './walk-fallback.ts';
export { type BaseOptions, type OperationEvent, toStorageDriverError, withBase } from './with-base.ts';
export { writeFrom } from './write-from.ts';
