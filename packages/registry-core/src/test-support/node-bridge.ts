/**
 * A minimal HTTP/1.1 server in front of the app that behaves like `@hono/node-server` in the
 * respects the app depends on (that package is the server's dependency, not registry-core's):
 * the `Request` URL is WHATWG-normalised, the request body is left unread on the `Request`, and
 * the Node `IncomingMessage`/`ServerResponse` are passed as `env.incoming`/`env.outgoing`; the
 * response body is written with backpressure, and an unread request body is drained afterwards.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from './http.ts';

export interface Listening {
  readonly port: number;
  readonly origin: string;
  close(): Promise<void>;
}

async function handle(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.set(name, value);
  }
  const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
  });
  const response = await app.fetch(request, { incoming: req, outgoing: res });
  const outgoing: [string, string][] = [];
  response.headers.forEach((value, name) => {
    outgoing.push([name, value]);
  });
  res.writeHead(response.status, outgoing.flat());
  if (response.body !== null && req.method !== 'HEAD') {
    for await (const chunk of response.body) {
      if (!res.write(chunk)) await once(res, 'drain');
    }
  }
  res.end();
  if (!req.readableEnded) req.resume();
}

/** Serves `app` on 127.0.0.1 on an ephemeral port. */
export async function listen(app: App): Promise<Listening> {
  const server: Server = createServer((req, res) => {
    handle(app, req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
