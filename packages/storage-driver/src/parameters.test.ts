import { describe, expect, it } from 'vitest';
import { type InvalidParameterError, isStorageDriverError } from './errors.ts';
import { booleanParameter, integerParameter, stringParameter } from './parameters.ts';

function thrown(fn: () => unknown): InvalidParameterError {
  try {
    fn();
  } catch (err) {
    return err as InvalidParameterError;
  }
  throw new Error('expected a throw');
}

describe('stringParameter', () => {
  it('returns strings and stringifies numbers', () => {
    expect(stringParameter({ bucket: 'b' }, 'bucket')).toBe('b');
    expect(stringParameter({ bucket: 123 }, 'bucket', true)).toBe('123');
  });

  it('treats undefined, null and empty as missing', () => {
    for (const value of [undefined, null, '']) {
      expect(stringParameter({ key: value }, 'key')).toBeUndefined();
      const err = thrown(() => stringParameter({ key: value }, 'key', true));
      expect(isStorageDriverError(err, 'INVALID_PARAMETER')).toBe(true);
      expect(err.parameter).toBe('key');
      expect(err.message).toMatch(/required/);
    }
  });

  it('rejects other types, naming the key', () => {
    for (const value of [true, {}, ['a']]) {
      const err = thrown(() => stringParameter({ region: value }, 'region'));
      expect(err.parameter).toBe('region');
      expect(err.message).toMatch(/^region: must be a string/);
    }
  });
});

describe('booleanParameter', () => {
  it('accepts booleans and true/false strings in any case', () => {
    expect(booleanParameter({ k: true }, 'k', false)).toBe(true);
    expect(booleanParameter({ k: false }, 'k', true)).toBe(false);
    expect(booleanParameter({ k: 'TRUE' }, 'k', false)).toBe(true);
    expect(booleanParameter({ k: 'False' }, 'k', true)).toBe(false);
  });

  it('falls back when missing', () => {
    expect(booleanParameter({}, 'k', true)).toBe(true);
    expect(booleanParameter({ k: null }, 'k', false)).toBe(false);
    expect(booleanParameter({ k: '' }, 'k', true)).toBe(true);
  });

  it('rejects anything else', () => {
    for (const value of ['yes', 1, 0, {}]) {
      const err = thrown(() => booleanParameter({ secure: value }, 'secure', true));
      expect(err.parameter).toBe('secure');
      expect(err.message).toMatch(/must be true or false/);
    }
  });
});

describe('integerParameter', () => {
  it('accepts integers and integer strings (with surrounding spaces)', () => {
    expect(integerParameter({ n: 5 }, 'n', 1)).toBe(5);
    expect(integerParameter({ n: '42' }, 'n', 1)).toBe(42);
    expect(integerParameter({ n: ' -3 ' }, 'n', 1)).toBe(-3);
  });

  it('falls back when missing', () => {
    expect(integerParameter({}, 'n', 7)).toBe(7);
    expect(integerParameter({ n: '' }, 'n', 7)).toBe(7);
    expect(integerParameter({ n: null }, 'n', 7)).toBe(7);
  });

  it('rejects non-integers', () => {
    for (const value of [1.5, '1.5', 'ten', '1e3', Number.NaN, 2 ** 60, true]) {
      const err = thrown(() => integerParameter({ maxthreads: value }, 'maxthreads', 100));
      expect(err.parameter).toBe('maxthreads');
      expect(err.message).toMatch(/must be an integer/);
    }
  });

  it('enforces bounds', () => {
    expect(integerParameter({ n: 25 }, 'n', 1, { min: 25, max: 100 })).toBe(25);
    expect(integerParameter({ n: '100' }, 'n', 1, { min: 25, max: 100 })).toBe(100);
    expect(thrown(() => integerParameter({ n: 24 }, 'n', 1, { min: 25 })).message).toMatch(
      /at least 25, got 24/,
    );
    expect(thrown(() => integerParameter({ n: '101' }, 'n', 1, { max: 100 })).message).toMatch(
      /at most 100, got 101/,
    );
  });
});
