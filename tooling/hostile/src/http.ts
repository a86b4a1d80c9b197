/**
 * A raw HTTP/1.1 client over `node:net`: the request line, headers and body go out exactly as
 * given (no URL normalisation, no header validation), one connection per request, closed by
 * the client once the response is complete. `fetch` would resolve `..`, reject a NUL or a bad
 * method before sending, so every suite speaks through this.
 *
 * No `Connection: close` is sent: a server that answers before reading a large body (413)
 * then drains it, as it does for any persistent connection, instead of closing with unread
 * data, which makes the kernel reset the connection and lose the response.
 */
import { connect } from 'node:net';

/** Where a server listens. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** A request, sent as is. */
export interface RawRequest {
  readonly method: string;
  /** The request target, verbatim (origin-form, absolute-form, `*`, …). */
  readonly target: string;
  /** Header lines in order, sent as `name: value` (UTF-8), not validated. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: Uint8Array;
  /** Default `HTTP/1.1`. */
  readonly version?: string;
  /** Send no `Host` header (one with the endpoint is added otherwise, unless `headers` has one). */
  readonly noHost?: boolean;
  /** Add no `Content-Length` for the body (the headers frame it themselves, or not at all). */
  readonly noContentLength?: boolean;
  /** Send this instead of the head built from the fields above (request line … blank line). */
  readonly head?: string;
}

/** A parsed response. Header names are lower case; repeated headers are joined with `, `. */
export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** What came back: a response, or why none did. */
export type Outcome =
  | { readonly kind: 'response'; readonly response: RawResponse; readonly ms: number }
  | { readonly kind: 'error'; readonly error: string; readonly ms: number; readonly received: number };

/** Options of {@link send}. */
export interface SendOptions {
  /** Give up (and destroy the socket) after this long; default 15 s. */
  readonly timeoutMs?: number;
}

const CRLF = '\r\n';

/** The head {@link send} writes for `request` (for failure messages and replays). */
export function buildHead(endpoint: Endpoint, request: RawRequest): string {
  if (request.head !== undefined) return request.head;
  const lines = [`${request.method} ${request.target} ${request.version ?? 'HTTP/1.1'}`];
  const headers = request.headers ?? [];
  const has = (name: string): boolean => headers.some(([key]) => key.toLowerCase() === name);
  if (!request.noHost && !has('host')) lines.push(`Host: ${endpoint.host}:${endpoint.port}`);
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (request.body !== undefined && !request.noContentLength && !has('content-length')) {
    lines.push(`Content-Length: ${request.body.byteLength}`);
  }
  return lines.join(CRLF) + CRLF + CRLF;
}

/** Sends one request on a new connection and reads one response (skipping `1xx`). */
export function send(endpoint: Endpoint, request: RawRequest, options: SendOptions = {}): Promise<Outcome> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 15_000;
  const isHead = request.method.toUpperCase() === 'HEAD';
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let received = 0;
    let head: ResponseHead | undefined;
    let settled = false;
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const elapsed = (): number => performance.now() - started;
    const finish = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    /** Resolves with the response when it is complete (or, when `final`, with what there is). */
    const check = (final: boolean): boolean => {
      if (head === undefined) {
        const data = Buffer.concat(chunks);
        chunks = [data];
        head = parseHead(data, isHead);
        if (head === undefined) {
          if (final && data.length > 0 && !data.subarray(0, 5).equals(Buffer.from('HTTP/'))) {
            // Not HTTP at all: report it as a response with status 0 and the bytes received.
            finish({
              kind: 'response',
              response: { status: 0, headers: new Map(), body: data },
              ms: elapsed(),
            });
            return true;
          }
          return false;
        }
      }
      const h = head;
      const bodyBytes = received - h.bodyStart;
      let body: Buffer | undefined;
      if (h.noBody) body = Buffer.alloc(0);
      else if (h.chunked) {
        const data = Buffer.concat(chunks);
        chunks = [data];
        body = dechunk(data.subarray(h.bodyStart));
        if (body === undefined && final) body = data.subarray(h.bodyStart);
      } else if (h.length !== undefined) {
        if (bodyBytes >= h.length || final) {
          const data = Buffer.concat(chunks);
          body = data.subarray(h.bodyStart, h.bodyStart + Math.min(h.length, bodyBytes));
        }
      } else if (final) {
        body = Buffer.concat(chunks).subarray(h.bodyStart);
      }
      if (body === undefined) return false;
      finish({ kind: 'response', response: { status: h.status, headers: h.headers, body }, ms: elapsed() });
      return true;
    };
    const closed = (): void => {
      if (!check(true)) {
        finish({
          kind: 'error',
          error: received === 0 ? 'connection closed without a response' : 'connection closed mid-response',
          ms: elapsed(),
          received,
        });
      }
    };
    const timer = setTimeout(() => {
      if (!check(true)) {
        finish({ kind: 'error', error: `no response within ${timeoutMs} ms`, ms: elapsed(), received });
      }
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      check(false);
    });
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A server may answer early (413, 400) and close while the body is still going out.
      if (!check(true)) {
        finish({ kind: 'error', error: error.code ?? error.message, ms: elapsed(), received });
      }
    });
    socket.on('connect', () => {
      socket.write(Buffer.from(buildHead(endpoint, request), 'utf8'));
      if (request.body !== undefined && request.body.byteLength > 0) socket.write(request.body);
    });
  });
}

/** The parsed head of the first final response, and how its body is framed. */
interface ResponseHead {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly bodyStart: number;
  readonly noBody: boolean;
  readonly chunked: boolean;
  readonly length: number | undefined;
}

/** Parses the head of the first final (non-`1xx`) response in `data`; `undefined` while incomplete. */
function parseHead(data: Buffer, isHead: boolean): ResponseHead | undefined {
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset, 'latin1');
    if (end < 0) return undefined;
    const [statusLine = '', ...lines] = data.subarray(offset, end).toString('latin1').split(CRLF);
    const match = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(statusLine);
    if (!match) return undefined;
    const status = Number(match[1]);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      offset = bodyStart;
      continue;
    }
    const length = headers.get('content-length');
    return {
      status,
      headers,
      bodyStart,
      noBody: isHead || status === 204 || status === 304,
      chunked: /\bchunked\b/i.test(headers.get('transfer-encoding') ?? ''),
      length: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
    };
  }
}

/** Decodes a complete chunked body; `undefined` while the last chunk has not arrived. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset, 'latin1');
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size)) return undefined;
    const start = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** A short, printable excerpt of a body (JSON-escaped, at most `max` characters). */
export function excerpt(body: Uint8Array | undefined, max = 160): string {
  if (body === undefined || body.byteLength === 0) return '""';
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, max * 4)).toString('utf8');
  const shown = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return body.byteLength > max ? `${shown}… (${body.byteLength} bytes)` : shown;
}

/** A request target cut for messages: JSON-escaped, long ones shortened with their length. */
export function showTarget(target: string, max = 200): string {
  const shown = JSON.stringify(target.length > max ? `${target.slice(0, max)}…` : target);
  return target.length > max ? `${shown} (${target.length} chars)` : shown;
}
