export { parseAccept } from './accept.ts';
export type { Descriptor, Platform, PlatformDescriptor } from './descriptor.ts';
export {
  isManifestError,
  ManifestError,
  type ManifestErrorCode,
  type ManifestErrorOptions,
} from './errors.ts';
export type {
  DockerManifest,
  DockerManifestList,
  Manifest,
  ManifestIndex,
  ManifestKind,
  OciImageIndex,
  OciImageManifest,
} from './manifest.ts';
export {
  EMPTY_DESCRIPTOR,
  isManifestMediaType,
  isMediaTypeString,
  MANIFEST_MEDIA_TYPES,
  type ManifestMediaType,
  MediaType,
} from './media-types.ts';
export { DEFAULT_MAX_MANIFEST_SIZE, type ParseManifestOptions, parseManifest } from './parse-manifest.ts';
export { artifactTypeOf, type Reference, type ReferenceRole, references, subjectOf } from './references.ts';
export { type PlatformSelector, selectPlatform } from './select-platform.ts';
