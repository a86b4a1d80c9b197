/**
 * Real HTTP servers on 127.0.0.1 for the mirror's tests: an upstream Berth registry (in-memory
 * storage) that records every request it gets and can be slowed down, broken or made to lie,
 * and a mirror over its own in-memory storage.
 */
import type { AddressInfo } from 'node:net';
import { createRegistry, createRegistryApp, type Registry } from '@berth/registry-core';
import { createInMemoryDriver, type StorageDriver } from '@berth/storage-driver';
import { serve } from '@hono/node-server';
import { type CacheExpiry, createCacheExpiry } from '../expiry.ts';
import { namespaceMiddleware } from '../middleware.ts';
import { createMirror, type Mirror, type MirrorUpstream } from '../mirror.ts';
import { createUpstream } from '../upstream.ts';

export const SECRET = 'proxy-test-secret';

/** A request an upstream received. */
export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly range: string | null;
}

/** A hook that may answer a request itself (return a Response) or let the registry answer. */
export type Respond = (request: Request) => Response | undefined | Promise<Response | undefined>;
/** A hook that may replace the registry's response. */
export type Transform = (request: Request, response: Response) => Response | Promise<Response>;

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `fetch` on 127.0.0.1 on an ephemeral port with `@hono/node-server`. */
export async function serveFetch(fetch: (request: Request) => Response | Promise<Response>): Promise<Served> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export interface UpstreamServer extends Served {
  readonly registry: Registry;
  /** Every request received, in order. */
  readonly requests: Recorded[];
  /** Requests with `method` whose path contains `part`. */
  count(method: string, part: string): number;
  respond: Respond | undefined;
  transform: Transform | undefined;
}

/** An upstream registry (Berth over in-memory storage, deletes enabled). */
export async function startUpstreamRegistry(): Promise<UpstreamServer> {
  const registry = createRegistry({ driver: createInMemoryDriver(), deleteEnabled: true });
  const app = createRegistryApp({ registry, secret: SECRET });
  const requests: Recorded[] = [];
  const hooks: { respond: Respond | undefined; transform: Transform | undefined } = {
    respond: undefined,
    transform: undefined,
  };
  const served = await serveFetch(async (request) => {
    const url = new URL(request.url);
    requests.push({
      method: request.method,
      path: url.pathname + url.search,
      range: request.headers.get('range'),
    });
    const own = await hooks.respond?.(request);
    if (own !== undefined) return own;
    const response = await app.fetch(request);
    return hooks.transform === undefined ? response : hooks.transform(request, response);
  });
  return {
    ...served,
    registry,
    requests,
    count: (method, part) => requests.filter((r) => r.method === method && r.path.includes(part)).length,
    get respond() {
      return hooks.respond;
    },
    set respond(value) {
      hooks.respond = value;
    },
    get transform() {
      return hooks.transform;
    },
    set transform(value) {
      hooks.transform = value;
    },
  };
}

/** A body that releases `chunkSize` bytes every `delayMs`. */
export function throttle(
  body: ReadableStream<Uint8Array>,
  chunkSize: number,
  delayMs: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let pending: Uint8Array = new Uint8Array();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (pending.byteLength < chunkSize) {
        const { value, done } = await reader.read();
        if (done) break;
        pending = pending.byteLength === 0 ? value : Buffer.concat([pending, value]);
      }
      if (pending.byteLength === 0) {
        controller.close();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      controller.enqueue(pending.subarray(0, chunkSize));
      pending = pending.subarray(chunkSize);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

export interface MirrorServer extends Served {
  readonly mirror: Mirror;
  readonly local: Registry;
  readonly driver: StorageDriver;
  readonly expiry: CacheExpiry;
}

/** Options of {@link startMirror}: the mounts, with `url` in place of an upstream client. */
export interface TestMount extends Omit<MirrorUpstream, 'upstream'> {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

/** A mirror (over `driver`, default a new in-memory one) of `mounts`, served over HTTP. */
export async function startMirror(
  mounts: readonly TestMount[],
  options: { driver?: StorageDriver; spoolDirectory: string; now?: () => number; deleteEnabled?: boolean },
): Promise<MirrorServer> {
  const driver = options.driver ?? createInMemoryDriver();
  const local = createRegistry({ driver, deleteEnabled: options.deleteEnabled ?? false });
  let mirror: Mirror | undefined;
  const expiry = createCacheExpiry({
    driver,
    expire: (entry) => mirror!.expireEntry(entry),
    postpone: (entry, live) => mirror!.postponeEntry(entry, live),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  mirror = createMirror({
    registry: local,
    spoolDirectory: options.spoolDirectory,
    expiry,
    upstreams: mounts.map(({ url, username, password, ...mount }) => ({
      ...mount,
      upstream: createUpstream({
        url,
        ...(username === undefined ? {} : { credentials: { username, password: password ?? '' } }),
      }),
    })),
  });
  const app = createRegistryApp({
    registry: mirror.registry,
    secret: SECRET,
    middleware: [namespaceMiddleware(mirror)],
  });
  const served = await serveFetch((request) => app.fetch(request));
  return { ...served, mirror, local, driver, expiry };
}
