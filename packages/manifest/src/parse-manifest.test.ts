import { describe, expect, it } from 'vitest';
import { isManifestError, type ManifestErrorCode } from './errors.ts';
import { EMPTY_DESCRIPTOR, MediaType } from './media-types.ts';
import { DEFAULT_MAX_MANIFEST_SIZE, type ParseManifestOptions, parseManifest } from './parse-manifest.ts';
import { type Edit, edits, set, unset } from './test-support/edit.ts';
import {
  cosignSignature,
  DIGESTS,
  dockerManifest,
  dockerManifestList,
  dockerWindowsManifest,
  encode,
  ociArtifactIndex,
  ociIndex,
  ociManifest,
  sbomArtifact,
} from './test-support/fixtures.ts';

/** Runs `fn` and returns the ManifestError it throws (failing the test otherwise). */
function catchManifestError(fn: () => unknown): {
  code: ManifestErrorCode;
  pointer: string | undefined;
  message: string;
} {
  try {
    fn();
  } catch (err) {
    if (!isManifestError(err)) throw err;
    return { code: err.code, pointer: err.pointer, message: err.message };
  }
  throw new Error('expected a ManifestError, nothing was thrown');
}

function expectInvalid(doc: unknown, pointer: string, options?: ParseManifestOptions): string {
  const err = catchManifestError(() => parseManifest(encode(doc), options));
  expect(err).toMatchObject({ code: 'MANIFEST_INVALID', pointer });
  expect(err.message).toContain(pointer === '' ? 'document' : `"${pointer}"`);
  return err.message;
}

