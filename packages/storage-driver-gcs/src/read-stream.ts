/**
 * Object reads through the SDK's `createReadStream`, with the listener limit of the response
 * body raised.
 *
 * Why: `@google-cloud/storage` 8.4 over teeny-request 11 and node-fetch 3 puts 11 `error` and 11
 * `close` listeners on the response body of every object read (node-fetch 4, teeny-request 4,
 * the SDK's own pipeline 3) — one more than Node's default limit of 10. So every read whose body
 * is still streaming when the SDK finishes wiring it printed a `MaxListenersExceededWarning`
 * pair, once per read (Node warns once per emitter, and each read is a new stream): one pair
 * per part read back at commit with a large `chunksize`, one per blob GET served without a
 * redirect. It is no leak — the listeners are per read, and go with the stream — only a limit
 * too low for this stack. The limit of that one stream is raised to {@link RESPONSE_MAX_LISTENERS},
 * so a real pile-up on it would still warn; no global default is touched.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { CreateReadStreamOptions, File } from '@google-cloud/storage';

/** The listener limit of a read's response body: the SDK's 11, with room to spare. */
export const RESPONSE_MAX_LISTENERS = 16;

/** `file.createReadStream(options)`, its response body allowed {@link RESPONSE_MAX_LISTENERS}. */
export function openReadStream(file: File, options: CreateReadStreamOptions): Readable {
  const stream = file.createReadStream(options);
  // Emitted with the response body before the SDK pipes it anywhere (5 listeners by then).
  stream.once('response', (response: unknown) => {
    if (response instanceof EventEmitter && response.getMaxListeners() < RESPONSE_MAX_LISTENERS) {
      response.setMaxListeners(RESPONSE_MAX_LISTENERS);
    }
  });
  return stream;
}

/** The whole object, as `file.download(options)` returns it, read through {@link openReadStream}. */
export async function readObject(file: File, options: CreateReadStreamOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of openReadStream(file, options)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
