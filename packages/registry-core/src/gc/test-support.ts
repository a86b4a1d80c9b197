/**
 * Helpers for the GC tests: a storage "world" whose content can be made old (in-memory driver
 * with a faked clock, or the filesystem driver with `utimes`), pushing images, indexes and
 * referrers through the stores, and checking that a tag still pulls completely.
 */
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { createInMemoryDriver, isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { createFilesystemDriver } from '@berth/storage-driver-fs';
import { vi } from 'vitest';
import { digestParts } from '../links.ts';
import { pathFor } from '../paths.ts';
import { createRegistry } from '../registry.ts';
import type { Registry, Repository } from '../types.ts';

const encoder = new TextEncoder();

/** How old {@link World.old} makes content: well outside the default 1 h grace window. */
export const OLD_MS: number = 2 * 60 * 60 * 1000;

/** A storage driver plus the means to age what is written to it. */
export interface World {
  readonly kind: 'inmemory' | 'filesystem';
  readonly driver: StorageDriver;
  /** A fresh registry over the driver (no caches shared with earlier calls). */
  registry(): Registry;
  /** Runs `fn`; everything written so far (including by `fn`) ends up {@link OLD_MS} old. */
  old<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/** A world on the in-memory driver: `old` fakes `Date` while `fn` runs. */
export function memoryWorld(): World {
  const driver = createInMemoryDriver();
  return {
    kind: 'inmemory',
    driver,
    registry: () => createRegistry({ driver, deleteEnabled: true }),
    async old(fn) {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() - OLD_MS);
      try {
        return await fn();
      } finally {
        vi.useRealTimers();
      }
    },
    async close() {},
  };
}

/** A world on the filesystem driver in a temp dir: `old` sets every file's mtime back. */
export async function filesystemWorld(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-gc-'));
  const driver = createFilesystemDriver({ rootdirectory: dir });
  return {
    kind: 'filesystem',
    driver,
    registry: () => createRegistry({ driver, deleteEnabled: true }),
    async old(fn) {
      const result = await fn();
      const then = new Date(Date.now() - OLD_MS);
      for (const file of await filesUnder(dir)) await utimes(file, then, then);
      return result;
    },
    close: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }),
  };
}

/** Bytes of `text`. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Uploads `content` into `repo` and returns its digest. */
export async function pushBlob(repo: Repository, content: Uint8Array): Promise<Digest> {
  const digest = digestOf(content);
  const upload = await repo.uploads.create();
  await upload.append(
    (async function* () {
      yield content;
    })(),
  );
  await upload.complete(digest);
  return digest;
}

/** A descriptor as pushed in a manifest. */
export interface Pushed {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
}

/** A pushed image: its manifest descriptor and its blobs. */
export interface PushedImage extends Pushed {
  /** The manifest's bytes. */
  readonly bytes: Uint8Array;
  readonly config: Digest;
  readonly layers: readonly Digest[];
  readonly platform: { os: string; architecture: string };
}

function descriptor(mediaType: string, content: Uint8Array): Pushed {
  return { mediaType, digest: digestOf(content), size: content.byteLength };
}

