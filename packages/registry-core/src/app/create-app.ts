import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { Registry } from '../types.ts';
import { handleBlob } from './blobs.ts';
import { rawRequestTarget } from './body.ts';
import { handleCatalog } from './catalog.ts';
import type { AppConfig, RegistryAppEnv } from './env.ts';
import { methodNotAllowed, notFoundResponse, renderError } from './errors-handler.ts';
import { API_VERSION, API_VERSION_HEADER } from './headers.ts';
import { handleManifest } from './manifests.ts';
import { handleReferrers } from './referrers.ts';
import { parseRoute, type RegistryRoute } from './route.ts';
import { handleTags } from './tags.ts';
import { handleUpload, handleUploadStart } from './uploads.ts';

/** Options of {@link createRegistryApp}; the `http`, `catalog`, `tags` and maintenance keys of registry:2's config. */
export interface RegistryAppOptions {
  /** The registry to serve, from `createRegistry()`. */
  readonly registry: Registry;
  /**
   * `http.secret`: signs the `_state` of upload locations. Replicas that continue each other's
   * uploads must share it.
   */
  readonly secret: string;
  /** `http.prefix`: serve under `<prefix>/v2/` (e.g. `/registry`). @default '' */
  readonly prefix?: string;
  /**
   * `http.host`: the absolute URL clients reach the registry at (`https://registry.example.com`),
   * used for `Location` headers instead of the request's `Host`/`X-Forwarded-*`. The prefix is
   * appended unless the URL's path already ends with it.
   */
  readonly host?: string;
  /**
   * `http.relativeurls`: answer `Location` headers with a path only. Otherwise they are
   * absolute, built from `X-Forwarded-Proto`/`X-Forwarded-Host`/`Forwarded`/`Host` as
   * registry:2 does. @default false
   */
  readonly relativeUrls?: boolean;
  /**
   * `http.headers`: added to every response (404s and errors included) unless the response
   * sets that header itself, as in registry:2.
   */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * `storage.maintenance.readonly.enabled`: every write (push, delete, upload) is answered
   * `405 UNSUPPORTED` with `Allow: GET, HEAD`; reads are unaffected. @default false
   */
  readonly readOnly?: boolean;
  /** `catalog.maxentries`: the largest `n` accepted by `/v2/_catalog`. @default 1000 */
  readonly catalogMaxEntries?: number;
  /** `tags.maxtags`: `n` on `tags/list` is clamped to it. @default 1000 */
  readonly tagsMaxTags?: number;
  /** The largest page of the referrers API (`?n=` is clamped to it). @default 1000 */
  readonly referrersMaxEntries?: number;
  /**
   * Advertised as `OCI-Chunk-Min-Length` on upload sessions: the smallest non-final chunk
   * clients should send. The default matches the smallest S3 multipart part, so chunked
   * uploads map onto object-store parts without re-buffering. `0` omits the header.
   * @default 5242880
   */
  readonly chunkMinLength?: number;
  /**
   * Hono middleware run before the endpoints, after the route is parsed (`c.get('route')`):
   * the hook for access control. A middleware may answer itself or throw a `RegistryError`
   * (e.g. `UNAUTHORIZED` with a `WWW-Authenticate` header), rendered like any other.
   */
  readonly middleware?: readonly MiddlewareHandler<RegistryAppEnv>[];
  /**
   * Called with every error that is not a `RegistryError` (answered `500 UNKNOWN`), for the
   * server to log. The app itself never logs.
   */
  readonly onError?: (err: unknown, c: Context<RegistryAppEnv>) => void;
}

/** Default of {@link RegistryAppOptions.chunkMinLength}. */
export const DEFAULT_CHUNK_MIN_LENGTH: number = 5 * 1024 * 1024;

function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined) return '';
  const trimmed = prefix.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function normalizeHost(host: string | undefined, prefix: string): string | undefined {
  if (host === undefined || host.trim() === '') return undefined;
  const url = new URL(host.trim());
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return prefix !== '' && base.endsWith(prefix) ? base : `${base}${prefix}`;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}

