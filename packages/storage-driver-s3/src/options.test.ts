import './test-support/sdk-conditions.ts';
import { isStorageDriverError } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { createS3Client } from './client.ts';
import { s3DriverFactory } from './factory.ts';
import { parseS3Parameters } from './options.ts';

const MiB = 1024 * 1024;

/** The `parameter` of the InvalidParameterError `fn` throws. */
function rejectedKey(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isStorageDriverError(err, 'INVALID_PARAMETER'), String(err)).toBe(true);
    return (err as { parameter: string }).parameter;
  }
  throw new Error('expected an InvalidParameterError');
}

describe('parseS3Parameters', () => {
  it('fills in registry:2 defaults for Amazon S3', () => {
    expect(parseS3Parameters({ bucket: 'registry', region: 'eu-west-1' })).toEqual({
      accesskey: undefined,
      secretkey: undefined,
      sessiontoken: undefined,
      region: 'eu-west-1',
      regionendpoint: undefined,
      forcepathstyle: false,
      bucket: 'registry',
      rootdirectory: '',
      encrypt: false,
      keyid: undefined,
      secure: true,
      skipverify: false,
      v4auth: true,
      chunksize: 10 * MiB,
      multipartcopychunksize: 32 * MiB,
      multipartcopymaxconcurrency: 100,
      multipartcopythresholdsize: 32 * MiB,
      storageclass: 'STANDARD',
      useragent: undefined,
      usedualstack: false,
      accelerate: false,
      objectacl: 'private',
      loglevel: 'off',
      checksummode: 'when_supported',
      redirectexpiry: 1200,
    });
  });

  it('defaults to path style and when_required checksums for an S3-compatible endpoint', () => {
    const options = parseS3Parameters({ bucket: 'b', regionendpoint: 'http://minio:9000' });
    expect(options).toMatchObject({
      region: 'us-east-1',
      regionendpoint: 'http://minio:9000',
      forcepathstyle: true,
      checksummode: 'when_required',
    });
    expect(
      parseS3Parameters({ bucket: 'b', regionendpoint: 'rgw.local:7480', secure: false }).regionendpoint,
    ).toBe('http://rgw.local:7480');
    expect(parseS3Parameters({ bucket: 'b', regionendpoint: 'rgw.local' }).regionendpoint).toBe(
      'https://rgw.local',
    );
    expect(
      parseS3Parameters({ bucket: 'b', regionendpoint: 'http://x', forcepathstyle: false }).forcepathstyle,
    ).toBe(false);
  });

  it('accepts the strings REGISTRY_STORAGE_S3_* environment variables give', () => {
    const options = parseS3Parameters({
      bucket: 12345,
      region: 'us-west-2',
      accesskey: 'AKIA',
      secretkey: 'secret',
      secure: 'false',
      encrypt: 'TRUE',
      keyid: 'arn:aws:kms:key',
      skipverify: 'true',
      forcepathstyle: 'true',
      v4auth: 'false',
      chunksize: '20971520',
      multipartcopychunksize: '8388608',
      multipartcopymaxconcurrency: '8',
      multipartcopythresholdsize: '0',
      storageclass: 'reduced_redundancy',
      objectacl: 'bucket-owner-full-control',
      checksummode: 'WHEN_REQUIRED',
      redirectexpiry: '1h30m',
      rootdirectory: '/registry',
      usedualstack: 'false',
      accelerate: 'false',
      loglevel: 'off',
      useragent: 'berth',
    });
    expect(options).toMatchObject({
      bucket: '12345',
      secure: false,
      encrypt: true,
      keyid: 'arn:aws:kms:key',
      skipverify: true,
      forcepathstyle: true,
      v4auth: false,
      chunksize: 20 * MiB,
      multipartcopychunksize: 8 * MiB,
      multipartcopymaxconcurrency: 8,
      multipartcopythresholdsize: 0,
      storageclass: 'REDUCED_REDUNDANCY',
      objectacl: 'bucket-owner-full-control',
      checksummode: 'when_required',
      redirectexpiry: 5400,
      rootdirectory: '/registry',
      useragent: 'berth',
    });
    expect(parseS3Parameters({ bucket: 'b', region: 'r', redirectexpiry: 600 }).redirectexpiry).toBe(600);
    expect(parseS3Parameters({ bucket: 'b', region: 'r', redirectexpiry: '90s' }).redirectexpiry).toBe(90);
  });

  it('turns storageclass NONE and objectacl none into no header', () => {
    const options = parseS3Parameters({ bucket: 'b', region: 'r', storageclass: 'NONE', objectacl: 'none' });
    expect(options.storageclass).toBeUndefined();
    expect(options.objectacl).toBeUndefined();
  });

  it('rejects malformed values naming the key', () => {
    const base = { bucket: 'b', region: 'r' };
    const cases: [Record<string, unknown>, string][] = [
      [{ region: 'r' }, 'bucket'],
      [{ bucket: '' }, 'bucket'],
      [{ bucket: 'b' }, 'region'],
      [{ ...base, chunksize: 1024 }, 'chunksize'],
      [{ ...base, chunksize: '5MB' }, 'chunksize'],
      [{ ...base, chunksize: 6 * 1024 * MiB }, 'chunksize'],
      [{ ...base, multipartcopychunksize: 1 }, 'multipartcopychunksize'],
      [{ ...base, multipartcopymaxconcurrency: 0 }, 'multipartcopymaxconcurrency'],
      [{ ...base, multipartcopythresholdsize: -1 }, 'multipartcopythresholdsize'],
      [{ ...base, secure: 'yes' }, 'secure'],
      [{ ...base, encrypt: 1 }, 'encrypt'],
      [{ ...base, forcepathstyle: 'maybe' }, 'forcepathstyle'],
      [{ ...base, checksummode: 'always' }, 'checksummode'],
      [{ ...base, storageclass: 'FAST' }, 'storageclass'],
      [{ ...base, objectacl: 'everyone' }, 'objectacl'],
      [{ ...base, loglevel: 'loud' }, 'loglevel'],
      [{ ...base, redirectexpiry: '8d' }, 'redirectexpiry'],
      [{ ...base, redirectexpiry: 0 }, 'redirectexpiry'],
      [{ ...base, redirectexpiry: 8 * 24 * 3600 }, 'redirectexpiry'],
      [{ ...base, accesskey: 'AKIA' }, 'secretkey'],
      [{ ...base, secretkey: 'secret' }, 'accesskey'],
      [{ ...base, regionendpoint: 'ftp://files' }, 'regionendpoint'],
      [{ ...base, rootdirectory: ['a'] }, 'rootdirectory'],
    ];
    for (const [raw, key] of cases) {
      expect({ raw, key: rejectedKey(() => parseS3Parameters(raw)) }).toEqual({ raw, key });
    }
  });

  it('is what the factory uses', () => {
    expect(s3DriverFactory.name).toBe('s3');
    expect(s3DriverFactory.parseParameters({ bucket: 'b', region: 'r' }).bucket).toBe('b');
    expect(rejectedKey(() => s3DriverFactory.parseParameters({}))).toBe('bucket');
  });
});

