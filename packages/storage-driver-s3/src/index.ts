// Nothing here imports the AWS SDK (see factory.ts): `S3Driver` is exported as a type only.
export { createS3Driver, s3DriverFactory } from './factory.ts';
export { HIDDEN_DIR, KeyMapper } from './keys.ts';
export {
  type ChecksumMode,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MULTIPART_COPY_CHUNK_SIZE,
  DEFAULT_MULTIPART_COPY_MAX_CONCURRENCY,
  DEFAULT_MULTIPART_COPY_THRESHOLD_SIZE,
  DEFAULT_REDIRECT_EXPIRY_SECONDS,
  MAX_PART_SIZE,
  MAX_PARTS_IN_FLIGHT,
  MAX_REDIRECT_EXPIRY_SECONDS,
  MAX_SOCKETS,
  MIN_PART_SIZE,
  parseS3Parameters,
  type ResolvedS3DriverOptions,
  resolveS3Options,
  S3_PARAMETER_KEYS,
  type S3DriverOptions,
} from './options.ts';
export type { S3Driver } from './s3-driver.ts';
