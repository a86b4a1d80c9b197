/**
 * `@berth/proxy`: Berth's pull-through cache. {@link createMirror} wraps a local registry so
 * that mirrored repositories (every repository, or those under a prefix per upstream) are
 * served from local storage and filled from their upstream on a miss: one upstream fetch per
 * miss, streamed to every waiting client and committed once its digest is verified; tags
 * checked with one upstream `HEAD` (or not at all within a freshness window), served from the
 * cache when the upstream fails; expiry ({@link createCacheExpiry}) that only unlinks, in
 * registry:2's `scheduler-state.json`. The upstream client speaks anonymous, Basic and Bearer
 * token auth, sends credentials only to the upstream's registrable domain and follows
 * redirects without `Authorization` to other hosts.
 */
export { type Challenge, parseChallenges } from './challenge.ts';
export { type CredentialHelperOptions, credentialHelper } from './credential-helper.ts';
export { mayReceiveCredentials, registrableDomain, sameOrigin } from './credentials.ts';
export {
  isUpstreamError,
  UpstreamError,
  type UpstreamErrorCode,
  type UpstreamErrorOptions,
} from './errors.ts';
export {
  type CacheExpiry,
  type CacheExpiryOptions,
  createCacheExpiry,
  type ExpiryEntry,
  type ExpiryKind,
  type ExpiryLogger,
} from './expiry.ts';
export { failureResponse } from './failures.ts';
export {
  type Fill,
  FillError,
  type FillErrorCode,
  type FillOptions,
  type FillSink,
  type FillState,
  startFill,
} from './fill.ts';
export { namespaceMiddleware } from './middleware.ts';
export {
  createMirror,
  MANIFEST_ACCEPT,
  type Mirror,
  type MirrorLogger,
  type MirrorOptions,
  type MirrorStats,
  type MirrorUpstream,
} from './mirror.ts';
export { type MirrorMount, type MountMatch, MountTable } from './routes.ts';
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
