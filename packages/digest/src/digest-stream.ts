import type { Algorithm } from './algorithm.ts';
import { createDigester } from './digester.ts';
import type { Digest } from './parse-digest.ts';

/** The outcome of hashing a whole stream. */
export interface StreamDigest {
  /** The digest of every byte the source produced. */
  readonly digest: Digest;
  /** The number of bytes the source produced. */
  readonly size: number;
}

/**
 * Reads `source` to the end and returns its digest and size, hashing with node:crypto as chunks
 * arrive (constant memory).
 *
 * `source` is anything that is async-iterable over `Uint8Array` chunks: a Node `Readable` (without
 * `setEncoding`), a web `ReadableStream<Uint8Array>`, or an async generator.
 *
 * @param source - the content.
 * @param algorithm - `'sha256'` (default) or `'sha512'`.
 * @returns a promise of the digest and byte count.
 * @throws {DigestError} (rejects) `DIGEST_UNSUPPORTED_ALGORITHM` for any other algorithm, before
 *   reading anything.
 * @throws {TypeError} (rejects) when the source yields something other than a `Uint8Array`.
 * Errors raised by the source itself are passed through unchanged.
 *
 * @example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * const { digest, size } = await digestStream(createReadStream('layer.tar.gz'));
 * ```
 */
export async function digestStream(
  source: AsyncIterable<Uint8Array>,
  algorithm: Algorithm = 'sha256',
): Promise<StreamDigest> {
  const digester = createDigester(algorithm);
  for await (const chunk of source) digester.update(chunk);
  return { size: digester.size, digest: digester.digest() };
}
