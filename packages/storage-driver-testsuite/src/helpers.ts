import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { isStorageDriverError, type StorageDriver, type StorageDriverErrorCode } from '@berth/storage-driver';

/** 1 MiB. */
export const MiB: number = 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** ASCII text as bytes. */
export function text(value: string): Uint8Array {
  return encoder.encode(value);
}

/** Bytes as text, for readable assertion messages. */
export function decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Concatenates byte arrays into a new one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * A small deterministic generator of pseudo-random bytes (xorshift32), so large test files
 * need no stored fixtures and can be re-created chunk by chunk.
 */
export class PseudoRandom {
  #state: number;

  constructor(seed: number) {
    // xorshift32 must not start at 0.
    this.#state = (seed * 2654435761) >>> 0 || 0x9e3779b9;
  }

  #next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  /** Overwrites `target` with the next `target.byteLength` bytes of the sequence. */
  fill(target: Uint8Array): Uint8Array {
    const words = Math.floor(target.byteLength / 4);
    if (target.byteOffset % 4 === 0) {
      const view = new Uint32Array(target.buffer, target.byteOffset, words);
      for (let i = 0; i < words; i++) view[i] = this.#next();
    } else {
      const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
      for (let i = 0; i < words; i++) view.setUint32(i * 4, this.#next(), true);
    }
    if (words * 4 < target.byteLength) {
      const last = this.#next();
      for (let i = words * 4, shift = 0; i < target.byteLength; i++, shift += 8) {
        target[i] = (last >>> shift) & 0xff;
      }
    }
    return target;
  }

  /** The next `size` bytes of the sequence, in a new array. */
  bytes(size: number): Uint8Array {
    return this.fill(new Uint8Array(size));
  }
}

/** `size` pseudo-random bytes determined by `seed`. */
export function randomBytesFor(size: number, seed: number): Uint8Array {
  return new PseudoRandom(seed).bytes(size);
}

/** Hex sha256 of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new Error(
    `reader stream yielded a ${typeof chunk === 'string' ? 'string' : typeof chunk} chunk; it must yield bytes`,
  );
}

/** Reads a whole byte stream. */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunkBytes(chunk));
  return concatBytes(parts);
}

/** Reads a byte stream without keeping it, returning its size and hex sha256. */
export async function hashAll(stream: AsyncIterable<unknown>): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const bytes = chunkBytes(chunk);
    hash.update(bytes);
    size += bytes.byteLength;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Reads the file at `path` through `driver.reader`, from `offset`. */
export async function readVia(driver: StorageDriver, path: string, offset?: number): Promise<Uint8Array> {
  return readAll(await driver.reader(path, offset === undefined ? undefined : { offset }));
}

/** Collects an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

function preview(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (typeof value === 'object' && value !== null) {
    if ('size' in value && 'cancel' in value) return 'a writer';
    if ('pipe' in value) return 'a stream';
    try {
      return JSON.stringify(value).slice(0, 200);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** A one-line description of a thrown value, for assertion messages. */
export function describeError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { name, code, message } = err as { name?: unknown; code?: unknown; message?: unknown };
    return `${String(name)}${code === undefined ? '' : ` [${String(code)}]`}: ${String(message)}`;
  }
  return String(err);
}

/** Releases whatever a call that should have failed returned (a writer, a stream). */
async function release(value: unknown): Promise<void> {
  if (typeof value !== 'object' || value === null) return;
  const candidate = value as { cancel?: unknown; destroy?: unknown };
  try {
    if (typeof candidate.cancel === 'function') await (candidate.cancel as () => Promise<void>)();
    else if (typeof candidate.destroy === 'function') (candidate.destroy as () => void)();
  } catch {
    // best effort only
  }
}

/**
 * Asserts that `action` rejects with a storage driver error of `code` (checked by `code` and
 * `name`, never `instanceof`). Returns the error.
 */
