/**
 * HTTP/1 protocol errors: what the server answers when a request never becomes one the
 * registry app can see — a malformed request line or target, an oversized head, a `CONNECT`,
 * bytes after a body that are not a request.
 *
 * Node's defaults here either close the connection without a word (`CONNECT`), answer with an
 * empty body (`431`, `400`), or destroy the connection at once — losing the valid response that
 * was still being produced for an earlier request on it (a short `Content-Length` followed by
 * garbage). Go's server, which registry:2 runs on, reads the next request only once the previous
 * response is done, so that response is delivered; Berth does the same by writing its protocol
 * error after the in-flight response has finished.
 *
 * Answers to `/v2/` targets carry the OCI error envelope that clients parse; others are plain
 * text, as Go's server writes them.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RegistryError } from '@berth/registry-core';
import type { Logger } from '../log/logger.ts';

/**
 * The largest request head accepted (request line and headers). Go's `http.DefaultMaxHeaderBytes`,
 * which registry:2 uses: long `_state` values, bearer tokens carrying many scopes and proxies
 * adding headers all fit. Node's own default is 16 KiB.
 */
export const MAX_HEADER_BYTES: number = 1024 * 1024;

/** The methods the registry serves, for `Allow` on a refused `CONNECT`. */
const ALLOWED = 'GET, HEAD, POST, PUT, PATCH, DELETE';

interface ProtocolAnswer {
  readonly status: number;
  readonly reason: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The raw bytes of a response that closes the connection. */
function rawResponse(answer: ProtocolAnswer, api: boolean): string {
  const body = api
    ? JSON.stringify(new RegistryError('UNSUPPORTED', answer.message).toJSON())
    : `${answer.status} ${answer.reason}: ${answer.message}\n`;
  const lines = [
    `HTTP/1.1 ${answer.status} ${answer.reason}`,
    `Content-Type: ${api ? 'application/json' : 'text/plain; charset=utf-8'}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(answer.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The status-400 body and its type for `target`: the OCI envelope for `/v2/` targets. */
function badRequestBody(target: string | undefined, why: string): { body: string; type: string } {
  const api = isApiTarget(target);
  const message = `malformed request: ${why}`;
  return api
    ? { body: JSON.stringify(new RegistryError('UNSUPPORTED', message).toJSON()), type: 'application/json' }
    : { body: `400 Bad Request: ${message}\n`, type: 'text/plain; charset=utf-8' };
}

/**
 * The answer to a request target that cannot be turned into a URL (a backslash in the path,
 * `*`): `400` with the OCI envelope (code `UNSUPPORTED`) for `/v2/` targets, plain text
 * otherwise.
 */
export function badRequestResponse(target: string | undefined, why: string): Response {
  const { body, type } = badRequestBody(target, why);
  return new Response(body, {
    status: 400,
    headers: { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) },
  });
}

/**
 * What is wrong with a request's `Host` headers, if anything: more than one (RFC 9112 §3.2:
 * answer 400, since a proxy and the registry could each pick another), or none on HTTP/1.1.
 * HTTP/1.0 may come without one.
 */
export function hostHeaderProblem(req: IncomingMessage): string | undefined {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return 'more than one Host header';
  if (hosts === 0 && (req.httpVersionMajor > 1 || req.httpVersionMinor >= 1)) {
    return `HTTP/${req.httpVersion} request without a Host header`;
  }
  return undefined;
}

/** Answers `res` with the 400 of {@link badRequestResponse} and closes the connection. */
export function sendBadRequest(res: ServerResponse, target: string | undefined, why: string): void {
  const { body, type } = badRequestBody(target, why);
  res.writeHead(400, {
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  });
  res.end(body);
}

/** True when `error` is `@hono/node-server`'s failure to build a `Request` from the Node one. */
export function isRequestError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'RequestError';
}

function isApiTarget(target: string | undefined): boolean {
  if (target === undefined) return false;
  // The path of an absolute-form target (`http://host/v2/…`) counts as well.
  const path = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  return /^\/(?:[^?]*\/)?v2(?:\/|\?|$)/.test(path);
}

/** The target of the request line that Node could not parse, when its start is readable. */
function targetOf(rawPacket: Buffer | undefined): string | undefined {
  if (rawPacket === undefined) return undefined;
  const line = rawPacket.subarray(0, Math.min(rawPacket.length, 8192)).toString('latin1');
  const match = /^[A-Za-z]+ (\S+)/.exec(line);
  return match?.[1];
}

function answerFor(error: NodeJS.ErrnoException): ProtocolAnswer | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        message: `request head larger than ${MAX_HEADER_BYTES} bytes`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return { status: 408, reason: 'Request Timeout', message: 'request head not received in time' };
    default:
      return { status: 400, reason: 'Bad Request', message: 'malformed HTTP request' };
  }
}

/**
 * Writes `text` on `socket` once the response in flight on it (if any) has been sent, then
 * closes the connection.
 */
function answerAfterInFlight(socket: Socket, text: string | undefined, error: Error): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.writableFinished && !inFlight.req.complete) {
    // The error is in the body of the request being answered (a malformed chunk, or the client
    // went away mid-body): that request can never complete, so the connection ends now, as
    // Node's default does — which also fails the body stream its handler is reading.
    if (text !== undefined && !inFlight.headersSent && socket.writable) socket.write(text);
    socket.destroy(error);
    return;
  }
  const send = (): void => {
    if (text !== undefined && socket.writable) socket.end(text);
    else socket.end();
    // A client that never reads must not keep the socket: it is closed in any case shortly.
    setTimeout(() => socket.destroy(), 5_000).unref();
  };
  if (inFlight && !inFlight.writableFinished && !inFlight.destroyed) {
    inFlight.shouldKeepAlive = false;
    let sent = false;
    const once = (): void => {
      if (sent) return;
      sent = true;
      send();
    };
    inFlight.once('finish', once);
    inFlight.once('close', once);
    return;
  }
  send();
}

/**
 * Installs the protocol-error answers on `server` (HTTP or HTTPS): `clientError` (malformed
 * requests, oversized heads, head timeouts) and `connect` (`CONNECT` is refused with `405`).
 * Counted and logged at debug level: they are the client's errors, not the server's.
 */
export function handleProtocolErrors(server: HttpServer, logger: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    const answer = answerFor(error);
    const target = targetOf(error.rawPacket);
    if (logger.enabled('debug')) {
      logger.debug('protocol error', { code: error.code, remoteAddr: socket.remoteAddress });
    }
    // Without a readable target (the head overflowed past it), answer as the API would.
    const api = target === undefined || isApiTarget(target);
    answerAfterInFlight(socket, answer === undefined ? undefined : rawResponse(answer, api), error);
  });
  server.on('connect', (req, socket: Socket) => {
    if (logger.enabled('debug')) logger.debug('CONNECT refused', { remoteAddr: socket.remoteAddress });
    socket.on('error', () => {});
    socket.end(
      rawResponse(
        {
          status: 405,
          reason: 'Method Not Allowed',
          message: 'method CONNECT is not allowed: this is a registry, not a proxy',
          headers: { Allow: ALLOWED },
        },
        isApiTarget(req.url),
      ),
    );
  });
}
