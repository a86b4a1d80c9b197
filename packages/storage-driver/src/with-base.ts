import type { Readable } from 'node:stream';
import { isStorageDriverError, StorageDriverError, writerClosed } from './errors.ts';
import { assertValidPath, comparePaths } from './paths.ts';
import type {
  FileInfo,
  FileWriter,
  OperationOptions,
  PutContentOptions,
  ReaderOptions,
  RedirectOptions,
  StorageDriver,
  WalkOptions,
  WriterOptions,
} from './types.ts';

/** One finished driver call, as reported to {@link BaseOptions.onOperation}. */
export interface OperationEvent {
  readonly driver: string;
  readonly method: string;
  readonly path: string;
  readonly durationMs: number;
  /** The error code when the call failed. */
  readonly error?: string;
}

/** Options of {@link withBase}. */
export interface BaseOptions {
  /** Called after every driver call (not per stream chunk), for metrics or tracing. */
  onOperation?: (event: OperationEvent) => void;
}

/**
 * Turns any error into a `StorageDriverError` tagged with the driver's name: driver errors keep
 * their code, aborts become `ABORTED`, anything else becomes `DRIVER_ERROR` with the original
 * as `cause`.
 */
export function toStorageDriverError(err: unknown, driver: string, path: string): StorageDriverError {
  if (isStorageDriverError(err)) {
    if (err.driver === undefined) (err as { driver: string | undefined }).driver = driver;
    return err;
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'AbortError') {
    return new StorageDriverError('ABORTED', `${driver}: operation on ${path} was aborted`, {
      path,
      driver,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StorageDriverError('DRIVER_ERROR', `${driver}: ${message}`, { path, driver, cause: err });
}

function checkSignal(options: OperationOptions | undefined, driver: string, path: string): void {
  if (options?.signal?.aborted) {
    throw new StorageDriverError('ABORTED', `${driver}: operation on ${path} was aborted`, {
      path,
      driver,
      cause: options.signal.reason,
    });
  }
}

type WriterState = 'open' | 'closed' | 'committed' | 'cancelled';

class BaseWriter implements FileWriter {
  readonly #inner: FileWriter;
  readonly #driver: string;
  readonly #path: string;
  #state: WriterState = 'open';

  constructor(inner: FileWriter, driver: string, path: string) {
    this.#inner = inner;
    this.#driver = driver;
    this.#path = path;
  }

  get size(): number {
    return this.#inner.size;
  }

  #ensureOpen(): void {
    if (this.#state !== 'open') throw writerClosed(this.#path, this.#state as 'closed');
  }

  async #run(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      throw toStorageDriverError(err, this.#driver, this.#path);
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#ensureOpen();
    if (chunk.byteLength === 0) return;
    await this.#run(() => this.#inner.write(chunk));
  }

  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closed';
    await this.#run(() => this.#inner.close());
  }

  async commit(): Promise<void> {
    this.#ensureOpen();
    this.#state = 'committed';
    try {
      await this.#run(() => this.#inner.commit());
    } catch (err) {
      // A failed commit leaves the write pending, as after close(): resumable with append.
      this.#state = 'closed';
      throw err;
    }
  }

  async cancel(): Promise<void> {
    if (this.#state === 'cancelled') return;
    this.#ensureOpen();
    this.#state = 'cancelled';
    await this.#run(() => this.#inner.cancel());
  }
}

/**
 * Wraps a driver with the checks every driver needs, so implementations stay small: path
 * validation (`INVALID_PATH` before the backend is touched), offset validation, abort checks,
 * error tagging with the driver's name, the writer state rules of {@link FileWriter}, sorted
 * `list` results, and an optional per-call metrics hook.
 *
 * Driver factories return `withBase(new TheirDriver(...))`.
 *
 * @example
 * ```ts
 * const driver = withBase(new MyDriver(options), { onOperation: (e) => histogram.observe(e.durationMs) });
 * ```
 */
export function withBase(driver: StorageDriver, options: BaseOptions = {}): StorageDriver {
  const name = driver.name;
  const report = options.onOperation;

  async function call<T>(
    method: string,
    path: string,
    opts: OperationOptions | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    const started = report ? performance.now() : 0;
    let code: string | undefined;
    try {
      checkSignal(opts, name, path);
      return await fn();
    } catch (err) {
      const tagged = toStorageDriverError(err, name, path);
      code = tagged.code;
      throw tagged;
    } finally {
      report?.({
        driver: name,
        method,
        path,
        durationMs: performance.now() - started,
        ...(code === undefined ? {} : { error: code }),
      });
    }
  }

  const wrapped: StorageDriver = {
    name,
    getContent(path: string, opts?: OperationOptions): Promise<Uint8Array> {
      return call('getContent', path, opts, () => {
        assertValidPath(path);
        return driver.getContent(path, opts);
      });
    },
    putContent(path: string, content: Uint8Array, opts?: PutContentOptions): Promise<void> {
      return call('putContent', path, opts, () => {
        assertValidPath(path);
        return driver.putContent(path, content, opts);
      });
    },
    reader(path: string, opts?: ReaderOptions): Promise<Readable> {
      return call('reader', path, opts, () => {
        assertValidPath(path);
        const offset = opts?.offset ?? 0;
        if (!Number.isSafeInteger(offset) || offset < 0) {
          throw new StorageDriverError('INVALID_OFFSET', `invalid offset ${offset} for ${path}`, { path });
        }
        return driver.reader(path, opts);
      });
    },
    writer(path: string, opts?: WriterOptions): Promise<FileWriter> {
      return call('writer', path, opts, async () => {
        assertValidPath(path);
        return new BaseWriter(await driver.writer(path, opts), name, path);
      });
    },
    stat(path: string, opts?: OperationOptions): Promise<FileInfo> {
      return call('stat', path, opts, () => {
        assertValidPath(path, true);
        return driver.stat(path, opts);
      });
    },
    list(path: string, opts?: OperationOptions): Promise<string[]> {
      return call('list', path, opts, async () => {
        assertValidPath(path, true);
        return sortChildren(path, await driver.list(path, opts));
      });
    },
    move(source: string, destination: string, opts?: OperationOptions): Promise<void> {
      return call('move', source, opts, () => {
        assertValidPath(source);
        assertValidPath(destination);
        return driver.move(source, destination, opts);
      });
    },
    delete(path: string, opts?: OperationOptions): Promise<void> {
      return call('delete', path, opts, () => {
        assertValidPath(path);
        return driver.delete(path, opts);
      });
    },
    redirectURL(path: string, opts?: RedirectOptions): Promise<string | undefined> {
      return call('redirectURL', path, opts, () => {
        assertValidPath(path);
        return driver.redirectURL(path, opts);
      });
    },
    walk(path: string, opts?: WalkOptions): AsyncIterable<FileInfo> {
      return walkWithBase(driver, name, path, opts);
    },
  };
  return wrapped;
}

async function* walkWithBase(
  driver: StorageDriver,
  name: string,
  path: string,
  opts: WalkOptions | undefined,
): AsyncIterable<FileInfo> {
  try {
    checkSignal(opts, name, path);
    assertValidPath(path, true);
    if (opts?.startAfter !== undefined) assertValidPath(opts.startAfter);
    for await (const info of driver.walk(path, opts)) {
      checkSignal(opts, name, path);
      yield info;
    }
  } catch (err) {
    throw toStorageDriverError(err, name, path);
  }
}

/**
 * Puts the children of directory `dir` into {@link comparePaths} order. Drivers usually list
 * in order already, so that is checked first, in one pass that compares only what follows the
 * parent's path: all children share it and a `/`, and names hold no `/`, so code-unit order of
 * the rest is `comparePaths` order (a name that is a prefix of another sorts first either way).
 * Going over the long shared prefix for every comparison (or checking it with `startsWith`)
 * was most of the cost of `GET …/tags/list`. Anything out of order is sorted in full.
 */
function sortChildren(dir: string, children: string[]): string[] {
  const from = dir === '/' ? 1 : dir.length + 1;
  for (let i = 1; i < children.length; i++) {
    if (compareFrom(children[i - 1] as string, children[i] as string, from) > 0) {
      return children.sort(comparePaths);
    }
  }
  return children;
}

/** Code-unit comparison of `a` and `b` from index `from` on (both share what comes before). */
function compareFrom(a: string, b: string, from: number): number {
  const length = Math.min(a.length, b.length);
  for (let i = from; i < length; i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}
