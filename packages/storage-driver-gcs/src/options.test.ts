import { describe, expect, it } from 'vitest';
import { gcsDriverFactory } from './gcs-driver.ts';
import { DEFAULT_CHUNK_SIZE, parseDuration, parseGcsParameters } from './options.ts';

const privateKey = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n';
const serviceAccount = {
  type: 'service_account',
  project_id: 'my-project',
  private_key_id: 'abc',
  private_key: privateKey,
  client_email: 'registry@my-project.iam.gserviceaccount.com',
  client_id: '1234',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth',
  token_uri: 'https://oauth2.googleapis.com/token',
  auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
  client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/registry',
};

function rejectsNaming(raw: Record<string, unknown>, parameter: string, message?: RegExp): void {
  let caught: unknown;
  try {
    parseGcsParameters(raw);
  } catch (error) {
    caught = error;
  }
  expect(caught, `${JSON.stringify(raw)} should be rejected`).toMatchObject({
    name: 'StorageDriverError',
    code: 'INVALID_PARAMETER',
    parameter,
  });
  if (message) expect((caught as Error).message).toMatch(message);
}

describe('parseGcsParameters', () => {
  it('accepts registry:2 settings and fills in the defaults', () => {
    expect(parseGcsParameters({ bucket: 'my-registry', keyfile: '/etc/berth/sa.json' })).toEqual({
      bucket: 'my-registry',
      auth: { kind: 'keyfile', keyFilename: '/etc/berth/sa.json' },
      rootPrefix: '',
      chunkSize: DEFAULT_CHUNK_SIZE,
      maxConcurrency: 50,
      userAgent: undefined,
      endpoint: undefined,
      redirectExpirySeconds: 1200,
      uploadConcurrency: 4,
      pageSize: 1000,
    });
    expect(DEFAULT_CHUNK_SIZE).toBe(5 * 1024 * 1024);
    expect(gcsDriverFactory.parseParameters).toBe(parseGcsParameters);
  });

  it('takes inline service account credentials (registry:2 `credentials`) over keyfile', () => {
    const options = parseGcsParameters({
      bucket: 'b-1',
      keyfile: '/ignored.json',
      credentials: serviceAccount,
    });
    expect(options.auth).toEqual({ kind: 'credentials', credentials: serviceAccount });
    expect(parseGcsParameters({ bucket: 'abc' }).auth).toEqual({ kind: 'default' });
    const { type: _type, ...untyped } = serviceAccount;
    expect(parseGcsParameters({ bucket: 'abc', credentials: untyped }).auth).toMatchObject({
      credentials: { type: 'service_account' },
    });
    expect(
      parseGcsParameters({
        bucket: 'abc',
        credentials: { type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r' },
      }).auth,
    ).toMatchObject({ kind: 'credentials' });
  });

  it('trims rootdirectory the way registry:2 builds object names', () => {
    expect(parseGcsParameters({ bucket: 'abc', rootdirectory: '/gcs/object/prefix/' }).rootPrefix).toBe(
      'gcs/object/prefix',
    );
    expect(parseGcsParameters({ bucket: 'abc', rootdirectory: '/' }).rootPrefix).toBe('');
  });

  it('accepts the string values REGISTRY_STORAGE_GCS_* variables give, and Berth keys', () => {
    expect(
      parseGcsParameters({
        bucket: 'abc',
        chunksize: '262144',
        maxconcurrency: '25',
        useragent: 'berth-test/1.0',
        endpoint: 'http://127.0.0.1:9199/',
        redirectexpiry: '1h30m',
      }),
    ).toMatchObject({
      chunkSize: 262_144,
      maxConcurrency: 25,
      userAgent: 'berth-test/1.0',
      endpoint: 'http://127.0.0.1:9199',
      redirectExpirySeconds: 5400,
    });
  });

  it('rejects bad values, naming the key', () => {
    rejectsNaming({}, 'bucket', /required/);
    rejectsNaming({ bucket: 'Has_Capitals' }, 'bucket');
    rejectsNaming({ bucket: 'a' }, 'bucket');
    rejectsNaming({ bucket: 'abc', rootdirectory: '/a//b' }, 'rootdirectory');
    rejectsNaming({ bucket: 'abc', rootdirectory: '/a/../b' }, 'rootdirectory');
    rejectsNaming({ bucket: 'abc', chunksize: 300_000 }, 'chunksize', /multiple of 262144/);
    rejectsNaming({ bucket: 'abc', chunksize: 0 }, 'chunksize');
    rejectsNaming({ bucket: 'abc', chunksize: 1000 }, 'chunksize');
    rejectsNaming({ bucket: 'abc', chunksize: 'big' }, 'chunksize');
    rejectsNaming({ bucket: 'abc', chunksize: 2 * 1024 * 1024 * 1024 }, 'chunksize');
    rejectsNaming({ bucket: 'abc', maxconcurrency: 0 }, 'maxconcurrency');
    rejectsNaming({ bucket: 'abc', maxconcurrency: 'lots' }, 'maxconcurrency');
    rejectsNaming({ bucket: 'abc', useragent: 'two\nlines' }, 'useragent');
    rejectsNaming({ bucket: 'abc', endpoint: 'ftp://example.com' }, 'endpoint');
    rejectsNaming({ bucket: 'abc', endpoint: 'not a url' }, 'endpoint');
    rejectsNaming({ bucket: 'abc', endpoint: 'https://storage.example.com/?key=x' }, 'endpoint');
    rejectsNaming({ bucket: 'abc', redirectexpiry: '0s' }, 'redirectexpiry');
    rejectsNaming({ bucket: 'abc', redirectexpiry: '169h' }, 'redirectexpiry', /7 days/);
    rejectsNaming({ bucket: 'abc', redirectexpiry: 600 }, 'redirectexpiry', /duration/);
    rejectsNaming({ bucket: 'abc', credentials: 'service_account' }, 'credentials');
    rejectsNaming(
      { bucket: 'abc', credentials: { ...serviceAccount, type: 'external_account' } },
      'credentials.type',
    );
    rejectsNaming(
      { bucket: 'abc', credentials: { ...serviceAccount, private_key: undefined } },
      'credentials.private_key',
    );
    rejectsNaming(
      { bucket: 'abc', credentials: { ...serviceAccount, private_key: 'not a key' } },
      'credentials.private_key',
      /PEM/,
    );
    rejectsNaming(
      { bucket: 'abc', credentials: { ...serviceAccount, client_email: ['x'] } },
      'credentials.client_email',
    );
    rejectsNaming(
      { bucket: 'abc', credentials: { type: 'authorized_user', client_id: 'c', client_secret: 's' } },
      'credentials.refresh_token',
    );
  });

  it('names keyfile when the file cannot be read or is not JSON (at creation)', async () => {
    const options = parseGcsParameters({ bucket: 'abc', keyfile: '/nonexistent/berth-key.json' });
    await expect(gcsDriverFactory.create(options)).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
      parameter: 'keyfile',
    });
    const notJson = parseGcsParameters({ bucket: 'abc', keyfile: new URL(import.meta.url).pathname });
    await expect(gcsDriverFactory.create(notJson)).rejects.toMatchObject({ parameter: 'keyfile' });
  });
});

describe('parseDuration', () => {
  it('reads Go durations in milliseconds', () => {
    expect(parseDuration('20m', 'k')).toBe(1_200_000);
    expect(parseDuration('1.5s', 'k')).toBe(1500);
    expect(parseDuration('1h30m', 'k')).toBe(5_400_000);
    expect(parseDuration('0', 'k')).toBe(0);
    for (const bad of ['', 'm', '10', '1x', '-1s'])
      expect(() => parseDuration(bad, 'k'), bad).toThrow(/duration/);
  });
});
