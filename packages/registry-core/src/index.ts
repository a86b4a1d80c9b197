export {
  ERROR_DESCRIPTORS,
  isRegistryError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorEntry,
  type RegistryErrorOptions,
} from './errors.ts';
export { assertRepositoryName, isValidRepositoryName, isValidTag, MAX_NAME_LENGTH } from './names.ts';
export { type PathSpec, pathFor, ROOT } from './paths.ts';