describe('parseManifest: valid real-world manifests', () => {
  it('parses a Docker schema2 manifest with gzip layers and keeps the exact bytes', () => {
    const bytes = encode(dockerManifest());
    const m = parseManifest(bytes, { mediaType: MediaType.DockerManifest });
    expect(m.kind).toBe('docker-manifest');
    expect(m.mediaType).toBe(MediaType.DockerManifest);
    expect(m.schemaVersion).toBe(2);
    expect(m.raw).toBe(bytes);
    if (m.kind !== 'docker-manifest') throw new Error('unreachable');
    expect(m.config).toEqual({ mediaType: MediaType.DockerImageConfig, size: 7023, digest: DIGESTS.config });
    expect(m.layers.map((l) => l.mediaType)).toEqual([
      MediaType.DockerLayerTarGzip,
      MediaType.DockerLayerTarGzip,
      MediaType.DockerLayerTarGzip,
    ]);
    expect(m.layers[1]?.size).toBe(41385345);
  });

  it('parses a Docker Windows manifest with a foreign layer and its urls', () => {
    const m = parseManifest(encode(dockerWindowsManifest()));
    if (m.kind !== 'docker-manifest') throw new Error(`unexpected kind ${m.kind}`);
    expect(m.layers[0]?.mediaType).toBe(MediaType.DockerForeignLayerTarGzip);
    expect(m.layers[0]?.urls).toHaveLength(1);
  });

  it('parses a Docker manifest list with platforms', () => {
    const m = parseManifest(encode(dockerManifestList()), { mediaType: MediaType.DockerManifestList });
    if (m.kind !== 'docker-manifest-list') throw new Error(`unexpected kind ${m.kind}`);
    expect(m.manifests.map((d) => `${d.platform.os}/${d.platform.architecture}`)).toEqual([
      'linux/amd64',
      'linux/arm',
      'linux/arm64',
      'windows/amd64',
    ]);
    expect(m.manifests[3]?.platform['os.version']).toBe('10.0.17763.5576');
  });

  it('parses an OCI image manifest with annotations', () => {
    const m = parseManifest(encode(ociManifest()), { mediaType: MediaType.OciManifest });
    if (m.kind !== 'oci-manifest') throw new Error(`unexpected kind ${m.kind}`);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaType.OciLayerTarGzip, MediaType.OciLayerTarZstd]);
    expect(m.annotations?.['org.opencontainers.image.source']).toBe('https://github.com/example/app');
    expect(m.subject).toBeUndefined();
    expect(m.artifactType).toBeUndefined();
  });

  it('parses a multi-arch OCI index including attestation children', () => {
    const m = parseManifest(encode(ociIndex()), { mediaType: MediaType.OciIndex });
    if (m.kind !== 'oci-index') throw new Error(`unexpected kind ${m.kind}`);
    expect(m.manifests).toHaveLength(3);
    expect(m.manifests[1]?.platform).toEqual({ architecture: 'arm64', os: 'linux' });
    expect(m.manifests[2]?.annotations?.['vnd.docker.reference.type']).toBe('attestation-manifest');
    expect(m.annotations).toEqual({ 'org.opencontainers.image.ref.name': 'v1.2.3' });
  });

  it('parses a cosign-style signature artifact with subject and artifactType', () => {
    const m = parseManifest(encode(cosignSignature()), { mediaType: MediaType.OciManifest });
    if (m.kind !== 'oci-manifest') throw new Error(`unexpected kind ${m.kind}`);
    expect(m.artifactType).toBe('application/vnd.dev.cosign.artifact.sig.v1+json');
    expect(m.config).toEqual(EMPTY_DESCRIPTOR);
    expect(m.subject?.digest).toBe(DIGESTS.subject);
    expect(m.layers[0]?.annotations).toHaveProperty(['dev.cosignproject.cosign/signature']);
  });

  it('parses an artifact with the empty descriptor (and its data) as config, tolerating unknown fields', () => {
    const bytes = encode(sbomArtifact());
    const m = parseManifest(bytes);
    if (m.kind !== 'oci-manifest') throw new Error(`unexpected kind ${m.kind}`);
    expect(m.config).toEqual({ ...EMPTY_DESCRIPTOR, data: 'e30=' });
    expect(m.artifactType).toBe('application/spdx+json');
    expect(m).not.toHaveProperty('x-vendor-extension');
    expect(new TextDecoder().decode(m.raw)).toContain('x-vendor-extension');
  });

  it('parses an OCI index artifact with subject and artifactType', () => {
    const m = parseManifest(encode(ociArtifactIndex()));
    if (m.kind !== 'oci-index') throw new Error(`unexpected kind ${m.kind}`);
    expect(m.artifactType).toBe('application/vnd.example.bundle.v1');
    expect(m.subject?.digest).toBe(DIGESTS.subject);
    expect(m.manifests[0]?.artifactType).toBe('application/vnd.dev.cosign.artifact.sig.v1+json');
  });

  it('accepts an OCI manifest with an empty layers array', () => {
    const m = parseManifest(encode(set('/layers', [])(ociManifest())));
    expect(m.kind === 'oci-manifest' && m.layers).toEqual([]);
  });

  it('accepts compact JSON, a sha512 digest and a zero size', () => {
    const digest = `sha512:${'ab'.repeat(64)}`;
    const doc = set('/layers', [{ mediaType: MediaType.OciLayerTar, digest, size: 0 }])(ociManifest());
    const m = parseManifest(encode(doc, 0));
    expect(m.kind === 'oci-manifest' && m.layers[0]?.digest).toBe(digest);
  });

  it('keeps annotation keys that collide with Object.prototype names as plain data', () => {
    const bytes = new TextEncoder().encode(
      JSON.stringify(ociManifest()).replace(
        '"annotations":{',
        '"annotations":{"__proto__":"p","constructor":"c","toString":"t",',
      ),
    );
    const m = parseManifest(bytes);
    if (m.kind !== 'oci-manifest') throw new Error('unreachable');
    expect(Object.keys(m.annotations ?? {})).toContain('__proto__');
    expect(m.annotations?.constructor).toBe('c');
    expect(Object.getPrototypeOf(m.annotations)).toBe(Object.prototype);
  });
});

