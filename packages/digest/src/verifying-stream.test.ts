import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { isDigestError } from './errors.ts';
import { createVerifyingStream } from './verifying-stream.ts';

function collector(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  return { sink, bytes: () => Buffer.concat(parts) };
}

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

describe('createVerifyingStream', () => {
  const data = randomBytes(300_000);
  const sha256 = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const sha512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;

  it('passes every byte through unchanged when the content matches', async () => {
    for (const expected of [sha256, sha512]) {
      const { sink, bytes } = collector();
      await pipeline(Readable.from(chunked(data, 10_007)), createVerifyingStream(expected), sink);
      expect(bytes().equals(data)).toBe(true);
    }
  });

  it('fails the pipeline with DIGEST_MISMATCH at the end when the content differs', async () => {
    const tampered = Buffer.from(data);
    tampered[0]! ^= 1;
    const { sink, bytes } = collector();
    const err = await pipeline(
      Readable.from(chunked(tampered, 4_096)),
      createVerifyingStream(sha256),
      sink,
    ).catch((e: unknown) => e);
    expect(isDigestError(err, 'DIGEST_MISMATCH')).toBe(true);
    expect((err as Error).message).toContain(`expected ${sha256}, got sha256:`);
    // The bytes were forwarded as they came; the error tells the destination to discard them.
    expect(bytes().length).toBe(tampered.length);
  });

  it('detects an empty body', async () => {
    const { sink } = collector();
    const err = await pipeline(Readable.from([]), createVerifyingStream(sha256), sink).catch(
      (e: unknown) => e,
    );
    expect(isDigestError(err, 'DIGEST_MISMATCH')).toBe(true);
    expect((err as Error).message).toContain('(0 bytes)');
  });

  it('throws synchronously for an invalid or unsupported expected digest', () => {
    expect(() => createVerifyingStream('sha256:xyz')).toThrow(
      expect.objectContaining({ name: 'DigestError', code: 'DIGEST_INVALID' }),
    );
    expect(() => createVerifyingStream('md5:abc')).toThrow(
      expect.objectContaining({ code: 'DIGEST_UNSUPPORTED_ALGORITHM' }),
    );
  });
});
