export {
  createRegistryApp,
  DEFAULT_CHUNK_MIN_LENGTH,
  type RegistryAppOptions,
} from './app/create-app.ts';
export type { RegistryAppEnv } from './app/env.ts';
export type { RegistryRoute, RegistryRouteKind } from './app/route.ts';
export {
  type AccessRecord,
  type AccessResource,
  accessDetail,
  accessRecordsFor,
  CATALOG_ACCESS,
  groupAccess,
  parseScopes,
  REPOSITORY_ACTIONS,
  type ResourceActions,
  scopeParam,
} from './auth/access.ts';
export {
  type BasicAccessControllerOptions,
  type BasicAuthorization,
  createBasicAccessController,
  parseBasicAuthorization,
} from './auth/basic.ts';
export { formatChallenge, quoteParam } from './auth/challenge.ts';
export type {
  AccessController,
  AccessDecision,
  AuthRequest,
  Challenge,
  ClientInfo,
  CredentialCheck,
  CredentialVerifier,
} from './auth/controller.ts';
export { type AccessGrant, accessGrantOf, authRequestOf, createAuthMiddleware } from './auth/middleware.ts';
export {
  type AccessPolicy,
  AccessPolicyError,
  type AccessPolicyOptions,
  type AccessRule,
  allowAuthenticatedPolicy,
  compileRepositoryGlob,
  createAccessPolicy,
} from './auth/policy.ts';
export { createSillyAccessController, type SillyAccessControllerOptions } from './auth/silly.ts';
export { BLOB_MEDIA_TYPE, type BlobStore, createBlobStore } from './blob-store.ts';
export type {
  BlobDescriptorCache,
  BlobDescriptorCacheStats,
  RepositoryBlobDescriptorCache,
} from './cache/blob-descriptor-cache.ts';
export { createLocalChangeFeed, type StorageChange, type StorageChangeFeed } from './cache/changes.ts';
export {
  createInMemoryBlobDescriptorCache,
  DEFAULT_BLOB_DESCRIPTOR_CACHE_SIZE,
  type InMemoryBlobDescriptorCache,
  type InMemoryBlobDescriptorCacheOptions,
} from './cache/in-memory.ts';
export { listRepositories, type PurgeUploadsOptions, purgeUploads } from './catalog.ts';
export { KeyedMutex, mapLimit } from './concurrency.ts';
export {
  type CacheLimits,
  createStoreContext,
  DEFAULT_READ_CACHE_TTL_MS,
  type StoreContext,
} from './context.ts';
export {
  ERROR_DESCRIPTORS,
  type ErrorDescriptor,
  isRegistryError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorEntry,
  type RegistryErrorOptions,
} from './errors.ts';
export {
  DEFAULT_GC_CONCURRENCY,
  DEFAULT_GC_GRACE_MS,
  DEFAULT_GC_SETTLE_MS,
  type GarbageCollectOptions,
  type GcBlobEntry,
  type GcLayerLinkEntry,
  type GcManifestEntry,
  type GcPhase,
  type GcProgress,
  type GcReferrerLinkEntry,
  type GcReport,
  garbageCollect,
} from './gc/gc.ts';
export { createLimiter, type Limiter } from './gc/limiter.ts';
export { type ManifestRefs, ManifestRefsCache, manifestRefsOf } from './gc/manifest-refs.ts';
export { type MarkOptions, type MarkResult, markLive } from './gc/mark.ts';
export {
  type ReadTagHistoryOptions,
  type RepositoryScan,
  readTagHistory,
  type ScannedBlob,
  type ScannedLink,
  type ScannedReferrerLink,
  type ScannedTag,
  type ScanProgress,
  type ScanRepositoriesOptions,
  scanBlobs,
  scanQuarantine,
  scanRepositories,
} from './gc/scan.ts';
export { createLinkedBlobStore, layerLinkPath } from './linked-blob-store.ts';
export {
  type DigestParts,
  digestParts,
  readLink,
  referrerLinkPath,
  revisionLinkPath,
  writeLink,
} from './links.ts';
export { LruCache, type LruCacheOptions } from './lru.ts';
export { loadManifest } from './manifest-load.ts';
export {
  createManifestStore,
  foreignUrlsAllowed,
  type ManifestCacheEntry,
  type ManifestStoreDependencies,
} from './manifest-store.ts';
export { assertRepositoryName, isValidRepositoryName, isValidTag, MAX_NAME_LENGTH } from './names.ts';
export { type PathSpec, pathFor, ROOT } from './paths.ts';
export { ReadCache, type ReadCacheOptions } from './read-cache.ts';
export {
  createReferrersIndex,
  REFERRERS_SCAN_CONCURRENCY,
  type ReferrersIndex,
  type ReferrersScan,
  type ReferrersScanState,
} from './referrers-index.ts';
export { createReferrersStore } from './referrers-store.ts';
export { createRegistry } from './registry.ts';
export { createTagStore } from './tag-store.ts';
export type {
  BlobDescriptor,
  ByteRange,
  FinalChunk,
  LinkedBlobStore,
  ManifestStore,
  Page,
  PutManifestOptions,
  PutManifestResult,
  ReadOptions,
  ReferrersStore,
  Registry,
  RegistryOptions,
  Repository,
  StoredManifest,
  TagStore,
  Upload,
  UploadStore,
} from './types.ts';
export { createUploadStore, parseStartedAt, type UploadHasher } from './upload-store.ts';
