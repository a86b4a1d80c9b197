export { type ComposeStep, MAX_COMPOSE_SOURCES, planCompose } from './compose-plan.ts';
export { createGcsDriver, GcsDriver, gcsDriverFactory } from './gcs-driver.ts';
export { PENDING_DIR } from './keys.ts';
export {
  CHUNK_GRANULARITY,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_PAGE_SIZE,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_UPLOAD_CONCURRENCY,
  type GcsAuth,
  type GcsCredentialsOptions,
  type GcsDriverOptions,
  MAX_CHUNK_SIZE,
  MAX_REDIRECT_EXPIRY_SECONDS,
  parseDuration,
  parseGcsParameters,
  type ResolvedGcsDriverOptions,
  resolveGcsOptions,
} from './options.ts';
