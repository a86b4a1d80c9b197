import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isManifestError } from './errors.ts';
import { MediaType } from './media-types.ts';
import { parseManifest } from './parse-manifest.ts';
import { references } from './references.ts';
import {
  annotationsArb,
  descriptorArb,
  digestArb,
  jsonPaths,
  manifestArb,
  mediaTypeArb,
  wrongTypeValues,
} from './test-support/arbitraries.ts';
import { set } from './test-support/edit.ts';
import { encode, type Json } from './test-support/fixtures.ts';

const declaredTypeArb: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'application/json',
    'application/octet-stream',
    MediaType.OciManifest,
    MediaType.OciIndex,
    MediaType.DockerManifest,
    MediaType.DockerManifestList,
    MediaType.DockerSchema1SignedManifest,
    MediaType.OciConfig,
  ),
  fc.string(),
);

/** A plain-prototype deep copy (fast-check records have null prototypes). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Parses and asserts that anything thrown is a well-formed ManifestError. */
function parseOrManifestError(bytes: Uint8Array, mediaType: string | undefined): void {
  try {
    const m = parseManifest(bytes, { mediaType });
    expect(m.raw).toBe(bytes);
    expect(Array.isArray(references(m))).toBe(true);
  } catch (err) {
    if (!isManifestError(err)) throw err;
    if (err.code === 'MANIFEST_INVALID') expect(typeof err.pointer).toBe('string');
    expect(err.message.length).toBeGreaterThan(0);
  }
}

/** Values that look a bit like manifest fields, so fuzzing reaches the deeper validators. */
const fieldishArb: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  descriptorArb({ platform: 'maybe' }),
  fc.array(
    fc.oneof(descriptorArb({ platform: 'maybe' }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>),
    {
      maxLength: 3,
    },
  ),
  fc.record(
    {
      mediaType: fc.oneof(mediaTypeArb, fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>),
      digest: fc.oneof(
        digestArb,
        fc.string(),
        fc.constant('sha384:abc'),
        fc.constant('md5:d41d8cd98f00b204e9800998ecf8427e'),
      ),
      size: fc.oneof(fc.integer(), fc.double(), fc.string()),
      data: fc.oneof(fc.base64String(), fc.string()),
      platform: fc.oneof(fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>, fc.record({ os: fc.string() })),
    },
    { requiredKeys: [] },
  ),
  mediaTypeArb,
  annotationsArb,
);

const manifestishArb: fc.Arbitrary<Record<string, Json>> = fc.record(
  {
    schemaVersion: fc.oneof(
      fc.constant(2),
      fc.constant(1),
      fc.jsonValue({ maxDepth: 0 }) as fc.Arbitrary<Json>,
    ),
    mediaType: fc.oneof(
      fc.constantFrom(...Object.values(MediaType)),
      fc.jsonValue({ maxDepth: 0 }) as fc.Arbitrary<Json>,
    ),
    artifactType: fieldishArb,
    config: fieldishArb,
    layers: fieldishArb,
    manifests: fieldishArb,
    subject: fieldishArb,
    annotations: fieldishArb,
  },
  { requiredKeys: [] },
);

describe('parseManifest properties: only ManifestError escapes', () => {
  it('for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), declaredTypeArb, (value, mediaType) => {
        parseOrManifestError(encode(value, 0), mediaType);
      }),
      { numRuns: 500 },
    );
  });

  it('for anything JSON.stringify can serialize', () => {
    fc.assert(
      fc.property(fc.anything(), declaredTypeArb, (value, mediaType) => {
        const json = JSON.stringify(value);
        if (json === undefined) return;
        parseOrManifestError(new TextEncoder().encode(json), mediaType);
      }),
      { numRuns: 300 },
    );
  });

  it('for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), declaredTypeArb, (bytes, mediaType) => {
        parseOrManifestError(bytes, mediaType);
      }),
      { numRuns: 300 },
    );
  });

  it('for manifest-shaped objects with random field values', () => {
    fc.assert(
      fc.property(manifestishArb, declaredTypeArb, (doc, mediaType) => {
        parseOrManifestError(encode(doc, 0), mediaType);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseManifest properties: valid manifests round-trip', () => {
  it('parses every generated manifest and references() returns exactly its descriptors', () => {
    fc.assert(
      fc.property(manifestArb, fc.boolean(), (generated, declare) => {
        const bytes = encode(generated.doc, 0);
        const m = parseManifest(bytes, declare ? { mediaType: generated.mediaType } : {});
        expect(m.kind).toBe(generated.kind);
        expect(m.mediaType).toBe(generated.mediaType);
        expect(m.raw).toBe(bytes);
        expect(references(m)).toStrictEqual(plain(generated.references));
      }),
      { numRuns: 300 },
    );
  });

  it('tolerates unknown top-level fields', () => {
    fc.assert(
      fc.property(
        manifestArb,
        fc.dictionary(
          fc.string().map((k) => `x-${k}`),
          fc.jsonValue() as fc.Arbitrary<Json>,
          { maxKeys: 3 },
        ),
        (generated, extra) => {
          const m = parseManifest(encode({ ...generated.doc, ...extra }));
          expect(references(m)).toStrictEqual(plain(generated.references));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('parseManifest properties: a field of the wrong type is pinpointed', () => {
  it('yields MANIFEST_INVALID with the pointer of the mutated field, for every field and wrong type', () => {
    fc.assert(
      fc.property(manifestArb, fc.boolean(), (generated, declare) => {
        const options = declare ? { mediaType: generated.mediaType } : {};
        for (const { pointer, value } of jsonPaths(generated.doc)) {
          for (const replacement of wrongTypeValues(value)) {
            const doc = set(pointer, replacement)(generated.doc);
            let thrown: unknown;
            try {
              parseManifest(encode(doc, 0), options);
            } catch (err) {
              thrown = err;
            }
            expect(thrown, `${pointer} := ${JSON.stringify(replacement)}`).toMatchObject({
              code: 'MANIFEST_INVALID',
              pointer,
            });
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
