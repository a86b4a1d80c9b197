import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureDriver } from './azure-driver.ts';
import { containerName, startBackend, type TestBackend } from './test-support/backend.ts';
import { patternBytes, sha256 } from './test-support/pattern.ts';

let backend: TestBackend;
let container: string;
let driver: StorageDriver;

beforeAll(async () => {
  backend = await startBackend();
  container = containerName('sas');
  // accountname + accountkey + serviceurl, as a config file gives them (a connection string on real Azure).
  driver = await createAzureDriver({ ...backend.sharedKeyOptions(container), redirectexpiry: '90s' });
  await driver.putContent('/blobs/one', patternBytes(0, 100_000));
  await driver.putContent('/blobs/two', patternBytes(0, 10, 1));
});

afterAll(async () => {
  await backend?.deleteContainer(container);
  await backend?.stop();
});

/** The signature parameter changed in one bit (still valid base64). */
function tamperSignature(url: string): string {
  const parsed = new URL(url);
  const signature = Buffer.from(parsed.searchParams.get('sig')!, 'base64');
  signature[0]! ^= 1;
  parsed.searchParams.set('sig', signature.toString('base64'));
  return parsed.toString();
}

describe('redirectURL (SAS)', () => {
  it('serves GET and HEAD, read-only, valid for redirectexpiry by default', async () => {
    const started = Date.now();
    const url = await driver.redirectURL('/blobs/one');
    const parsed = new URL(url!);
    expect(parsed.searchParams.get('sp')).toBe('r');
    expect(parsed.searchParams.get('sr')).toBe('b');
    const expires = Date.parse(parsed.searchParams.get('se')!);
    expect(expires - started).toBeGreaterThan(85_000);
    expect(expires - started).toBeLessThan(95_000);

    const get = await fetch(url!);
    expect(get.status).toBe(200);
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(patternBytes(0, 100_000)));
    const head = await fetch((await driver.redirectURL('/blobs/one', { method: 'HEAD' }))!, {
      method: 'HEAD',
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');

    const put = await fetch(url!, { method: 'PUT', body: 'x', headers: { 'x-ms-blob-type': 'BlockBlob' } });
    await put.body?.cancel();
    expect(put.status, 'the SAS grants reading only').toBe(403);
  });

  it('honours expiresIn', async () => {
    const url = await driver.redirectURL('/blobs/one', { expiresIn: 3600 });
    const expires = Date.parse(new URL(url!).searchParams.get('se')!);
    expect(Math.abs(expires - Date.now() - 3600_000)).toBeLessThan(10_000);
  });

  it('a tampered signature, another blob under the same SAS, or an expired SAS is refused with 403', async () => {
    const url = (await driver.redirectURL('/blobs/one'))!;
    const tampered = await fetch(tamperSignature(url));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toMatch(/AuthenticationFailed|AuthorizationFailure/);

    const otherBlob = new URL(url);
    otherBlob.pathname = otherBlob.pathname.replace(/one$/, 'two');
    const moved = await fetch(otherBlob);
    await moved.body?.cancel();
    expect(moved.status).toBe(403);

    const extended = new URL(url);
    extended.searchParams.set('se', '2099-01-01T00:00:00Z');
    const longer = await fetch(extended);
    await longer.body?.cancel();
    expect(longer.status).toBe(403);

    const short = (await driver.redirectURL('/blobs/two', { expiresIn: 1 }))!;
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await fetch(short);
    await expired.body?.cancel();
    expect(expired.status).toBe(403);
  });

  it('is undefined when the credentials cannot sign (a connection string with a SAS)', async () => {
    const url = new URL((await driver.redirectURL('/blobs/one'))!);
    const endpoint = `${url.origin}${url.pathname.slice(0, url.pathname.indexOf(`/${container}/`))}`;
    // A read-only SAS of one blob is enough to build a client; it cannot sign new URLs.
    const sasOnly = await createAzureDriver({
      connectionstring: `BlobEndpoint=${endpoint};SharedAccessSignature=${url.search.slice(1)}`,
      container,
    });
    expect(await sasOnly.redirectURL('/blobs/one')).toBeUndefined();
  });
});
