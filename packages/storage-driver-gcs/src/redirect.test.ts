import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsDriver } from './gcs-driver.ts';
import { NEEDS_SIGNATURE_CHECKS, onRealGcs, startBackend, type TestBackend } from './test-support/backend.ts';
import { patternBytes, sha256 } from './test-support/pattern.ts';

const signatures = onRealGcs() ? '' : ` — skipped: ${NEEDS_SIGNATURE_CHECKS}`;

let backend: TestBackend;
let driver: StorageDriver;

beforeAll(async () => {
  backend = await startBackend('redirect');
  // A service account key (on the emulator a locally generated one, which nothing verifies).
  driver = await createGcsDriver(backend.signingOptions({ redirectexpiry: '90s' }));
  await driver.putContent('/blobs/one', patternBytes(0, 100_000));
  await driver.putContent('/blobs/two', patternBytes(0, 10, 1));
});

afterAll(async () => {
  await driver?.delete('/blobs').catch(() => {});
  await backend?.stop();
});

/** The signature changed in one hex digit. */
function tamper(url: string): string {
  const parsed = new URL(url);
  const signature = parsed.searchParams.get('X-Goog-Signature')!;
  parsed.searchParams.set('X-Goog-Signature', `${signature[0] === '0' ? '1' : '0'}${signature.slice(1)}`);
  return parsed.toString();
}

describe('redirectURL (V4 signed URLs)', () => {
  it('signs a V4 URL valid for redirectexpiry that serves GET and HEAD', async () => {
    const url = new URL((await driver.redirectURL('/blobs/one'))!);
    expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(url.searchParams.get('X-Goog-Expires')).toBe('90');
    expect(url.searchParams.get('X-Goog-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('X-Goog-Signature')).toMatch(/^[0-9a-f]{512}$/);
    expect(url.pathname).toBe(
      `/${backend.bucketName}/${backend.rootPrefix === '' ? '' : `${backend.rootPrefix}/`}blobs/one`,
    );
    if (backend.endpoint !== undefined) expect(url.origin).toBe(backend.endpoint);

    const get = await fetch(url);
    expect(get.status).toBe(200);
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(patternBytes(0, 100_000)));
    const head = await fetch((await driver.redirectURL('/blobs/one', { method: 'HEAD' }))!, {
      method: 'HEAD',
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');
  });

  it('honours expiresIn', async () => {
    const url = new URL((await driver.redirectURL('/blobs/one', { expiresIn: 3600 }))!);
    expect(url.searchParams.get('X-Goog-Expires')).toBe('3600');
  });

  it('is undefined without credentials that can sign (the emulator without a key)', async ({ skip }) => {
    if (onRealGcs()) skip('real GCS always has credentials here');
    const unsigned = await createGcsDriver(backend.options());
    expect(await unsigned.redirectURL('/blobs/one')).toBeUndefined();
  });

  it(`GCS refuses a tampered signature, another object under the same signature, and an expired URL${signatures}`, async ({
    skip,
  }) => {
    if (!onRealGcs()) skip(NEEDS_SIGNATURE_CHECKS);
    const url = (await driver.redirectURL('/blobs/one'))!;
    const tampered = await fetch(tamper(url));
    await tampered.body?.cancel();
    expect(tampered.status).toBe(403);
    const other = new URL(url);
    other.pathname = other.pathname.replace(/one$/, 'two');
    const moved = await fetch(other);
    await moved.body?.cancel();
    expect(moved.status).toBe(403);
    const short = (await driver.redirectURL('/blobs/two', { expiresIn: 1 }))!;
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await fetch(short);
    await expired.body?.cancel();
    expect([400, 403]).toContain(expired.status);
  });
});
