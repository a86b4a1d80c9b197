import { InvalidParameterError, isStorageDriverError } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { createFilesystemDriver, filesystemDriverFactory } from './fs-driver.ts';
import { DEFAULT_MAX_THREADS, DEFAULT_ROOT_DIRECTORY, MIN_MAX_THREADS } from './options.ts';

const parse = filesystemDriverFactory.parseParameters;

function parameterError(fn: () => unknown): { parameter: string; code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidParameterError);
    expect(isStorageDriverError(err, 'INVALID_PARAMETER')).toBe(true);
    return err as InvalidParameterError;
  }
  throw new Error('expected an InvalidParameterError');
}

describe('filesystemDriverFactory', () => {
  it('is named after the config key', () => {
    expect(filesystemDriverFactory.name).toBe('filesystem');
  });

  it("uses registry:2's defaults for an empty section", () => {
    expect(parse({})).toEqual({
      rootdirectory: '/var/lib/registry',
      maxthreads: 100,
      fsync: true,
      quickreads: true,
    });
    expect(DEFAULT_ROOT_DIRECTORY).toBe('/var/lib/registry');
    expect(DEFAULT_MAX_THREADS).toBe(100);
  });

  it('accepts YAML values', () => {
    expect(
      parse({ rootdirectory: '/data/registry', maxthreads: 200, fsync: false, quickreads: false }),
    ).toEqual({
      rootdirectory: '/data/registry',
      maxthreads: 200,
      fsync: false,
      quickreads: false,
    });
  });

  it('accepts strings from REGISTRY_STORAGE_FILESYSTEM_* environment variables', () => {
    expect(
      parse({ rootdirectory: '/srv/reg', maxthreads: '150', fsync: 'false', quickreads: 'false' }),
    ).toEqual({
      rootdirectory: '/srv/reg',
      maxthreads: 150,
      fsync: false,
      quickreads: false,
    });
    expect(parse({ fsync: 'TRUE' }).fsync).toBe(true);
    expect(parse({ maxthreads: ' 64 ' }).maxthreads).toBe(64);
  });

  it('treats empty values as unset', () => {
    expect(parse({ rootdirectory: '', maxthreads: '', fsync: '' })).toEqual(parse({}));
    expect(parse({ rootdirectory: null, maxthreads: null, fsync: null })).toEqual(parse({}));
  });

  it('stringifies a numeric rootdirectory, as YAML may produce one', () => {
    expect(parse({ rootdirectory: 2024 }).rootdirectory).toBe('2024');
  });

  it('raises maxthreads below 25 to 25, as registry:2 does', () => {
    expect(MIN_MAX_THREADS).toBe(25);
    for (const value of [0, 1, 24, -5, '3', '-1']) expect(parse({ maxthreads: value }).maxthreads).toBe(25);
    expect(parse({ maxthreads: 25 }).maxthreads).toBe(25);
  });

  it('ignores keys it does not know, as registry:2 does', () => {
    expect(parse({ rootdirectory: '/r', unknown: 1 })).toEqual({
      rootdirectory: '/r',
      maxthreads: 100,
      fsync: true,
      quickreads: true,
    });
  });

  it('rejects malformed values with an InvalidParameterError naming the key', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxthreads: 'lots' }, 'maxthreads'],
      [{ maxthreads: 2.5 }, 'maxthreads'],
      [{ maxthreads: '2.5' }, 'maxthreads'],
      [{ maxthreads: true }, 'maxthreads'],
      [{ maxthreads: [100] }, 'maxthreads'],
      [{ fsync: 'yes' }, 'fsync'],
      [{ fsync: 1 }, 'fsync'],
      [{ rootdirectory: { path: '/r' } }, 'rootdirectory'],
      [{ rootdirectory: ['/r'] }, 'rootdirectory'],
      [{ rootdirectory: true }, 'rootdirectory'],
      [{ rootdirectory: '/r\0x' }, 'rootdirectory'],
    ];
    for (const [raw, key] of cases) {
      const err = parameterError(() => parse(raw));
      expect(err.parameter, JSON.stringify(raw)).toBe(key);
      expect(err.message).toMatch(new RegExp(`^${key}: `));
    }
  });

  it('creates a driver from parsed parameters', async () => {
    const driver = await filesystemDriverFactory.create(parse({ rootdirectory: '/nonexistent/berth-test' }));
    expect(driver.name).toBe('filesystem');
    expect(await driver.list('/')).toEqual([]);
    expect(await driver.redirectURL('/any')).toBeUndefined();
  });
});

describe('createFilesystemDriver', () => {
  it('validates options given in code, allowing any positive maxthreads', () => {
    expect(createFilesystemDriver({ rootdirectory: '/tmp/x', maxthreads: 1 }).name).toBe('filesystem');
    expect(parameterError(() => createFilesystemDriver({ maxthreads: 0 })).parameter).toBe('maxthreads');
    expect(parameterError(() => createFilesystemDriver({ maxthreads: 1.5 })).parameter).toBe('maxthreads');
    expect(parameterError(() => createFilesystemDriver({ rootdirectory: '' })).parameter).toBe(
      'rootdirectory',
    );
    expect(
      parameterError(() => createFilesystemDriver({ fsync: 'yes' as unknown as boolean })).parameter,
    ).toBe('fsync');
  });
});