describe('parseManifest: media type resolution', () => {
  it('uses the declared type, ignoring parameters and case', () => {
    const m = parseManifest(encode(ociManifest()), {
      mediaType: ' Application/VND.oci.image.manifest.v1+json ; charset=utf-8',
    });
    expect(m.mediaType).toBe(MediaType.OciManifest);
  });

  it.each([undefined, '', 'application/json', 'application/octet-stream', 'application/json; charset=utf-8'])(
    'treats %j as undeclared',
    (mediaType) => {
      expect(parseManifest(encode(ociIndex()), { mediaType }).kind).toBe('oci-index');
      expect(parseManifest(encode(dockerManifest()), { mediaType }).kind).toBe('docker-manifest');
      expect(parseManifest(encode(dockerManifestList()), { mediaType }).kind).toBe('docker-manifest-list');
    },
  );

  it('accepts an OCI manifest without a body mediaType when the type is declared', () => {
    const doc = unset('/mediaType')(ociManifest());
    expect(parseManifest(encode(doc), { mediaType: MediaType.OciManifest }).kind).toBe('oci-manifest');
  });

  it('infers an OCI index from manifests and an OCI manifest from config and layers', () => {
    const indexed = parseManifest(encode(unset('/mediaType')(ociIndex())));
    expect(indexed.kind).toBe('oci-index');
    expect(indexed.mediaType).toBe(MediaType.OciIndex);
    const doc = unset('/mediaType')(cosignSignature());
    const m = parseManifest(encode(doc), { mediaType: 'application/json' });
    expect(m.kind).toBe('oci-manifest');
    expect(m.mediaType).toBe(MediaType.OciManifest);
  });

  it('rejects a body mediaType that conflicts with the declared one', () => {
    const message = expectInvalid(ociManifest(), '/mediaType', { mediaType: MediaType.OciIndex });
    expect(message).toContain(MediaType.OciManifest);
    expect(message).toContain(MediaType.OciIndex);
    expectInvalid(dockerManifest(), '/mediaType', { mediaType: MediaType.OciManifest });
    expectInvalid(ociIndex(), '/mediaType', { mediaType: MediaType.DockerManifestList });
    expectInvalid(dockerManifestList(), '/mediaType', { mediaType: MediaType.DockerManifest });
  });

  it('rejects a body mediaType that differs from the declared one only in case', () => {
    const doc = set('/mediaType', 'application/vnd.OCI.image.manifest.v1+json')(ociManifest());
    expectInvalid(doc, '/mediaType', { mediaType: MediaType.OciManifest });
  });

  it('checks the declared shape even when the body looks like the other kind', () => {
    // An index body pushed as an image manifest: the ambiguity the OCI spec guards against.
    expectInvalid(unset('/mediaType')(ociIndex()), '/manifests', { mediaType: MediaType.OciManifest });
    expectInvalid(unset('/mediaType')(ociManifest()), '/config', { mediaType: MediaType.OciIndex });
  });

  it('requires the body mediaType for Docker types', () => {
    const doc = unset('/mediaType')(dockerManifest());
    expect(expectInvalid(doc, '/mediaType', { mediaType: MediaType.DockerManifest })).toContain('Docker');
    expectInvalid(unset('/mediaType')(dockerManifestList()), '/mediaType', {
      mediaType: MediaType.DockerManifestList,
    });
  });

  it('fails when the type can be neither declared, read nor inferred', () => {
    expectInvalid({ schemaVersion: 2 }, '/mediaType');
    expectInvalid({ schemaVersion: 2, annotations: {} }, '/mediaType', { mediaType: 'application/json' });
  });

  it('infers an image manifest from config alone and reports the missing layers', () => {
    expectInvalid({ schemaVersion: 2, config: EMPTY_DESCRIPTOR }, '/layers');
  });

  it.each([
    MediaType.OciConfig,
    MediaType.OciLayerTarGzip,
    MediaType.OciEmpty,
    MediaType.DockerImageConfig,
    'application/vnd.example.unknown+json',
    'text/html',
    'application/x-www-form-urlencoded',
  ])('rejects the declared type %s as MANIFEST_UNSUPPORTED', (mediaType) => {
    const err = catchManifestError(() => parseManifest(encode(ociManifest()), { mediaType }));
    expect(err.code).toBe('MANIFEST_UNSUPPORTED');
    expect(err.pointer).toBeUndefined();
    expect(err.message).toContain(mediaType);
  });

  it.each([MediaType.OciConfig, 'application/vnd.example.thing.v1+json'])(
    'rejects the body type %s as MANIFEST_UNSUPPORTED when nothing is declared',
    (type) => {
      const doc = set('/mediaType', type)(ociManifest());
      expect(catchManifestError(() => parseManifest(encode(doc))).code).toBe('MANIFEST_UNSUPPORTED');
    },
  );

  it.each([MediaType.DockerSchema1SignedManifest, MediaType.DockerSchema1Manifest, undefined])(
    'rejects a Docker schema1 manifest declared as %s with MANIFEST_UNSUPPORTED',
    (mediaType) => {
      const schema1 = {
        schemaVersion: 1,
        name: 'library/hello',
        tag: 'latest',
        architecture: 'amd64',
        fsLayers: [{ blobSum: DIGESTS.layer1 }],
        history: [{ v1Compatibility: '{}' }],
        signatures: [{ header: { alg: 'ES256' }, signature: 'abc', protected: 'def' }],
      };
      const err = catchManifestError(() => parseManifest(encode(schema1), { mediaType }));
      expect(err.code).toBe('MANIFEST_UNSUPPORTED');
      expect(err.message).toContain('schema1');
    },
  );
});

