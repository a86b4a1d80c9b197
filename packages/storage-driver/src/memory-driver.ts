import { Readable } from 'node:stream';
import { pathNotFound, StorageDriverError } from './errors.ts';
import { joinPath, ROOT_PATH } from './paths.ts';
import type {
  FileInfo,
  FileWriter,
  ReaderOptions,
  StorageDriver,
  StorageDriverFactory,
  WalkOptions,
  WriterOptions,
} from './types.ts';
import { walkFallback } from './walk-fallback.ts';
import { withBase } from './with-base.ts';

interface FileNode {
  readonly kind: 'file';
  chunks: Uint8Array[];
  size: number;
  modTime: Date;
}

interface DirNode {
  readonly kind: 'dir';
  readonly children: Map<string, FileNode | DirNode>;
  modTime: Date;
}

interface PendingWrite {
  chunks: Uint8Array[];
  size: number;
}

function newDir(): DirNode {
  return { kind: 'dir', children: new Map(), modTime: new Date() };
}

function componentsOf(path: string): string[] {
  return path === ROOT_PATH ? [] : path.slice(1).split('/');
}

/**
 * Keeps everything in process memory. For tests and for `storage.inmemory`; content is lost
 * when the process exits. Pending writes live in the driver instance, so a writer closed on
 * one instance is resumed through the same instance.
 */
class InMemoryDriver implements StorageDriver {
  readonly name = 'inmemory';
  readonly #root: DirNode = newDir();
  readonly #pending = new Map<string, PendingWrite>();

  #find(path: string): FileNode | DirNode | undefined {
    let node: FileNode | DirNode = this.#root;
    for (const name of componentsOf(path)) {
      if (node.kind !== 'dir') return undefined;
      const next: FileNode | DirNode | undefined = node.children.get(name);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  #file(path: string): FileNode {
    const node = this.#find(path);
    if (node?.kind !== 'file') throw pathNotFound(path);
    return node;
  }

