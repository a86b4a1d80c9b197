/**
 * A round-robin HTTP reverse proxy for `pnpm bench --replicas N`: every request (not every
 * connection) goes to the next backend in turn, over a keep-alive agent per backend.
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
  const lastErrors: string[] = [];
  let errors = 0;
  let next = 0;
  const fail = (message: string): void => {
    errors++;
    lastErrors.push(message);
    if (lastErrors.length > 20) lastErrors.shift();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const index = next;
    next = (next + 1) % targets.length;
    counts[index]!++;
    const target = targets[index]!;
    const upstream = request({
      hostname: target.hostname,
      port: target.port,
      agent: target.agent,
      method: req.method,
      path: req.url,
      headers: endToEndHeaders(req.rawHeaders),
    });
    let finished = false;
    const abort = (why: string): void => {
      if (finished) return;
      finished = true;
      fail(`${req.method} ${req.url} → ${backends[index]}: ${why}`);
      upstream.destroy();
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`round-robin proxy: ${why}\n`);
      } else {
        res.destroy();
      }
    };
    upstream.on('response', (response) => {
      res.writeHead(response.statusCode ?? 502, response.statusMessage, endToEndHeaders(response.rawHeaders));
      response.pipe(res);
      response.on('error', (error) => abort(`response stream: ${error.message}`));
      response.on('close', () => {
        if (!response.complete) abort('the backend broke off the response');
      });
      res.on('finish', () => {
        finished = true;
      });
    });
    upstream.on('error', (error) => abort(error.message));
    req.on('error', (error) => abort(`request stream: ${error.message}`));
    // The client went away before its response was complete.
    res.on('close', () => {
      if (!res.writableFinished) abort('client closed the connection');
    });
    req.pipe(upstream);
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