/** Pushes an OCI image (config + `layers`, default two unique ones) to `repo`. */
export async function pushImage(
  repo: Repository,
  seed: string,
  options: {
    tags?: string[];
    layers?: Uint8Array[];
    architecture?: string;
    subject?: Pushed;
    artifactType?: string;
  } = {},
): Promise<PushedImage> {
  const architecture = options.architecture ?? 'amd64';
  const config = bytes(JSON.stringify({ architecture, os: 'linux', seed }));
  const layers = options.layers ?? [bytes(`${seed} layer 0 `.repeat(40)), bytes(`${seed} layer 1`)];
  for (const blob of [config, ...layers]) await pushBlob(repo, blob);
  const manifest = bytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      ...(options.artifactType === undefined ? {} : { artifactType: options.artifactType }),
      config: descriptor(MediaType.OciConfig, config),
      layers: layers.map((layer) => descriptor(MediaType.OciLayerTarGzip, layer)),
      ...(options.subject === undefined ? {} : { subject: options.subject }),
    }),
  );
  await repo.manifests.put(manifest, {
    mediaType: MediaType.OciManifest,
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  return {
    ...descriptor(MediaType.OciManifest, manifest),
    bytes: manifest,
    config: digestOf(config),
    layers: layers.map((layer) => digestOf(layer)),
    platform: { os: 'linux', architecture },
  };
}

/** Pushes an OCI index of already pushed `children` to `repo`. */
export async function pushIndex(
  repo: Repository,
  children: readonly PushedImage[],
  options: { tags?: string[] } = {},
): Promise<Pushed> {
  const manifest = bytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: children.map((child) => ({
        mediaType: child.mediaType,
        digest: child.digest,
        size: child.size,
        platform: child.platform,
      })),
    }),
  );
  await repo.manifests.put(manifest, {
    mediaType: MediaType.OciIndex,
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  return descriptor(MediaType.OciIndex, manifest);
}

/** Whether the blob's data is in the global store. */
export async function hasBlob(driver: StorageDriver, digest: string): Promise<boolean> {
  const { algorithm, encoded } = digestParts(digest);
  try {
    await driver.stat(pathFor({ kind: 'blobData', algorithm, encoded }));
    return true;
  } catch (err) {
    if (isPathNotFound(err)) return false;
    throw err;
  }
}

/** Whether `name` has a revision link for `digest`. */
export async function hasRevision(driver: StorageDriver, name: string, digest: string): Promise<boolean> {
  const { algorithm, encoded } = digestParts(digest);
  try {
    await driver.stat(pathFor({ kind: 'manifestRevisionLink', name, algorithm, encoded }));
    return true;
  } catch (err) {
    if (isPathNotFound(err)) return false;
    throw err;
  }
}

/**
 * Everything a client pulling `reference` (a tag or digest) from `name` would fetch, checked
 * through a fresh registry: the manifest (recursively for an index) and every config and layer,
 * each re-hashed. Rejects with the first thing missing or corrupt; returns the digests fetched.
 */
export async function pull(world: World, name: string, reference: string): Promise<Digest[]> {
  const repo = world.registry().repository(name);
  const digest = reference.includes(':') ? (reference as Digest) : await repo.tags.resolve(reference);
  const fetched: Digest[] = [];
  const visit = async (manifestDigest: Digest): Promise<void> => {
    const stored = await repo.manifests.get(manifestDigest);
    if (digestOf(stored.bytes) !== manifestDigest) throw new Error(`manifest ${manifestDigest} is corrupt`);
    fetched.push(manifestDigest);
    const manifest = stored.manifest;
    if (manifest.kind === 'oci-index' || manifest.kind === 'docker-manifest-list') {
      for (const child of manifest.manifests) await visit(child.digest as Digest);
      return;
    }
    for (const blob of [manifest.config, ...manifest.layers]) {
      const stream = await repo.blobs.open(blob.digest as Digest);
      const parts: Uint8Array[] = [];
      for await (const chunk of stream as AsyncIterable<Uint8Array>) parts.push(chunk);
      if (digestOf(Buffer.concat(parts)) !== blob.digest) throw new Error(`blob ${blob.digest} is corrupt`);
      fetched.push(blob.digest as Digest);
    }
  };
  await visit(digest);
  return fetched;
}

/**
 * `driver` with a hook run before each `walk` of `path` starts and after it ends (`n` counts the
 * walks of that path, from 1): lets a test act "between the mark of one repository and the
 * sweep".
 */
export function hookWalks(
  driver: StorageDriver,
  hook: (path: string, n: number, when: 'before' | 'after') => Promise<void>,
): StorageDriver {
  const counts = new Map<string, number>();
  return new Proxy(driver, {
    get(target, property, receiver) {
      if (property === 'walk') {
        return (path: string, options?: Parameters<StorageDriver['walk']>[1]) =>
          (async function* () {
            const n = (counts.get(path) ?? 0) + 1;
            counts.set(path, n);
            await hook(path, n, 'before');
            yield* target.walk(path, options);
            await hook(path, n, 'after');
          })();
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
