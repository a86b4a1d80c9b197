import { describe, expect, it } from 'vitest';
import { EMPTY_DESCRIPTOR, MediaType } from './media-types.ts';
import { parseManifest } from './parse-manifest.ts';
import { artifactTypeOf, references, subjectOf } from './references.ts';
import {
  cosignSignature,
  DIGESTS,
  dockerManifest,
  dockerManifestList,
  encode,
  ociArtifactIndex,
  ociIndex,
  ociManifest,
  sbomArtifact,
} from './test-support/fixtures.ts';

const parse = (doc: unknown) => parseManifest(encode(doc));

describe('references', () => {
  it('lists config then layers for a Docker manifest', () => {
    expect(references(parse(dockerManifest())).map((r) => [r.role, r.descriptor.digest])).toEqual([
      ['config', DIGESTS.config],
      ['layer', DIGESTS.layer1],
      ['layer', DIGESTS.layer2],
      ['layer', DIGESTS.layer3],
    ]);
  });

  it('lists config, layers and subject for an OCI artifact', () => {
    const refs = references(parse(cosignSignature()));
    expect(refs.map((r) => r.role)).toEqual(['config', 'layer', 'subject']);
    expect(refs[0]?.descriptor).toEqual(EMPTY_DESCRIPTOR);
    expect(refs[2]?.descriptor.digest).toBe(DIGESTS.subject);
  });

  it('lists children of an index or manifest list', () => {
    expect(references(parse(ociIndex())).map((r) => r.descriptor.digest)).toEqual([
      DIGESTS.amd64,
      DIGESTS.arm64,
      DIGESTS.attestation,
    ]);
    expect(references(parse(dockerManifestList())).every((r) => r.role === 'manifest')).toBe(true);
    expect(references(parse(ociArtifactIndex())).map((r) => r.role)).toEqual(['manifest', 'subject']);
  });

  it('returns the descriptors of the manifest object itself', () => {
    const m = parse(ociManifest());
    if (m.kind !== 'oci-manifest') throw new Error('unreachable');
    expect(references(m)[1]?.descriptor).toBe(m.layers[0]);
  });
});

describe('subjectOf', () => {
  it('returns the subject of OCI manifests and indexes only', () => {
    expect(subjectOf(parse(cosignSignature()))?.digest).toBe(DIGESTS.subject);
    expect(subjectOf(parse(ociArtifactIndex()))?.digest).toBe(DIGESTS.subject);
    expect(subjectOf(parse(ociManifest()))).toBeUndefined();
    expect(subjectOf(parse(dockerManifest()))).toBeUndefined();
    expect(subjectOf(parse(dockerManifestList()))).toBeUndefined();
  });
});

describe('artifactTypeOf', () => {
  it('prefers artifactType', () => {
    expect(artifactTypeOf(parse(cosignSignature()))).toBe('application/vnd.dev.cosign.artifact.sig.v1+json');
    expect(artifactTypeOf(parse(sbomArtifact()))).toBe('application/spdx+json');
    expect(artifactTypeOf(parse(ociArtifactIndex()))).toBe('application/vnd.example.bundle.v1');
  });

  it('falls back to the config mediaType for image manifests', () => {
    expect(artifactTypeOf(parse(ociManifest()))).toBe(MediaType.OciConfig);
    expect(artifactTypeOf(parse(dockerManifest()))).toBe(MediaType.DockerImageConfig);
  });

  it('is undefined for an index or list without artifactType', () => {
    expect(artifactTypeOf(parse(ociIndex()))).toBeUndefined();
    expect(artifactTypeOf(parse(dockerManifestList()))).toBeUndefined();
  });
});
