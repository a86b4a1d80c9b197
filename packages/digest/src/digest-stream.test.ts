import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { digestStream } from './digest-stream.ts';
import { isDigestError } from './errors.ts';
import { VECTORS } from './test-support/vectors.ts';

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function webStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

describe('digestStream', () => {
  const data = randomBytes(200_000);
  const sha256 = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const sha512 = `sha512:${createHash('sha512').update(data).digest('hex')}`;

  it('hashes a Node Readable', async () => {
    expect(await digestStream(Readable.from(chunked(data, 7_000)))).toEqual({
      digest: sha256,
      size: data.length,
    });
  });

  it('hashes a web ReadableStream', async () => {
    expect(await digestStream(webStream(chunked(data, 65_536)), 'sha512')).toEqual({
      digest: sha512,
      size: data.length,
    });
  });

  it('hashes an async generator, including empty chunks', async () => {
    async function* gen() {
      yield new Uint8Array(0);
      yield* chunked(data, 1_000);
      yield new Uint8Array(0);
    }
    expect(await digestStream(gen())).toEqual({ digest: sha256, size: data.length });
  });

  it('hashes an empty stream', async () => {
    expect(await digestStream(Readable.from([]))).toEqual({
      digest: `sha256:${VECTORS[0]!.digests.sha256}`,
      size: 0,
    });
  });

  it('rejects an unsupported algorithm without reading', async () => {
    let pulled = false;
    async function* gen() {
      pulled = true;
      yield new Uint8Array(1);
    }
    const err = await digestStream(gen(), 'md5' as 'sha256').catch((e: unknown) => e);
    expect(isDigestError(err, 'DIGEST_UNSUPPORTED_ALGORITHM')).toBe(true);
    expect(pulled).toBe(false);
  });

  it('rejects string chunks (a Readable with an encoding) with a TypeError', async () => {
    const stream = Readable.from([Buffer.from('abc')]);
    stream.setEncoding('utf8');
    await expect(digestStream(stream)).rejects.toThrow(TypeError);
  });

  it('passes source errors through unchanged', async () => {
    const boom = new Error('disk on fire');
    async function* gen() {
      yield new Uint8Array(10);
      throw boom;
    }
    await expect(digestStream(gen())).rejects.toBe(boom);
  });
});
