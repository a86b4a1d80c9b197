import { Buffer } from 'node:buffer';
import { digestOf, parseDigest } from '@berth/digest';
import { childPointer } from './json-pointer.ts';
import {
  fail,
  jsonTypeOf,
  optionalAnnotations,
  optionalMediaType,
  optionalString,
  optionalStringArray,
  requireMediaType,
  requireObject,
  requireString,
} from './validate.ts';

/** The platform a manifest in an index or manifest list was built for. */
export interface Platform {
  /** CPU architecture, GOARCH style (`amd64`, `arm64`, `arm`, `ppc64le`, `s390x`, ...). */
  architecture: string;
  /** Operating system, GOOS style (`linux`, `windows`, ...). */
  os: string;
  /** Operating system version, e.g. `10.0.17763.1879` for Windows images. */
  'os.version'?: string;
  /** Required operating system features, e.g. `win32k`. */
  'os.features'?: string[];
  /** CPU variant, e.g. `v7` for `arm`, `v8` for `arm64`. */
  variant?: string;
  /** Reserved by the OCI spec; used by Docker manifest lists for CPU features. */
  features?: string[];
}

/** An OCI/Docker content descriptor: a typed, sized, content-addressed pointer to a blob or manifest. */
export interface Descriptor {
  /** RFC 6838 media type of the referenced content. */
  mediaType: string;
  /** Digest of the referenced content, e.g. `sha256:<64 hex>`. */
  digest: string;
  /** Size of the referenced content in bytes. */
  size: number;
  /** Alternate download locations (foreign / non-distributable layers). */
  urls?: string[];
  /** Arbitrary string metadata. */
  annotations?: Record<string, string>;
  /** The referenced content itself, base64-encoded (RFC 4648 section 4), embedded in the descriptor. */
  data?: string;
  /** Artifact type of the referenced manifest (used in indexes and referrers responses). */
  artifactType?: string;
  /** Platform of the referenced manifest (in indexes and manifest lists). */
  platform?: Platform;
}

/** A descriptor whose `platform` is present, as required in Docker manifest lists. */
export interface PlatformDescriptor extends Descriptor {
  /** Platform of the referenced manifest. */
  platform: Platform;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Validates a platform object found at `pointer` and returns a typed copy holding only known fields.
 * Internal; throws `MANIFEST_INVALID`.
 */
export function validatePlatform(value: unknown, pointer: string): Platform {
  const obj = requireObject(value, pointer);
  const platform: Platform = {
    architecture: requireString(obj.architecture, `${pointer}/architecture`),
    os: requireString(obj.os, `${pointer}/os`),
  };
  const osVersion = optionalString(obj['os.version'], `${pointer}/os.version`);
  if (osVersion !== undefined) platform['os.version'] = osVersion;
  const osFeatures = optionalStringArray(obj['os.features'], `${pointer}/os.features`);
  if (osFeatures !== undefined) platform['os.features'] = osFeatures;
  const variant = optionalString(obj.variant, `${pointer}/variant`);
  if (variant !== undefined) platform.variant = variant;
  const features = optionalStringArray(obj.features, `${pointer}/features`);
  if (features !== undefined) platform.features = features;
  return platform;
}

interface ValidDigest {
  digest: string;
  canonical: string;
  algorithm: 'sha256' | 'sha512';
}

function validateDigest(value: unknown, pointer: string): ValidDigest {
  const digest = requireString(value, pointer);
  try {
    const parsed = parseDigest(digest);
    return { digest, canonical: parsed.digest, algorithm: parsed.algorithm };
  } catch (err) {
    const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    if (code === 'DIGEST_UNSUPPORTED_ALGORITHM') {
      const colon = digest.indexOf(':');
      const algorithm = colon < 0 ? digest : digest.slice(0, colon);
      fail(pointer, `uses unsupported digest algorithm ${JSON.stringify(algorithm)}`, err);
    }
    fail(pointer, `is not a valid digest: ${JSON.stringify(digest)}`, err);
  }
}

function validateSize(value: unknown, pointer: string): number {
  if (value === undefined) fail(pointer, 'is required');
  if (typeof value !== 'number') fail(pointer, `must be a number, got ${jsonTypeOf(value)}`);
  if (!Number.isSafeInteger(value) || value < 0)
    fail(pointer, `must be a non-negative integer, got ${value}`);
  return value;
}

/**
 * Validates a descriptor found at `pointer` and returns a typed copy holding only known fields. Each
 * field's type is checked before any cross-field rule (embedded `data` against `size` and `digest`).
 * Internal; throws `MANIFEST_INVALID`.
 */
export function validateDescriptor(value: unknown, pointer: string): Descriptor {
  const obj = requireObject(value, pointer);
  const mediaType = requireMediaType(obj.mediaType, `${pointer}/mediaType`);
  const { digest, canonical, algorithm } = validateDigest(obj.digest, `${pointer}/digest`);
  const size = validateSize(obj.size, `${pointer}/size`);
  const descriptor: Descriptor = { mediaType, digest, size };

  const urls = optionalStringArray(obj.urls, `${pointer}/urls`);
  if (urls !== undefined) descriptor.urls = urls;
  const annotations = optionalAnnotations(obj.annotations, `${pointer}/annotations`);
  if (annotations !== undefined) descriptor.annotations = annotations;
  const artifactType = optionalMediaType(obj.artifactType, `${pointer}/artifactType`);
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  if (obj.platform !== undefined) descriptor.platform = validatePlatform(obj.platform, `${pointer}/platform`);

  const data = optionalString(obj.data, `${pointer}/data`);
  if (data !== undefined) {
    const dataPointer = `${pointer}/data`;
    if (!BASE64.test(data)) fail(dataPointer, 'must be standard base64 with padding (RFC 4648 section 4)');
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length !== size) {
      fail(dataPointer, `decodes to ${bytes.length} bytes but the descriptor size is ${size}`);
    }
    const actual = digestOf(bytes, algorithm);
    if (actual !== canonical)
      fail(dataPointer, `has digest ${actual} but the descriptor digest is ${digest}`);
    descriptor.data = data;
  }
  return descriptor;
}

/** Validates an array of descriptors at `pointer`. Internal; throws `MANIFEST_INVALID`. */
export function validateDescriptorArray(
  value: unknown,
  pointer: string,
  requirePlatform: boolean,
): Descriptor[] {
  if (value === undefined) fail(pointer, 'is required');
  if (!Array.isArray(value)) fail(pointer, `must be an array of descriptors, got ${jsonTypeOf(value)}`);
  const out: Descriptor[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const itemPointer = childPointer(pointer, i);
    const descriptor = validateDescriptor(value[i], itemPointer);
    if (requirePlatform && descriptor.platform === undefined) fail(`${itemPointer}/platform`, 'is required');
    out[i] = descriptor;
  }
  return out;
}
