import { Buffer } from 'node:buffer';
import { digestOf } from '@berth/digest';
import fc from 'fast-check';
import type { Json, JsonObject } from './fixtures.ts';

/** What a generated valid manifest should parse into. */
export interface GeneratedManifest {
  /** The manifest document to serialize. */
  doc: JsonObject;
  /** The media type of the manifest. */
  mediaType: string;
  /** The expected `kind`. */
  kind: 'oci-manifest' | 'oci-index' | 'docker-manifest' | 'docker-manifest-list';
  /** The expected `references()` result, built from the generated descriptors. */
  references: { role: 'config' | 'layer' | 'manifest' | 'subject'; descriptor: JsonObject }[];
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Valid RFC 6838 `type/subtype` strings, both well-known and random. */
export const mediaTypeArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'application/vnd.oci.image.config.v1+json',
    'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.oci.empty.v1+json',
    'application/vnd.docker.image.rootfs.diff.tar.gzip',
    'application/vnd.oci.image.manifest.v1+json',
    'application/spdx+json',
    'text/plain',
  ),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,15}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,30}$/),
);

/** Syntactically valid sha256 and sha512 digests of random content. */
export const digestArb: fc.Arbitrary<string> = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `sha256:${hex(b)}`),
  fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => `sha512:${hex(b)}`),
);

/** Keys that exercise JSON-pointer escaping and prototype-ish names. */
const keyArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('org.opencontainers.image.title', 'a/b', '~x', 'toString', 'constructor', ''),
);

/** String-to-string maps. */
export const annotationsArb: fc.Arbitrary<Record<string, string>> = fc.dictionary(keyArb, fc.string(), {
  maxKeys: 4,
});

/** Valid platforms. */
export const platformArb: fc.Arbitrary<JsonObject> = fc.record(
  {
    architecture: fc.constantFrom('amd64', 'arm64', 'arm', 'ppc64le', 's390x', 'riscv64', 'unknown'),
    os: fc.constantFrom('linux', 'windows', 'freebsd', 'unknown'),
    'os.version': fc.string({ maxLength: 16 }),
    'os.features': fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
    variant: fc.constantFrom('v5', 'v6', 'v7', 'v8'),
    features: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
  },
  { requiredKeys: ['architecture', 'os'] },
);

/** Valid descriptors, optionally with embedded `data` whose size and digest agree. */
export function descriptorArb(
  options: { platform?: 'never' | 'maybe' | 'always' } = {},
): fc.Arbitrary<JsonObject> {
  const platform = options.platform ?? 'never';
  const base = fc.record(
    {
      mediaType: mediaTypeArb,
      digest: digestArb,
      size: fc.oneof(fc.nat(1 << 30), fc.maxSafeNat()),
      urls: fc.array(fc.webUrl(), { maxLength: 2 }),
      annotations: annotationsArb,
      artifactType: mediaTypeArb,
    },
    { requiredKeys: ['mediaType', 'digest', 'size'] },
  );
  const withData = fc
    .tuple(base, fc.uint8Array({ maxLength: 48 }), fc.constantFrom('sha256' as const, 'sha512' as const))
    .map(
      ([d, bytes, algorithm]): JsonObject => ({
        ...d,
        size: bytes.length,
        digest: digestOf(bytes, algorithm),
        data: Buffer.from(bytes).toString('base64'),
      }),
    );
  const descriptor: fc.Arbitrary<JsonObject> = fc.oneof(
    { arbitrary: base, weight: 3 },
    { arbitrary: withData, weight: 1 },
  );
  if (platform === 'never') return descriptor;
  return fc
    .tuple(descriptor, platform === 'always' ? platformArb : fc.option(platformArb, { nil: undefined }))
    .map(([d, p]) => (p === undefined ? d : { ...d, platform: p }));
}

function optionalFields(
  fields: Record<string, fc.Arbitrary<Json>>,
): fc.Arbitrary<Partial<Record<string, Json>>> {
  return fc.record(fields, { requiredKeys: [] });
}

