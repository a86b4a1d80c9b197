import { describe, expect, it } from 'vitest';
import { isManifestError, ManifestError } from './errors.ts';

describe('ManifestError', () => {
  it('carries code, pointer, message and cause', () => {
    const cause = new Error('root');
    const err = new ManifestError('MANIFEST_INVALID', 'bad size', { pointer: '/layers/0/size', cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ManifestError');
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.pointer).toBe('/layers/0/size');
    expect(err.message).toBe('bad size');
    expect(err.cause).toBe(cause);
  });

  it('has no pointer for codes that do not name a field', () => {
    expect(new ManifestError('MANIFEST_TOO_LARGE', 'big').pointer).toBeUndefined();
  });
});

describe('isManifestError', () => {
  it('recognises errors by code, including look-alikes from another copy of the package', () => {
    expect(isManifestError(new ManifestError('MANIFEST_UNSUPPORTED', 'x'))).toBe(true);
    const foreign = Object.assign(new Error('x'), { code: 'MANIFEST_TOO_LARGE' });
    expect(isManifestError(foreign)).toBe(true);
    expect(isManifestError({ code: 'MANIFEST_INVALID', message: 'plain object' })).toBe(true);
  });

  it('filters by code when asked', () => {
    const err = new ManifestError('MANIFEST_INVALID', 'x', { pointer: '' });
    expect(isManifestError(err, 'MANIFEST_INVALID')).toBe(true);
    expect(isManifestError(err, 'MANIFEST_TOO_LARGE')).toBe(false);
  });

  it('rejects everything else', () => {
    for (const value of [
      undefined,
      null,
      'MANIFEST_INVALID',
      new Error('x'),
      { code: 'DIGEST_INVALID' },
      { code: 1 },
    ]) {
      expect(isManifestError(value)).toBe(false);
    }
  });
});
