import { crc32 } from 'node:zlib';
import type { Algorithm } from './algorithm.ts';
import { DigestError } from './errors.ts';

/**
 * The complete, engine-independent state of a SHA-2 computation part-way through a message
 * (FIPS 180-4): what any implementation needs to continue it. Internal.
 */
export interface HashState {
  readonly algorithm: Algorithm;
  /** Bytes hashed so far. */
  readonly size: number;
  /**
   * The intermediate hash value H0..H7 after the last complete block, as big-endian words
   * (32 bytes for sha256, 64 for sha512).
   */
  readonly chainingValue: Uint8Array;
  /** The message bytes after the last complete block: `size % blockSize` bytes. */
  readonly pending: Uint8Array;
}

/** Per-algorithm SHA-2 parameters. Internal. */
export interface Sha2Params {
  /** Envelope algorithm id. */
  readonly id: number;
  /** Message block size in bytes. */
  readonly blockSize: number;
  /** Bytes in one word of the chaining value (4 for sha256, 8 for sha512). */
  readonly wordSize: number;
  /** Bytes in the chaining value (and the digest): 8 words. */
  readonly hashSize: number;
}

/** SHA-2 parameters of each supported algorithm. Internal. */
export const SHA2: Readonly<Record<Algorithm, Sha2Params>> = Object.freeze({
  sha256: Object.freeze({ id: 1, blockSize: 64, wordSize: 4, hashSize: 32 }),
  sha512: Object.freeze({ id: 2, blockSize: 128, wordSize: 8, hashSize: 64 }),
});

// Envelope, format version 1. All integers big-endian.
//
//   offset  size  field
//   0       4     magic "BDHS" (Berth Digest Hash State)
//   4       1     format version = 1
//   5       1     algorithm id: 1 = sha256, 2 = sha512
//   6       8     bytes hashed so far (u64; must be <= Number.MAX_SAFE_INTEGER)
//   14      H     chaining value, H = 32 (sha256) or 64 (sha512)
//   14+H    P     pending bytes, P = (bytes hashed) mod block size (64 or 128)
//   14+H+P  4     CRC-32 (IEEE) of bytes [0, 14+H+P)
const MAGIC = [0x42, 0x44, 0x48, 0x53] as const; // "BDHS"
/** The envelope format version this build writes (and the only one it reads). */
export const HASH_STATE_FORMAT_VERSION = 1;
const HEADER = 14;
const TRAILER = 4;
/** The smallest possible envelope: a sha256 state at a block boundary. */
const MIN_LENGTH = HEADER + 32 + TRAILER;

function invalid(reason: string): DigestError {
  return new DigestError('HASH_STATE_INVALID', `invalid resumable hash state: ${reason}`);
}

function algorithmById(id: number): Algorithm | undefined {
  if (id === SHA2.sha256.id) return 'sha256';
  if (id === SHA2.sha512.id) return 'sha512';
  return undefined;
}

/** The exact envelope length for a state of `algorithm` at `size` bytes hashed. */
function envelopeLength(params: Sha2Params, size: number): number {
  return HEADER + params.hashSize + (size % params.blockSize) + TRAILER;
}

/**
 * Serializes `state` into the versioned, checksummed envelope described above. Internal; assumes
 * `state` is consistent (it comes from a live hasher).
 */
export function encodeHashState(state: HashState): Uint8Array {
  const params = SHA2[state.algorithm];
  const out = new Uint8Array(envelopeLength(params, state.size));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = HASH_STATE_FORMAT_VERSION;
  out[5] = params.id;
  view.setUint32(6, Math.floor(state.size / 0x1_0000_0000));
  view.setUint32(10, state.size >>> 0);
  out.set(state.chainingValue, HEADER);
  out.set(state.pending, HEADER + params.hashSize);
  const body = out.length - TRAILER;
  view.setUint32(body, crc32(out.subarray(0, body)));
  return out;
}

/**
 * Parses and checks an envelope produced by {@link encodeHashState}. The returned arrays are fresh
 * copies, independent of `bytes`.
 *
 * @throws {DigestError} `HASH_STATE_INVALID` when `bytes` is not a `Uint8Array`, is too short, has
 *   the wrong magic, an unknown format version or algorithm id, a size beyond 2^53 - 1, a length
 *   that does not match its declared size, or a bad checksum.
 */
export function decodeHashState(bytes: unknown): HashState {
  if (!(bytes instanceof Uint8Array)) throw invalid('expected a Uint8Array');
  if (bytes.length < MIN_LENGTH)
    throw invalid(`${bytes.length} bytes is shorter than any valid state (${MIN_LENGTH})`);
  if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2] || bytes[3] !== MAGIC[3]) {
    throw invalid('bad magic bytes (not a Berth hash state)');
  }
  const version = bytes[4]!;
  if (version !== HASH_STATE_FORMAT_VERSION) {
    throw invalid(
      `unsupported format version ${version} (this build reads version ${HASH_STATE_FORMAT_VERSION})`,
    );
  }
  const algorithm = algorithmById(bytes[5]!);
  if (algorithm === undefined) throw invalid(`unknown algorithm id ${bytes[5]}`);
  const params = SHA2[algorithm];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(6);
  const low = view.getUint32(10);
  if (high > 0x1f_ffff)
    throw invalid(`bytes-hashed count ${BigInt(high) * 2n ** 32n + BigInt(low)} exceeds 2^53 - 1`);
  const size = high * 0x1_0000_0000 + low;
  const want = envelopeLength(params, size);
  if (bytes.length !== want) {
    throw invalid(
      `a ${algorithm} state at ${size} bytes hashed is ${want} bytes long, got ${bytes.length} (truncated or corrupted)`,
    );
  }
  const body = want - TRAILER;
  const stored = view.getUint32(body);
  const actual = crc32(bytes.subarray(0, body));
  if (stored !== actual) throw invalid('checksum mismatch (corrupted)');
  const pendingStart = HEADER + params.hashSize;
  return {
    algorithm,
    size,
    chainingValue: bytes.slice(HEADER, pendingStart),
    pending: bytes.slice(pendingStart, body),
  };
}
