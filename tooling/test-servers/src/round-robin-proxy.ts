/**
 * A round-robin HTTP reverse proxy for `pnpm bench --replicas N` and the replica end-to-end
 * tests: every request (not every connection) goes to the next backend in turn, over a keep-alive
 * agent per backend.
 *
 * Per request, because the harness runs its sequential scenarios over one kept-alive connection:
 * a per-connection balancer would send a whole `push-big` (POST, PATCH…, PUT) and the pulls after
 * it to one replica, and nothing would ever cross replicas. Per request, an upload started on one
 * replica is continued and finished on the other, and a blob pushed through one is pulled through
 * the other, as behind a load balancer that does not pin clients.
 *
 * Bodies are streamed both ways with backpressure (`pipe`), never buffered; status, status text
 * and headers pass through unchanged (including `Location` of redirects and uploads, which Berth
 * builds from the `Host` header, forwarded as is), except hop-by-hop headers (RFC 9110 §7.6.1).
 *
 * Like a load balancer's passive health check (nginx's `max_fails`/`fail_timeout`), a backend
 * that refuses a connection is taken out of the rotation for `downForMs`, then tried again: a
 * request without a body that it refused is sent to the next backend at once; one with a body
 * (already streaming) gets a 502 or a reset connection (`onFailure`), and the client's retry
 * goes elsewhere.
 * Node built-ins only.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Hop-by-hop headers, not forwarded (`transfer-encoding` is: Node frames the body by it). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

/**
 * `rawHeaders` (name, value, name, value, …) without hop-by-hop headers and without the headers
 * that `Connection` names.
 */
export function endToEndHeaders(rawHeaders: readonly string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const kept: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return kept;
}

/** Options of {@link startRoundRobinProxy}. */
export interface RoundRobinProxyOptions {
  /** Default: a free port. The proxy always binds 127.0.0.1. */
  readonly port?: number;
  /** How long a backend that refused a connection stays out of the rotation. Default 1 s. */
  readonly downForMs?: number;
  /**
   * What the client gets when its request fails at the proxy before a response began: `502`
   * (default: a text/plain 502, as nginx answers) or `reset` (the rest of its request body is
   * read and dropped, then its connection is reset, as behind a TCP balancer whose backend died:
   * the client reads `ECONNRESET`, which OCI clients such as skopeo retry; they retry neither a
   * 5xx nor a connection broken while they were still writing).
   */
  readonly onFailure?: '502' | 'reset';
  /**
   * Called as each request is handed to a backend (its index in `backends`), before anything is
   * sent to it: for tests that act on a backend while it serves a given request.
   */
  readonly onRequest?: (backend: number, method: string, path: string) => void;
}

/** A running round-robin proxy. */
export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The backends' base URLs, in the order requests are handed out. */
  readonly backends: readonly string[];
  /** Requests handed to each backend so far, in the order of {@link backends}. */
  readonly counts: readonly number[];
  /** Requests that failed at the proxy (backend unreachable, a stream broken off). */
  readonly errors: number;
  /** Bodiless requests that a backend refused and the next one answered (not in {@link errors}). */
  readonly retried: number;
  /** Whether each backend is out of the rotation now (it refused a connection lately). */
  readonly down: readonly boolean[];
  /** The last proxy errors (at most 20), for messages. */
  readonly lastErrors: readonly string[];
  /** Stops listening, closes every connection and the agents' sockets. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a reverse proxy on 127.0.0.1 that hands each request to the next of `backends`
 * (`http://host:port` base URLs) in turn.
 *
 * @example
 * ```ts
 * const proxy = await startRoundRobinProxy([a.url, b.url]);
 * try { … proxy.url … proxy.counts … } finally { await proxy.close(); }
 * ```
 */
