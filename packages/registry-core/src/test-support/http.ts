/**
 * Helpers for the HTTP API tests: a registry on the in-memory driver, and clients for the
 * upload and manifest flows, speaking HTTP to the app in-process.
 */
import { type Algorithm, type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { createInMemoryDriver, type StorageDriver } from '@berth/storage-driver';
import type { Hono } from 'hono';
import { expect } from 'vitest';
import { createRegistryApp, type RegistryAppOptions } from '../app/create-app.ts';
import type { RegistryAppEnv } from '../app/env.ts';
import { createRegistry } from '../registry.ts';
import type { Registry, RegistryOptions } from '../types.ts';

export const SECRET = 'test-secret';
export const ORIGIN = 'http://localhost';

export type App = Hono<RegistryAppEnv>;

export interface TestRegistry {
  readonly app: App;
  readonly registry: Registry;
  readonly driver: StorageDriver;
}

/** A registry over a fresh (or the given) in-memory driver, and its app. */
export function setup(
  options: {
    driver?: StorageDriver;
    registry?: Partial<Omit<RegistryOptions, 'driver'>>;
    app?: Partial<Omit<RegistryAppOptions, 'registry'>>;
  } = {},
): TestRegistry {
  const driver = options.driver ?? createInMemoryDriver();
  const registry = createRegistry({ driver, deleteEnabled: true, ...options.registry });
  const app = createRegistryApp({ registry, secret: SECRET, ...options.app });
  return { app, registry, driver };
}

const encoder = new TextEncoder();

/** Bytes and digest of a test blob. */
export function blob(
  content: string | Uint8Array,
  algorithm: Algorithm = 'sha256',
): { bytes: Uint8Array; digest: Digest } {
  const bytes = typeof content === 'string' ? encoder.encode(content) : content;
  return { bytes, digest: digestOf(bytes, algorithm) };
}

/** The JSON body of a response. */
export async function json<T = unknown>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** Asserts an OCI error response: status, JSON content type, first error code. */
export async function expectError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  const body = JSON.parse(text) as { errors: { code: string; message: string }[] };
  expect(body.errors[0]?.code, text).toBe(code);
  expect(typeof body.errors[0]?.message).toBe('string');
}

/** The path and query of a `Location` (absolute or relative). */
export function pathOf(location: string | null): string {
  expect(location).toBeTruthy();
  const url = new URL(location!, ORIGIN);
  return `${url.pathname}${url.search}`;
}

/** `POST /blobs/uploads/` → the upload location's path. */
export async function startUpload(app: App, name: string, query = ''): Promise<string> {
  const res = await app.request(`/v2/${name}/blobs/uploads/${query}`, { method: 'POST' });
  expect(res.status, await res.clone().text()).toBe(202);
  return pathOf(res.headers.get('location'));
}

/** Appends `?`/`&` parameters to a location path. */
export function withQuery(location: string, query: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${query}`;
}

/** Uploads a blob with POST then PUT (monolithic) and returns its digest. */
export async function pushBlob(app: App, name: string, content: string | Uint8Array): Promise<Digest> {
  const { bytes, digest } = blob(content);
  const location = await startUpload(app, name);
  const res = await app.request(withQuery(location, `digest=${digest}`), {
    method: 'PUT',
    body: bytes,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return digest;
}

/** Pushes a manifest and returns the response (expected 201). */
export async function pushManifest(
  app: App,
  name: string,
  reference: string,
  manifest: object | Uint8Array,
  mediaType?: string,
): Promise<{ response: Response; bytes: Uint8Array; digest: Digest }> {
  const bytes = manifest instanceof Uint8Array ? manifest : encoder.encode(JSON.stringify(manifest));
  const type =
    mediaType ??
    (manifest instanceof Uint8Array ? undefined : (manifest as { mediaType?: string }).mediaType);
  const response = await app.request(`/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    body: bytes,
    headers: type === undefined ? {} : { 'Content-Type': type },
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return { response, bytes, digest: digestOf(bytes) };
}

export interface PushedImage {
  readonly manifest: Record<string, unknown>;
  readonly bytes: Uint8Array;
  readonly digest: Digest;
  readonly blobs: ReadonlyMap<Digest, Uint8Array>;
}

/** Pushes the blobs of a small OCI image and its manifest under `reference`. */
export async function pushOciImage(
  app: App,
  name: string,
  reference: string,
  options: { seed?: string; layers?: number; mediaType?: 'oci' | 'docker' } = {},
): Promise<PushedImage> {
  const seed = options.seed ?? 'image';
  const docker = options.mediaType === 'docker';
  const blobs = new Map<Digest, Uint8Array>();
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  await pushBlob(app, name, config.bytes);
  blobs.set(config.digest, config.bytes);
  const layers = [];
  for (let i = 0; i < (options.layers ?? 2); i++) {
    const layer = blob(`${seed} layer ${i} ${'x'.repeat(100 * i)}`);
    await pushBlob(app, name, layer.bytes);
    blobs.set(layer.digest, layer.bytes);
    layers.push({
      mediaType: docker ? MediaType.DockerLayerTarGzip : MediaType.OciLayerTarGzip,
      digest: layer.digest,
      size: layer.bytes.byteLength,
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
    config: {
      mediaType: docker ? MediaType.DockerImageConfig : MediaType.OciConfig,
      digest: config.digest,
      size: config.bytes.byteLength,
    },
    layers,
  };
  const { bytes, digest } = await pushManifest(app, name, reference, manifest);
  return { manifest, bytes, digest, blobs };
}
