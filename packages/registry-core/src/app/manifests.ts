/**
 * `GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`.
 */
import { type Digest, isDigest } from '@berth/digest';
import { DEFAULT_MAX_MANIFEST_SIZE, MediaType, parseAccept, selectPlatform } from '@berth/manifest';
import type { Context } from 'hono';
import { RegistryError } from '../errors.ts';
import { isValidTag } from '../names.ts';
import type { Repository, StoredManifest } from '../types.ts';
import { readBoundedBody } from './body.ts';
import { type AppConfig, baseURL, isHead, type RegistryAppEnv } from './env.ts';
import { methodNotAllowed } from './errors-handler.ts';
import { etagOf, ifNoneMatch, mediaTypeOf } from './headers.ts';
import { parseReference } from './params.ts';
import type { RegistryRoute } from './route.ts';

type ManifestRoute = Extract<RegistryRoute, { kind: 'manifest' }>;

const ALLOW = ['GET', 'HEAD', 'PUT', 'DELETE'] as const;

/** Dispatches a manifest request by method. */
export async function handleManifest(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: ManifestRoute,
): Promise<Response> {
  switch (c.req.method) {
    case 'GET':
    case 'HEAD':
      return getManifest(c, config, route);
    case 'PUT':
      return putManifest(c, config, route);
    case 'DELETE':
      return deleteManifest(config, route);
    default:
      throw methodNotAllowed(c.req.method, ALLOW);
  }
}

function unknownTag(tag: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', undefined, { tag });
}

/**
 * Serves a manifest, byte for byte as pushed, with the media type it was pushed with.
 *
 * Content negotiation differs from registry:2 in one place, on purpose: registry:2 answers
 * `404 MANIFEST_UNKNOWN` ("OCI manifest found, but accept header does not support OCI
 * manifests") when `Accept` lacks the OCI type; the distribution spec requires the stored
 * manifest to be served, so Berth serves OCI manifests and indexes whatever `Accept` says.
 * The one negotiation kept is registry:2's for Docker manifest lists fetched by tag: a client
 * whose `Accept` lacks the list type gets the `linux/amd64` child (404 when there is none).
 * OCI indexes are always served as they are.
 */
async function getManifest(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: ManifestRoute,
): Promise<Response> {
  const reference = parseReference(route.reference);
  // An invalid tag can name nothing: answered as an unknown manifest (registry:2's router
  // gives a plain 404 for it).
  if (reference.kind === 'invalid') throw unknownTag(reference.value);
  const repo = config.registry.repository(route.name);

  let stored: StoredManifest;
  // The tag link is read on every request (a tag moved by another replica is seen at once);
  // the revision link may come from the short-lived read cache (`CacheLimits.readCacheTtlMs`).
  if (reference.kind === 'digest') {
    stored = await repo.manifests.get(reference.digest, { cached: true });
  } else {
    stored = await repo.manifests.get(await repo.tags.resolve(reference.tag), { cached: true });
    if (stored.manifest.kind === 'docker-manifest-list') {
      const accepted = parseAccept(c.req.header('accept'));
      if (!accepted.has(MediaType.DockerManifestList)) stored = await defaultPlatformChild(repo, stored);
    }
  }

  const headers = new Headers({
    'Docker-Content-Digest': stored.digest,
    ETag: etagOf(stored.digest),
  });
  if (ifNoneMatch(c.req.header('if-none-match'), stored.digest)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set('Content-Type', stored.mediaType);
  headers.set('Content-Length', String(stored.bytes.byteLength));
  return new Response(isHead(c) ? null : stored.bytes, { status: 200, headers });
}

/** registry:2's fallback for clients that do not understand manifest lists. */
async function defaultPlatformChild(repo: Repository, list: StoredManifest): Promise<StoredManifest> {
  if (list.manifest.kind !== 'docker-manifest-list') return list;
  const child = selectPlatform(list.manifest, { os: 'linux', architecture: 'amd64' });
  if (child === undefined || !isDigest(child.digest)) {
    throw new RegistryError(
      'MANIFEST_UNKNOWN',
      'manifest list has no linux/amd64 manifest and the Accept header does not allow manifest lists',
      { digest: list.digest },
    );
  }
  return repo.manifests.get(child.digest);
}

/**
 * Stores a manifest. The body is read whole (a manifest is parsed and hashed as one document)
 * but never past the size limit. `?tag=` (repeatable, distribution-spec main "end-7b") adds
 * tags to a push, answered with one `OCI-Tag` per tag; a manifest with a `subject` is answered
 * with `OCI-Subject` (spec v1.1; registry:2 sends neither).
 */
async function putManifest(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: ManifestRoute,
): Promise<Response> {
  if (config.readOnly) throw methodNotAllowed('PUT', ['GET', 'HEAD'], 'the registry is in read-only mode');
  const reference = parseReference(route.reference);
  if (reference.kind === 'invalid') {
    throw new RegistryError('TAG_INVALID', 'invalid tag', { tag: reference.value });
  }
  const queryTags = c.req.queries('tag') ?? [];
  for (const tag of queryTags) {
    if (!isValidTag(tag)) throw new RegistryError('TAG_INVALID', 'invalid tag', { tag });
  }
  const repo = config.registry.repository(route.name);
  const limit = config.registry.options.manifestMaxSize ?? DEFAULT_MAX_MANIFEST_SIZE;
  const bytes = await readBoundedBody(c, limit);

  const tags = reference.kind === 'tag' ? [reference.tag, ...queryTags] : queryTags;
  const mediaType = mediaTypeOf(c.req.header('content-type'));
  const result = await repo.manifests.put(bytes, {
    ...(mediaType === undefined ? {} : { mediaType }),
    ...(reference.kind === 'digest' ? { expectedDigest: reference.digest } : {}),
    tags: [...new Set(tags)],
  });

  const headers = new Headers({
    Location: `${baseURL(c, config)}/v2/${route.name}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
    'Content-Length': '0',
  });
  if (result.subject !== undefined) headers.set('OCI-Subject', result.subject);
  if (queryTags.length > 0) {
    for (const tag of result.tags) headers.append('OCI-Tag', tag);
  }
  return new Response(null, { status: 201, headers });
}

/**
 * Deletes a manifest by digest (which also removes every tag pointing at it) or untags a tag.
 * Both need `storage.delete.enabled` (else `405 UNSUPPORTED`, one of the two answers the spec
 * allows for disabled deletion).
 */
async function deleteManifest(config: AppConfig, route: ManifestRoute): Promise<Response> {
  if (config.readOnly) throw methodNotAllowed('DELETE', ['GET', 'HEAD'], 'the registry is in read-only mode');
  if (config.registry.options.deleteEnabled !== true) {
    throw new RegistryError('UNSUPPORTED', 'deletion is disabled (storage.delete.enabled)');
  }
  const reference = parseReference(route.reference);
  if (reference.kind === 'invalid') throw unknownTag(reference.value);
  const repo = config.registry.repository(route.name);
  if (reference.kind === 'digest') await repo.manifests.delete(reference.digest as Digest);
  else await repo.tags.delete(reference.tag);
  return new Response(null, { status: 202, headers: { 'Content-Length': '0' } });
}
