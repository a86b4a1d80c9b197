/**
 * The next chunk of `chunks` that holds at least one byte, or the end. Request bodies may
 * yield empty chunks; the upload paths wait for a first byte before touching storage.
 */
export async function nextNonEmpty(chunks: AsyncIterator<Uint8Array>): Promise<IteratorResult<Uint8Array>> {
  let next: IteratorResult<Uint8Array>;
  do {
    next = await chunks.next();
  } while (!next.done && next.value.byteLength === 0);
  return next;
}
