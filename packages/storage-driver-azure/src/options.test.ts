import { describe, expect, it } from 'vitest';
import { azureDriverFactory } from './azure-driver.ts';
import { DEFAULT_BLOCK_SIZE, parseAzureParameters, parseDuration } from './options.ts';

const key = Buffer.alloc(64, 7).toString('base64');

function rejectsNaming(raw: Record<string, unknown>, parameter: string, message?: RegExp): void {
  let caught: unknown;
  try {
    parseAzureParameters(raw);
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

describe('parseAzureParameters', () => {
  it('accepts registry:2 shared-key settings and fills in the defaults', () => {
    expect(
      parseAzureParameters({ accountname: 'myaccount', accountkey: key, container: 'registry' }),
    ).toEqual({
      container: 'registry',
      auth: { kind: 'shared_key', accountName: 'myaccount', accountKey: key },
      serviceUrl: 'https://myaccount.blob.core.windows.net',
      rootPrefix: '',
      maxRetries: 5,
      retryDelayMs: 100,
      skipVerify: false,
      redirectExpirySeconds: 1200,
      blockSize: DEFAULT_BLOCK_SIZE,
      uploadConcurrency: 2,
    });
    expect(azureDriverFactory.parseParameters).toBe(parseAzureParameters);
  });

  it('builds the endpoint from realm, or takes serviceurl as given', () => {
    const base = { accountname: 'acct', accountkey: key, container: 'c-1' };
    expect(parseAzureParameters({ ...base, realm: 'core.chinacloudapi.cn' }).serviceUrl).toBe(
      'https://acct.blob.core.chinacloudapi.cn',
    );
    expect(
      parseAzureParameters({ ...base, serviceurl: 'http://127.0.0.1:10000/devstoreaccount1/' }).serviceUrl,
    ).toBe('http://127.0.0.1:10000/devstoreaccount1');
  });

  it('trims rootdirectory the way registry:2 builds blob names', () => {
    const base = { accountname: 'acct', accountkey: key, container: 'abc' };
    expect(parseAzureParameters({ ...base, rootdirectory: '/az/object/prefix/' }).rootPrefix).toBe(
      'az/object/prefix',
    );
    expect(parseAzureParameters({ ...base, rootdirectory: '/' }).rootPrefix).toBe('');
    rejectsNaming({ ...base, rootdirectory: '/a//b' }, 'rootdirectory');
    rejectsNaming({ ...base, rootdirectory: '/a/../b' }, 'rootdirectory');
  });

  it('accepts the string values REGISTRY_STORAGE_AZURE_* variables give', () => {
    const options = parseAzureParameters({
      accountname: 'acct',
      accountkey: key,
      container: 'registry',
      max_retries: '3',
      retry_delay: '250ms',
      skipverify: 'true',
      redirectexpiry: '1h30m',
    });
    expect(options).toMatchObject({
      maxRetries: 3,
      retryDelayMs: 250,
      skipVerify: true,
      redirectExpirySeconds: 5400,
    });
    expect(
      parseAzureParameters({ accountname: 'acct', accountkey: key, container: 'abc', max_retries: 0 })
        .maxRetries,
    ).toBe(0);
  });

  it('chooses the credentials as registry:2 does', () => {
    expect(parseAzureParameters({ accountname: 'acct', container: 'abc' }).auth).toEqual({
      kind: 'default_credentials',
      accountName: 'acct',
    });
    expect(
      parseAzureParameters({
        accountname: 'acct',
        container: 'abc',
        credentials: { type: 'client_secret', clientid: 'c', tenantid: 't', secret: 's' },
      }).auth,
    ).toEqual({ kind: 'client_secret', accountName: 'acct', clientId: 'c', tenantId: 't', secret: 's' });
    expect(
      parseAzureParameters({
        accountname: 'acct',
        accountkey: key,
        container: 'abc',
        credentials: { type: 'default_credentials' },
      }).auth.kind,
    ).toBe('default_credentials');
    const connection = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net`;
    expect(
      parseAzureParameters({ connectionstring: connection, container: 'abc', accountname: 'ignored' }),
    ).toMatchObject({
      auth: { kind: 'connection_string', connectionString: connection },
      serviceUrl: undefined,
    });
  });

  it('rejects bad values, naming the key', () => {
    const base = { accountname: 'acct', accountkey: key, container: 'abc' };
    rejectsNaming({ accountname: 'acct', accountkey: key }, 'container', /required/);
    rejectsNaming({ ...base, container: 'Has_Capitals' }, 'container');
    rejectsNaming({ ...base, container: 'a--b' }, 'container');
    rejectsNaming({ accountkey: key, container: 'abc' }, 'accountname', /required/);
    rejectsNaming({ ...base, accountname: 'Not-An-Account' }, 'accountname');
    rejectsNaming({ ...base, accountkey: 'not base64!' }, 'accountkey');
    rejectsNaming(
      { accountname: 'acct', container: 'abc', credentials: { type: 'shared_key' } },
      'accountkey',
    );
    rejectsNaming({ ...base, credentials: { type: 'password' } }, 'credentials.type', /client_secret/);
    rejectsNaming(
      { ...base, credentials: { type: 'client_secret', clientid: 'c', tenantid: 't' } },
      'credentials.secret',
    );
    rejectsNaming(
      { ...base, credentials: { type: 'client_secret', clientid: ['c'] } },
      'credentials.clientid',
    );
    rejectsNaming({ ...base, credentials: 'client_secret' }, 'credentials');
    rejectsNaming({ ...base, serviceurl: 'ftp://example.com' }, 'serviceurl');
    rejectsNaming({ ...base, serviceurl: 'not a url' }, 'serviceurl');
    rejectsNaming({ ...base, serviceurl: 'https://acct.blob.core.windows.net/?sv=x' }, 'serviceurl');
    rejectsNaming({ ...base, realm: 'bad realm' }, 'realm');
    rejectsNaming({ ...base, connectionstring: 'hello' }, 'connectionstring');
    rejectsNaming({ ...base, max_retries: 'many' }, 'max_retries');
    rejectsNaming({ ...base, max_retries: -1 }, 'max_retries');
    rejectsNaming({ ...base, retry_delay: 100 }, 'retry_delay', /duration/);
    rejectsNaming({ ...base, retry_delay: '1 second' }, 'retry_delay');
    rejectsNaming({ ...base, skipverify: 'yes' }, 'skipverify');
    rejectsNaming({ ...base, redirectexpiry: '0s' }, 'redirectexpiry');
    rejectsNaming({ ...base, redirectexpiry: '200h' }, 'redirectexpiry');
  });
});

describe('parseDuration', () => {
  it('reads Go durations in milliseconds', () => {
    expect(parseDuration('100ms', 'k')).toBe(100);
    expect(parseDuration('1.5s', 'k')).toBe(1500);
    expect(parseDuration('1h30m', 'k')).toBe(5_400_000);
    expect(parseDuration('250us', 'k')).toBe(0.25);
    expect(parseDuration('0', 'k')).toBe(0);
    expect(parseDuration(0, 'k')).toBe(0);
    for (const bad of ['', 'ms', '10', '1x', '1s2', ' ', '-1s']) {
      expect(() => parseDuration(bad, 'k'), bad).toThrow(/duration/);
    }
  });
});
