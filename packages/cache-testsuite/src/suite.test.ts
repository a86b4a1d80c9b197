import { createInMemoryBlobDescriptorCache } from '@berth/registry-core';
import { describe, expect, it } from 'vitest';
import {
  BLOB_DESCRIPTOR_CACHE_SUITE_TESTS,
  describeBlobDescriptorCache,
  validateCacheSuiteSkip,
} from './suite.ts';

// The in-memory cache lives in one instance: the "second instance" is the same cache.
const cache = createInMemoryBlobDescriptorCache();
describeBlobDescriptorCache('inmemory', () => ({ cache, stats: () => cache.stats() }));

describe('describeBlobDescriptorCache options', () => {
  it('has unique test ids', () => {
    expect(new Set(BLOB_DESCRIPTOR_CACHE_SUITE_TESTS).size).toBe(BLOB_DESCRIPTOR_CACHE_SUITE_TESTS.length);
  });

  it('refuses an unknown id or an empty reason in skip', () => {
    expect(() => validateCacheSuiteSkip({ 'no.such-test': 'why' })).toThrow(/unknown test id.*no\.such-test/);
    expect(() => validateCacheSuiteSkip({ 'clear.global': ' ' })).toThrow(/needs a reason for clear\.global/);
    expect(() => validateCacheSuiteSkip({ 'clear.global': 'the backend cannot' })).not.toThrow();
  });
});
