import { describe, expect, it } from 'vitest';
import { DigestError, isDigestError } from './errors.ts';

describe('DigestError', () => {
  it('carries a code, a name and optional mismatch details', () => {
    const err = new DigestError('DIGEST_MISMATCH', 'nope', { expected: 'sha256:a', actual: 'sha256:b' });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('DigestError');
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toBe('nope');
    expect(err.expected).toBe('sha256:a');
    expect(err.actual).toBe('sha256:b');
    expect(String(err)).toBe('DigestError: nope');
  });

  it('keeps the cause', () => {
    const cause = new Error('inner');
    expect(new DigestError('HASH_STATE_INVALID', 'outer', { cause }).cause).toBe(cause);
    expect('cause' in new DigestError('HASH_STATE_INVALID', 'outer')).toBe(false);
  });
});

describe('isDigestError', () => {
  it('recognises DigestErrors, optionally by code', () => {
    const err = new DigestError('DIGEST_INVALID', 'bad');
    expect(isDigestError(err)).toBe(true);
    expect(isDigestError(err, 'DIGEST_INVALID')).toBe(true);
    expect(isDigestError(err, 'DIGEST_MISMATCH')).toBe(false);
  });

  it('recognises errors from another copy of the package by name and code', () => {
    const foreign = Object.assign(new Error('x'), { name: 'DigestError', code: 'HASHER_FINALIZED' });
    expect(isDigestError(foreign)).toBe(true);
    expect(isDigestError(foreign, 'HASHER_FINALIZED')).toBe(true);
  });

  it('rejects look-alikes', () => {
    expect(isDigestError(Object.assign(new Error('x'), { code: 'DIGEST_INVALID' }))).toBe(false);
    expect(isDigestError({ name: 'DigestError', code: 'ENOENT' })).toBe(false);
    expect(isDigestError({ name: 'DigestError', code: 42 })).toBe(false);
    expect(isDigestError({ name: 'DigestError' })).toBe(false);
    expect(isDigestError(null)).toBe(false);
    expect(isDigestError('DigestError')).toBe(false);
    expect(isDigestError(undefined)).toBe(false);
  });
});