export async function startRoundRobinProxy(
  backends: readonly string[],
  options: RoundRobinProxyOptions = {},
): Promise<RoundRobinProxy> {
  if (backends.length === 0) throw new Error('startRoundRobinProxy: no backends');
  const targets = backends.map((base) => {
    const url = new URL(base);
    if (url.protocol !== 'http:') throw new Error(`startRoundRobinProxy: only http backends, got ${base}`);
    return {
      hostname: url.hostname,
      port: Number(url.port || 80),
      agent: new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 1024 }),
    };
  });
  const counts = backends.map(() => 0);
  const downUntil = backends.map(() => 0);
  const downForMs = options.downForMs ?? 1_000;
  const lastErrors: string[] = [];
  let errors = 0;
  let retried = 0;
  let next = 0;
  const fail = (message: string): void => {
    errors++;
    lastErrors.push(message);
    if (lastErrors.length > 20) lastErrors.shift();
  };
  /** The next backend in turn that is not down (`tried` excluded); the next in turn if all are. */
  const pick = (tried: ReadonlySet<number>): number | undefined => {
    const now = Date.now();
    let fallback: number | undefined;
    for (let step = 0; step < targets.length; step++) {
      const index = (next + step) % targets.length;
      if (tried.has(index)) continue;
      fallback ??= index;
      if (downUntil[index]! <= now) {
        next = (index + 1) % targets.length;
        return index;
      }
    }
    if (fallback !== undefined) next = (fallback + 1) % targets.length;
    return fallback;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // No Content-Length (or 0) and no Transfer-Encoding: nothing is streamed, so it can be resent.
    const bodiless =
      req.headers['transfer-encoding'] === undefined &&
      (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
    const tried = new Set<number>();
    const headers = endToEndHeaders(req.rawHeaders);
    let finished = false;
    res.on('finish', () => {
      finished = true;
    });
    /** Aborts the request in flight (the last one sent). */
    let abortCurrent = (_why: string): void => {};
    // The client went away before its response was complete.
    res.on('close', () => {
      if (!res.writableFinished) abortCurrent('client closed the connection');
    });

    const send = (index: number): void => {
      tried.add(index);
      counts[index]!++;
      options.onRequest?.(index, req.method ?? 'GET', req.url ?? '/');
      const target = targets[index]!;
      const upstream = request({
        hostname: target.hostname,
        port: target.port,
        agent: target.agent,
        method: req.method,
        path: req.url,
        headers,
      });
      const abort = (why: string): void => {
        if (finished) return;
        finished = true;
        fail(`${req.method} ${req.url} → ${backends[index]}: ${why}`);
        upstream.destroy();
        if (res.headersSent) {
          res.destroy();
        } else if (options.onFailure === 'reset') {
          // Swallow the rest of the request body, then reset the connection: the client, done
          // writing and waiting for its answer, reads ECONNRESET.
          req.unpipe(upstream);
          const reset = (): void => {
            res.socket?.resetAndDestroy();
          };
          if (req.complete) reset();
          else req.on('end', reset).on('error', reset).resume();
        } else {
          res.writeHead(502, { 'content-type': 'text/plain' }).end(`round-robin proxy: ${why}\n`);
        }
      };
      abortCurrent = abort;
      upstream.on('response', (response) => {
        res.writeHead(
          response.statusCode ?? 502,
          response.statusMessage,
          endToEndHeaders(response.rawHeaders),
        );
        response.pipe(res);
        response.on('error', (error) => abort(`response stream: ${error.message}`));
        response.on('close', () => {
          if (!response.complete) abort('the backend broke off the response');
        });
      });
      upstream.on('error', (error) => {
        const code = (error as NodeJS.ErrnoException).code;
        // Refused: the backend is down, and never saw the request: a bodiless one goes to the
        // next backend. Reset before any response: a kept-alive socket of a backend that just
        // died, or a backend dying with the request, which it may have acted on: only a GET or
        // HEAD is sent again (as nginx does not resend a request that changes state).
        if (code === 'ECONNREFUSED') downUntil[index] = Date.now() + downForMs;
        const safe = req.method === 'GET' || req.method === 'HEAD';
        if ((code === 'ECONNREFUSED' || (code === 'ECONNRESET' && safe)) && !res.headersSent) {
          const other = bodiless && !finished ? pick(tried) : undefined;
          if (other !== undefined) {
            retried++;
            upstream.destroy();
            send(other);
            return;
          }
        }
        abort(error.message);
      });
      if (bodiless) {
        req.resume();
        upstream.end();
      } else {
        req.on('error', (error) => abort(`request stream: ${error.message}`));
        req.pipe(upstream);
      }
    };
    send(pick(tried)!);
  };

  const server = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 },
    handle,
  );
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    backends: [...backends],
    counts,
    get errors() {
      return errors;
    },
    get retried() {
      return retried;
    },
    get down() {
      const now = Date.now();
      return downUntil.map((until) => until > now);
    },
    lastErrors,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        for (const target of targets) target.agent.destroy();
      });
      return closing;
    },
  };
}