function resolveConfig(options: RegistryAppOptions): AppConfig {
  if (typeof options.secret !== 'string' || options.secret === '') {
    throw new TypeError('createRegistryApp: secret (http.secret) is required');
  }
  const prefix = normalizePrefix(options.prefix);
  return {
    registry: options.registry,
    secret: options.secret,
    prefix,
    host: normalizeHost(options.host, prefix),
    relativeUrls: options.relativeUrls === true,
    readOnly: options.readOnly === true,
    catalogMaxEntries: positive(options.catalogMaxEntries, 1000, 'catalogMaxEntries'),
    tagsMaxTags: positive(options.tagsMaxTags, 1000, 'tagsMaxTags'),
    referrersMaxEntries: positive(options.referrersMaxEntries, 1000, 'referrersMaxEntries'),
    chunkMinLength: positive(options.chunkMinLength, DEFAULT_CHUNK_MIN_LENGTH, 'chunkMinLength'),
  };
}

function headerList(headers: RegistryAppOptions['headers']): [string, readonly string[]][] {
  return Object.entries(headers ?? {}).map(([name, value]) => [
    name,
    typeof value === 'string' ? [value] : value,
  ]);
}

/** The path of the request as sent, still percent-encoded, without the query. */
function requestPath(c: Context<RegistryAppEnv>): string {
  const target = rawRequestTarget(c);
  if (target !== undefined) {
    const query = target.indexOf('?');
    return query < 0 ? target : target.slice(0, query);
  }
  const url = c.req.url;
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = url.search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

function dispatch(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: RegistryRoute,
): Promise<Response> | Response {
  switch (route.kind) {
    case 'base':
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD')
        throw methodNotAllowed(c.req.method, ['GET', 'HEAD']);
      return new Response(c.req.method === 'HEAD' ? null : '{}', {
        status: 200,
        headers: { 'Content-Type': 'application/json', 'Content-Length': '2' },
      });
    case 'catalog':
      return handleCatalog(c, config);
    case 'tags':
      return handleTags(c, config, route);
    case 'manifest':
      return handleManifest(c, config, route);
    case 'blob':
      return handleBlob(c, config, route);
    case 'upload-start':
      return handleUploadStart(c, config, route);
    case 'upload':
      return handleUpload(c, config, route);
    case 'referrers':
      return handleReferrers(c, config, route);
  }
}

/**
 * Creates the registry's HTTP API: a hono app serving every `/v2/` endpoint of the OCI
 * Distribution Specification with registry:2's paths, headers and error codes.
 *
 * Every response carries `Docker-Distribution-API-Version: registry/2.0` and the configured
 * `headers`. Errors are thrown as `RegistryError` by handlers and stores and rendered once, as
 * `{"errors":[{code,message,detail}]}` with the first error's status. Paths outside `/v2/` are
 * a plain `404`.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * import { createInMemoryDriver } from '@berth/storage-driver';
 * import { createRegistry, createRegistryApp } from '@berth/registry-core';
 *
 * const registry = createRegistry({ driver: createInMemoryDriver(), deleteEnabled: true });
 * const app = createRegistryApp({ registry, secret: process.env.REGISTRY_HTTP_SECRET ?? 'change-me' });
 * serve({ fetch: app.fetch, port: 5000 });
 * ```
 */
export function createRegistryApp(options: RegistryAppOptions): Hono<RegistryAppEnv> {
  const config = resolveConfig(options);
  const extraHeaders = headerList(options.headers);
  const app = new Hono<RegistryAppEnv>();

  app.onError((err, c) => renderError(err, options.onError && ((e) => options.onError?.(e, c))));
  app.notFound(() => notFoundResponse());

  // Outermost: stamp every response, errors and 404s included, once it is final.
  app.use(async (c, next) => {
    await next();
    let headers = c.res.headers;
    try {
      headers.set(API_VERSION_HEADER, API_VERSION);
    } catch {
      // Immutable headers (a middleware passed a fetch() response through): copy it.
      c.res = new Response(c.res.body, c.res);
      headers = c.res.headers;
      headers.set(API_VERSION_HEADER, API_VERSION);
    }
    // registry:2 adds them before the handler runs, so a header the handler sets itself wins.
    for (const [name, values] of extraHeaders) {
      if (headers.has(name)) continue;
      for (const value of values) headers.append(name, value);
    }
  });

  app.use(async (c, next) => {
    const route = parseRoute(requestPath(c), config.prefix);
    if (route === undefined) return notFoundResponse();
    c.set('route', route);
    await next();
  });

  for (const middleware of options.middleware ?? []) app.use(middleware);

  app.all('*', (c) => dispatch(c, config, c.get('route')));
  return app;
}
