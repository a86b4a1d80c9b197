import { Buffer } from 'node:buffer';
import { hash as nodeHash } from 'node:crypto';
import { createSHA256, createSHA512, type IHasher } from 'hash-wasm';
import type { Algorithm } from './algorithm.ts';
import { DigestError } from './errors.ts';
import { type HashState, SHA2, type Sha2Params } from './hash-state.ts';

// hash-wasm's save() returns a 4-byte fingerprint of its WASM binary followed by the C context
// struct (rhash layout, little-endian wasm32):
//
//   sha256: uint32 message[16]; uint64 length; uint32 hash[8]; uint32 digest_length;  (112 bytes)
//   sha512: uint64 message[16]; uint64 length; uint64 hash[8]; uint32 digest_length;  (208 bytes)
//
// `message` holds the pending bytes verbatim, `length` counts bytes, `hash` holds the chaining
// value as native (little-endian) words. We translate to and from the engine-independent HashState
// so saved states survive hash-wasm upgrades; `checkLayout` proves the layout before first use.

/** Byte offsets inside a hash-wasm saved state. Internal. */
export interface WasmLayout {
  readonly total: number;
  readonly message: number;
  readonly length: number;
  readonly hash: number;
  readonly digestLength: number;
}

const FINGERPRINT = 4;

/** The expected hash-wasm state layout for each algorithm. Internal. */
export const WASM_LAYOUT: Readonly<Record<Algorithm, WasmLayout>> = Object.freeze({
  sha256: Object.freeze({ total: FINGERPRINT + 112, message: 4, length: 68, hash: 76, digestLength: 108 }),
  sha512: Object.freeze({ total: FINGERPRINT + 208, message: 4, length: 132, hash: 140, digestLength: 204 }),
});

/** FIPS 180-4 initial hash values, big-endian. */
const INITIAL_HASH: Readonly<Record<Algorithm, string>> = Object.freeze({
  sha256: '6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19',
  sha512:
    '6a09e667f3bcc908bb67ae8584caa73b3c6ef372fe94f82ba54ff53a5f1d36f1' +
    '510e527fade682d19b05688c2b3e6c1f1f83d9abfb41bd6b5be0cd19137e2179',
});

/** Reads a little-endian u64 that must fit in a JS number. */
function readLength(raw: Uint8Array, offset: number): number {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return view.getUint32(offset + 4, true) * 0x1_0000_0000 + view.getUint32(offset, true);
}

/** Copies the 8 chaining-value words from `src` to `dst`, reversing the byte order of each word. */
function swapWords(
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  p: Sha2Params,
): void {
  const w = p.wordSize;
  for (let i = 0; i < p.hashSize; i += w) {
    for (let k = 0; k < w; k++) dst[dstOffset + i + k] = src[srcOffset + i + w - 1 - k]!;
  }
}

/** Converts a hash-wasm saved state into a {@link HashState}. Internal. */
export function fromWasmState(algorithm: Algorithm, raw: Uint8Array): HashState {
  const p = SHA2[algorithm];
  const layout = WASM_LAYOUT[algorithm];
  const size = readLength(raw, layout.length);
  const chainingValue = new Uint8Array(p.hashSize);
  swapWords(raw, layout.hash, chainingValue, 0, p);
  const pending = raw.slice(layout.message, layout.message + (size % p.blockSize));
  return { algorithm, size, chainingValue, pending };
}

/**
 * Builds a hash-wasm saved state for `state` from `template`, a state saved by the same engine
 * right after `init()` (it supplies the binary fingerprint and the digest-length field). Internal.
 */
export function toWasmState(state: HashState, template: Uint8Array): Uint8Array {
  const p = SHA2[state.algorithm];
  const layout = WASM_LAYOUT[state.algorithm];
  const raw = template.slice();
  raw.fill(0, layout.message, layout.message + p.blockSize);
  raw.set(state.pending, layout.message);
  const view = new DataView(raw.buffer);
  view.setUint32(layout.length, state.size >>> 0, true);
  view.setUint32(layout.length + 4, Math.floor(state.size / 0x1_0000_0000), true);
  swapWords(state.chainingValue, 0, raw, layout.hash, p);
  return raw;
}