describe('parseManifest: size limit', () => {
  /** A valid manifest padded with an unknown field to exactly `size` bytes. */
  function padded(size: number): Uint8Array {
    const base = JSON.stringify({ ...ociManifest(), padding: '' });
    const json = base.replace('"padding":""', `"padding":"${'x'.repeat(size - base.length)}"`);
    const bytes = new TextEncoder().encode(json);
    expect(bytes.length).toBe(size);
    return bytes;
  }

  it('defaults to 4 MiB', () => {
    expect(DEFAULT_MAX_MANIFEST_SIZE).toBe(4 * 1024 * 1024);
  });

  it('accepts exactly 4 MiB', () => {
    expect(parseManifest(padded(4 * 1024 * 1024)).kind).toBe('oci-manifest');
  });

  it('rejects 4 MiB + 1 with MANIFEST_TOO_LARGE stating limit and size', () => {
    const err = catchManifestError(() => parseManifest(padded(4 * 1024 * 1024 + 1)));
    expect(err.code).toBe('MANIFEST_TOO_LARGE');
    expect(err.message).toContain(String(4 * 1024 * 1024));
    expect(err.message).toContain(String(4 * 1024 * 1024 + 1));
  });

  it('checks the size before decoding or looking at the media type', () => {
    const garbage = new Uint8Array(101).fill(0xff);
    expect(catchManifestError(() => parseManifest(garbage, { maxSize: 100 })).code).toBe(
      'MANIFEST_TOO_LARGE',
    );
    expect(
      catchManifestError(() => parseManifest(garbage, { maxSize: 100, mediaType: MediaType.OciConfig })).code,
    ).toBe('MANIFEST_TOO_LARGE');
    expect(catchManifestError(() => parseManifest(garbage, { maxSize: 101 })).code).toBe('MANIFEST_INVALID');
  });

  it('honours a custom maxSize', () => {
    const bytes = encode(ociManifest());
    expect(parseManifest(bytes, { maxSize: bytes.length }).kind).toBe('oci-manifest');
    expect(catchManifestError(() => parseManifest(bytes, { maxSize: bytes.length - 1 })).code).toBe(
      'MANIFEST_TOO_LARGE',
    );
  });
});

