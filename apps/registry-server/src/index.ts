export { formatDuration, parseDuration } from './config/duration.ts';
export { ConfigError, isConfigError } from './config/errors.ts';
export { invocationDirectory } from './config/invocation.ts';
export {
  DEFAULT_CONFIG_YAML,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  parseConfig,
} from './config/load.ts';
export type {
  BerthConfig,
  ClientAuth,
  HealthConfig,
  HttpConfig,
  LogConfig,
  LogFormatter,
  LogLevel,
  MiddlewareConfig,
  MinimumTls,
  StorageConfig,
  StorageDriverConfig,
  StorageMiddlewareConfig,
  TlsConfig,
  UploadPurgingConfig,
  ValidationConfig,
} from './config/types.ts';
export {
  type AvailableDriver,
  type AvailableMiddleware,
  type DriverEntry,
  type MiddlewareEntry,
  type MissingDriver,
  type MissingMiddleware,
  STORAGE_DRIVERS,
  STORAGE_MIDDLEWARES,
} from './drivers.ts';
export {
  type AccessEntry,
  createLogger,
  createMemorySink,
  createStdoutSink,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogSink,
} from './log/logger.ts';
export {
  type OpenedBlobDescriptorCache,
  type OpenedChangeFeed,
  openBlobDescriptorCache,
  openChangeFeed,
} from './server/blob-cache.ts';
export { isStartupError, StartupError } from './server/errors.ts';
export { type PeriodicCheck, storageDriverCheck } from './server/health.ts';
export { type RunningServer, type StartServerOptions, startServer } from './server/start.ts';
