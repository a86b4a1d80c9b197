export {
  createRegistryApp,
  DEFAULT_CHUNK_MIN_LENGTH,
  type RegistryAppOptions,
} from './app/create-app.ts';
export type { RegistryAppEnv } from './app/env.ts';
export type { RegistryRoute, RegistryRouteKind } from './app/route.ts';
export { BLOB_MEDIA_TYPE, type BlobStore, createBlobStore } from './blob-store.ts';
export { listRepositories, type PurgeUploadsOptions, purgeUploads } from './catalog.ts';
export { KeyedMutex, mapLimit } from './concurrency.ts';
export { type CacheLimits, createStoreContext, type StoreContext } from './context.ts';
export {
  ERROR_DESCRIPTORS,
  type ErrorDescriptor,
  isRegistryError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorEntry,
  type RegistryErrorOptions,
} from './errors.ts';
export { createLinkedBlobStore, layerLinkPath } from './linked-blob-store.ts';
export { type DigestParts, digestParts, readLink, writeLink } from './links.ts';
export { LruCache, type LruCacheOptions } from './lru.ts';
export {
  createManifestStore,
  foreignUrlsAllowed,
  type ManifestCacheEntry,
  type ManifestStoreDependencies,
  referrerLinkPath,
  revisionLinkPath,
} from './manifest-store.ts';
export { assertRepositoryName, isValidRepositoryName, isValidTag, MAX_NAME_LENGTH } from './names.ts';
export { type PathSpec, pathFor, ROOT } from './paths.ts';
export { createReferrersStore } from './referrers-store.ts';
export { createRegistry } from './registry.ts';
export { createTagStore } from './tag-store.ts';
export type {
  BlobDescriptor,
  ByteRange,
  LinkedBlobStore,
  ManifestStore,
  Page,
  PutManifestResult,
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
