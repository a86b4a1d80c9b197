import { ALGORITHMS, type Algorithm } from './algorithm.ts';
import { describeValue } from './describe-value.ts';
import { DigestError } from './errors.ts';

/**
 * A validated digest string: `sha256:` + 64 lowercase hex characters, or `sha512:` + 128.
 *
 * It is a *branded* string: at run time it is a plain string (compare it with `===`, use it in
 * paths and headers), but the type can only be obtained from this package — {@link parseDigest},
 * {@link isDigest} (as a type guard), `digestOf`, `createDigester`, `digestStream` or a resumable
 * hasher — so a value typed `Digest` has always been checked. The brand property does not exist at
 * run time; it is a string key (not a `unique symbol`) so that two installed copies of this package
 * produce compatible types.
 */
export type Digest = `${Algorithm}:${string}` & { readonly __brand: 'berth.Digest' };

/** The parts of a valid digest, as returned by {@link parseDigest}. */
export interface ParsedDigest {
  /** The algorithm, e.g. `'sha256'`. */
  readonly algorithm: Algorithm;
  /** The encoded part after the colon: lowercase hex, 64 (`sha256`) or 128 (`sha512`) characters. */
  readonly encoded: string;
  /** The whole digest string, unchanged (valid digests are already canonical). */
  readonly digest: Digest;
}

// The scanner returns VALID_SHA256 / VALID_SHA512, or a failure packed as `kind + index * KINDS`,
// so `isDigest` never allocates and `parseDigest` builds a message only when it throws.
const VALID_SHA256 = -1;
const VALID_SHA512 = -2;
const NOT_STRING = 0;
const EMPTY = 1;
const NO_COLON = 2;
const ALGORITHM_EMPTY = 3;
const ALGORITHM_CHAR = 4;
const MISPLACED_SEPARATOR = 5;
const ENCODED_EMPTY = 6;
const ENCODED_CHAR = 7;
const UNSUPPORTED = 8;
const HEX_CHAR = 9;
const HEX_LENGTH = 10;
const KINDS = 16;

const COLON = 0x3a;

// Character classes of the grammar, as bit flags in a table indexed by char code (< 128).
const COMPONENT = 1; // [a-z0-9]
const SEPARATOR_CHAR = 2; // [+._-]
const ENCODED = 4; // [a-zA-Z0-9=_-]
const HEX = 8; // [a-f0-9]
const CLASSES: Uint8Array = (() => {
  const table = new Uint8Array(128);
  const mark = (chars: string, flag: number) => {
    for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)]! |= flag;
  };
  const digits = '0123456789';
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  mark(digits + lower, COMPONENT);
  mark('+._-', SEPARATOR_CHAR);
  mark(`${digits}${lower}${lower.toUpperCase()}=_-`, ENCODED);
  mark(`${digits}abcdef`, HEX);
  return table;
})();

/** The class flags of char code `c` (0 for anything outside ASCII). */
function classOf(c: number): number {
  return c < 128 ? CLASSES[c]! : 0;
}

/**
 * VALID_SHA256 / VALID_SHA512 when the algorithm `s[0..colon)` is `sha256` / `sha512`, else 0.
 */
function registeredAt(s: string, colon: number): number {
  // "sha256" / "sha512": s h a 2 5 6 / s h a 5 1 2
  if (colon !== 6 || s.charCodeAt(0) !== 0x73 || s.charCodeAt(1) !== 0x68 || s.charCodeAt(2) !== 0x61)
    return 0;
  const a = s.charCodeAt(3);
  const b = s.charCodeAt(4);
  const c = s.charCodeAt(5);
  if (a === 0x32 && b === 0x35 && c === 0x36) return VALID_SHA256;
  if (a === 0x35 && b === 0x31 && c === 0x32) return VALID_SHA512;
  return 0;
}

/**
 * Checks the (non-empty) encoded part of a registered algorithm, after the colon at index 6:
 * `[a-f0-9]{64}` (sha256) or `[a-f0-9]{128}` (sha512). Returns `registered` or a packed failure.
 */
function checkHex(s: string, registered: number): number {
  const n = s.length;
  for (let j = 7; j < n; j++) {
    if ((classOf(s.charCodeAt(j)) & HEX) === 0) return HEX_CHAR + j * KINDS;
  }
  return n - 7 === (registered === VALID_SHA256 ? 64 : 128) ? registered : HEX_LENGTH;
}

/**
 * One left-to-right pass over `s` with no backtracking and no allocation. Returns VALID_SHA256 or
 * VALID_SHA512, or a packed failure (see above).
 */
