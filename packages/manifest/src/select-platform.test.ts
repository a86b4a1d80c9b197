import { describe, expect, it } from 'vitest';
import type { ManifestIndex } from './manifest.ts';
import { parseManifest } from './parse-manifest.ts';
import { selectPlatform } from './select-platform.ts';
import { DIGESTS, dockerManifestList, encode, type JsonObject, ociIndex } from './test-support/fixtures.ts';

function parseIndex(doc: JsonObject): ManifestIndex {
  const m = parseManifest(encode(doc));
  if (m.kind !== 'oci-index' && m.kind !== 'docker-manifest-list')
    throw new Error(`unexpected kind ${m.kind}`);
  return m;
}

describe('selectPlatform', () => {
  const list = parseIndex(dockerManifestList());
  const index = parseIndex(ociIndex());

  it('finds linux/amd64 as registry:2 does for old clients', () => {
    expect(selectPlatform(list, { os: 'linux', architecture: 'amd64' })?.digest).toBe(DIGESTS.amd64);
    expect(selectPlatform(index, { os: 'linux', architecture: 'amd64' })?.digest).toBe(DIGESTS.amd64);
  });

  it('distinguishes operating systems', () => {
    expect(selectPlatform(list, { os: 'windows', architecture: 'amd64' })?.digest).toBe(DIGESTS.windows);
  });

  it('ignores the variant unless asked', () => {
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm' })?.digest).toBe(DIGESTS.armv7);
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest).toBe(
      DIGESTS.armv7,
    );
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBeUndefined();
  });

  it('treats a missing arm64 variant as v8 and a missing arm variant as v7', () => {
    // The OCI index fixture's arm64 child states no variant.
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest).toBe(
      DIGESTS.arm64,
    );
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v9' })).toBeUndefined();
    expect(selectPlatform(list, { os: 'linux', architecture: 'arm64', variant: '' })?.digest).toBe(
      DIGESTS.arm64,
    );
  });

  it('returns the first match', () => {
    const doc = dockerManifestList();
    const children = doc.manifests as JsonObject[];
    children.push({ ...(children[0] as JsonObject), digest: DIGESTS.layer3 });
    expect(selectPlatform(parseIndex(doc), { os: 'linux', architecture: 'amd64' })?.digest).toBe(
      DIGESTS.amd64,
    );
  });

  it('skips children without a platform and returns undefined when nothing matches', () => {
    const doc = ociIndex();
    for (const child of doc.manifests as JsonObject[]) delete child.platform;
    expect(selectPlatform(parseIndex(doc), { os: 'linux', architecture: 'amd64' })).toBeUndefined();
    expect(selectPlatform(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
  });
});
