import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { MAX_SOCKETS, type ResolvedS3DriverOptions } from './options.ts';

/**
 * The `S3Client` for the driver's options: endpoint and addressing style, credentials (given,
 * or the SDK's default chain: environment, shared config/profile, SSO, container and instance
 * metadata), checksum mode, a keep-alive connection pool, and the SDK's standard retries.
 */
export function createS3Client(options: ResolvedS3DriverOptions): S3Client {
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: MAX_SOCKETS, maxFreeSockets: 32 };
  const checksum = options.checksummode === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcepathstyle,
    tls: options.secure,
    useDualstackEndpoint: options.usedualstack,
    useAccelerateEndpoint: options.accelerate,
    requestChecksumCalculation: checksum,
    responseChecksumValidation: checksum,
    maxAttempts: 5,
    requestHandler: {
      connectionTimeout: 10_000,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent({ ...agentOptions, rejectUnauthorized: !options.skipverify }),
    },
  };
  if (options.regionendpoint !== undefined) config.endpoint = options.regionendpoint;
  if (options.accesskey !== undefined && options.secretkey !== undefined) {
    config.credentials = {
      accessKeyId: options.accesskey,
      secretAccessKey: options.secretkey,
      ...(options.sessiontoken === undefined ? {} : { sessionToken: options.sessiontoken }),
    };
  }
  if (options.useragent !== undefined) config.customUserAgent = options.useragent;
  if (options.loglevel !== 'off') config.logger = console;
  return new S3Client(config);
}

/** The HTTP status of an SDK error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

const NOT_FOUND_NAMES: ReadonlySet<string> = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);

/** True when an SDK error says the object (or the multipart upload) does not exist. */
export function isNotFound(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return statusOf(err) === 404 || (typeof name === 'string' && NOT_FOUND_NAMES.has(name));
}
