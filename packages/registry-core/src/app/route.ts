import { RegistryError } from '../errors.ts';
import { isValidRepositoryName, MAX_NAME_LENGTH } from '../names.ts';

/**
 * One `/v2/` endpoint family, as parsed from a request path. Repository names contain
 * slashes, so a router pattern cannot split them from the rest: the suffix of the path picks
 * the route and everything before it is the name.
 *
 * `reference`, `digest` and `uuid` are percent-decoded but not yet validated; the handlers
 * decide which error an invalid one earns (it differs per method).
 */
export type RegistryRoute =
  | { readonly kind: 'base' }
  | { readonly kind: 'catalog' }
  | { readonly kind: 'tags'; readonly name: string }
  | { readonly kind: 'manifest'; readonly name: string; readonly reference: string }
  | { readonly kind: 'blob'; readonly name: string; readonly digest: string }
  | { readonly kind: 'upload-start'; readonly name: string }
  | { readonly kind: 'upload'; readonly name: string; readonly uuid: string }
  | { readonly kind: 'referrers'; readonly name: string; readonly digest: string };

/** The `kind` of a {@link RegistryRoute}. */
export type RegistryRouteKind = RegistryRoute['kind'];

const UPLOAD_START = /^(.+)\/blobs\/uploads\/?$/;
const UPLOAD = /^(.+)\/blobs\/uploads\/([^/]+)$/;
const TAGS = /^(.+)\/tags\/list$/;
const ITEM = /^(.+)\/(manifests|blobs|referrers)\/([^/]+)$/;
// A path component that is `.` or `..`, literally or percent-encoded (`%2e`, `%2E`).
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Parses the path of a request into a route.
 *
 * @param rawPath - the path as sent by the client, still percent-encoded, without the query.
 * Where the runtime exposes it (Node's `IncomingMessage.url`) this is the raw request target,
 * before any dot-segment normalisation.
 * @param prefix - `http.prefix`, normalised (`''` or `/something` without a trailing slash).
 * @returns the route, or `undefined` when the path is not a registry endpoint (answered 404).
 * @throws {RegistryError} `NAME_INVALID` when a `.`/`..` component (plain or encoded) appears
 * anywhere below `/v2/`, or the repository name is invalid (uppercase, empty components,
 * percent-encoded characters, longer than 255 characters).
 */
export function parseRoute(rawPath: string, prefix: string): RegistryRoute | undefined {
  if (prefix !== '') {
    if (!rawPath.startsWith(prefix)) return undefined;
    rawPath = rawPath.slice(prefix.length);
  }
  if (rawPath === '/v2' || rawPath === '/v2/') return { kind: 'base' };
  if (!rawPath.startsWith('/v2/')) return undefined;
  let rest = rawPath.slice(4);

  // Checked on the raw path, before anything is decoded or normalised: a dot segment can never
  // reach a handler, whatever the runtime made of the URL.
  for (const component of rest.split('/')) {
    if (DOT_SEGMENT.test(component)) {
      throw new RegistryError('NAME_INVALID', 'invalid repository name: path contains a dot segment', {
        path: rawPath,
      });
    }
  }

  if (rest === '_catalog' || rest === '_catalog/') return { kind: 'catalog' };

  let match = UPLOAD_START.exec(rest);
  if (match) return { kind: 'upload-start', name: checkName(match[1]!) };
  // registry:2 (gorilla/mux StrictSlash) redirects `…/tags/list/` to `…/tags/list`; Berth
  // answers the slash-terminated form directly.
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  match = UPLOAD.exec(rest);
  if (match) return { kind: 'upload', name: checkName(match[1]!), uuid: decode(match[2]!) };
  match = TAGS.exec(rest);
  if (match) return { kind: 'tags', name: checkName(match[1]!) };
  match = ITEM.exec(rest);
  if (match) {
    const name = checkName(match[1]!);
    const value = decode(match[3]!);
    switch (match[2]) {
      case 'manifests':
        return { kind: 'manifest', name, reference: value };
      case 'blobs':
        return { kind: 'blob', name, digest: value };
      default:
        return { kind: 'referrers', name, digest: value };
    }
  }
  return undefined;
}

/** The repository name of a route that has one. */
export function routeName(route: RegistryRoute): string | undefined {
  return 'name' in route ? route.name : undefined;
}

/**
 * Validates the still-encoded name: a `%` is never part of a valid name, so no decoding is
 * needed and none can smuggle a `/` or `.` past the check.
 */
function checkName(raw: string): string {
  if (raw.includes('%') || !isValidRepositoryName(raw)) {
    const why =
      raw.length > MAX_NAME_LENGTH
        ? `longer than ${MAX_NAME_LENGTH} characters`
        : 'must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)*';
    throw new RegistryError('NAME_INVALID', `invalid repository name: ${why}`, { name: raw });
  }
  return raw;
}

/** Percent-decodes one path component; an undecodable one is returned as is (it fails validation later). */
function decode(component: string): string {
  if (!component.includes('%')) return component;
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}
