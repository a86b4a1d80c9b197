import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDigestError } from './errors.ts';
import { isDigest, parseDigest } from './parse-digest.ts';

const HEX64 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HEX128 =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce' +
  '47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

/** Parses `s` expecting failure; returns the DigestError's code and message. */
function failure(s: unknown): { code: string; message: string } {
  try {
    parseDigest(s);
  } catch (err) {
    expect(isDigestError(err)).toBe(true);
    const { code, message } = err as { code: string; message: string };
    return { code, message };
  }
  throw new Error(`parseDigest(${JSON.stringify(s)}) unexpectedly succeeded`);
}

/**
 * An independent oracle written straight from the OCI image-spec grammar with regular expressions
 * (fine in a test): 'ok', or the error code parseDigest must throw.
 */
function oracle(s: string): 'ok' | 'DIGEST_INVALID' | 'DIGEST_UNSUPPORTED_ALGORITHM' {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(s);
  if (m === null) return 'DIGEST_INVALID';
  const [, algorithm, encoded] = m;
  if (algorithm === 'sha256') return /^[a-f0-9]{64}$/.test(encoded!) ? 'ok' : 'DIGEST_INVALID';
  if (algorithm === 'sha512') return /^[a-f0-9]{128}$/.test(encoded!) ? 'ok' : 'DIGEST_INVALID';
  return 'DIGEST_UNSUPPORTED_ALGORITHM';
}

