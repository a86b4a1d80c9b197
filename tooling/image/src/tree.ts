import { posix } from 'node:path';
import type { DirectoryEntry, FileContent, TarEntry } from './tar.ts';

/** Owner and mode of an entry; root-owned unless stated. */
export interface Ownership {
  uid?: number;
  gid?: number;
}

/**
 * The files of one layer, by path. Parent directories are added as root-owned `0755` unless
 * added explicitly (before or after). Adding a path twice throws, except for identical
 * directories.
 */
export class LayerTree {
  readonly #entries = new Map<string, TarEntry>();
  /** Directories added only because something lives below them. */
  readonly #implicit = new Set<string>();

  /** The entries, in no particular order (the tar writer sorts them). */
  entries(): TarEntry[] {
    return [...this.#entries.values()];
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes of regular-file content. */
  contentBytes(): number {
    let total = 0;
    for (const entry of this.#entries.values()) if (entry.type === 'file') total += entry.size;
    return total;
  }

  has(path: string): boolean {
    return this.#entries.has(normalize(path));
  }

  get(path: string): TarEntry | undefined {
    return this.#entries.get(normalize(path));
  }

  directory(path: string, mode = 0o755, owner: Ownership = {}): void {
    const entry: DirectoryEntry = {
      type: 'directory',
      path: normalize(path),
      mode,
      uid: owner.uid ?? 0,
      gid: owner.gid ?? 0,
    };
    const existing = this.#entries.get(entry.path);
    if (existing !== undefined) {
      if (this.#implicit.delete(entry.path) && existing.type === 'directory') {
        this.#entries.set(entry.path, entry);
        return;
      }
      if (
        existing.type === 'directory' &&
        existing.mode === entry.mode &&
        existing.uid === entry.uid &&
        existing.gid === entry.gid
      ) {
        return;
      }
      throw new Error(`layer: ${entry.path} added twice`);
    }
    this.#parents(entry.path);
    this.#entries.set(entry.path, entry);
  }

  file(path: string, content: FileContent, size: number, mode = 0o644, owner: Ownership = {}): void {
    const normalized = normalize(path);
    this.#add({
      type: 'file',
      path: normalized,
      mode,
      uid: owner.uid ?? 0,
      gid: owner.gid ?? 0,
      size,
      content,
    });
  }

  /** A file holding `text` (UTF-8). */
  text(path: string, text: string, mode = 0o644): void {
    const bytes = Buffer.from(text);
    this.file(path, { bytes }, bytes.length, mode);
  }

  symlink(path: string, target: string): void {
    this.#add({ type: 'symlink', path: normalize(path), mode: 0o777, uid: 0, gid: 0, target });
  }

  #add(entry: TarEntry): void {
    if (this.#entries.has(entry.path)) throw new Error(`layer: ${entry.path} added twice`);
    this.#parents(entry.path);
    this.#entries.set(entry.path, entry);
  }

  #parents(path: string): void {
    for (let parent = posix.dirname(path); parent !== '.'; parent = posix.dirname(parent)) {
      const existing = this.#entries.get(parent);
      if (existing !== undefined) {
        if (existing.type !== 'directory') throw new Error(`layer: ${parent} is not a directory (${path})`);
        return;
      }
      this.#entries.set(parent, { type: 'directory', path: parent, mode: 0o755, uid: 0, gid: 0 });
      this.#implicit.add(parent);
    }
  }
}

/** `path` as a layer path: relative, no `.`/`..` components, no leading or trailing `/`. */
export function normalize(path: string): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.includes('..'))
    throw new Error(`layer: invalid path ${JSON.stringify(path)}`);
  return parts.join('/');
}
