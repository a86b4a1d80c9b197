import { digestStream } from './digest-stream.ts';
import { DigestError } from './errors.ts';
import { type Digest, parseDigest } from './parse-digest.ts';

/** The `DIGEST_MISMATCH` error for content of `size` bytes that hashed to `actual`. Internal. */
export function mismatchError(expected: string, actual: string, size: number): DigestError {
  return new DigestError(
    'DIGEST_MISMATCH',
    `content does not match its digest: expected ${expected}, got ${actual} (${size} bytes)`,
    { expected, actual },
  );
}

/**
 * Reads `source` to the end and checks that it hashes to `expected`, using the algorithm named by
 * `expected`.
 *
 * @param source - the content: a Node `Readable`, web `ReadableStream<Uint8Array>` or any
 *   `AsyncIterable<Uint8Array>`.
 * @param expected - the digest the content must have (validated first; nothing is read if invalid).
 * @returns a promise of the number of bytes read, when the content matches.
 * @throws {DigestError} (rejects) `DIGEST_INVALID` / `DIGEST_UNSUPPORTED_ALGORITHM` when `expected`
 *   is not a valid supported digest (the source is then left untouched); `DIGEST_MISMATCH` when the
 *   content hashes to something else — the message and the error's `expected`/`actual` properties
 *   name both digests.
 * @throws {TypeError} (rejects) when the source yields something other than a `Uint8Array`.
 *
 * @example
 * ```ts
 * const { size } = await verify(await storage.reader(path), 'sha256:e3b0c442...b855');
 * ```
 */
export async function verify(
  source: AsyncIterable<Uint8Array>,
  expected: Digest | string,
): Promise<{ size: number }> {
  const want = parseDigest(expected);
  const { digest, size } = await digestStream(source, want.algorithm);
  if (digest !== want.digest) throw mismatchError(want.digest, digest, size);
  return { size };
}
