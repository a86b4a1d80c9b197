import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { isStorageDriverError, pathNotFound, StorageDriverError } from './errors.ts';
import { comparePaths } from './paths.ts';
import type { FileInfo, FileWriter, StorageDriver } from './types.ts';
import { type OperationEvent, toStorageDriverError, withBase } from './with-base.ts';

function info(path: string, isDir = false): FileInfo {
  return { path, size: isDir ? 0 : 1, modTime: new Date(0), isDir };
}

function stubWriter(): FileWriter & { calls: string[] } {
  const calls: string[] = [];
  let size = 0;
  return {
    calls,
    get size() {
      return size;
    },
    write: vi.fn(async (chunk: Uint8Array) => {
      calls.push('write');
      size += chunk.byteLength;
    }),
    close: vi.fn(async () => {
      calls.push('close');
    }),
    commit: vi.fn(async () => {
      calls.push('commit');
    }),
    cancel: vi.fn(async () => {
      calls.push('cancel');
    }),
  };
}

function stubDriver(overrides: Partial<StorageDriver> = {}) {
  const writer = stubWriter();
  const inner: StorageDriver = {
    name: 'stub',
    getContent: vi.fn(async () => new Uint8Array([1])),
    putContent: vi.fn(async () => {}),
    reader: vi.fn(async () => Readable.from([])),
    writer: vi.fn(async () => writer),
    stat: vi.fn(async (path: string) => info(path)),
    list: vi.fn(async () => ['/b', '/a.b', '/a', '/a-b']),
    move: vi.fn(async () => {}),
    delete: vi.fn(async () => {}),
    redirectURL: vi.fn(async () => undefined),
    walk: vi.fn(async function* () {
      yield info('/a');
      yield info('/b');
    }),
    ...overrides,
  };
  return { inner, writer };
}

