/**
 * Helpers for the CLI tests: a registry on the filesystem driver in a temp dir with its
 * config.yml, content pushed through registry-core's stores, and an in-process `berth` run with
 * captured output.
 */
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { createRegistry, type Registry, type Repository } from '@berth/registry-core';
import type { StorageDriver } from '@berth/storage-driver';
import { run } from './cli.ts';
import type { Io } from './io.ts';
import { openStorage } from './storage.ts';

const encoder = new TextEncoder();

/** A registry in a temp dir: its root, config file, driver and stores. */
export interface TempRegistry {
  readonly dir: string;
  readonly root: string;
  readonly config: string;
  readonly driver: StorageDriver;
  registry(): Registry;
  /** Sets the mtime of every file stored so far `ms` into the past. */
  age(ms: number): Promise<void>;
  remove(): Promise<void>;
}

/** Creates a {@link TempRegistry} with a minimal `config.yml` (`extraYaml` appended). */
export async function tempRegistry(extraYaml: string = ''): Promise<TempRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  const root = join(dir, 'root');
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n  delete:\n    enabled: true\n${extraYaml}`,
  );
  // The driver exactly as the commands open it (the CLI has no direct driver dependency).
  const { driver } = await openStorage(config, { ...silentIo(), cwd: dir }, true);
  return {
    dir,
    root,
    config,
    driver,
    registry: () => createRegistry({ driver, deleteEnabled: true }),
    async age(ms) {
      const then = new Date(Date.now() - ms);
      for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
        if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), then, then);
      }
    },
    remove: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }),
  };
}

/** UTF-8 bytes. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Uploads `content` into `repo`. */
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

/** A pushed image. */
export interface Image {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly config: Digest;
  readonly layers: Digest[];
  readonly platform: { os: string; architecture: string };
}

/** Pushes an image (config + `layers`) to `repo`. */
export async function pushImage(
  repo: Repository,
  seed: string,
  options: { tags?: string[]; layers?: Uint8Array[]; architecture?: string } = {},
): Promise<Image> {
  const architecture = options.architecture ?? 'amd64';
  const config = bytes(JSON.stringify({ architecture, os: 'linux', seed }));
  const layers = options.layers ?? [bytes(`${seed} layer `.repeat(100))];
  for (const blob of [config, ...layers]) await pushBlob(repo, blob);
  const d = (mediaType: string, content: Uint8Array) => ({
    mediaType,
    digest: digestOf(content),
    size: content.byteLength,
  });
  const manifest = bytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: d(MediaType.OciConfig, config),
      layers: layers.map((layer) => d(MediaType.OciLayerTarGzip, layer)),
    }),
  );
  await repo.manifests.put(manifest, {
    mediaType: MediaType.OciManifest,
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  return {
    digest: digestOf(manifest),
    size: manifest.byteLength,
    mediaType: MediaType.OciManifest,
    config: digestOf(config),
    layers: layers.map((l) => digestOf(l)),
    platform: { os: 'linux', architecture },
  };
}

/** Pushes an index of `children` to `repo`. */
export async function pushIndex(repo: Repository, children: Image[], tags: string[]): Promise<Digest> {
  const manifest = bytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: children.map((c) => ({
        mediaType: c.mediaType,
        digest: c.digest,
        size: c.size,
        platform: c.platform,
      })),
    }),
  );
  await repo.manifests.put(manifest, { mediaType: MediaType.OciIndex, tags });
  return digestOf(manifest);
}

/** An {@link Io} that discards everything. */
function silentIo(): Io {
  return { stdout: { write() {} }, stderr: { write() {} }, stderrIsTTY: false, env: {}, cwd: process.cwd() };
}

/** The outcome of an in-process `berth` run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `berth ...argv` in-process, capturing its output. */
export async function berth(
  argv: readonly string[],
  options: { tty?: boolean; env?: Record<string, string> } = {},
): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stderrIsTTY: options.tty === true,
    columns: 100,
    env: options.env ?? {},
    cwd: process.cwd(),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}
