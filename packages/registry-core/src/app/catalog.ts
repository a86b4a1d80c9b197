/**
 * `GET /v2/_catalog[?n=&last=]`.
 */
import type { Context } from 'hono';
import { RegistryError } from '../errors.ts';
import { type AppConfig, linkPath, type RegistryAppEnv } from './env.ts';
import { methodNotAllowed } from './errors-handler.ts';
import { nextLink } from './headers.ts';
import { parsePageSize } from './params.ts';
import { jsonResponse } from './tags.ts';

/** registry:2's page size when `n` is absent. */
export const DEFAULT_CATALOG_PAGE: number = 100;

/**
 * Lists repositories in lexical order, a page at a time, as registry:2: 100 by default (or
 * `catalog.maxentries` if smaller), `n` above `catalog.maxentries` refused with `400
 * PAGINATION_NUMBER_INVALID` (not clamped, unlike tags), `n=0` an empty list; `Link` to the next
 * page when the store says more follow.
 */
export async function handleCatalog(c: Context<RegistryAppEnv>, config: AppConfig): Promise<Response> {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD')
    throw methodNotAllowed(c.req.method, ['GET', 'HEAD']);
  const requested = parsePageSize(c.req.query('n'));
  if (requested !== undefined && requested > config.catalogMaxEntries) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', undefined, {
      n: requested,
      max: config.catalogMaxEntries,
    });
  }
  const n = requested ?? Math.min(DEFAULT_CATALOG_PAGE, config.catalogMaxEntries);
  const last = c.req.query('last') ?? '';
  const page =
    n === 0 ? { items: [], more: false } : await config.registry.catalog(last === '' ? { n } : { n, last });
  const repositories = page.items.slice(0, n);
  const headers = new Headers({ 'Content-Type': 'application/json' });
  if (page.more && repositories.length > 0) {
    const query = `last=${encodeURIComponent(repositories[repositories.length - 1]!)}&n=${n}`;
    headers.set('Link', nextLink(linkPath(config, `/v2/_catalog?${query}`)));
  }
  return jsonResponse(c, { repositories }, headers);
}
