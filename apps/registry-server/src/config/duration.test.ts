import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.ts';

describe('parseDuration (Go time.ParseDuration)', () => {
  it.each([
    ['0', 0],
    ['+0', 0],
    ['300ms', 300],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['168h', 604_800_000],
    ['24h', 86_400_000],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['.5s', 500],
    ['5.s', 5000],
    ['-1.5h', -5_400_000],
    ['1ns', 1e-6],
    ['1500us', 1.5],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1h1m1s1ms', 3_661_001],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([
    ['5x', /^invalid duration "5x" \(unknown unit "x"/],
    ['5', /^invalid duration "5" \(missing unit/],
    ['', /^invalid duration "" /],
    ['h', /^invalid duration "h" /],
    ['.s', /^invalid duration "\.s" /],
    ['1h-5m', /^invalid duration "1h-5m" \(unknown unit "h-"/],
    ['1 h', /^invalid duration "1 h" \(unknown unit " h"/],
    ['-', /^invalid duration "-"/],
  ])('rejects %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });

  it('formats like Go', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(300)).toBe('300ms');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(604_800_000)).toBe('168h0m0s');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(-2000)).toBe('-2s');
  });
});