/** Valid OCI image manifests (images and artifacts), with or without a body `mediaType`. */
export const ociManifestArb: fc.Arbitrary<GeneratedManifest> = fc
  .tuple(
    descriptorArb(),
    fc.array(descriptorArb(), { maxLength: 5 }),
    optionalFields({ artifactType: mediaTypeArb, subject: descriptorArb(), annotations: annotationsArb }),
    fc.boolean(),
  )
  .map(([config, layers, extra, withMediaType]) => {
    const doc: JsonObject = {
      schemaVersion: 2,
      ...(withMediaType && { mediaType: 'application/vnd.oci.image.manifest.v1+json' }),
      config,
      layers,
      ...(extra as JsonObject),
    };
    return {
      doc,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      kind: 'oci-manifest',
      references: [
        { role: 'config', descriptor: config },
        ...layers.map((descriptor) => ({ role: 'layer' as const, descriptor })),
        ...(extra.subject === undefined
          ? []
          : [{ role: 'subject' as const, descriptor: extra.subject as JsonObject }]),
      ],
    };
  });

/** Valid OCI image indexes, with or without a body `mediaType`. */
export const ociIndexArb: fc.Arbitrary<GeneratedManifest> = fc
  .tuple(
    fc.array(descriptorArb({ platform: 'maybe' }), { maxLength: 5 }),
    optionalFields({ artifactType: mediaTypeArb, subject: descriptorArb(), annotations: annotationsArb }),
    fc.boolean(),
  )
  .map(([manifests, extra, withMediaType]) => ({
    doc: {
      schemaVersion: 2,
      ...(withMediaType && { mediaType: 'application/vnd.oci.image.index.v1+json' }),
      manifests,
      ...(extra as JsonObject),
    },
    mediaType: 'application/vnd.oci.image.index.v1+json',
    kind: 'oci-index',
    references: [
      ...manifests.map((descriptor) => ({ role: 'manifest' as const, descriptor })),
      ...(extra.subject === undefined
        ? []
        : [{ role: 'subject' as const, descriptor: extra.subject as JsonObject }]),
    ],
  }));

/** Valid Docker schema2 image manifests. */
export const dockerManifestArb: fc.Arbitrary<GeneratedManifest> = fc
  .tuple(descriptorArb(), fc.array(descriptorArb(), { maxLength: 5 }))
  .map(([config, layers]) => ({
    doc: {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config,
      layers,
    },
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    kind: 'docker-manifest',
    references: [
      { role: 'config', descriptor: config },
      ...layers.map((descriptor) => ({ role: 'layer' as const, descriptor })),
    ],
  }));

/** Valid Docker manifest lists (every child has a platform). */
export const dockerManifestListArb: fc.Arbitrary<GeneratedManifest> = fc
  .array(descriptorArb({ platform: 'always' }), { maxLength: 5 })
  .map((manifests) => ({
    doc: {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests,
    },
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    kind: 'docker-manifest-list',
    references: manifests.map((descriptor) => ({ role: 'manifest' as const, descriptor })),
  }));

/** Any valid manifest of the four kinds. */
export const manifestArb: fc.Arbitrary<GeneratedManifest> = fc.oneof(
  ociManifestArb,
  ociIndexArb,
  dockerManifestArb,
  dockerManifestListArb,
);

/** Every JSON pointer inside `value` (excluding the root), paired with the value found there. */
export function jsonPaths(value: Json, pointer = ''): { pointer: string; value: Json }[] {
  const out: { pointer: string; value: Json }[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push({ pointer: `${pointer}/${i}`, value: item }, ...jsonPaths(item, `${pointer}/${i}`));
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const child = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      out.push({ pointer: child, value: item }, ...jsonPaths(item, child));
    }
  }
  return out;
}

/** JSON values whose type differs from that of `value` (one or two of each other JSON type). */
export function wrongTypeValues(value: Json): Json[] {
  const options: Json[] = [];
  if (typeof value !== 'string') options.push('x', '');
  if (typeof value !== 'number') options.push(0, 2, -1.5);
  if (typeof value !== 'boolean') options.push(true, false);
  if (value !== null) options.push(null);
  if (!Array.isArray(value)) options.push([], ['x']);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) options.push({}, { a: 'b' });
  return options;
}
