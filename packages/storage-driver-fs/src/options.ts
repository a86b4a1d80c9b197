import {
  booleanParameter,
  InvalidParameterError,
  integerParameter,
  stringParameter,
} from '@berth/storage-driver';

/** registry:2's default `storage.filesystem.rootdirectory`. */
export const DEFAULT_ROOT_DIRECTORY = '/var/lib/registry';
/** registry:2's default `storage.filesystem.maxthreads`. */
export const DEFAULT_MAX_THREADS = 100;
/** registry:2 raises a configured `maxthreads` below this to this value. */
export const MIN_MAX_THREADS = 25;

/** Options of the filesystem driver: the keys of `storage.filesystem` in `config.yml`. */
export interface FilesystemDriverOptions {
  /**
   * The directory everything is stored under; driver path `/a/b` is `<rootdirectory>/a/b`.
   * Created (with its parents) on the first write. A relative path is resolved against the
   * working directory when the driver is created.
   * @default '/var/lib/registry'
   */
  rootdirectory?: string;
  /**
   * The most filesystem calls the driver has outstanding at once; further calls queue.
   * `parseParameters` raises values below 25 to 25, as registry:2 does.
   * @default 100
   */
  maxthreads?: number;
  /**
   * fsync file data (and the directory entries) before a commit, `putContent` or `move`
   * returns, so committed content survives a power loss. Berth-only; registry:2 has no
   * such key.
   * @default true
   */
  fsync?: boolean;
  /**
   * Read small files (up to 4 KiB: links, most manifests) and `stat` synchronously while such
   * calls take under 2 ms, falling back to the thread pool for 10 s after one that does not
   * (see `quick-reads.ts`): a thread-pool round trip costs more CPU than a page-cache hit.
   * Turn off for a filesystem whose latency varies a lot (NFS). Berth-only.
   * @default true
   */
  quickreads?: boolean;
}

/** {@link FilesystemDriverOptions} with every default filled in. */
export interface ResolvedFilesystemDriverOptions {
  readonly rootdirectory: string;
  readonly maxthreads: number;
  readonly fsync: boolean;
  readonly quickreads: boolean;
}

/**
 * Validates a raw `storage.filesystem` section the way registry:2 reads it: `rootdirectory`
 * may be any string (a number is stringified), `maxthreads` an integer or integer string
 * (anything below 25 becomes 25), `fsync` and `quickreads` booleans or `"true"`/`"false"`. Unknown keys are
 * ignored, as registry:2 ignores them.
 * @throws {InvalidParameterError} naming the offending key.
 */
export function parseFilesystemParameters(
  raw: Readonly<Record<string, unknown>>,
): ResolvedFilesystemDriverOptions {
  const rootdirectory = stringParameter(raw, 'rootdirectory') ?? DEFAULT_ROOT_DIRECTORY;
  checkRootDirectory(rootdirectory);
  const maxthreads = Math.max(MIN_MAX_THREADS, integerParameter(raw, 'maxthreads', DEFAULT_MAX_THREADS));
  const fsync = booleanParameter(raw, 'fsync', true);
  const quickreads = booleanParameter(raw, 'quickreads', true);
  return { rootdirectory, maxthreads, fsync, quickreads };
}

/**
 * Fills in defaults and validates options given in code (no registry:2 clamping: any
 * `maxthreads` of at least 1 is accepted).
 * @throws {InvalidParameterError} naming the offending key.
 */
export function resolveFilesystemOptions(
  options: FilesystemDriverOptions = {},
): ResolvedFilesystemDriverOptions {
  const rootdirectory = options.rootdirectory ?? DEFAULT_ROOT_DIRECTORY;
  if (typeof rootdirectory !== 'string' || rootdirectory === '') {
    throw new InvalidParameterError('rootdirectory', 'must be a non-empty string');
  }
  checkRootDirectory(rootdirectory);
  const maxthreads = options.maxthreads ?? DEFAULT_MAX_THREADS;
  if (!Number.isSafeInteger(maxthreads) || maxthreads < 1) {
    throw new InvalidParameterError('maxthreads', `must be a positive integer, got ${String(maxthreads)}`);
  }
  const fsync = options.fsync ?? true;
  if (typeof fsync !== 'boolean') throw new InvalidParameterError('fsync', 'must be true or false');
  const quickreads = options.quickreads ?? true;
  if (typeof quickreads !== 'boolean') throw new InvalidParameterError('quickreads', 'must be true or false');
  return { rootdirectory, maxthreads, fsync, quickreads };
}

function checkRootDirectory(rootdirectory: string): void {
  if (rootdirectory.includes('\0')) {
    throw new InvalidParameterError('rootdirectory', 'must not contain a NUL character');
  }
}
