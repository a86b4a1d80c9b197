import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isDigestError } from './errors.ts';
import { verify } from './verify.ts';

describe('verify', () => {
  const data = randomBytes(100_000);
  const sha256 = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const sha512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;

  it('resolves with the size when the content matches, using the digest’s algorithm', async () => {
    expect(await verify(Readable.from([data]), sha256)).toEqual({ size: data.length });
    expect(await verify(Readable.from([data.subarray(0, 10), data.subarray(10)]), sha512)).toEqual({
      size: data.length,
    });
  });

  it('rejects with DIGEST_MISMATCH naming both digests', async () => {
    const tampered = Buffer.from(data);
    tampered[99_999]! ^= 0x80;
    const actual = `sha256:${createHash('sha256').update(tampered).digest('hex')}`;
    const err = await verify(Readable.from([tampered]), sha256).catch((e: unknown) => e);
    expect(isDigestError(err, 'DIGEST_MISMATCH')).toBe(true);
    const { message, expected, actual: got } = err as { message: string; expected: string; actual: string };
    expect(message).toBe(
      `content does not match its digest: expected ${sha256}, got ${actual} (100000 bytes)`,
    );
    expect(expected).toBe(sha256);
    expect(got).toBe(actual);
  });

  it('detects truncated and extended content', async () => {
    for (const wrong of [data.subarray(0, data.length - 1), Buffer.concat([data, Buffer.from([0])])]) {
      const err = await verify(Readable.from([wrong]), sha256).catch((e: unknown) => e);
      expect(isDigestError(err, 'DIGEST_MISMATCH')).toBe(true);
    }
  });

  it('rejects an invalid or unsupported expected digest before reading', async () => {
    let pulled = false;
    async function* gen() {
      pulled = true;
      yield new Uint8Array(1);
    }
    const invalid = await verify(gen(), sha256.toUpperCase()).catch((e: unknown) => e);
    expect(isDigestError(invalid, 'DIGEST_INVALID')).toBe(true);
    const unsupported = await verify(gen(), 'blake3:abc').catch((e: unknown) => e);
    expect(isDigestError(unsupported, 'DIGEST_UNSUPPORTED_ALGORITHM')).toBe(true);
    expect(pulled).toBe(false);
  });
});