describe('parseDigest', () => {
  it('parses a sha256 digest into its parts without changing it', () => {
    const s = `sha256:${HEX64}`;
    const parsed = parseDigest(s);
    expect(parsed).toEqual({ algorithm: 'sha256', encoded: HEX64, digest: s });
    expect(isDigest(s)).toBe(true);
  });

  it('parses a sha512 digest', () => {
    const s = `sha512:${HEX128}`;
    expect(parseDigest(s)).toEqual({ algorithm: 'sha512', encoded: HEX128, digest: s });
  });

  it.each([
    ['empty string', ''],
    ['no colon', 'sha256'],
    ['no colon, hex only', HEX64],
    ['empty algorithm', ':abc'],
    ['empty algorithm before valid hex', `:${HEX64}`],
    ['empty encoded', 'sha256:'],
    ['uppercase algorithm', `SHA256:${HEX64}`],
    ['mixed-case algorithm', `Sha256:${HEX64}`],
    ['uppercase hex', `sha256:${HEX64.toUpperCase()}`],
    ['one uppercase hex digit', `sha256:${HEX64.slice(0, 63)}A`],
    ['63 hex characters', `sha256:${HEX64.slice(0, 63)}`],
    ['65 hex characters', `sha256:${HEX64}0`],
    ['sha512 with 64 hex characters', `sha512:${HEX64}`],
    ['sha512 with 127 hex characters', `sha512:${HEX128.slice(1)}`],
    ['sha256 with 128 hex characters', `sha256:${HEX128}`],
    ['non-hex letter', `sha256:${HEX64.slice(0, 63)}g`],
    ['base64url-ish encoding under sha256', `sha256:${HEX64.slice(0, 62)}-_`],
    ['leading space', ` sha256:${HEX64}`],
    ['trailing space', `sha256:${HEX64} `],
    ['trailing newline', `sha256:${HEX64}\n`],
    ['space after colon', `sha256: ${HEX64}`],
    ['space before colon', `sha256 :${HEX64}`],
    ['two colons', `sha256:${HEX64}:`],
    ['colon inside encoded of unknown algorithm', 'foo:bar:baz'],
    ['leading separator', '+sha256:abc'],
    ['trailing separator', 'sha256+:abc'],
    ['double separator', 'sha256++b64u:abc'],
    ['separator only', '-:abc'],
    ['slash in algorithm', 'sha/256:abc'],
    ['uppercase in unknown algorithm', 'Blake3:abc'],
    ['bad character in encoded of unknown algorithm', 'blake3:ab+c'],
    ['unicode in algorithm', 'shä256:abc'],
    ['lone surrogate in encoded', 'foo:\ud800'],
    ['NUL byte', `sha256:${HEX64.slice(0, 63)}\u0000`],
  ])('rejects %s with DIGEST_INVALID', (_name, s) => {
    expect(failure(s).code).toBe('DIGEST_INVALID');
    expect(isDigest(s)).toBe(false);
  });

  it.each([
    [
      'sha256+b64u (registered-looking but not supported)',
      'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
    ],
    ['blake3', `blake3:${HEX64}`],
    ['sha384', `sha384:${HEX64}`],
    ['multi-component', 'multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8'],
    ['single character algorithm and encoding', 'a:b'],
    ['every separator', 'a+b.c_d-e:x=_-'],
    ['uppercase and = in encoded', 'foo:ABC=='],
  ])('rejects %s with DIGEST_UNSUPPORTED_ALGORITHM', (_name, s) => {
    expect(failure(s).code).toBe('DIGEST_UNSUPPORTED_ALGORITHM');
    expect(isDigest(s)).toBe(false);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['number', 42],
    ['object', { algorithm: 'sha256', encoded: HEX64 }],
    ['array', [`sha256:${HEX64}`]],
    ['String object', new String(`sha256:${HEX64}`)],
    ['bytes', new TextEncoder().encode(`sha256:${HEX64}`)],
  ])('rejects a non-string (%s) with DIGEST_INVALID', (_name, value) => {
    const { code, message } = failure(value);
    expect(code).toBe('DIGEST_INVALID');
    expect(message).toMatch(/^digest must be a string, got /);
    expect(isDigest(value)).toBe(false);
  });

  it('names the problem precisely in the message', () => {
    expect(failure(`sha256:${HEX64.slice(0, 63)}`).message).toMatch(
      /^sha256 digest must have 64 lowercase hex characters, got 63 /,
    );
    expect(failure(`sha512:${HEX64}`).message).toMatch(
      /^sha512 digest must have 128 lowercase hex characters, got 64 /,
    );
    expect(failure(`sha256:${HEX64.slice(0, 10)}G${HEX64.slice(11)}`).message).toContain(
      'found character "G" at index 17',
    );
    expect(failure(`sha256:${HEX64}\n`).message).toContain('found character "\\n" at index 71');
    expect(failure(`SHA256:${HEX64}`).message).toContain(
      'character "S" at index 0 is not allowed in an algorithm',
    );
    expect(failure('sha256++x:abc').message).toContain('separator "+" at index 7');
    expect(failure('sha256:').message).toContain('encoded part after ":" is empty');
    expect(failure(':abc').message).toContain('algorithm before ":" is empty');
    expect(failure('abc').message).toContain('no ":"');
    expect(failure('sha256+b64u:abc').message).toBe(
      'unsupported digest algorithm "sha256+b64u" in "sha256+b64u:abc"; supported: sha256, sha512',
    );
  });

  it('truncates very long inputs in messages', () => {
    const long = `sha256:${'a'.repeat(100_000)}`;
    const { message } = failure(long);
    expect(message).toContain('got 100000');
    expect(message).toContain('(100007 characters)');
    expect(message.length).toBeLessThan(300);
  });

  it('agrees with a regular-expression oracle on strings built from the grammar alphabet', () => {
    const alphabet = [...'sha256512:abcdef0123456789ABCDEFxyz+._-= \n/'].map((c) => fc.constant(c));
    const nearMiss = fc
      .tuple(
        fc.constantFrom('sha256', 'sha512', 'sha384', 'sha256+b64u', 'SHA256', '', 'sha-256', 'a.b'),
        fc.constantFrom(':', '', '::', ': '),
        fc.integer({ min: 0, max: 140 }),
        fc.constantFrom('', 'A', 'g', '=', ' ', '-'),
        fc.integer({ min: 0, max: 139 }),
      )
      .map(([alg, colon, n, odd, at]) => {
        const hex = HEX128.repeat(2).slice(0, n);
        return `${alg}${colon}${hex.slice(0, at)}${odd}${hex.slice(at)}`;
      });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: fc.oneof(...alphabet), maxLength: 140 }), nearMiss), (s) => {
        const expected = oracle(s);
        if (expected === 'ok') {
          expect(parseDigest(s).digest).toBe(s);
          expect(isDigest(s)).toBe(true);
        } else {
          expect(failure(s).code).toBe(expected);
          expect(isDigest(s)).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws anything but a DigestError, whatever the string', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (s) => {
          let ok = true;
          try {
            parseDigest(s);
          } catch (err) {
            ok = false;
            expect(isDigestError(err)).toBe(true);
            expect(['DIGEST_INVALID', 'DIGEST_UNSUPPORTED_ALGORITHM']).toContain(
              (err as { code: string }).code,
            );
          }
          expect(isDigest(s)).toBe(ok);
          expect(oracle(s) === 'ok').toBe(ok);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a DigestError, whatever the value', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseDigest(value);
        } catch (err) {
          expect(
            isDigestError(err, 'DIGEST_INVALID') || isDigestError(err, 'DIGEST_UNSUPPORTED_ALGORITHM'),
          ).toBe(true);
        }
      }),
    );
  });
});
