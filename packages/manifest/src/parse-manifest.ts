import {
  type Descriptor,
  type PlatformDescriptor,
  validateDescriptor,
  validateDescriptorArray,
} from './descriptor.ts';
import { ManifestError } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { isManifestMediaType, type ManifestMediaType, MediaType } from './media-types.ts';
import {
  fail,
  isObject,
  type JsonObject,
  jsonTypeOf,
  optionalAnnotations,
  optionalMediaType,
} from './validate.ts';

/** Default {@link ParseManifestOptions.maxSize}: 4 MiB, the limit registry:2 and most registries apply. */
export const DEFAULT_MAX_MANIFEST_SIZE: number = 4 * 1024 * 1024;

/** Options for {@link parseManifest}. */
export interface ParseManifestOptions {
  /**
   * The media type the client declared, typically the HTTP `Content-Type` of the push. Parameters
   * (`; charset=utf-8`) and case are ignored. Absent, empty, `application/json` and
   * `application/octet-stream` count as "not declared": the body's own `mediaType` decides.
   */
  mediaType?: string;
  /** Largest accepted manifest in bytes (inclusive). Defaults to {@link DEFAULT_MAX_MANIFEST_SIZE}. */
  maxSize?: number;
}

/** Content types that say nothing about which manifest this is. */
const GENERIC_CONTENT_TYPES: ReadonlySet<string> = new Set([
  '',
  'application/json',
  'application/octet-stream',
]);

const SCHEMA1_TYPES: ReadonlySet<string> = new Set([
  MediaType.DockerSchema1Manifest,
  MediaType.DockerSchema1SignedManifest,
]);

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function unsupported(mediaType: string): ManifestError {
  if (SCHEMA1_TYPES.has(mediaType)) {
    return new ManifestError(
      'MANIFEST_UNSUPPORTED',
      `unsupported manifest media type ${JSON.stringify(mediaType)}: Docker schema1 manifests are not supported, push schema2 or OCI`,
    );
  }
  return new ManifestError(
    'MANIFEST_UNSUPPORTED',
    `unsupported manifest media type ${JSON.stringify(mediaType)}: expected one of ${MediaType.OciManifest}, ${MediaType.OciIndex}, ${MediaType.DockerManifest}, ${MediaType.DockerManifestList}`,
  );
}

