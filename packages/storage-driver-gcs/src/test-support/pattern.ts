import { createHash } from 'node:crypto';

/**
 * Deterministic bytes `[offset, offset + length)` of an endless test pattern, so a writer in one
 * process and a check in another agree on every slice of it without sharing state.
 */
export function patternBytes(offset: number, length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const n = offset + i;
    out[i] = (n * 131 + Math.floor(n / 4099) * 17 + seed * 29) & 0xff;
  }
  return out;
}

/** sha256 hex of the first `length` bytes of the pattern. */
export function patternHash(length: number, seed = 0): string {
  const hash = createHash('sha256');
  const step = 1024 * 1024;
  for (let offset = 0; offset < length; offset += step) {
    hash.update(patternBytes(offset, Math.min(step, length - offset), seed));
  }
  return hash.digest('hex');
}

/** sha256 hex of some bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
