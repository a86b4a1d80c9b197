export { AzureDriver, azureDriverFactory, createAzureDriver } from './azure-driver.ts';
export { MAX_COMMITTED_BLOCKS } from './azure-writer.ts';
export {
  type AzureAuth,
  type AzureCredentialsOptions,
  type AzureCredentialsType,
  type AzureDriverOptions,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_MAX_RETRIES,
  DEFAULT_REALM,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_UPLOAD_CONCURRENCY,
  MAX_BLOCK_SIZE,
  parseAzureParameters,
  parseDuration,
  type ResolvedAzureDriverOptions,
  resolveAzureOptions,
} from './options.ts';
