import type { Readable } from 'node:stream';

/** What `stat` and `walk` report about one path. */
export interface FileInfo {
  /** The full storage path. */
  readonly path: string;
  /** Size in bytes of a file; `0` for a directory. */
  readonly size: number;
  /**
   * Last modification time (for object stores: the object's last-modified time). `stat` and
   * `walk` report the same value for an unchanged file, to the millisecond: `berth gc` compares
   * the two to tell whether a link was rewritten in the meantime.
   */
  readonly modTime: Date;
  /** True for a directory (for object stores: a key prefix that has objects below it). */
  readonly isDir: boolean;
}

/** Options every driver method accepts. */
export interface OperationOptions {
  /** Aborts the operation; it then rejects with an `ABORTED` error. */
  signal?: AbortSignal;
}

/** Options of {@link StorageDriver.putContent}. */
export interface PutContentOptions extends OperationOptions {
  /**
   * `false` for scratch state whose loss in a crash costs at most a retry (an upload's start
   * time, a saved hash state): the driver may skip what makes the write survive a power loss
   * (the filesystem driver's fsyncs). The write stays atomic either way. Drivers whose writes
   * are durable anyway ignore it.
   * @default true
   */
  durable?: boolean;
}

/** Options of {@link StorageDriver.reader}. */
export interface ReaderOptions extends OperationOptions {
  /**
   * Byte offset to start reading at. An offset at or past the end of the file gives an empty
   * stream; a negative or fractional offset rejects with `INVALID_OFFSET`.
   * @default 0
   */
  offset?: number;
}

/** Options of {@link StorageDriver.writer}. */
export interface WriterOptions extends OperationOptions {
  /**
   * Continue an earlier write of the same path instead of starting an empty one: the pending
   * (closed, uncommitted) write if there is one, possibly left by another process or machine,
   * else the committed file's content. Rejects with `PATH_NOT_FOUND` when there is neither.
   * @default false
   */
  append?: boolean;
}

/** Options of {@link StorageDriver.redirectURL}. */
export interface RedirectOptions extends OperationOptions {
  /** The HTTP method the URL will be used with. @default 'GET' */
  method?: 'GET' | 'HEAD';
  /** How long the URL stays valid, in seconds. @default 1200 */
  expiresIn?: number;
}

/** Options of {@link StorageDriver.walk}. */
export interface WalkOptions extends OperationOptions {
  /**
   * Called for each directory the walk yields; returning `false` skips everything below it.
   * @default () => true
   */
  descend?: (dir: FileInfo) => boolean;
  /**
   * Yield only entries that come after this path in walk order (see `comparePaths`), so a
   * walk can be resumed where an earlier one stopped. Need not exist.
   */
  startAfter?: string;
}

/**
 * A write in progress. Bytes written are invisible at the target path until {@link commit};
 * {@link close} keeps them as a pending write that `writer(path, { append: true })` resumes.
 *
 * After `close()`, every method but `close()` rejects with `WRITER_CLOSED`; after `commit()`,
 * `close()` is a no-op and the others reject; after `cancel()`, `cancel()` and `close()` are
 * no-ops and the others reject.
 */
export interface FileWriter {
  /** Bytes in this write so far, including those of the earlier sessions it continues. */
  readonly size: number;
  /**
   * Appends `chunk`. The caller must not modify `chunk` until the promise settles.
   * Concurrent `write` calls on one writer are not allowed: await each.
   */
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes and releases resources, keeping the pending write resumable. */
  close(): Promise<void>;
  /**
   * Flushes and atomically makes the content visible at the path, replacing any earlier
   * content. No reader ever sees a partial file. If it rejects, the write stays pending as after
   * {@link close}, resumable with `append: true`.
   */
  commit(): Promise<void>;
  /** Discards the pending write. */
  cancel(): Promise<void>;
}

/**
 * A dumb, filesystem-like byte store. Every OCI concept lives above it as path conventions.
 *
 * Paths match `PATH_PATTERN` (`/a/b.c`); `list`, `walk` and `stat` also accept `/`. Methods
 * reject with `StorageDriverError`s whose `code` says what happened; a missing path is
 * `PATH_NOT_FOUND`. Directories exist implicitly: a path is a directory while anything is
 * stored below it.
 */
