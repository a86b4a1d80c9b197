import { type Algorithm, requireAlgorithm } from './algorithm.ts';
import { requireBytes } from './bytes.ts';
import { DigestError } from './errors.ts';
import { decodeHashState, encodeHashState } from './hash-state.ts';
import type { Digest } from './parse-digest.ts';
import {
  type EngineSlot,
  fromWasmState,
  getWasmEngine,
  toWasmState,
  type WasmEngine,
} from './wasm-engine.ts';

/**
 * An incremental hasher whose state can be saved to bytes and continued later, in this or any other
 * process (see {@link loadResumableHasher}).
 *
 * Lifecycle: `update()` and `save()` may be called in any order and any number of times; `save()`
 * does not disturb the hasher. `digest()` finalizes it: afterwards every method throws
 * `HASHER_FINALIZED`. To keep a state *and* learn the digest so far, call `save()` before
 * `digest()` (or load the saved state into a second hasher and finalize that one).
 */
export interface ResumableHasher {
  /** The algorithm this hasher computes. */
  readonly algorithm: Algorithm;
  /** Bytes hashed so far, including those hashed before the state was saved and loaded. */
  readonly size: number;
  /**
   * Hashes `chunk` (which may be reused by the caller once this returns).
   * @throws {DigestError} `HASHER_FINALIZED` after `digest()`.
   * @throws {TypeError} when `chunk` is not a `Uint8Array`.
   */
  update(chunk: Uint8Array): void;
  /**
   * Serializes the current state: a self-describing, checksummed byte string of at most 113
   * (`sha256`) or 209 (`sha512`) bytes, which {@link loadResumableHasher} accepts in any process
   * running any later version of this package. It contains up to one block of the most recent
   * content bytes verbatim, so store it with the same care as the content.
   * @throws {DigestError} `HASHER_FINALIZED` after `digest()`.
   */
  save(): Uint8Array;
  /**
   * Finalizes and returns the digest of every byte hashed, across all saves and loads.
   * @throws {DigestError} `HASHER_FINALIZED` when already finalized.
   */
  digest(): Digest;
}

class WasmResumableHasher implements ResumableHasher {
  readonly algorithm: Algorithm;
  readonly #engine: WasmEngine;
  readonly #slot: EngineSlot;
  #size: number;
  #finalized = false;

  constructor(engine: WasmEngine, raw: Uint8Array, size: number) {
    this.algorithm = engine.algorithm;
    this.#engine = engine;
    this.#slot = { raw };
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  #ensureOpen(method: string): void {
    if (this.#finalized) {
      throw new DigestError(
        'HASHER_FINALIZED',
        `${method} called after digest() on a ${this.algorithm} resumable hasher`,
      );
    }
  }

  update(chunk: Uint8Array): void {
    this.#ensureOpen('update()');
    requireBytes(chunk, 'ResumableHasher.update()');
    if (chunk.length === 0) return;
    this.#engine.activate(this.#slot).update(chunk);
    this.#size += chunk.length;
  }

  save(): Uint8Array {
    this.#ensureOpen('save()');
    const state = fromWasmState(this.algorithm, this.#engine.stateOf(this.#slot));
    if (state.size !== this.#size) {
      // Cannot happen unless the engine was corrupted; never hand out a state that would lie.
      throw new Error(`internal error: engine counted ${state.size} bytes, hasher counted ${this.#size}`);
    }
    return encodeHashState(state);
  }

  digest(): Digest {
    this.#ensureOpen('digest()');
    this.#finalized = true;
    const hex = this.#engine.finalize(this.#slot);
    this.#slot.raw = this.#engine.initial; // drop the content-bearing state
    return `${this.algorithm}:${hex}` as Digest;
  }
}

/**
 * Starts a {@link ResumableHasher} at zero bytes.
 *
 * Hashing runs in WebAssembly (hash-wasm), roughly 300 MiB/s for sha256 on a current x86 core —
 * several times slower than node:crypto with SHA extensions — so use `createDigester` whenever the
 * state never needs to leave the process. The first call per algorithm compiles and checks the
 * engine (a few milliseconds); later calls resolve almost immediately and share it.
 *
 * @param algorithm - `'sha256'` (default) or `'sha512'`.
 * @throws {DigestError} (rejects) `DIGEST_UNSUPPORTED_ALGORITHM` for any other algorithm;
 *   `HASH_ENGINE_INCOMPATIBLE` if the installed hash-wasm build fails the layout check.
 *
 * @example
 * ```ts
 * // PATCH handler, first chunk of an upload
 * const hasher = await createResumableHasher('sha256');
 * for await (const chunk of request) hasher.update(chunk);
 * await storage.putContent(`${uploadDir}/hashstates/sha256/${hasher.size}`, hasher.save());
 * ```
 */
export async function createResumableHasher(algorithm: Algorithm = 'sha256'): Promise<ResumableHasher> {
  const engine = await getWasmEngine(requireAlgorithm(algorithm));
  return new WasmResumableHasher(engine, engine.initial, 0);
}

/** What the caller knows about a saved state; a state that disagrees is rejected. */
export interface ResumableHasherExpectation {
  /** The algorithm the state must be for. */
  algorithm?: Algorithm;
  /** The number of bytes the state must have hashed (e.g. the upload's current offset). */
  size?: number;
}

/**
 * Continues a hash from a state produced by {@link ResumableHasher.save}, possibly in another
 * process, on another machine, by an older version of this package. The state's algorithm and byte
 * count come from the state itself; `expect` lets the caller insist on them.
 *
 * @param state - bytes returned by `save()`. Not retained: later changes to it have no effect.
 * @param expect - optional algorithm and/or byte count the state must match.
 * @returns a hasher positioned after the bytes the state covers.
 * @throws {DigestError} (rejects) `HASH_STATE_INVALID` when `state` is not a `Uint8Array`, is
 *   truncated or corrupted (length and CRC-32 are checked), has an unknown magic, format version or
 *   algorithm, or contradicts `expect`; `HASH_ENGINE_INCOMPATIBLE` as for
 *   {@link createResumableHasher}.
 *
 * @example
 * ```ts
 * // PATCH handler, next chunk, possibly on another replica
 * const hasher = await loadResumableHasher(savedState, { algorithm: 'sha256', size: uploadOffset });
 * for await (const chunk of request) hasher.update(chunk);
 * const digest = hasher.digest(); // or hasher.save() again
 * ```
 */
export async function loadResumableHasher(
  state: Uint8Array,
  expect: ResumableHasherExpectation = {},
): Promise<ResumableHasher> {
  const decoded = decodeHashState(state);
  if (expect.algorithm !== undefined && expect.algorithm !== decoded.algorithm) {
    throw new DigestError(
      'HASH_STATE_INVALID',
      `invalid resumable hash state: it is a ${decoded.algorithm} state, expected ${expect.algorithm}`,
    );
  }
  if (expect.size !== undefined && expect.size !== decoded.size) {
    throw new DigestError(
      'HASH_STATE_INVALID',
      `invalid resumable hash state: it covers ${decoded.size} bytes, expected ${expect.size}`,
    );
  }
  const engine = await getWasmEngine(decoded.algorithm);
  return new WasmResumableHasher(engine, toWasmState(decoded, engine.initial), decoded.size);
}