describe('parseManifest: malformed documents', () => {
  it.each([
    ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])],
    ['a UTF-8 byte order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...encode(ociManifest())])],
    ['invalid JSON', new TextEncoder().encode('{"schemaVersion": 2,')],
    ['empty input', new Uint8Array(0)],
    ['a JSON array', encode([ociManifest()])],
    ['JSON null', encode(null)],
    ['a JSON string', encode('manifest')],
    ['a JSON number', encode(2)],
  ])('rejects %s at the document root', (_name, bytes) => {
    expect(catchManifestError(() => parseManifest(bytes))).toMatchObject({
      code: 'MANIFEST_INVALID',
      pointer: '',
    });
  });

  it.each<[string, Edit]>([
    ['missing', unset('/schemaVersion')],
    ['3', set('/schemaVersion', 3)],
    ['"2"', set('/schemaVersion', '2')],
    ['2.5', set('/schemaVersion', 2.5)],
    ['null', set('/schemaVersion', null)],
  ])('rejects schemaVersion %s', (_name, edit) => {
    expectInvalid(edit(ociManifest()), '/schemaVersion');
  });

  it('rejects schemaVersion 1 declared as a schema2 type as invalid, not unsupported', () => {
    expectInvalid(set('/schemaVersion', 1)(dockerManifest()), '/schemaVersion', {
      mediaType: MediaType.DockerManifest,
    });
  });

  it('survives deeply nested JSON in an unknown field', () => {
    const depth = 1_000_000;
    const json = `{"schemaVersion":2,"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const err = catchManifestError(() => parseManifest(new TextEncoder().encode(json)));
    expect(err).toMatchObject({ code: 'MANIFEST_INVALID', pointer: '/mediaType' });
  });

  it('throws TypeError for non-bytes input', () => {
    expect(() => parseManifest('{}' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

/** [description, edit, expected pointer] */
type Case = [name: string, edit: Edit, pointer: string];

/** Invalid variants of the descriptor at `at` (which must exist in the fixture). */
function descriptorCases(at: string): Case[] {
  return [
    ['a descriptor that is a string', set(at, DIGESTS.layer1), at],
    ['a descriptor that is null', set(at, null), at],
    ['a missing mediaType', unset(`${at}/mediaType`), `${at}/mediaType`],
    ['a malformed mediaType', set(`${at}/mediaType`, 'tar+gzip'), `${at}/mediaType`],
    ['a mediaType with parameters', set(`${at}/mediaType`, 'text/plain; charset=utf-8'), `${at}/mediaType`],
    ['a missing digest', unset(`${at}/digest`), `${at}/digest`],
    ['a malformed digest', set(`${at}/digest`, 'sha256:xyz'), `${at}/digest`],
    ['an uppercase hex digest', set(`${at}/digest`, `sha256:${'A'.repeat(64)}`), `${at}/digest`],
    ['a numeric digest', set(`${at}/digest`, 42), `${at}/digest`],
    ['a missing size', unset(`${at}/size`), `${at}/size`],
    ['a negative size', set(`${at}/size`, -1), `${at}/size`],
    ['a fractional size', set(`${at}/size`, 1.5), `${at}/size`],
    ['an unsafe size', set(`${at}/size`, 2 ** 53), `${at}/size`],
    ['a string size', set(`${at}/size`, '12'), `${at}/size`],
    ['urls that is a string', set(`${at}/urls`, 'https://example.com'), `${at}/urls`],
    ['urls with a number', set(`${at}/urls`, ['https://example.com', 7]), `${at}/urls/1`],
    ['annotations that is an array', set(`${at}/annotations`, []), `${at}/annotations`],
    ['an annotation that is a number', set(`${at}/annotations`, { 'a/b~c': 1 }), `${at}/annotations/a~1b~0c`],
    ['a malformed artifactType', set(`${at}/artifactType`, 'signature'), `${at}/artifactType`],
    ['data that is not base64', set(`${at}/data`, 'e30'), `${at}/data`],
    ['data that is a number', set(`${at}/data`, 7), `${at}/data`],
    ['a platform without os', set(`${at}/platform`, { architecture: 'amd64' }), `${at}/platform/os`],
    [
      'a platform with bad os.features',
      set(`${at}/platform`, { architecture: 'amd64', os: 'windows', 'os.features': [1] }),
      `${at}/platform/os.features/0`,
    ],
  ];
}

describe('parseManifest: invalid OCI image manifests', () => {
  it.each<Case>([
    ['a missing config', unset('/config'), '/config'],
    ['a null config', set('/config', null), '/config'],
    ['missing layers', unset('/layers'), '/layers'],
    ['layers that is an object', set('/layers', {}), '/layers'],
    ['a manifests field', set('/manifests', []), '/manifests'],
    ['a malformed artifactType', set('/artifactType', 'sbom'), '/artifactType'],
    ['a subject that is a string', set('/subject', DIGESTS.subject), '/subject'],
    [
      'a subject with a bad digest',
      set('/subject', { mediaType: MediaType.OciManifest, digest: 'nope', size: 1 }),
      '/subject/digest',
    ],
    ['annotations with a null value', set('/annotations', { a: null }), '/annotations/a'],
    ['a body mediaType that is a number', set('/mediaType', 1), '/mediaType'],
    ...descriptorCases('/config'),
    ...descriptorCases('/layers/1'),
  ])('rejects %s', (_name, edit, pointer) => {
    expectInvalid(edit(ociManifest()), pointer, { mediaType: MediaType.OciManifest });
  });

  it('names an unsupported digest algorithm', () => {
    const doc = set('/layers/1/digest', `md5:${'a'.repeat(32)}`)(ociManifest());
    expect(expectInvalid(doc, '/layers/1/digest')).toContain('"md5"');
    const sha384 = set('/config/digest', `sha384:${'a'.repeat(96)}`)(ociManifest());
    expect(expectInvalid(sha384, '/config/digest')).toContain('"sha384"');
  });

  it('rejects embedded data whose length does not match size', () => {
    const doc = set('/config/size', 3)(sbomArtifact());
    expect(expectInvalid(doc, '/config/data')).toMatch(/size/);
  });

  it('rejects embedded data whose digest does not match', () => {
    const doc = set('/config/data', 'W10=')(sbomArtifact()); // "[]": same length, other digest
    expect(expectInvalid(doc, '/config/data')).toMatch(/digest/);
  });

  it('checks embedded data against a sha512 digest', () => {
    const doc = edits(
      set('/config/digest', `sha512:${'0'.repeat(128)}`),
      set('/config/data', 'e30='),
    )(sbomArtifact());
    expectInvalid(doc, '/config/data');
  });

  it('names the offending field and the problem in the message', () => {
    const message = expectInvalid(set('/layers/1/size', 'big')(ociManifest()), '/layers/1/size');
    expect(message).toContain('/layers/1/size');
    expect(message).toContain('number');
  });
});

describe('parseManifest: invalid OCI image indexes', () => {
  it.each<Case>([
    ['missing manifests', unset('/manifests'), '/manifests'],
    ['manifests that is a string', set('/manifests', 'none'), '/manifests'],
    [
      'a config field',
      set('/config', { mediaType: MediaType.OciEmpty, digest: EMPTY_DESCRIPTOR.digest, size: 2 }),
      '/config',
    ],
    ['a layers field', set('/layers', []), '/layers'],
    ['a numeric artifactType', set('/artifactType', 42), '/artifactType'],
    [
      'a subject without size',
      set('/subject', { mediaType: MediaType.OciManifest, digest: DIGESTS.subject }),
      '/subject/size',
    ],
    ['annotations that is a string', set('/annotations', 'x'), '/annotations'],
    [
      'a platform without architecture',
      set('/manifests/1/platform', { os: 'linux' }),
      '/manifests/1/platform/architecture',
    ],
    ['a platform that is an array', set('/manifests/0/platform', []), '/manifests/0/platform'],
    ['a numeric variant', set('/manifests/0/platform/variant', 7), '/manifests/0/platform/variant'],
    ...descriptorCases('/manifests/2'),
  ])('rejects %s', (_name, edit, pointer) => {
    expectInvalid(edit(ociIndex()), pointer, { mediaType: MediaType.OciIndex });
  });
});

describe('parseManifest: invalid Docker manifests', () => {
  it.each<Case>([
    ['a missing config', unset('/config'), '/config'],
    ['missing layers', unset('/layers'), '/layers'],
    ['layers that is null', set('/layers', null), '/layers'],
    ['a config that is an array', set('/config', []), '/config'],
    ...descriptorCases('/layers/2'),
  ])('rejects %s', (_name, edit, pointer) => {
    expectInvalid(edit(dockerManifest()), pointer, { mediaType: MediaType.DockerManifest });
  });

  it('ignores (but keeps in raw) fields Docker manifests do not define, such as subject', () => {
    const m = parseManifest(encode(set('/subject', 'not-a-descriptor')(dockerManifest())));
    expect(m).not.toHaveProperty('subject');
  });
});

describe('parseManifest: invalid Docker manifest lists', () => {
  it.each<Case>([
    ['missing manifests', unset('/manifests'), '/manifests'],
    ['a child without platform', unset('/manifests/1/platform'), '/manifests/1/platform'],
    ['a platform without os', unset('/manifests/3/platform/os'), '/manifests/3/platform/os'],
    ['a numeric os.version', set('/manifests/3/platform/os.version', 10), '/manifests/3/platform/os.version'],
    [
      'features that is a string',
      set('/manifests/0/platform/features', 'sse4'),
      '/manifests/0/platform/features',
    ],
    ...descriptorCases('/manifests/0'),
  ])('rejects %s', (_name, edit, pointer) => {
    expectInvalid(edit(dockerManifestList()), pointer, { mediaType: MediaType.DockerManifestList });
  });
});
