/**
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]` (distribution-spec v1.1, "end-12";
 * registry:2 has no referrers API).
 */
import { MediaType } from '@berth/manifest';
import type { Context } from 'hono';
import { type AppConfig, linkPath, type RegistryAppEnv } from './env.ts';
import { methodNotAllowed } from './errors-handler.ts';
import { nextLink } from './headers.ts';
import { parseDigestParam, parsePageSize } from './params.ts';
import type { RegistryRoute } from './route.ts';
import { jsonResponse } from './tags.ts';

type ReferrersRoute = Extract<RegistryRoute, { kind: 'referrers' }>;

/**
 * Answers an OCI image index of the manifests whose `subject` is `<digest>`: always `200`, with
 * an empty `manifests` list for an unknown subject or repository (the spec forbids 404 here); a
 * malformed digest is `400 DIGEST_INVALID`. `?artifactType=` filters and is acknowledged with
 * `OCI-Filters-Applied: artifactType`.
 *
 * Paging (the spec leaves the cursor to the registry): descriptors are ordered by digest and a
 * page holds at most `referrersMaxEntries` (default 1000) or `?n=` if smaller; when more follow,
 * `Link: <…/referrers/<digest>?last=<digest>&n=<n>>; rel="next"` continues after the last one.
 */
export async function handleReferrers(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: ReferrersRoute,
): Promise<Response> {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD')
    throw methodNotAllowed(c.req.method, ['GET', 'HEAD']);
  const subject = parseDigestParam(route.digest);
  const requested = parsePageSize(c.req.query('n'));
  const n = Math.min(requested ?? config.referrersMaxEntries, config.referrersMaxEntries);
  const last = c.req.query('last') ?? '';
  const artifactType = c.req.query('artifactType') ?? '';

  const repo = config.registry.repository(route.name);
  const all = await repo.referrers.list(subject, artifactType === '' ? undefined : { artifactType });
  const sorted = [...all].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const after = last === '' ? sorted : sorted.filter((d) => d.digest > last);
  const manifests = after.slice(0, n);

  const headers = new Headers({ 'Content-Type': MediaType.OciIndex });
  if (artifactType !== '') headers.set('OCI-Filters-Applied', 'artifactType');
  if (n > 0 && after.length > n) {
    let query = `last=${encodeURIComponent(manifests[manifests.length - 1]!.digest)}&n=${n}`;
    if (artifactType !== '') query = `artifactType=${encodeURIComponent(artifactType)}&${query}`;
    headers.set('Link', nextLink(linkPath(config, `/v2/${route.name}/referrers/${subject}?${query}`)));
  }
  return jsonResponse(c, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }, headers);
}
