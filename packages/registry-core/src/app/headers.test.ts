import { describe, expect, it } from 'vitest';
import { ifNoneMatch, parseChunkRange, parseRange, requestOrigin, uploadRange } from './headers.ts';

describe('parseRange', () => {
  it.each([
    [undefined, 10, { kind: 'none' }],
    ['bytes=0-0', 10, { kind: 'range', start: 0, end: 1 }],
    ['bytes=2-5', 10, { kind: 'range', start: 2, end: 6 }],
    ['bytes=2-', 10, { kind: 'range', start: 2, end: 10 }],
    ['bytes=2-100', 10, { kind: 'range', start: 2, end: 10 }],
    ['bytes=-3', 10, { kind: 'range', start: 7, end: 10 }],
    ['bytes=-30', 10, { kind: 'range', start: 0, end: 10 }],
    ['BYTES = 1-1', 10, { kind: 'range', start: 1, end: 2 }],
    ['bytes=10-', 10, { kind: 'unsatisfiable' }],
    ['bytes=10-20', 10, { kind: 'unsatisfiable' }],
    ['bytes=-0', 10, { kind: 'unsatisfiable' }],
    ['bytes=5-2', 10, { kind: 'unsatisfiable' }],
    ['bytes=a-b', 10, { kind: 'unsatisfiable' }],
    ['bytes=-', 10, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-1', 0, { kind: 'unsatisfiable' }],
    [
      'bytes=0-1,4-5',
      10,
      {
        kind: 'ranges',
        ranges: [
          { start: 0, end: 2 },
          { start: 4, end: 6 },
        ],
      },
    ],
    [
      'bytes=-2, 0-0',
      10,
      {
        kind: 'ranges',
        ranges: [
          { start: 8, end: 10 },
          { start: 0, end: 1 },
        ],
      },
    ],
    [
      'bytes=0-4,2-6',
      10,
      {
        kind: 'ranges',
        ranges: [
          { start: 0, end: 5 },
          { start: 2, end: 7 },
        ],
      },
    ],
    ['bytes=0-4,2-7', 10, { kind: 'none' }], // 11 bytes asked of 10: Go ignores the header
    ['bytes=0-1,', 10, { kind: 'range', start: 0, end: 2 }],
    ['bytes=0-1,20-30', 10, { kind: 'range', start: 0, end: 2 }],
    ['bytes=0-1,-0', 10, { kind: 'range', start: 0, end: 2 }],
    ['bytes=20-30,40-', 10, { kind: 'unsatisfiable' }],
    ['bytes=0-1,x', 10, { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-2', 10, { kind: 'unsatisfiable' }],
    ['bytes=', 10, { kind: 'none' }],
    ['items=0-1', 10, { kind: 'none' }],
    ['garbage', 10, { kind: 'none' }],
  ])('%s of %d bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('ifNoneMatch', () => {
  const d = 'sha256:abc';
  it.each([
    [undefined, false],
    ['"sha256:abc"', true],
    ['sha256:abc', true],
    ['W/"sha256:abc"', true],
    ['"x", "sha256:abc"', true],
    ['*', true],
    ['"sha256:abd"', false],
    ['', false],
  ])('%s', (header, expected) => {
    expect(ifNoneMatch(header, d)).toBe(expected);
  });
});

describe('parseChunkRange', () => {
  it.each([
    ['0-99', { start: 0, end: 99 }],
    ['100-199', { start: 100, end: 199 }],
    ['bytes 0-9/*', { start: 0, end: 9 }],
    ['bytes 0-9/10', { start: 0, end: 9 }],
    ['bytes 22799-22880/22880', undefined],
    ['0-9/5', undefined],
    ['5-', undefined],
    ['-5', undefined],
    ['a-b', undefined],
    ['', undefined],
  ])('%s', (header, expected) => {
    expect(parseChunkRange(header)).toEqual(expected);
  });
});

describe('uploadRange', () => {
  it('is 0-0 for empty and one-byte uploads, as registry:2', () => {
    expect(uploadRange(0)).toBe('0-0');
    expect(uploadRange(1)).toBe('0-0');
    expect(uploadRange(1024)).toBe('0-1023');
  });
});

describe('requestOrigin', () => {
  const origin = (url: string, headers: Record<string, string> = {}) =>
    requestOrigin({ url, header: (name) => headers[name.toLowerCase()] });

  it('uses the request URL by default', () => {
    expect(origin('http://localhost:5000/v2/')).toBe('http://localhost:5000');
  });

  it('honours X-Forwarded-Proto, X-Forwarded-Host (first of a list) and X-Forwarded-Port', () => {
    expect(
      origin('http://10.0.0.1:5000/v2/', {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'reg.example.com, proxy',
      }),
    ).toBe('https://reg.example.com');
    expect(
      origin('http://10.0.0.1/v2/', { 'x-forwarded-host': 'reg.example.com', 'x-forwarded-port': '8443' }),
    ).toBe('http://reg.example.com:8443');
    expect(origin('http://10.0.0.1/v2/', { 'x-forwarded-host': 'reg:1', 'x-forwarded-port': '8443' })).toBe(
      'http://reg:1',
    );
  });

  it('honours Forwarded proto= and host= (not for=)', () => {
    expect(
      origin('http://10.0.0.1/v2/', { forwarded: 'for=1.2.3.4;proto=https;host="reg.example.com"' }),
    ).toBe('https://reg.example.com');
  });

  it('ignores forwarded values that are not a scheme or a host', () => {
    expect(
      origin('http://localhost/v2/', { 'x-forwarded-proto': 'ht tp', 'x-forwarded-host': 'evil.com/path' }),
    ).toBe('http://localhost');
  });
});