export interface StorageDriver {
  /** The driver's name, equal to its key in `config.yml` (`filesystem`, `inmemory`, `s3`, …). */
  readonly name: string;

  /** Reads a whole (small) file. */
  getContent(path: string, options?: OperationOptions): Promise<Uint8Array>;

  /** Atomically replaces the file at `path` with `content`, creating parent directories. */
  putContent(path: string, content: Uint8Array, options?: PutContentOptions): Promise<void>;

  /**
   * Opens a stream of the file's bytes from `offset`. Rejects (rather than erroring the stream)
   * when the path is missing.
   */
  reader(path: string, options?: ReaderOptions): Promise<Readable>;

  /** Starts or continues a write; see {@link FileWriter} and {@link WriterOptions.append}. */
  writer(path: string, options?: WriterOptions): Promise<FileWriter>;

  /** Describes a file or directory. */
  stat(path: string, options?: OperationOptions): Promise<FileInfo>;

  /**
   * Full paths of the direct children of a directory, sorted by `comparePaths`. `list('/')`
   * of an empty store is `[]`; any other path that is not a directory rejects with
   * `PATH_NOT_FOUND`.
   */
  list(path: string, options?: OperationOptions): Promise<string[]>;

  /**
   * Moves a file, replacing `destination` if it exists. A missing `source` rejects with
   * `PATH_NOT_FOUND` and leaves `destination` untouched. Directories are not supported.
   */
  move(source: string, destination: string, options?: OperationOptions): Promise<void>;

  /** Deletes a file or a whole directory tree; `/a/b` never touches `/a/bc`. */
  delete(path: string, options?: OperationOptions): Promise<void>;

  /**
   * A URL a client can fetch the file from directly (for example a presigned URL), or
   * `undefined` when the driver does not support redirects.
   */
  redirectURL(path: string, options?: RedirectOptions): Promise<string | undefined>;

  /**
   * Every file and directory below `path` (not `path` itself), depth-first with siblings in
   * name order. Stop early with `break`; prune with {@link WalkOptions.descend}.
   */
  walk(path: string, options?: WalkOptions): AsyncIterable<FileInfo>;
}

/**
 * How a driver package exposes itself: the server maps `name` to a lazy import of the
 * package, so an unused cloud SDK is never loaded. No registration side effects.
 *
 * @example
 * ```ts
 * const options = inMemoryDriverFactory.parseParameters({});
 * const driver = await inMemoryDriverFactory.create(options);
 * ```
 */
export interface StorageDriverFactory<Options> {
  /** The `storage.<name>` key in `config.yml`. */
  readonly name: string;
  /**
   * Validates the raw `storage.<name>` section (values may be strings when they came from
   * `REGISTRY_STORAGE_*` environment variables).
   * @throws {InvalidParameterError} naming the offending key.
   */
  parseParameters(raw: Readonly<Record<string, unknown>>): Options;
  /** Creates a ready driver (already wrapped with `withBase`). */
  create(options: Options): Promise<StorageDriver>;
}

/**
 * A storage middleware (registry:2's `middleware.storage` entries): a decorator that wraps the
 * configured driver and changes some of its behaviour, e.g. the URLs `redirectURL` answers.
 * Like {@link StorageDriverFactory}, explicit and free of registration side effects.
 *
 * @example
 * ```ts
 * const options = redirectMiddlewareFactory.parseParameters({ baseurl: 'https://cdn.example.com' });
 * const wrapped = await redirectMiddlewareFactory.wrap(driver, options);
 * ```
 */
export interface StorageMiddlewareFactory<Options> {
  /** The `name` of the `middleware.storage` entry in `config.yml`. */
  readonly name: string;
  /**
   * Validates the raw `options` mapping of the entry (values may be strings when they came from
   * `REGISTRY_MIDDLEWARE_*` environment variables).
   * @throws {InvalidParameterError} naming the offending key.
   */
  parseParameters(raw: Readonly<Record<string, unknown>>): Options;
  /** Wraps `driver`; the result has the same `name` and passes through what it does not change. */
  wrap(driver: StorageDriver, options: Options): Promise<StorageDriver>;
}
