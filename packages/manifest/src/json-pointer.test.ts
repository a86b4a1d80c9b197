import { describe, expect, it } from 'vitest';
import { childPointer } from './json-pointer.ts';

describe('childPointer', () => {
  it('appends array indexes and plain keys', () => {
    expect(childPointer('', 'layers')).toBe('/layers');
    expect(childPointer('/layers', 2)).toBe('/layers/2');
    expect(childPointer('/platform', 'os.version')).toBe('/platform/os.version');
  });

  it('escapes ~ before / as RFC 6901 requires', () => {
    expect(childPointer('/annotations', 'a/b')).toBe('/annotations/a~1b');
    expect(childPointer('/annotations', '~1')).toBe('/annotations/~01');
    expect(childPointer('/annotations', '')).toBe('/annotations/');
  });
});