export async function expectCode(
  action: Promise<unknown> | (() => unknown),
  code: StorageDriverErrorCode,
  label = 'call',
): Promise<Error> {
  let value: unknown;
  try {
    value = await (typeof action === 'function' ? action() : action);
  } catch (err) {
    if (isStorageDriverError(err, code)) return err;
    throw new Error(`${label}: expected a StorageDriverError with code ${code}, got ${describeError(err)}`, {
      cause: err,
    });
  }
  await release(value);
  throw new Error(`${label}: expected a rejection with code ${code}, but it resolved with ${preview(value)}`);
}

/** Asserts that `action` rejects with a storage driver error whose code is one of `codes`. */
export async function expectOneOfCodes(
  action: Promise<unknown> | (() => unknown),
  codes: readonly StorageDriverErrorCode[],
  label = 'call',
): Promise<Error> {
  let value: unknown;
  try {
    value = await (typeof action === 'function' ? action() : action);
  } catch (err) {
    if (codes.some((code) => isStorageDriverError(err, code))) return err as Error;
    throw new Error(
      `${label}: expected a StorageDriverError with code ${codes.join(' or ')}, got ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  await release(value);
  throw new Error(
    `${label}: expected a rejection (${codes.join(' or ')}), but it resolved with ${preview(value)}`,
  );
}

/**
 * Asserts byte equality with a short message (length and first differing offset) instead of
 * a diff of megabytes.
 */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, label = 'content'): void {
  if (!(actual instanceof Uint8Array)) {
    throw new Error(`${label}: expected a Uint8Array, got ${typeof actual}`);
  }
  const length = Math.min(actual.byteLength, expected.byteLength);
  let firstDiff = -1;
  for (let i = 0; i < length; i++) {
    if (actual[i] !== expected[i]) {
      firstDiff = i;
      break;
    }
  }
  if (firstDiff === -1 && actual.byteLength === expected.byteLength) return;
  const where = firstDiff === -1 ? `first ${length} bytes equal` : `first difference at byte ${firstDiff}`;
  const sample =
    expected.byteLength <= 64 && actual.byteLength <= 64
      ? ` (got ${JSON.stringify(decode(actual))}, expected ${JSON.stringify(decode(expected))})`
      : '';
  throw new Error(
    `${label}: got ${actual.byteLength} bytes, expected ${expected.byteLength}; ${where}${sample}`,
  );
}

/** Asserts that `actual` equals one of `candidates` wholly (never a mix of them). */
export function expectOneOf(
  actual: Uint8Array,
  candidates: readonly Uint8Array[],
  label = 'content',
): number {
  const index = candidates.findIndex(
    (candidate) => candidate.byteLength === actual.byteLength && Buffer.compare(candidate, actual) === 0,
  );
  if (index === -1) {
    throw new Error(
      `${label}: got ${actual.byteLength} bytes equal to none of the ${candidates.length} candidates ` +
        `(sizes ${candidates.map((c) => c.byteLength).join(', ')}); a partial or mixed write is visible`,
    );
  }
  return index;
}

/** Reads what is left of a stream whose iterator has already been started. */
export async function readRest(
  iterator: AsyncIterator<unknown>,
  first: readonly Uint8Array[] = [],
): Promise<Uint8Array> {
  const parts = [...first];
  for (;;) {
    const step = await iterator.next();
    if (step.done) break;
    if (!(step.value instanceof Uint8Array)) throw new Error('reader stream yielded a non-byte chunk');
    parts.push(step.value);
  }
  return concatBytes(parts);
}

/**
 * Asserts that `getContent`, a full `reader` and `stat` all agree that the file at `path` holds
 * exactly `expected`.
 */
export async function expectContent(
  driver: StorageDriver,
  path: string,
  expected: Uint8Array,
  label: string = path,
): Promise<void> {
  expectBytes(await driver.getContent(path), expected, `${label} (getContent)`);
  expectBytes(await readVia(driver, path), expected, `${label} (reader)`);
  const info = await driver.stat(path);
  if (info.size !== expected.byteLength || info.isDir) {
    throw new Error(
      `${label} (stat): got size ${info.size}, isDir ${info.isDir}; expected a file of ${expected.byteLength} bytes`,
    );
  }
}