function incompatible(algorithm: Algorithm, reason: string): DigestError {
  return new DigestError(
    'HASH_ENGINE_INCOMPATIBLE',
    `the installed hash-wasm ${algorithm} keeps its state in an unrecognised layout (${reason}); ` +
      'refusing resumable hashing rather than risk wrong digests',
  );
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Proves that a hash-wasm engine stores its state as {@link WASM_LAYOUT} says, using states it
 * saved: `fresh` right after `init()`, `abc` after hashing the three bytes "abc". Internal.
 *
 * @throws {DigestError} `HASH_ENGINE_INCOMPATIBLE` naming the first discrepancy.
 */
export function checkLayout(algorithm: Algorithm, fresh: Uint8Array, abc: Uint8Array): void {
  const layout = WASM_LAYOUT[algorithm];
  const p = SHA2[algorithm];
  for (const [name, raw] of [
    ['initial', fresh],
    ['after "abc"', abc],
  ] as const) {
    if (raw.length !== layout.total) {
      throw incompatible(algorithm, `${name} state is ${raw.length} bytes, expected ${layout.total}`);
    }
    const digestLength = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(
      layout.digestLength,
      true,
    );
    if (digestLength !== p.hashSize) {
      throw incompatible(algorithm, `${name} digest length field is ${digestLength}, expected ${p.hashSize}`);
    }
    const state = fromWasmState(algorithm, raw);
    if (hex(state.chainingValue) !== INITIAL_HASH[algorithm]) {
      throw incompatible(algorithm, `${name} chaining value is not the FIPS 180-4 initial value`);
    }
  }
  if (readLength(fresh, layout.length) !== 0) throw incompatible(algorithm, 'initial length field is not 0');
  if (readLength(abc, layout.length) !== 3)
    throw incompatible(algorithm, 'length field is not 3 after "abc"');
  const m = layout.message;
  if (abc[m] !== 0x61 || abc[m + 1] !== 0x62 || abc[m + 2] !== 0x63) {
    throw incompatible(algorithm, 'pending bytes are not where expected');
  }
}

/** A hasher's saved hash-wasm state while another hasher holds the engine. */
export interface EngineSlot {
  raw: Uint8Array;
}

/**
 * One hash-wasm instance per algorithm, shared by every resumable hasher in this thread. A hasher
 * is just a saved state plus a byte count; the engine swaps states in and out (about 1 µs) only
 * when a different hasher uses it, so creating hashers is free and each costs ~200 bytes of memory
 * instead of a WebAssembly instance. JavaScript runs each update to completion, so sharing is safe.
 * Internal.
 */
export class WasmEngine {
  readonly algorithm: Algorithm;
  /** A saved state right after `init()`: the starting point of every new hasher. */
  readonly initial: Uint8Array;
  readonly #hasher: IHasher;
  #owner: EngineSlot | null = null;

  constructor(algorithm: Algorithm, hasher: IHasher) {
    this.algorithm = algorithm;
    this.#hasher = hasher;
    this.initial = hasher.init().save();
    checkLayout(
      algorithm,
      this.initial,
      hasher
        .init()
        .update(new Uint8Array([0x61, 0x62, 0x63]))
        .save(),
    );
    this.#selfTest();
  }

  /** Round-trips a mid-block state through HashState and checks the digest against node:crypto. */
  #selfTest(): void {
    const data = new Uint8Array(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    const head = data.subarray(0, 201); // several blocks plus a partial one, for either block size
    const state = fromWasmState(this.algorithm, this.#hasher.init().update(head).save());
    const got = this.#hasher.load(toWasmState(state, this.initial)).update(data.subarray(201)).digest('hex');
    this.#owner = null;
    if (state.size !== 201 || got !== nodeHash(this.algorithm, data, 'hex')) {
      throw incompatible(this.algorithm, 'a state rebuilt from its parts does not continue correctly');
    }
  }

  /** Loads `slot`'s state into the instance unless it is already there, parking the previous owner's. */
  activate(slot: EngineSlot): IHasher {
    if (this.#owner !== slot) {
      if (this.#owner !== null) this.#owner.raw = this.#hasher.save();
      this.#hasher.load(slot.raw);
      this.#owner = slot;
    }
    return this.#hasher;
  }

  /** The current hash-wasm state of `slot` (the live one if it holds the engine). */
  stateOf(slot: EngineSlot): Uint8Array {
    return this.#owner === slot ? this.#hasher.save() : slot.raw;
  }

  /** Finalizes `slot`'s computation and returns the hex digest; the slot must not be used again. */
  finalize(slot: EngineSlot): string {
    const digest = this.activate(slot).digest('hex');
    this.#owner = null;
    return digest;
  }
}

const engines = new Map<Algorithm, Promise<WasmEngine>>();

async function createEngine(algorithm: Algorithm): Promise<WasmEngine> {
  const hasher = algorithm === 'sha256' ? await createSHA256() : await createSHA512();
  return new WasmEngine(algorithm, hasher);
}

/**
 * The shared {@link WasmEngine} for `algorithm`, compiled, instantiated and checked on first use;
 * later calls return the same promise. A failed initialisation is not cached. Internal.
 *
 * @throws {DigestError} (rejects) `HASH_ENGINE_INCOMPATIBLE` if the layout check fails.
 */
export function getWasmEngine(algorithm: Algorithm): Promise<WasmEngine> {
  let engine = engines.get(algorithm);
  if (engine === undefined) {
    engine = createEngine(algorithm);
    engines.set(algorithm, engine);
    engine.catch(() => engines.delete(algorithm));
  }
  return engine;
}
