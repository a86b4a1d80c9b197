export {
  type CacheSuiteGroup,
  type CacheSuiteTest,
  type CacheTestContext,
  OCTET_STREAM,
} from './context.ts';
export type {
  BlobDescriptorCacheSubject,
  BlobDescriptorCacheSuiteOptions,
  CreateBlobDescriptorCache,
} from './options.ts';
export {
  BLOB_DESCRIPTOR_CACHE_SUITE_TESTS,
  CACHE_SUITE_GROUPS,
  CACHE_SUITE_TESTS,
  describeBlobDescriptorCache,
  validateCacheSuiteSkip,
} from './suite.ts';
export { INVALID_DIGESTS } from './tests.ts';
