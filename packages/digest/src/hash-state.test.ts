import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isDigestError } from './errors.ts';
import { decodeHashState, encodeHashState, HASH_STATE_FORMAT_VERSION, type HashState } from './hash-state.ts';

function state(algorithm: 'sha256' | 'sha512', size: number): HashState {
  const hashSize = algorithm === 'sha256' ? 32 : 64;
  const blockSize = algorithm === 'sha256' ? 64 : 128;
  const chainingValue = Uint8Array.from({ length: hashSize }, (_, i) => (i * 7 + 1) & 0xff);
  const pending = Uint8Array.from({ length: size % blockSize }, (_, i) => (i * 13 + 5) & 0xff);
  return { algorithm, size, chainingValue, pending };
}

function rejection(bytes: unknown): string {
  try {
    decodeHashState(bytes);
  } catch (err) {
    expect(isDigestError(err, 'HASH_STATE_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('decodeHashState unexpectedly accepted the input');
}

/** Rewrites the CRC so that only the deliberate change is wrong. */
function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)));
  return bytes;
}

describe('hash state envelope', () => {
  it('round-trips states of both algorithms at many sizes', () => {
    for (const algorithm of ['sha256', 'sha512'] as const) {
      for (const size of [0, 1, 63, 64, 65, 127, 128, 129, 1_000_003, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
        const s = state(algorithm, size);
        expect(decodeHashState(encodeHashState(s))).toEqual(s);
      }
    }
  });

  it('has the documented layout', () => {
    const bytes = encodeHashState(state('sha256', 2 ** 32 + 70));
    expect([...bytes.subarray(0, 6)]).toEqual([0x42, 0x44, 0x48, 0x53, HASH_STATE_FORMAT_VERSION, 1]);
    expect([...bytes.subarray(6, 14)]).toEqual([0, 0, 0, 1, 0, 0, 0, 70]);
    expect(bytes.length).toBe(14 + 32 + 6 + 4);
    expect(encodeHashState(state('sha512', 0))[5]).toBe(2);
    expect(encodeHashState(state('sha512', 127)).length).toBe(14 + 64 + 127 + 4);
  });

  it('returns copies independent of the input buffer', () => {
    const bytes = encodeHashState(state('sha256', 10));
    const decoded = decodeHashState(bytes);
    bytes.fill(0);
    expect(decoded).toEqual(state('sha256', 10));
  });

  it('accepts a state inside a larger buffer (subarray)', () => {
    const inner = encodeHashState(state('sha512', 300));
    const outer = new Uint8Array(inner.length + 20);
    outer.set(inner, 7);
    expect(decodeHashState(outer.subarray(7, 7 + inner.length))).toEqual(state('sha512', 300));
  });

  it('rejects every truncation and every extension', () => {
    for (const algorithm of ['sha256', 'sha512'] as const) {
      const bytes = encodeHashState(state(algorithm, 100));
      for (let n = 0; n < bytes.length; n++) rejection(bytes.subarray(0, n));
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      expect(rejection(longer)).toContain('truncated or corrupted');
    }
  });

  it('rejects any single corrupted byte at any position', () => {
    const bytes = encodeHashState(state('sha256', 1_000_010));
    for (let i = 0; i < bytes.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const copy = bytes.slice();
        copy[i]! ^= flip;
        rejection(copy);
      }
    }
  });

  it('names the problem', () => {
    const good = encodeHashState(state('sha256', 5));
    expect(rejection('state')).toContain('expected a Uint8Array');
    expect(rejection(new Uint8Array(10))).toContain('shorter than any valid state');
    const magic = good.slice();
    magic[0] = 0x47;
    expect(rejection(magic)).toContain('bad magic');
    const version = good.slice();
    version[4] = 2;
    expect(rejection(reseal(version))).toContain('unsupported format version 2 (this build reads version 1)');
    const alg = good.slice();
    alg[5] = 3;
    expect(rejection(reseal(alg))).toContain('unknown algorithm id 3');
    const crc = good.slice();
    crc[20]! ^= 1;
    expect(rejection(crc)).toBe('invalid resumable hash state: checksum mismatch (corrupted)');
  });

  it('rejects a sha256 state relabelled as sha512 even with a valid checksum', () => {
    const relabelled = encodeHashState(state('sha256', 5));
    relabelled[5] = 2;
    expect(rejection(reseal(relabelled))).toContain(
      'a sha512 state at 5 bytes hashed is 87 bytes long, got 55',
    );
  });

  it('rejects byte counts beyond 2^53 - 1', () => {
    const bytes = encodeHashState(state('sha256', 0));
    bytes[7] = 0x20; // high word 0x00200000 -> 2^53
    expect(rejection(reseal(bytes))).toContain(`bytes-hashed count ${2n ** 53n} exceeds 2^53 - 1`);
  });
});
