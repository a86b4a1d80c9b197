import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { isStorageDriverError } from './errors.ts';
import { createInMemoryDriver } from './memory-driver.ts';
import {
  normalizeRedirectBaseUrl,
  redirectMiddlewareFactory,
  withRedirectMiddleware,
} from './redirect-middleware.ts';
import type { FileInfo, FileWriter, StorageDriver } from './types.ts';

const BLOB = '/docker/registry/v2/blobs/sha256/ab/ab12/data';

async function errorOf(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('normalizeRedirectBaseUrl', () => {
  it.each([
    ['https://cdn.example.com', 'https://cdn.example.com'],
    ['https://cdn.example.com/', 'https://cdn.example.com'],
    ['http://example.com:5443', 'http://example.com:5443'],
    ['https://cdn.example.com/path', 'https://cdn.example.com/path'],
    ['https://cdn.example.com/path/', 'https://cdn.example.com/path'],
    ['https://cdn.example.com//a//b///', 'https://cdn.example.com/a/b'],
    ['https://cdn.example.com/a/./b/../c', 'https://cdn.example.com/a/c'],
    ['  HTTPS://CDN.Example.com/Reg  ', 'https://cdn.example.com/Reg'],
    ['https://cdn.example.com/my reg', 'https://cdn.example.com/my%20reg'],
    ['https://cdn.example.com/my%20reg/', 'https://cdn.example.com/my%20reg'],
    ['http://[::1]:8080/x', 'http://[::1]:8080/x'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeRedirectBaseUrl(input)).toBe(expected);
  });

  it.each([
    ['example.com', 'must be an absolute http(s) URL'],
    ['/registry', 'must be an absolute http(s) URL'],
    ['ftp://example.com', 'must be an absolute http(s) URL'],
    ['https:example.com', 'must be an absolute http(s) URL'],
    ['https://', 'must be an absolute http(s) URL'],
    ['https:///registry', 'must be an absolute http(s) URL'],
    ['https://exa mple.com', 'must be an absolute http(s) URL'],
    ['https://user:pw@cdn.example.com', 'must not contain credentials'],
    ['https://cdn.example.com/?sig=1', 'must not have a query or fragment'],
    ['https://cdn.example.com/#top', 'must not have a query or fragment'],
  ])('rejects %j', async (input, message) => {
    const error = await errorOf(() => normalizeRedirectBaseUrl(input));
    expect(isStorageDriverError(error, 'INVALID_PARAMETER')).toBe(true);
    expect(error).toMatchObject({ parameter: 'baseurl' });
    expect((error as Error).message).toContain(`baseurl: ${message}`);
  });
});

describe('withRedirectMiddleware: redirectURL', () => {
  const inner = createInMemoryDriver();

  it.each([
    // registry:2's own cases (redirect/middleware_test.go), with Berth's valid storage paths.
    ['https://example.com:5443', '/rick/data', 'https://example.com:5443/rick/data'],
    ['http://example.com', '/morty/data', 'http://example.com/morty/data'],
    ['https://example.com/path', '/morty/data', 'https://example.com/path/morty/data'],
    ['https://example.com/path/', '/morty/data', 'https://example.com/path/morty/data'],
    ['https://cdn.example.com/registry/', BLOB, `https://cdn.example.com/registry${BLOB}`],
    ['https://cdn.example.com//a//', BLOB, `https://cdn.example.com/a${BLOB}`],
  ])('%s + %s → %s', async (baseUrl, path, expected) => {
    const driver = withRedirectMiddleware(inner, { baseUrl });
    await expect(driver.redirectURL(path)).resolves.toBe(expected);
    await expect(driver.redirectURL(path, { method: 'HEAD', expiresIn: 5 })).resolves.toBe(expected);
  });

  it('answers without the path existing and without asking the driver', async () => {
    const redirectURL = vi.fn(async () => 'https://bucket.example.com/presigned');
    const driver = withRedirectMiddleware(
      { ...createInMemoryDriver(), redirectURL },
      {
        baseUrl: 'https://cdn.example.com',
      },
    );
    await expect(driver.redirectURL('/not/there')).resolves.toBe('https://cdn.example.com/not/there');
    expect(redirectURL).not.toHaveBeenCalled();
  });

  it('keeps path characters that need no escaping as they are', async () => {
    const driver = withRedirectMiddleware(inner, { baseUrl: 'https://cdn.example.com' });
    await expect(driver.redirectURL('/a-b/c_d/e.f/G9')).resolves.toBe(
      'https://cdn.example.com/a-b/c_d/e.f/G9',
    );
  });

  it.each(['', '/', 'relative', '/a/../b', '/a b', '/a/', '/a?x=1'])('rejects the path %j', async (path) => {
    const driver = withRedirectMiddleware(inner, { baseUrl: 'https://cdn.example.com' });
    const error = await errorOf(() => driver.redirectURL(path));
    expect(isStorageDriverError(error, 'INVALID_PATH')).toBe(true);
  });

  it('rejects an aborted call', async () => {
    const driver = withRedirectMiddleware(inner, { baseUrl: 'https://cdn.example.com' });
    const error = await errorOf(() => driver.redirectURL(BLOB, { signal: AbortSignal.abort() }));
    expect(isStorageDriverError(error, 'ABORTED')).toBe(true);
  });

  it('throws INVALID_PARAMETER for a bad base URL when wrapping', () => {
    expect(() => withRedirectMiddleware(inner, { baseUrl: 'cdn.example.com' })).toThrow(
      /^baseurl: must be an absolute http\(s\) URL/,
    );
  });
});

describe('withRedirectMiddleware: every other method passes through', () => {
  const info: FileInfo = { path: '/a', size: 1, modTime: new Date(0), isDir: false };
  const stream = Readable.from([]);

  function stub() {
    const mocks = {
      getContent: vi.fn(async () => new Uint8Array([7])),
      putContent: vi.fn(async () => {}),
      reader: vi.fn(async () => stream),
      writer: vi.fn(async () => ({ size: 0 }) as FileWriter),
      stat: vi.fn(async (): Promise<FileInfo> => info),
      list: vi.fn(async () => ['/a']),
      move: vi.fn(async () => {}),
      delete: vi.fn(async () => {}),
      redirectURL: vi.fn(async () => undefined),
      walk: vi.fn(async function* () {
        yield info;
      }),
    };
    const driver: StorageDriver = { name: 'stub', ...mocks };
    return { driver, mocks };
  }

  it('keeps the name and forwards arguments and results unchanged', async () => {
    const { driver: stubDriver, mocks: inner } = stub();
    const driver = withRedirectMiddleware(stubDriver, { baseUrl: 'https://cdn.example.com' });
    const signal = new AbortController().signal;
    const bytes = new Uint8Array([1, 2]);
    const descend = (): boolean => true;

    expect(driver.name).toBe('stub');
    expect(await driver.getContent('/a', { signal })).toEqual(new Uint8Array([7]));
    expect(inner.getContent).toHaveBeenCalledWith('/a', { signal });
    await driver.putContent('/a', bytes, { signal });
    expect(inner.putContent).toHaveBeenCalledWith('/a', bytes, { signal });
    expect(await driver.reader('/a', { offset: 3 })).toBe(stream);
    expect(inner.reader).toHaveBeenCalledWith('/a', { offset: 3 });
    expect(await driver.writer('/a', { append: true })).toEqual({ size: 0 });
    expect(inner.writer).toHaveBeenCalledWith('/a', { append: true });
    expect(await driver.stat('/a')).toMatchObject({ path: '/a' });
    expect(inner.stat).toHaveBeenCalledWith('/a', undefined);
    expect(await driver.list('/')).toEqual(['/a']);
    expect(inner.list).toHaveBeenCalledWith('/', undefined);
    await driver.move('/a', '/b', { signal });
    expect(inner.move).toHaveBeenCalledWith('/a', '/b', { signal });
    await driver.delete('/a');
    expect(inner.delete).toHaveBeenCalledWith('/a', undefined);
    const walked: string[] = [];
    for await (const entry of driver.walk('/', { descend, startAfter: '/0' })) walked.push(entry.path);
    expect(walked).toEqual(['/a']);
    expect(inner.walk).toHaveBeenCalledWith('/', { descend, startAfter: '/0' });
  });

  it('passes errors through untouched', async () => {
    const { driver: stubDriver, mocks } = stub();
    const failure = new Error('boom');
    mocks.stat.mockRejectedValueOnce(failure);
    const driver = withRedirectMiddleware(stubDriver, { baseUrl: 'https://cdn.example.com' });
    await expect(driver.stat('/a')).rejects.toBe(failure);
  });

  it('works over a real driver', async () => {
    const driver = withRedirectMiddleware(createInMemoryDriver(), { baseUrl: 'https://cdn.example.com/r' });
    await driver.putContent('/x/y', new TextEncoder().encode('hello'));
    expect(new TextDecoder().decode(await driver.getContent('/x/y'))).toBe('hello');
    expect(await driver.list('/x')).toEqual(['/x/y']);
    await expect(driver.redirectURL('/x/y')).resolves.toBe('https://cdn.example.com/r/x/y');
  });
});

describe('redirectMiddlewareFactory', () => {
  it('is named redirect and reads baseurl', async () => {
    expect(redirectMiddlewareFactory.name).toBe('redirect');
    const options = redirectMiddlewareFactory.parseParameters({ baseurl: 'https://cdn.example.com/r/' });
    expect(options).toEqual({ baseUrl: 'https://cdn.example.com/r/' });
    const driver = await redirectMiddlewareFactory.wrap(createInMemoryDriver(), options);
    await expect(driver.redirectURL('/a')).resolves.toBe('https://cdn.example.com/r/a');
  });

  it.each([
    [{}, 'baseurl: is required'],
    [{ baseurl: '' }, 'baseurl: is required'],
    [{ baseurl: 42 }, 'baseurl: must be an absolute http(s) URL'],
    [{ baseurl: ['https://a'] }, 'baseurl: must be a string'],
    [{ baseurl: 'example.com' }, 'baseurl: must be an absolute http(s) URL'],
  ])('rejects %j', async (raw, message) => {
    const error = await errorOf(() => redirectMiddlewareFactory.parseParameters(raw));
    expect(error).toMatchObject({ code: 'INVALID_PARAMETER', parameter: 'baseurl' });
    expect((error as Error).message).toContain(message);
  });
});
