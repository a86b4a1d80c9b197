import { createHash } from 'node:crypto';

/**
 * Deterministic bytes: byte `i` of the stream depends on `i` alone, so a child process can write
 * any slice and the parent can check the whole without sharing state.
 */
export function patternBytes(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const n = offset + i;
    out[i] = (n * 131 + (n >>> 13) * 7) & 0xff;
  }
  return out;
}

/** sha256 hex of the first `length` bytes of the pattern. */
export function patternHash(length: number): string {
  const hash = createHash('sha256');
  const step = 1024 * 1024;
  for (let offset = 0; offset < length; offset += step) {
    hash.update(patternBytes(offset, Math.min(step, length - offset)));
  }
  return hash.digest('hex');
}

/** sha256 hex of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