  #store(path: string, chunks: Uint8Array[], size: number): void {
    let dir = this.#root;
    const names = componentsOf(path);
    const last = names.pop()!;
    for (const name of names) {
      let next = dir.children.get(name);
      if (next === undefined) {
        next = newDir();
        dir.children.set(name, next);
      }
      if (next.kind !== 'dir') {
        throw new StorageDriverError('DRIVER_ERROR', `cannot store ${path}: a file is in the way`, { path });
      }
      dir = next;
    }
    if (dir.children.get(last)?.kind === 'dir') {
      throw new StorageDriverError('DRIVER_ERROR', `cannot store ${path}: it is a directory`, { path });
    }
    dir.children.set(last, { kind: 'file', chunks, size, modTime: new Date() });
  }

  #remove(path: string): void {
    const parents: DirNode[] = [];
    let node: FileNode | DirNode = this.#root;
    const names = componentsOf(path);
    for (const name of names) {
      if (node.kind !== 'dir') throw pathNotFound(path);
      parents.push(node);
      const next: FileNode | DirNode | undefined = node.children.get(name);
      if (next === undefined) throw pathNotFound(path);
      node = next;
    }
    // Remove the entry, then every ancestor it left empty: directories exist only while
    // something is stored below them.
    for (let i = names.length - 1; i >= 0; i--) {
      const parent = parents[i]!;
      parent.children.delete(names[i]!);
      if (parent.children.size > 0 || parent === this.#root) break;
    }
  }

  async getContent(path: string): Promise<Uint8Array> {
    const file = this.#file(path);
    return Buffer.concat(file.chunks, file.size);
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    this.#store(path, [Uint8Array.prototype.slice.call(content)], content.byteLength);
  }

  async reader(path: string, options?: ReaderOptions): Promise<Readable> {
    const file = this.#file(path);
    const chunks = file.chunks;
    let skip = options?.offset ?? 0;
    function* slices(): Generator<Uint8Array> {
      for (const chunk of chunks) {
        if (skip >= chunk.byteLength) {
          skip -= chunk.byteLength;
          continue;
        }
        yield skip === 0 ? chunk : chunk.subarray(skip);
        skip = 0;
      }
    }
    return Readable.from(slices(), { objectMode: false });
  }

  async writer(path: string, options?: WriterOptions): Promise<FileWriter> {
    let pending: PendingWrite;
    if (options?.append) {
      const existing = this.#pending.get(path);
      if (existing) {
        pending = existing;
      } else {
        const file = this.#file(path);
        pending = { chunks: [...file.chunks], size: file.size };
      }
    } else {
      pending = { chunks: [], size: 0 };
    }
    this.#pending.set(path, pending);
    return new InMemoryWriter(this, path, pending);
  }

  /** @internal used by InMemoryWriter */
  finish(path: string, pending: PendingWrite, commit: boolean): void {
    if (this.#pending.get(path) === pending) this.#pending.delete(path);
    if (commit) this.#store(path, pending.chunks, pending.size);
  }

  async stat(path: string): Promise<FileInfo> {
    const node = this.#find(path);
    if (node === undefined) throw pathNotFound(path);
    return {
      path,
      size: node.kind === 'file' ? node.size : 0,
      modTime: node.modTime,
      isDir: node.kind === 'dir',
    };
  }

  async list(path: string): Promise<string[]> {
    const node = this.#find(path);
    if (node?.kind !== 'dir') throw pathNotFound(path);
    return [...node.children.keys()].map((name) => joinPath(path, name));
  }

  async move(source: string, destination: string): Promise<void> {
    const node = this.#find(source);
    if (node === undefined) throw pathNotFound(source);
    if (node.kind === 'dir') {
      throw new StorageDriverError('UNSUPPORTED', `cannot move directory ${source}`, { path: source });
    }
    if (source === destination) return;
    this.#store(destination, node.chunks, node.size);
    this.#remove(source);
  }

  async delete(path: string): Promise<void> {
    this.#remove(path);
    for (const pendingPath of this.#pending.keys()) {
      if (pendingPath === path || pendingPath.startsWith(`${path}/`)) this.#pending.delete(pendingPath);
    }
  }

  async redirectURL(): Promise<string | undefined> {
    return undefined;
  }

  walk(path: string, options?: WalkOptions): AsyncIterable<FileInfo> {
    return walkFallback(this, path, options);
  }
}

class InMemoryWriter implements FileWriter {
  readonly #driver: InMemoryDriver;
  readonly #path: string;
  readonly #pending: PendingWrite;

  constructor(driver: InMemoryDriver, path: string, pending: PendingWrite) {
    this.#driver = driver;
    this.#path = path;
    this.#pending = pending;
  }

  get size(): number {
    return this.#pending.size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    // Copy: the caller may reuse its buffer once the promise settles.
    this.#pending.chunks.push(Uint8Array.prototype.slice.call(chunk));
    this.#pending.size += chunk.byteLength;
  }

  async close(): Promise<void> {}

  async commit(): Promise<void> {
    this.#driver.finish(this.#path, this.#pending, true);
  }

  async cancel(): Promise<void> {
    this.#driver.finish(this.#path, this.#pending, false);
  }
}

/** Options of the in-memory driver (it has none; `storage.inmemory` takes no keys). */
export type InMemoryDriverOptions = Record<string, never>;

/**
 * Creates an in-memory driver, already wrapped with `withBase`.
 *
 * @example
 * ```ts
 * const driver = createInMemoryDriver();
 * await driver.putContent('/hello', new TextEncoder().encode('world'));
 * ```
 */
export function createInMemoryDriver(): StorageDriver {
  return withBase(new InMemoryDriver());
}

/** The factory for `storage.inmemory`. */
export const inMemoryDriverFactory: StorageDriverFactory<InMemoryDriverOptions> = {
  name: 'inmemory',
  parseParameters(): InMemoryDriverOptions {
    return {};
  },
  async create(): Promise<StorageDriver> {
    return createInMemoryDriver();
  },
};
