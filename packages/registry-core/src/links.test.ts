import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { isRegistryError } from './errors.ts';
import { digestParts, orUndefined, readLink, writeLink } from './links.ts';

const hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const digest = digestParts(`sha256:${hex}`).digest;
const enc = (s: string) => new TextEncoder().encode(s);

describe('links', () => {
  it('writes the digest without a newline and reads it back', async () => {
    const driver = createInMemoryDriver();
    await writeLink(driver, '/a/link', digest);
    expect(new TextDecoder().decode(await driver.getContent('/a/link'))).toBe(`sha256:${hex}`);
    expect(await readLink(driver, '/a/link')).toBe(digest);
  });

  it('accepts trailing whitespace', async () => {
    const driver = createInMemoryDriver();
    await driver.putContent('/a/link', enc(`sha256:${hex}\n`));
    expect(await readLink(driver, '/a/link')).toBe(digest);
  });

  it('treats a missing or corrupt link as missing', async () => {
    const driver = createInMemoryDriver();
    expect(await readLink(driver, '/missing/link')).toBeUndefined();
    await driver.putContent('/bad/link', enc('sha256:nothex'));
    expect(await readLink(driver, '/bad/link')).toBeUndefined();
    await driver.putContent('/big/link', new Uint8Array(1000).fill(0x61));
    expect(await readLink(driver, '/big/link')).toBeUndefined();
  });

  it('splits digests and rejects invalid ones with DIGEST_INVALID', () => {
    expect(digestParts(`sha256:${hex}`)).toEqual({ algorithm: 'sha256', encoded: hex, digest });
    try {
      digestParts('sha256:xyz');
      expect.unreachable();
    } catch (err) {
      expect(isRegistryError(err) && err.code).toBe('DIGEST_INVALID');
    }
  });

  it('orUndefined maps PATH_NOT_FOUND only', async () => {
    const driver = createInMemoryDriver();
    expect(await orUndefined(driver.getContent('/nope'))).toBeUndefined();
    await expect(orUndefined(Promise.reject(new Error('other')))).rejects.toThrow('other');
  });
});
