/**
 * A small seeded pseudo-random generator (xorshift32 with a multiplicative output step), so
 * that every suite replays the same inputs for the same seed. Not for cryptography.
 */

/** FNV-1a over the UTF-16 code units of `text`: turns a label or a seed string into 32 bits. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The generator. Every method advances the state; `fork` derives an independent stream. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    // xorshift has one fixed point (0); mix the seed so that small seeds differ at once.
    this.#state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x6d2b79f5) >>> 0 || 0x6d2b79f5;
    for (let i = 0; i < 8; i++) this.u32();
  }

  /** 32 random bits. */
  u32(): number {
    let x = this.#state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#state = x;
    return Math.imul(x ^ (x >>> 16), 0x2c1b3c6d) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** An integer in [min, max] whose logarithm is uniform: small sizes as often as large ones. */
  logInt(min: number, max: number): number {
    const lo = Math.log(Math.max(1, min));
    const hi = Math.log(Math.max(1, max));
    return Math.min(max, Math.max(min, Math.round(Math.exp(lo + this.float() * (hi - lo)))));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** One value, each with its relative weight. */
  weighted<T>(items: readonly (readonly [number, T])[]): T {
    const total = items.reduce((sum, [weight]) => sum + weight, 0);
    let point = this.float() * total;
    for (const [weight, value] of items) {
      point -= weight;
      if (point < 0) return value;
    }
    return items[items.length - 1]![1];
  }

  /** `n` random bytes (filled four at a time). */
  bytes(n: number): Buffer {
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.u32();
    return Buffer.from(words.buffer, 0, n);
  }

  /** `n` random lowercase hex digits. */
  hex(n: number): string {
    return this.bytes(Math.ceil(n / 2))
      .toString('hex')
      .slice(0, n);
  }

  /** A lowercase alphanumeric string of length `n`. */
  word(n: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.u32() % alphabet.length];
    return out;
  }

  /** An independent generator for a named sub-stream (the same label gives the same stream). */
  fork(label: string | number): Rng {
    return new Rng(hashSeed(String(label)) ^ this.u32());
  }
}
