/**
 * The Node request listener around the hono app: a request id per request (the client's
 * `X-Request-Id` when it sent a usable one, returned in the response either way), one access log line
 * when the response is done, and the set of requests in flight (for draining on shutdown).
 *
 * Everything is taken from the Node objects when the response closes: no per-request timer,
 * closure or stream wrapper, so the access log costs one string per request. The socket is
 * remembered when the request arrives: by the time the response closes, Node may already have
 * detached it from the request (a response sent before the body was read, whose connection
 * Node then closes).
 *
 * Nothing here may throw into Node's event emitters: an exception in a `close` listener is
 * uncaught and would end the process. The close bookkeeping is guarded and its failures are
 * logged (once per request) instead.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AccessEntry, Logger } from '../log/logger.ts';

const REQUEST = Symbol('berth.request');

/**
 * An `X-Request-Id` a client (or a proxy in front) sent that is kept as the request's id: short,
 * and nothing that could forge a log line or a header. Anything else gets a fresh UUID.
 */
const GIVEN_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Told about every request as it starts and once its response closed (the metrics). `start`
 * returns what `end` gets back, or `undefined` for a request it does not follow.
 */
export interface RequestObserver<T> {
  start(req: IncomingMessage): T | undefined;
  end(token: T, entry: AccessEntry, req: IncomingMessage): void;
}

interface RequestState {
  readonly id: string;
  /** What the observer returned for this request. */
  readonly observed: unknown;
  readonly start: number;
  readonly socket: Socket;
  readonly startBytes: number;
  /** Read when the request arrives: a destroyed socket no longer knows its peer. */
  readonly remoteAddr: string;
}

type Tracked = IncomingMessage & { [REQUEST]?: RequestState };

/** The id the access log line of `incoming` carries (for correlating error logs). */
export function requestIdOf(incoming: IncomingMessage | undefined): string | undefined {
  return (incoming as Tracked | undefined)?.[REQUEST]?.id;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Wraps a request listener; see the module comment. */
export class RequestTracker {
  readonly #logger: Logger;
  readonly #observer: RequestObserver<unknown> | undefined;
  readonly #inFlight = new Set<ServerResponse>();
  #draining = false;
  #onIdle: (() => void) | undefined;

  constructor(logger: Logger, observer?: RequestObserver<unknown>) {
    this.#logger = logger;
    this.#observer = observer;
  }

  /** Requests whose response has not closed yet. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The listener to give `http.createServer`. */
  wrap(listener: Listener): Listener {
    const logger = this.#logger;
    const observer = this.#observer;
    const inFlight = this.#inFlight;
    const tracker = this;
    function onClose(this: ServerResponse): void {
      inFlight.delete(this);
      const state = (this.req as Tracked)[REQUEST];
      try {
        if (state !== undefined) {
          const entry = accessEntry(this, state);
          logger.access(entry);
          if (state.observed !== undefined) observer?.end(state.observed, entry, this.req);
        }
      } catch (err) {
        try {
          logger.error('access log failed', { err, requestId: state?.id });
        } catch {
          // The logger itself is failing: nothing left to report to.
        }
      }
      tracker.#settled();
    }
    return (req, res) => {
      const socket = req.socket;
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && GIVEN_REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      (req as Tracked)[REQUEST] = {
        id,
        observed: observer?.start(req),
        start: performance.now(),
        socket,
        startBytes: socket.bytesWritten,
        remoteAddr: socket.remoteAddress ?? '',
      };
      inFlight.add(res);
      res.once('close', onClose);
      // While draining, answer on keep-alive connections and then close them.
      if (this.#draining) res.setHeader('Connection', 'close');
      return listener(req, res);
    };
  }

  /**
   * Starts draining: responses not yet started will close their connection; resolves once no
   * request is in flight.
   */
  drain(): Promise<void> {
    this.#draining = true;
    for (const res of this.#inFlight) {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    }
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onIdle = resolve;
    });
  }

  #settled(): void {
    if (this.#draining && this.#inFlight.size === 0) {
      const resolve = this.#onIdle;
      this.#onIdle = undefined;
      resolve?.();
    }
  }
}

function accessEntry(res: ServerResponse, state: RequestState): AccessEntry {
  const req = res.req;
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const finished = res.writableFinished;
  // registry:2 logs 499 when the client went away before the response started.
  const status = finished || res.headersSent ? res.statusCode : 499;
  return {
    method: req.method ?? '',
    path: query < 0 ? url : url.slice(0, query),
    status,
    bytes: bodyBytes(res, req, state, finished, status),
    durationMs: performance.now() - state.start,
    remoteAddr: state.remoteAddr,
    userAgent: req.headers['user-agent'] ?? '',
    requestId: state.id,
  };
}

/**
 * Body bytes sent: the `Content-Length` of a completed response, else what the socket wrote
 * for this response minus its header block (close enough for chunked and aborted responses).
 */
function bodyBytes(
  res: ServerResponse,
  req: IncomingMessage,
  state: RequestState,
  finished: boolean,
  status: number,
): number {
  if (req.method === 'HEAD' || status === 204 || status === 304 || !res.headersSent) return 0;
  if (finished) {
    const length = res.getHeader('content-length');
    if (length !== undefined) return Number(length);
  }
  const header = (res as unknown as { _header?: string | null })._header;
  const written =
    state.socket.bytesWritten - state.startBytes - (typeof header === 'string' ? header.length : 0);
  return Math.max(0, written);
}
