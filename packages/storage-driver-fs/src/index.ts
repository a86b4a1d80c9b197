export { hiddenName, PENDING_TAG, SHADOW_DIR, TEMP_TAG } from './disk.ts';
export { createFilesystemDriver, FsDriver, filesystemDriverFactory, READ_CHUNK_SIZE } from './fs-driver.ts';
export { WRITE_BUFFER_SIZE } from './fs-writer.ts';
export {
  DEFAULT_MAX_THREADS,
  DEFAULT_ROOT_DIRECTORY,
  type FilesystemDriverOptions,
  MIN_MAX_THREADS,
  parseFilesystemParameters,
  type ResolvedFilesystemDriverOptions,
  resolveFilesystemOptions,
} from './options.ts';
