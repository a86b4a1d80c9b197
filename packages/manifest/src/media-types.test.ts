import { digestOf } from '@berth/digest';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_DESCRIPTOR,
  isManifestMediaType,
  isMediaTypeString,
  MANIFEST_MEDIA_TYPES,
  MediaType,
} from './media-types.ts';

describe('MediaType', () => {
  it('has distinct, well-formed values', () => {
    const values = Object.values(MediaType);
    expect(new Set(values).size).toBe(values.length);
    for (const value of values) expect(isMediaTypeString(value)).toBe(true);
  });

  it('spells the core types as the specs do', () => {
    expect(MediaType.OciManifest).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(MediaType.OciIndex).toBe('application/vnd.oci.image.index.v1+json');
    expect(MediaType.DockerManifest).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(MediaType.DockerManifestList).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(MediaType.DockerSchema1SignedManifest).toBe(
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    );
  });
});

describe('EMPTY_DESCRIPTOR', () => {
  it('describes the two-byte JSON blob {}', () => {
    const bytes = new TextEncoder().encode('{}');
    expect(EMPTY_DESCRIPTOR).toEqual({
      mediaType: MediaType.OciEmpty,
      digest: digestOf(bytes),
      size: bytes.length,
    });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(EMPTY_DESCRIPTOR)).toBe(true);
  });
});

describe('isManifestMediaType', () => {
  it('accepts exactly the four supported manifest types', () => {
    expect(MANIFEST_MEDIA_TYPES).toHaveLength(4);
    for (const type of MANIFEST_MEDIA_TYPES) expect(isManifestMediaType(type)).toBe(true);
  });

  it('rejects schema1, non-manifest types, parameters, other case and non-strings', () => {
    for (const value of [
      MediaType.DockerSchema1Manifest,
      MediaType.DockerSchema1SignedManifest,
      MediaType.OciConfig,
      MediaType.OciEmpty,
      'application/json',
      `${MediaType.OciManifest}; charset=utf-8`,
      MediaType.OciIndex.toUpperCase(),
      undefined,
      42,
    ]) {
      expect(isManifestMediaType(value)).toBe(false);
    }
  });
});

describe('isMediaTypeString', () => {
  it.each([
    'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.dev.cosign.simplesigning.v1+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'A1/b!#$&^_.+-',
    `${'a'.repeat(127)}/${'b'.repeat(127)}`,
  ])('accepts %s', (value) => {
    expect(isMediaTypeString(value)).toBe(true);
  });

  it.each([
    '',
    'application',
    'application/',
    '/json',
    'application/json/extra',
    'application/json; charset=utf-8',
    ' application/json',
    'application/-json',
    'appli cation/json',
    'application/jsön',
    `${'a'.repeat(128)}/b`,
  ])('rejects %j', (value) => {
    expect(isMediaTypeString(value)).toBe(false);
  });

  it('rejects non-strings', () => {
    expect(isMediaTypeString(undefined)).toBe(false);
    expect(isMediaTypeString(['text/plain'])).toBe(false);
  });
});
