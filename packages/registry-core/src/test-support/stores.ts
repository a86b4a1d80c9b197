/**
 * Helpers for the store tests: drivers that count calls, byte helpers, and pushing content
 * through the stores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Algorithm, type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import type { StorageDriver } from '@berth/storage-driver';
import { expect } from 'vitest';
import type { Repository } from '../types.ts';

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Deterministic pseudo-random bytes. */
export function randomBytes(length: number, seed: number = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `data` as an async iterable of chunks of at most `size` bytes. */
export async function* chunked(data: Uint8Array, size: number = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, Math.min(i + size, data.byteLength));
}

/** Everything a stream yields, concatenated. */
export async function readAll(stream: Readable | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream as AsyncIterable<Uint8Array>) parts.push(chunk);
  return plain(Buffer.concat(parts));
}

/** A plain `Uint8Array` copy (a `Buffer` does not deep-equal a `Uint8Array` in vitest). */
export function plain(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}

/**
 * Asserts `actual` and `expected` hold the same bytes (vitest's deep equality is very slow on
 * large arrays): compares digests, so a failure message stays short.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect({ size: actual.byteLength, digest: digestOf(actual) }).toEqual({
    size: expected.byteLength,
    digest: digestOf(expected),
  });
}

/** `text` of a stored file. */
export async function textOf(driver: StorageDriver, path: string): Promise<string> {
  return new TextDecoder().decode(await driver.getContent(path));
}

/** Every file (not directory) stored in `driver`, sorted. */
export async function filesOf(driver: StorageDriver, under: string = '/'): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const info of driver.walk(under)) if (!info.isDir) files.push(info.path);
  } catch {
    return [];
  }
  return files.sort();
}

/** Counts of driver calls by method name. */
export type CallCounts = Record<string, number>;

/** `driver` with every method call counted in `counts`. */
export function countingDriver(driver: StorageDriver): { driver: StorageDriver; counts: CallCounts } {
  const counts: CallCounts = {};
  const proxy = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        counts[property] = (counts[property] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { driver: proxy, counts };
}

/** One driver call seen by {@link recordingDriver}: the method and its first argument. */
export interface DriverCall {
  readonly method: string;
  readonly path: unknown;
}

/**
 * `driver` with every call recorded in `calls`; when `fail` returns an error for a call, the
 * call rejects with it instead of reaching the driver.
 */
export function recordingDriver(
  driver: StorageDriver,
  fail?: (method: string, path: unknown) => Error | undefined,
): { driver: StorageDriver; calls: DriverCall[] } {
  const calls: DriverCall[] = [];
  const proxy = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        calls.push({ method: property, path: args[0] });
        const error = fail?.(property, args[0]);
        if (error !== undefined) return Promise.reject(error);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { driver: proxy, calls };
}

/** A fresh temporary directory and its cleanup. */
export async function tempDir(label: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `berth-core-${label}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
}

/** Uploads `content` into `repo` in one append and returns its digest. */
export async function pushBlob(
  repo: Repository,
  content: Uint8Array | string,
  algorithm: Algorithm = 'sha256',
): Promise<Digest> {
  const data = typeof content === 'string' ? bytes(content) : content;
  const digest = digestOf(data, algorithm);
  const upload = await repo.uploads.create({ algorithm });
  await upload.append(chunked(data));
  await upload.complete(digest);
  return digest;
}

/** A descriptor object for `data`. */
export function descriptorOf(
  data: Uint8Array,
  mediaType: string,
  extra: Record<string, unknown> = {},
): { mediaType: string; digest: Digest; size: number } & Record<string, unknown> {
  return { mediaType, digest: digestOf(data), size: data.byteLength, ...extra };
}

/** An OCI image manifest (as bytes) over the given config and layers. */
export function ociManifest(
  config: Uint8Array,
  layers: Uint8Array[],
  extra: Record<string, unknown> = {},
): Uint8Array {
  return bytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: descriptorOf(config, MediaType.OciConfig),
      layers: layers.map((layer) => descriptorOf(layer, MediaType.OciLayerTarGzip)),
      ...extra,
    }),
  );
}

/** Pushes the blobs of a small image and its manifest; returns the manifest's bytes and digest. */
export async function pushImage(
  repo: Repository,
  seed: string,
  options: { tags?: string[]; extra?: Record<string, unknown> } = {},
): Promise<{ bytes: Uint8Array; digest: Digest; config: Uint8Array; layers: Uint8Array[] }> {
  const config = bytes(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layers = [bytes(`${seed} layer 0`), bytes(`${seed} layer 1`)];
  for (const blob of [config, ...layers]) await pushBlob(repo, blob);
  const manifest = ociManifest(config, layers, options.extra);
  const result = await repo.manifests.put(manifest, {
    mediaType: MediaType.OciManifest,
    ...(options.tags ? { tags: options.tags } : {}),
  });
  return { bytes: manifest, digest: result.digest, config, layers };
}

/** The code of a rejected promise's error (fails the test if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  throw new Error('expected a rejection');
}
