/**
 * `@berth/proxy`: Berth's pull-through cache. This release holds its upstream client: manifest
 * and blob `GET`/`HEAD` against any OCI registry, anonymous or with Basic or Bearer token auth
 * (tokens reused until they expire, credentials only for the upstream's registrable domain),
 * redirects followed without `Authorization` to other hosts, failures as coded errors.
 */
export { type Challenge, parseChallenges } from './challenge.ts';
export { mayReceiveCredentials, registrableDomain, sameOrigin } from './credentials.ts';
export {
  isUpstreamError,
  UpstreamError,
  type UpstreamErrorCode,
  type UpstreamErrorOptions,
} from './errors.ts';
export {
  createUpstream,
  pullScope,
  retryAfterSeconds,
  type Upstream,
  type UpstreamCredentials,
  type UpstreamOptions,
  type UpstreamRequestOptions,
  type UpstreamResponse,
  type UpstreamStats,
} from './upstream.ts';
