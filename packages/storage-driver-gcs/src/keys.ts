/**
 * Object names: driver paths map to registry:2's names, and pending writes live in a hidden tree
 * whose names no driver path can produce.
 *
 * ```
 * <root>/a/b                                    the file /a/b (registry:2's name for it)
 * <root>/~berth-pending/a/b/~<write>/00000000   part 0 of a pending write of /a/b
 * <root>/~berth-pending/a/b/~<write>/00000001   part 1 …
 * <root>/~berth-pending/a/b/~<write>/c1-0       a compose intermediate (only during a commit)
 * ```
 *
 * `~` never appears in a driver path (`[A-Za-z0-9._-]`), so the hidden tree can neither collide
 * with a file nor show up as one: it is filtered out of the root's listing, and everything else
 * below the root is visible data. Pending writes of `/a/b` and of paths below `/a/b` share the
 * prefix `~berth-pending/a/b/`, which no sibling such as `/a/bc` shares, so deleting a directory
 * drops exactly its pending writes with one prefix listing.
 */
import { ROOT_PATH } from '@berth/storage-driver';

/** The top-level name of the hidden tree of pending writes (below `rootdirectory`). */
export const PENDING_DIR = '~berth-pending';

/** Digits of a part's sequence number (fixed width, so names sort in order). */
const SEQ_DIGITS = 8;
/** The highest sequence number a write can have. */
export const MAX_SEQ: number = 10 ** SEQ_DIGITS - 1;
const PART_NAME = /^\d{8}$/;
const WRITE_ID = /^[0-9a-z]{9}[0-9a-f]{12}$/;

/** Maps driver paths to object names below a root prefix. */
export class ObjectKeys {
  /** `''` or `a/b` (no leading or trailing `/`). */
  readonly rootPrefix: string;

  constructor(rootPrefix: string) {
    this.rootPrefix = rootPrefix;
  }

  /** The object name of a file path (registry:2's mapping). */
  object(path: string): string {
    return this.rootPrefix === '' ? path.slice(1) : `${this.rootPrefix}${path}`;
  }

  /** The name prefix of everything below a directory path (`''` for `/` at the bucket's root). */
  dir(path: string): string {
    if (path === ROOT_PATH) return this.rootPrefix === '' ? '' : `${this.rootPrefix}/`;
    return `${this.object(path)}/`;
  }

  /** The driver path of an object name or `/`-terminated prefix below the root. */
  pathOf(name: string): string {
    return `/${name.slice(this.dir(ROOT_PATH).length).replace(/\/$/, '')}`;
  }

  /** The prefix of the hidden tree (`<root>/~berth-pending/`). */
  pendingRoot(): string {
    return `${this.dir(ROOT_PATH)}${PENDING_DIR}/`;
  }

  /** The prefix of pending writes of `path` itself *and* of every path below it. */
  pendingTree(path: string): string {
    return path === ROOT_PATH ? this.pendingRoot() : `${this.pendingRoot()}${path.slice(1)}/`;
  }

  /** The prefix of the pending writes of `path` itself (each below `~<write id>/`). */
  pendingOf(path: string): string {
    return `${this.pendingTree(path)}~`;
  }

  /** The prefix of one pending write's objects. */
  write(path: string, writeId: string): string {
    return `${this.pendingOf(path)}${writeId}/`;
  }

  /** The object name of part `seq` of a write. */
  part(path: string, writeId: string, seq: number): string {
    return `${this.write(path, writeId)}${String(seq).padStart(SEQ_DIGITS, '0')}`;
  }
}

/** One object below a path's `pendingOf` prefix, classified. */
export type PendingObject =
  | { readonly kind: 'part'; readonly writeId: string; readonly seq: number }
  | { readonly kind: 'other'; readonly writeId: string };

/**
 * Classifies the name of an object below `pendingOf(path)` (the part after that prefix:
 * `<write id>/<rest>`); `undefined` for a name that is not one of ours.
 */
export function parsePendingName(relative: string): PendingObject | undefined {
  const slash = relative.indexOf('/');
  if (slash < 0) return undefined;
  const writeId = relative.slice(0, slash);
  if (!WRITE_ID.test(writeId)) return undefined;
  const rest = relative.slice(slash + 1);
  if (PART_NAME.test(rest)) return { kind: 'part', writeId, seq: Number(rest) };
  return { kind: 'other', writeId };
}

/**
 * A new write id: 9 base-36 digits of the creation time in milliseconds, then 12 random hex
 * digits. Ids sort by creation time (to a few ms across machines with synchronized clocks), so
 * the newest pending write of a path is the one with the greatest id.
 */
export function newWriteId(now: number = Date.now(), random: string = randomHex(6)): string {
  return `${now.toString(36).padStart(9, '0')}${random}`;
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
