/**
 * The entry points, kept free of the AWS SDK: validating a `storage.s3` section (the server and
 * `berth verify` do it at start) loads only this package's options code; the SDK is imported
 * when a driver is created.
 */
import {
  type BaseOptions,
  type StorageDriver,
  type StorageDriverFactory,
  withBase,
} from '@berth/storage-driver';
import {
  parseS3Parameters,
  type ResolvedS3DriverOptions,
  resolveS3Options,
  type S3DriverOptions,
} from './options.ts';

/**
 * Creates an S3 driver, already wrapped with `withBase` (path validation, error codes, writer
 * states). No request is made until it is used.
 *
 * @example
 * ```ts
 * const driver = await createS3Driver({
 *   bucket: 'registry',
 *   regionendpoint: 'http://127.0.0.1:7480',
 *   accesskey: 'AKIA…',
 *   secretkey: '…',
 * });
 * await driver.putContent('/hello', new TextEncoder().encode('world'));
 * ```
 * @throws {InvalidParameterError} naming the offending option.
 */
export async function createS3Driver(options: S3DriverOptions, base?: BaseOptions): Promise<StorageDriver> {
  const resolved = resolveS3Options(options);
  const { S3Driver } = await import('./s3-driver.ts');
  return withBase(new S3Driver(resolved), base);
}

/**
 * The factory for `storage.s3` (and registry:2's older name, `s3aws`).
 *
 * @example
 * ```ts
 * const options = s3DriverFactory.parseParameters({ bucket: 'registry', region: 'eu-west-1' });
 * const driver = await s3DriverFactory.create(options);
 * ```
 */
export const s3DriverFactory: StorageDriverFactory<ResolvedS3DriverOptions> = {
  name: 's3',
  parseParameters(raw: Readonly<Record<string, unknown>>): ResolvedS3DriverOptions {
    return parseS3Parameters(raw);
  },
  async create(options: ResolvedS3DriverOptions): Promise<StorageDriver> {
    const { S3Driver } = await import('./s3-driver.ts');
    return withBase(new S3Driver(options));
  },
};