function scan(s: unknown): number {
  if (typeof s !== 'string') return NOT_STRING;
  const n = s.length;
  if (n === 0) return EMPTY;

  // Fast path: "sha256:" / "sha512:" (grammatical algorithms) go straight to the hex check.
  if (n > 7 && s.charCodeAt(6) === COLON) {
    const registered = registeredAt(s, 6);
    if (registered !== 0) return checkHex(s, registered);
  }

  // algorithm ::= component (separator component)*   component ::= [a-z0-9]+   separator ::= [+._-]
  let i = 0;
  let afterSeparator = true; // at the start, as after a separator, a component must follow
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    const cls = classOf(c);
    if ((cls & COMPONENT) !== 0) {
      afterSeparator = false;
    } else if (c === COLON) {
      break;
    } else if ((cls & SEPARATOR_CHAR) !== 0) {
      if (afterSeparator) return MISPLACED_SEPARATOR + i * KINDS;
      afterSeparator = true;
    } else {
      return ALGORITHM_CHAR + i * KINDS;
    }
  }
  if (i === n) return NO_COLON;
  if (i === 0) return ALGORITHM_EMPTY;
  if (afterSeparator) return MISPLACED_SEPARATOR + (i - 1) * KINDS;
  const colon = i;
  if (colon + 1 === n) return ENCODED_EMPTY;

  const registered = registeredAt(s, colon);
  if (registered !== 0) return checkHex(s, registered);

  // encoded ::= [a-zA-Z0-9=_-]+
  for (let j = colon + 1; j < n; j++) {
    if ((classOf(s.charCodeAt(j)) & ENCODED) === 0) return ENCODED_CHAR + j * KINDS;
  }
  return UNSUPPORTED;
}

function explain(s: unknown, status: number): DigestError {
  const kind = status % KINDS;
  const index = (status - kind) / KINDS;
  if (typeof s !== 'string')
    return new DigestError('DIGEST_INVALID', `digest must be a string, got ${describeValue(s)}`);
  const at = (what: string) => `${what} ${JSON.stringify(s.charAt(index))} at index ${index}`;
  const colon = s.indexOf(':');
  const algorithm = s.slice(0, colon);
  const bad = (reason: string) =>
    new DigestError('DIGEST_INVALID', `invalid digest ${describeValue(s)}: ${reason}`);
  switch (kind) {
    case EMPTY:
      return new DigestError('DIGEST_INVALID', 'invalid digest "": the string is empty');
    case NO_COLON:
      return bad('no ":" between algorithm and encoded part');
    case ALGORITHM_EMPTY:
      return bad('the algorithm before ":" is empty');
    case ALGORITHM_CHAR:
      return bad(`${at('character')} is not allowed in an algorithm (a-z, 0-9 and the separators + . _ -)`);
    case MISPLACED_SEPARATOR:
      return bad(`${at('separator')} must sit between two algorithm components`);
    case ENCODED_EMPTY:
      return bad('the encoded part after ":" is empty');
    case ENCODED_CHAR:
      return bad(`${at('character')} is not allowed in the encoded part (A-Z, a-z, 0-9, = _ -)`);
    case UNSUPPORTED:
      return new DigestError(
        'DIGEST_UNSUPPORTED_ALGORITHM',
        `unsupported digest algorithm ${describeValue(algorithm)} in ${describeValue(s)}; supported: ${ALGORITHMS.join(', ')}`,
      );
    default: {
      // HEX_CHAR / HEX_LENGTH
      const want = algorithm === 'sha256' ? 64 : 128;
      const problem = kind === HEX_CHAR ? `found ${at('character')}` : `got ${s.length - colon - 1}`;
      return new DigestError(
        'DIGEST_INVALID',
        `${algorithm} digest must have ${want} lowercase hex characters, ${problem} (in ${describeValue(s)})`,
      );
    }
  }
}

/**
 * Parses and validates a digest string against the OCI image-spec grammar
 * (`algorithm ":" encoded`, algorithm components `[a-z0-9]+` joined by `[+._-]`, encoded
 * `[a-zA-Z0-9=_-]+`) and the registered algorithms: `sha256` needs exactly 64 and `sha512` exactly
 * 128 lowercase hex characters. Nothing is trimmed or case-folded.
 *
 * One pass, no regular expressions, no allocation besides the result (safe on every request path).
 *
 * @param s - the candidate digest; any value is accepted, non-strings are rejected.
 * @returns the algorithm, encoded part and the (unchanged, now typed) digest string.
 * @throws {DigestError} `DIGEST_UNSUPPORTED_ALGORITHM` when `s` is grammatical but the algorithm is
 *   not `sha256`/`sha512` (e.g. `sha256+b64u:...`, `blake3:...`); `DIGEST_INVALID` for everything
 *   else that is not a valid digest (bad grammar, wrong length, uppercase hex, whitespace, non-string).
 *   It never throws anything else.
 *
 * @example
 * ```ts
 * const { algorithm, encoded, digest } = parseDigest(
 *   'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
 * );
 * // algorithm === 'sha256', encoded === 'e3b0c442...b855', digest is typed Digest
 * ```
 */
export function parseDigest(s: unknown): ParsedDigest {
  const status = scan(s);
  if (status >= 0) throw explain(s, status);
  const digest = s as Digest;
  return { algorithm: status === VALID_SHA256 ? 'sha256' : 'sha512', encoded: digest.slice(7), digest };
}

/**
 * Tells whether `s` is a valid, supported digest: true exactly when {@link parseDigest} would return.
 * Never throws and never allocates; usable as a type guard.
 *
 * @example
 * ```ts
 * if (isDigest(reference)) return getManifestByDigest(reference); // reference: Digest
 * return getManifestByTag(reference);
 * ```
 */
export function isDigest(s: unknown): s is Digest {
  return scan(s) < 0;
}
