export {
  ERROR_DESCRIPTORS,
  type ErrorDescriptor,
  isRegistryError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorEntry,
  type RegistryErrorOptions,
} from './errors.ts';
export { assertRepositoryName, isValidRepositoryName, isValidTag, MAX_NAME_LENGTH } from './names.ts';
export { type PathSpec, pathFor, ROOT } from './paths.ts';
export type {
  BlobDescriptor,
  ByteRange,
  LinkedBlobStore,
  ManifestStore,
  Page,
  PutManifestResult,
  ReferrersStore,
  Registry,
  RegistryOptions,
  Repository,
  StoredManifest,
  TagStore,
  Upload,
  UploadStore,
} from './types.ts';
