/**
 * `GET /v2/<name>/tags/list[?n=&last=]`.
 */
import type { Context } from 'hono';
import { type AppConfig, linkPath, type RegistryAppEnv } from './env.ts';
import { methodNotAllowed } from './errors-handler.ts';
import { nextLink } from './headers.ts';
import { parsePageSize } from './params.ts';
import type { RegistryRoute } from './route.ts';

type TagsRoute = Extract<RegistryRoute, { kind: 'tags' }>;

/**
 * Lists tags in lexical order. Without `n` every tag after `last` is returned (registry:2);
 * `n` above `tags.maxtags` is clamped to it; `n=0` is an empty list without `Link` (spec). When
 * tags remain after the page, `Link: <…/tags/list?last=<last>&n=<n>>; rel="next"` points at the
 * next one. A tag directory without a current link (it resolves to nothing) is left out. An
 * unknown repository is `404 NAME_UNKNOWN`.
 */
export async function handleTags(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: TagsRoute,
): Promise<Response> {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD')
    throw methodNotAllowed(c.req.method, ['GET', 'HEAD']);
  const requested = parsePageSize(c.req.query('n'));
  const last = c.req.query('last') ?? '';
  const n = requested === undefined ? undefined : Math.min(requested, config.tagsMaxTags);
  const { tags, more } = await config.registry.repository(route.name).tags.page(last, n);
  const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8' });
  if (n !== undefined && n > 0 && more && tags.length > 0) {
    const query = `last=${encodeURIComponent(tags[tags.length - 1]!)}&n=${n}`;
    headers.set('Link', nextLink(linkPath(config, `/v2/${route.name}/tags/list?${query}`)));
  }
  return jsonResponse(c, { name: route.name, tags }, headers);
}

/** A JSON body with its `Content-Length` (kept on `HEAD`, whose body hono drops). */
export function jsonResponse(c: Context<RegistryAppEnv>, value: unknown, headers: Headers): Response {
  const body = JSON.stringify(value);
  headers.set('Content-Length', String(Buffer.byteLength(body)));
  return new Response(c.req.method === 'HEAD' ? null : body, { status: 200, headers });
}