describe('createS3Client', () => {
  it('maps checksummode and the endpoint options onto the SDK', async () => {
    for (const [raw, checksum, pathStyle] of [
      [{ bucket: 'b', regionendpoint: 'http://127.0.0.1:1' }, 'WHEN_REQUIRED', true],
      [
        { bucket: 'b', regionendpoint: 'http://127.0.0.1:1', checksummode: 'when_supported' },
        'WHEN_SUPPORTED',
        true,
      ],
      [{ bucket: 'b', region: 'eu-west-1' }, 'WHEN_SUPPORTED', false],
    ] as const) {
      const client = createS3Client(parseS3Parameters(raw));
      try {
        expect(await client.config.requestChecksumCalculation()).toBe(checksum);
        expect(await client.config.responseChecksumValidation()).toBe(checksum);
        expect(client.config.forcePathStyle).toBe(pathStyle);
      } finally {
        client.destroy();
      }
    }
  });
});

describe('loading', () => {
  it('validates a storage.s3 section without loading the AWS SDK', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = [
      "const { s3DriverFactory } = await import('./src/index.ts');",
      "try { s3DriverFactory.parseParameters({ bucket: 'b' }); } catch (e) { console.log(e.parameter); }",
      "const { createRequire } = await import('node:module');",
      'const cache = Object.keys(createRequire(import.meta.url).cache);',
      "console.log(cache.some((p) => p.includes('@aws-sdk')));",
    ].join('\n');
    const out = execFileSync(
      process.execPath,
      ['--conditions=@berth/source', '--input-type=module', '-e', script],
      {
        cwd: new URL('..', import.meta.url),
        encoding: 'utf8',
      },
    );
    expect(out.trim().split('\n')).toEqual(['region', 'false']);
  });
});
