import { createHash } from 'node:crypto';
import { ROOT_PATH } from '@berth/storage-driver';

/** The component under `rootdirectory` that holds Berth's hidden objects; not a valid path name. */
export const HIDDEN_DIR = '!berth';

const NAME = /^[A-Za-z0-9._-]+$/;

/** True when `name` (one key component) is a valid storage path component. */
export function isValidName(name: string): boolean {
  return NAME.test(name) && name !== '.' && name !== '..';
}

/**
 * Maps storage paths to S3 keys the way registry:2 does: `rootdirectory` without its leading
 * and trailing slashes, then the path (`/registry` + `/docker/x` → `registry/docker/x`; with no
 * rootdirectory, `docker/x`). Directories are key prefixes ending in `/`.
 */
export class KeyMapper {
  /** `''` or `<rootdirectory>/`. */
  readonly prefix: string;

  constructor(rootdirectory: string) {
    const trimmed = rootdirectory.replace(/^\/+/, '').replace(/\/+$/, '');
    this.prefix = trimmed === '' ? '' : `${trimmed}/`;
  }

  /** The object key of a file path. */
  key(path: string): string {
    return this.prefix + path.slice(1);
  }

  /** The key prefix of everything below a directory path (`/` included). */
  dirPrefix(path: string): string {
    return path === ROOT_PATH ? this.prefix : `${this.key(path)}/`;
  }

  /** The storage path of a key under the root. */
  path(key: string): string {
    return `/${key.slice(this.prefix.length)}`;
  }

  /**
   * Where the writer keeps the buffered bytes of a closed multipart upload that did not fill a
   * part (see the design note in `s3-driver.ts`): below `<root>/!berth/tails/`, mirroring the
   * path, so that everything of a directory's pending writes is found by one prefix listing.
   */
  tailKey(path: string, uploadId: string): string {
    const id = createHash('sha256').update(uploadId).digest('hex').slice(0, 32);
    return `${this.tailPrefix(path)}${id}`;
  }

  /** The prefix of the tail objects of `path` and of every path below it. */
  tailPrefix(path: string): string {
    return `${this.prefix}${HIDDEN_DIR}/tails${path === ROOT_PATH ? '' : path}/`;
  }
}
