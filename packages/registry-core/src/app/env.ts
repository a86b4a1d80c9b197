import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Registry } from '../types.ts';
import { requestOrigin } from './headers.ts';
import type { RegistryRoute } from './route.ts';

/**
 * The hono environment of the registry app. `Bindings` are what `@hono/node-server` passes
 * (both optional: the app also runs under `app.request()` and other runtimes). `Variables`
 * carry the parsed route to middleware (an access controller derives its access records from
 * it).
 */
export interface RegistryAppEnv {
  Bindings: {
    /** The Node request, read directly for upload bodies. */
    incoming?: IncomingMessage;
    outgoing?: ServerResponse;
  };
  Variables: {
    /** The endpoint the request addresses, parsed before any user middleware runs. */
    route: RegistryRoute;
  };
}

/** The options of the app after defaults and normalisation; what handlers read. */
export interface AppConfig {
  readonly registry: Registry;
  readonly secret: string;
  /** `''` or `/prefix` (leading slash, no trailing slash). */
  readonly prefix: string;
  /** Absolute base URL for `Location`s, without a trailing slash and including the prefix. */
  readonly host: string | undefined;
  readonly relativeUrls: boolean;
  readonly readOnly: boolean;
  readonly catalogMaxEntries: number;
  readonly tagsMaxTags: number;
  readonly referrersMaxEntries: number;
  readonly chunkMinLength: number;
}

/** The handler of one route family. */
export type RouteHandler<R extends RegistryRoute = RegistryRoute> = (
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: R,
) => Promise<Response> | Response;

/**
 * The base that `Location` headers are built on, up to and including the prefix, without a
 * trailing slash: `http.host` when configured, else the prefix alone with `relativeUrls`, else
 * the origin the client used (registry:2's default).
 */
export function baseURL(c: Context<RegistryAppEnv>, config: AppConfig): string {
  if (config.host !== undefined) return config.host;
  if (config.relativeUrls) return config.prefix;
  return `${requestOrigin({ url: c.req.url, header: (name) => c.req.header(name) })}${config.prefix}`;
}

/** The path of an endpoint below the prefix, for `Link` headers (registry:2 makes them relative). */
export function linkPath(config: AppConfig, path: string): string {
  return `${config.prefix}${path}`;
}

/** True for `HEAD`, which hono dispatches to the `GET` handler and answers without a body. */
export function isHead(c: Context<RegistryAppEnv>): boolean {
  return c.req.method === 'HEAD';
}
