import type { FileWriter } from './types.ts';

/**
 * Writes every chunk of `source` (a Node `Readable`, a web `ReadableStream`, or any async
 * iterable of bytes) to `writer`, awaiting each write so memory stays flat whatever the size.
 * Returns the number of bytes written. Does not close, commit or cancel the writer.
 *
 * @example
 * ```ts
 * const writer = await driver.writer('/uploads/x/data');
 * await writeFrom(writer, request.body);
 * await writer.commit();
 * ```
 */
export async function writeFrom(writer: FileWriter, source: AsyncIterable<Uint8Array>): Promise<number> {
  let total = 0;
  for await (const chunk of source) {
    await writer.write(chunk);
    total += chunk.byteLength;
  }
  return total;
}
