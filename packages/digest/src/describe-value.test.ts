import { describe, expect, it } from 'vitest';
import { describeValue } from './describe-value.ts';

describe('describeValue', () => {
  it('quotes strings so invisible characters show', () => {
    expect(describeValue('a b\n')).toBe('"a b\\n"');
  });

  it('cuts long strings and says how long they were', () => {
    expect(describeValue('x'.repeat(81))).toBe(`"${'x'.repeat(80)}"... (81 characters)`);
    expect(describeValue('x'.repeat(80))).toBe(`"${'x'.repeat(80)}"`);
  });

  it('names other values by type without printing their contents', () => {
    expect(describeValue(5)).toBe('number 5');
    expect(describeValue(5n)).toBe('bigint 5');
    expect(describeValue(true)).toBe('boolean true');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({ secret: 'x' })).toBe('an object');
    expect(describeValue(() => 'source')).toBe('a function');
    expect(describeValue(Symbol('s'))).toBe('a symbol');
  });
});
