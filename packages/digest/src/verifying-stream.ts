import { Transform, type TransformCallback } from 'node:stream';
import { createDigester } from './digester.ts';
import type { Digest } from './parse-digest.ts';
import { parseDigest } from './parse-digest.ts';
import { mismatchError } from './verify.ts';

/**
 * Creates a pass-through `Transform` that hashes every byte flowing through it and, when the input
 * ends, fails with `DIGEST_MISMATCH` if the content does not hash to `expected`. Bytes are forwarded
 * unchanged and immediately, so by the time the error is raised the destination has seen all of
 * them: pipe with `stream.pipeline` (which destroys the destination on error) and treat a rejected
 * pipeline as "discard what was written".
 *
 * @param expected - the digest the content must have; its algorithm selects the hash.
 * @returns a Node `Transform` (byte mode; strings written to it are hashed as their UTF-8 bytes).
 * @throws {DigestError} synchronously, `DIGEST_INVALID` / `DIGEST_UNSUPPORTED_ALGORITHM` when
 *   `expected` is not a valid supported digest. The stream itself emits `'error'` with a
 *   `DIGEST_MISMATCH` {@link DigestError} at the end when the content does not match.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * await pipeline(request, createVerifyingStream(expectedDigest), createWriteStream(tmpPath));
 * ```
 */
export function createVerifyingStream(expected: Digest | string): Transform {
  const want = parseDigest(expected);
  const digester = createDigester(want.algorithm);
  return new Transform({
    transform(chunk: Uint8Array, _encoding: BufferEncoding, callback: TransformCallback): void {
      try {
        digester.update(chunk);
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback(null, chunk);
    },
    flush(callback: TransformCallback): void {
      const actual = digester.digest();
      if (actual === want.digest) callback();
      else callback(mismatchError(want.digest, actual, digester.size));
    },
  });
}