async function code(action: Promise<unknown> | (() => Promise<unknown>)): Promise<string | undefined> {
  try {
    await (typeof action === 'function' ? action() : action);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

async function drain(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('withBase path validation', () => {
  it('rejects invalid paths with INVALID_PATH before the backend is touched', async () => {
    const { inner } = stubDriver();
    const driver = withBase(inner);
    for (const bad of ['', 'a', '/a/', '/a/../b', '/ä']) {
      expect(await code(driver.getContent(bad))).toBe('INVALID_PATH');
      expect(await code(driver.putContent(bad, new Uint8Array()))).toBe('INVALID_PATH');
      expect(await code(driver.reader(bad))).toBe('INVALID_PATH');
      expect(await code(driver.writer(bad))).toBe('INVALID_PATH');
      expect(await code(driver.stat(bad))).toBe('INVALID_PATH');
      expect(await code(driver.list(bad))).toBe('INVALID_PATH');
      expect(await code(driver.move(bad, '/ok'))).toBe('INVALID_PATH');
      expect(await code(driver.move('/ok', bad))).toBe('INVALID_PATH');
      expect(await code(driver.delete(bad))).toBe('INVALID_PATH');
      expect(await code(driver.redirectURL(bad))).toBe('INVALID_PATH');
      expect(await code(drain(driver.walk(bad)))).toBe('INVALID_PATH');
      expect(await code(drain(driver.walk('/', { startAfter: bad })))).toBe('INVALID_PATH');
    }
    for (const method of [
      'getContent',
      'putContent',
      'reader',
      'writer',
      'stat',
      'list',
      'move',
      'delete',
    ] as const) {
      expect(inner[method]).not.toHaveBeenCalled();
    }
    expect(inner.walk).not.toHaveBeenCalled();
  });

  it('accepts / for list, walk and stat only', async () => {
    const driver = withBase(stubDriver().inner);
    expect(await code(driver.list('/'))).toBeUndefined();
    expect(await code(driver.stat('/'))).toBeUndefined();
    expect(await code(drain(driver.walk('/')))).toBeUndefined();
    expect(await code(driver.getContent('/'))).toBe('INVALID_PATH');
    expect(await code(driver.delete('/'))).toBe('INVALID_PATH');
    expect(await code(driver.writer('/'))).toBe('INVALID_PATH');
    expect(await code(driver.redirectURL('/'))).toBe('INVALID_PATH');
  });
});

describe('withBase reader offsets', () => {
  it('passes valid offsets through and rejects the rest with INVALID_OFFSET', async () => {
    const { inner } = stubDriver();
    const driver = withBase(inner);
    for (const offset of [0, 1, 2 ** 40]) expect(await code(driver.reader('/a', { offset }))).toBeUndefined();
    for (const offset of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) {
      expect(await code(driver.reader('/a', { offset }))).toBe('INVALID_OFFSET');
    }
    expect(inner.reader).toHaveBeenCalledTimes(3);
  });
});

describe('withBase errors', () => {
  it('tags driver errors with the driver name and keeps their code', async () => {
    const driver = withBase(
      stubDriver({ getContent: async (path) => Promise.reject(pathNotFound(path)) }).inner,
    );
    const err = await driver.getContent('/x').catch((e: unknown) => e);
    expect(isStorageDriverError(err, 'PATH_NOT_FOUND')).toBe(true);
    expect((err as StorageDriverError).driver).toBe('stub');
    expect((err as StorageDriverError).path).toBe('/x');
  });

  it('turns AbortError into ABORTED and anything else into DRIVER_ERROR with the cause', async () => {
    const abort = Object.assign(new Error('stop'), { name: 'AbortError' });
    const boom = new Error('disk on fire');
    const driver = withBase(
      stubDriver({
        stat: async () => Promise.reject(abort),
        delete: async () => Promise.reject(boom),
      }).inner,
    );
    const aborted = (await driver.stat('/x').catch((e: unknown) => e)) as StorageDriverError;
    expect(aborted.code).toBe('ABORTED');
    expect(aborted.cause).toBe(abort);
    const failed = (await driver.delete('/x').catch((e: unknown) => e)) as StorageDriverError;
    expect(failed.code).toBe('DRIVER_ERROR');
    expect(failed.cause).toBe(boom);
    expect(failed.message).toMatch(/stub: disk on fire/);
  });

  it('toStorageDriverError keeps an existing driver tag and wraps non-errors', () => {
    const tagged = new StorageDriverError('UNSUPPORTED', 'no', { driver: 'first' });
    expect(toStorageDriverError(tagged, 'second', '/p').driver).toBe('first');
    const wrapped = toStorageDriverError('a string', 'd', '/p');
    expect(wrapped.code).toBe('DRIVER_ERROR');
    expect(wrapped.cause).toBe('a string');
  });

  it('rejects an already-aborted signal with ABORTED before calling the backend', async () => {
    const { inner } = stubDriver();
    const driver = withBase(inner);
    const controller = new AbortController();
    const reason = new Error('cancelled by caller');
    controller.abort(reason);
    const err = (await driver
      .getContent('/a', { signal: controller.signal })
      .catch((e: unknown) => e)) as Error;
    expect((err as StorageDriverError).code).toBe('ABORTED');
    expect(err.cause).toBe(reason);
    expect(inner.getContent).not.toHaveBeenCalled();
    expect(await code(drain(driver.walk('/', { signal: controller.signal })))).toBe('ABORTED');
    expect(inner.walk).not.toHaveBeenCalled();
  });

  it('stops a walk with ABORTED when the signal fires between entries', async () => {
    const controller = new AbortController();
    const driver = withBase(stubDriver().inner);
    const seen: string[] = [];
    const err = await (async () => {
      for await (const entry of driver.walk('/', { signal: controller.signal })) {
        seen.push(entry.path);
        controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['/a']);
    expect((err as StorageDriverError).code).toBe('ABORTED');
  });
});

describe('withBase list', () => {
  it('sorts children by comparePaths', async () => {
    const driver = withBase(stubDriver().inner);
    expect(await driver.list('/')).toEqual(['/a', '/a-b', '/a.b', '/b']);
  });

  it('sorts the children of a deep directory like comparePaths, names with characters below / included', async () => {
    const parent = '/docker/registry/v2/repositories/team/app/_manifests/tags';
    const names = ['v1.10', 'v1-rc', 'v1', 'v1.9', 'v1_0', 'V2', 'v10', 'a', '0', 'v1.9.1', 'latest'];
    const children = names.map((n) => `${parent}/${n}`);
    const driver = withBase(stubDriver({ list: vi.fn(async () => [...children]) }).inner);
    expect(await driver.list(parent)).toEqual([...children].sort(comparePaths));
  });

  it('falls back to comparePaths for a listing that is not the children of one directory', async () => {
    const mixed = ['/a.b', '/a/c', '/a/b', '/a'];
    const driver = withBase(stubDriver({ list: vi.fn(async () => [...mixed]) }).inner);
    expect(await driver.list('/')).toEqual(['/a', '/a/b', '/a/c', '/a.b']);
  });
});

describe('withBase writer state', () => {
  it('after close: close is a no-op, the others reject with WRITER_CLOSED', async () => {
    const { inner, writer } = stubDriver();
    const w = await withBase(inner).writer('/a');
    await w.write(new Uint8Array([1]));
    await w.close();
    await w.close();
    expect(await code(w.write(new Uint8Array([1])))).toBe('WRITER_CLOSED');
    expect(await code(w.commit())).toBe('WRITER_CLOSED');
    expect(await code(w.cancel())).toBe('WRITER_CLOSED');
    expect(writer.calls).toEqual(['write', 'close']);
  });

  it('after commit: close is a no-op, the others reject', async () => {
    const { inner, writer } = stubDriver();
    const w = await withBase(inner).writer('/a');
    await w.commit();
    await w.close();
    expect(await code(w.write(new Uint8Array([1])))).toBe('WRITER_CLOSED');
    expect(await code(w.commit())).toBe('WRITER_CLOSED');
    expect(await code(w.cancel())).toBe('WRITER_CLOSED');
    expect(writer.calls).toEqual(['commit']);
  });

  it('after cancel: cancel and close are no-ops, write and commit reject', async () => {
    const { inner, writer } = stubDriver();
    const w = await withBase(inner).writer('/a');
    await w.cancel();
    await w.cancel();
    await w.close();
    expect(await code(w.write(new Uint8Array([1])))).toBe('WRITER_CLOSED');
    expect(await code(w.commit())).toBe('WRITER_CLOSED');
    expect(writer.calls).toEqual(['cancel']);
  });

  it('does not forward empty chunks and reports the inner size', async () => {
    const { inner, writer } = stubDriver();
    const w = await withBase(inner).writer('/a');
    await w.write(new Uint8Array(0));
    await w.write(new Uint8Array(3));
    expect(w.size).toBe(3);
    expect(writer.calls).toEqual(['write']);
    await w.cancel();
  });

  it('after a failed commit: the writer is closed, not committed', async () => {
    const failing = stubWriter();
    failing.commit = async () => Promise.reject(new Error('EISDIR'));
    const w = await withBase(stubDriver({ writer: async () => failing }).inner).writer('/a');
    expect(await code(w.commit())).toBe('DRIVER_ERROR');
    expect(await code(w.write(new Uint8Array(1)))).toBe('WRITER_CLOSED');
    expect(await code(w.commit())).toBe('WRITER_CLOSED');
    await w.close();
  });

  it('tags errors of the inner writer', async () => {
    const failing = stubWriter();
    failing.write = async () => Promise.reject(new Error('EIO'));
    const w = await withBase(stubDriver({ writer: async () => failing }).inner).writer('/a');
    const err = (await w.write(new Uint8Array(1)).catch((e: unknown) => e)) as StorageDriverError;
    expect(err.code).toBe('DRIVER_ERROR');
    expect(err.driver).toBe('stub');
    expect(err.path).toBe('/a');
  });
});

describe('withBase onOperation', () => {
  it('reports each call with its method, path, duration and error code', async () => {
    const events: OperationEvent[] = [];
    const driver = withBase(stubDriver({ delete: async (p) => Promise.reject(pathNotFound(p)) }).inner, {
      onOperation: (event) => events.push(event),
    });
    await driver.stat('/a');
    await driver.delete('/gone').catch(() => {});
    await driver.getContent('bad').catch(() => {});
    expect(events.map(({ method, path, error }) => ({ method, path, error }))).toEqual([
      { method: 'stat', path: '/a', error: undefined },
      { method: 'delete', path: '/gone', error: 'PATH_NOT_FOUND' },
      { method: 'getContent', path: 'bad', error: 'INVALID_PATH' },
    ]);
    expect(Object.hasOwn(events[0]!, 'error')).toBe(false);
    for (const event of events) {
      expect(event.driver).toBe('stub');
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
    }
  });
});