function normalizeContentType(value: string): string {
  const semicolon = value.indexOf(';');
  return (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

function decode(bytes: Uint8Array): JsonObject {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (err) {
    fail('', 'is not valid UTF-8', err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    fail('', `is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (!isObject(doc)) fail('', `must be a JSON object, got ${jsonTypeOf(doc)}`);
  return doc;
}

function resolveMediaType(doc: JsonObject, declared: ManifestMediaType | undefined): ManifestMediaType {
  const body = doc.mediaType;
  if (body !== undefined && typeof body !== 'string')
    fail('/mediaType', `must be a string, got ${jsonTypeOf(body)}`);
  let resolved: ManifestMediaType;
  if (declared !== undefined) {
    if (body !== undefined && body !== declared) {
      fail(
        '/mediaType',
        `is ${JSON.stringify(body)} but the manifest was submitted as ${JSON.stringify(declared)}`,
      );
    }
    resolved = declared;
  } else if (body !== undefined) {
    if (!isManifestMediaType(body)) throw unsupported(body);
    resolved = body;
  } else if (doc.manifests !== undefined) {
    resolved = MediaType.OciIndex;
  } else if (doc.config !== undefined || doc.layers !== undefined) {
    resolved = MediaType.OciManifest;
  } else {
    fail(
      '/mediaType',
      'is missing and the manifest type cannot be inferred (no manifests, config or layers)',
    );
  }
  if (
    body === undefined &&
    (resolved === MediaType.DockerManifest || resolved === MediaType.DockerManifestList)
  ) {
    fail('/mediaType', `is required for Docker manifests (expected ${JSON.stringify(resolved)})`);
  }
  return resolved;
}

function optionalSubject(value: unknown): Descriptor | undefined {
  return value === undefined ? undefined : validateDescriptor(value, '/subject');
}

/**
 * Parses and validates a manifest exactly as a registry must on push. Validation is a single pass over
 * the decoded JSON; unknown fields are allowed (and kept in `raw`), known fields are type-checked.
 *
 * Media type resolution: a declared manifest type (`options.mediaType`) wins and the body's `mediaType`,
 * if present, must equal it. With no declared type (or a generic one such as `application/json`) the
 * body's `mediaType` is used; failing that the type is inferred the OCI way (`manifests` → index,
 * `config`/`layers` → image manifest). Docker types must carry `mediaType` in the body.
 *
 * @param bytes - the manifest exactly as received.
 * @param options - the declared media type and size limit.
 * @returns the typed manifest; its `raw` is `bytes` itself.
 * @throws {ManifestError} `MANIFEST_TOO_LARGE` when `bytes` exceeds `maxSize` (checked before decoding);
 *   `MANIFEST_UNSUPPORTED` for an unknown, non-manifest or Docker schema1 media type (declared or in the
 *   body) or a body with `schemaVersion` 1 and no declared type; `MANIFEST_INVALID` (with `pointer`) for
 *   anything else wrong: bad UTF-8 or JSON, `schemaVersion` other than 2, a `mediaType` conflict, a
 *   missing or mistyped field, a bad digest, size or embedded `data`, or fields of the other manifest
 *   shape (`manifests` in an image manifest, `config`/`layers` in an index).
 * @throws {TypeError} when `bytes` is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * const manifest = parseManifest(body, { mediaType: request.headers['content-type'] });
 * if (manifest.kind === 'oci-manifest' && manifest.subject) {
 *   indexReferrer(manifest.subject.digest, artifactTypeOf(manifest));
 * }
 * await store(digestOf(manifest.raw), manifest.raw, manifest.mediaType);
 * ```
 */
export function parseManifest(bytes: Uint8Array, options: ParseManifestOptions = {}): Manifest {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseManifest: bytes must be a Uint8Array');
  const maxSize = options.maxSize ?? DEFAULT_MAX_MANIFEST_SIZE;
  if (bytes.byteLength > maxSize) {
    throw new ManifestError(
      'MANIFEST_TOO_LARGE',
      `manifest is ${bytes.byteLength} bytes, over the ${maxSize} byte limit`,
    );
  }

  let declared: ManifestMediaType | undefined;
  if (options.mediaType !== undefined) {
    const contentType = normalizeContentType(options.mediaType);
    if (!GENERIC_CONTENT_TYPES.has(contentType)) {
      if (!isManifestMediaType(contentType)) throw unsupported(contentType);
      declared = contentType;
    }
  }

  const doc = decode(bytes);

  const schemaVersion = doc.schemaVersion;
  if (schemaVersion !== 2) {
    if (schemaVersion === 1 && declared === undefined) {
      throw new ManifestError(
        'MANIFEST_UNSUPPORTED',
        'unsupported manifest: schemaVersion 1 (Docker schema1) manifests are not supported, push schema2 or OCI',
      );
    }
    if (schemaVersion === undefined) fail('/schemaVersion', 'is required');
    fail(
      '/schemaVersion',
      `must be 2, got ${typeof schemaVersion === 'number' ? schemaVersion : jsonTypeOf(schemaVersion)}`,
    );
  }

  const mediaType = resolveMediaType(doc, declared);
  const raw = bytes;
  switch (mediaType) {
    case MediaType.OciManifest: {
      if (doc.manifests !== undefined) fail('/manifests', 'is not allowed in an image manifest');
      const config = validateDescriptor(doc.config, '/config');
      const layers = validateDescriptorArray(doc.layers, '/layers', false);
      const artifactType = optionalMediaType(doc.artifactType, '/artifactType');
      const subject = optionalSubject(doc.subject);
      const annotations = optionalAnnotations(doc.annotations, '/annotations');
      return {
        kind: 'oci-manifest',
        schemaVersion: 2,
        mediaType,
        ...(artifactType !== undefined && { artifactType }),
        config,
        layers,
        ...(subject !== undefined && { subject }),
        ...(annotations !== undefined && { annotations }),
        raw,
      };
    }
    case MediaType.OciIndex: {
      if (doc.config !== undefined) fail('/config', 'is not allowed in an image index');
      if (doc.layers !== undefined) fail('/layers', 'is not allowed in an image index');
      const manifests = validateDescriptorArray(doc.manifests, '/manifests', false);
      const artifactType = optionalMediaType(doc.artifactType, '/artifactType');
      const subject = optionalSubject(doc.subject);
      const annotations = optionalAnnotations(doc.annotations, '/annotations');
      return {
        kind: 'oci-index',
        schemaVersion: 2,
        mediaType,
        ...(artifactType !== undefined && { artifactType }),
        manifests,
        ...(subject !== undefined && { subject }),
        ...(annotations !== undefined && { annotations }),
        raw,
      };
    }
    case MediaType.DockerManifest: {
      const config = validateDescriptor(doc.config, '/config');
      const layers = validateDescriptorArray(doc.layers, '/layers', false);
      return { kind: 'docker-manifest', schemaVersion: 2, mediaType, config, layers, raw };
    }
    case MediaType.DockerManifestList: {
      const manifests = validateDescriptorArray(doc.manifests, '/manifests', true) as PlatformDescriptor[];
      return { kind: 'docker-manifest-list', schemaVersion: 2, mediaType, manifests, raw };
    }
  }
}
