import type { Digest } from '@berth/digest';
import type { Manifest } from '@berth/manifest';
import {
  createRegistry,
  isValidRepositoryName,
  listRepositories,
  mapLimit,
  type Repository,
} from '@berth/registry-core';
import type { StorageDriver } from '@berth/storage-driver';
import { configAndRest, parseCommandArgs } from '../args.ts';
import { CliError, ExitCode, usage } from '../errors.ts';
import { formatBytes, json, table } from '../format.ts';
import { createProgress, type Io } from '../io.ts';
import { openStorage } from '../storage.ts';
import type { Command } from './command.ts';

const HELP = `Usage: berth catalog [CONFIG] [REPOSITORY] [--json]

Without REPOSITORY: lists the repositories, in the order of GET /v2/_catalog.
With REPOSITORY: lists its tags with the digest, media type, platforms and size
(the manifest plus its configs and layers; for an index, all its children,
each blob counted once) of what each tag points at.

Options:
  --json       print the result as JSON on stdout
  -h, --help   show this help`;

const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** One tag as `berth catalog CONFIG REPO` reports it. */
export interface TagInfo {
  readonly tag: string;
  readonly digest: Digest | null;
  readonly mediaType: string | null;
  /** `os/architecture[/variant]` of the image, or of each child of an index. */
  readonly platforms: string[];
  /** Bytes of the manifest and everything it references (each blob once). */
  readonly size: number | null;
  /** Why the rest is null (manifest missing or unreadable). */
  readonly error?: string;
}

async function readJson(repo: Repository, digest: Digest): Promise<unknown> {
  const stream = await repo.blobs.open(digest);
  const parts: Uint8Array[] = [];
  for await (const chunk of stream as AsyncIterable<Uint8Array>) parts.push(chunk);
  return JSON.parse(Buffer.concat(parts).toString('utf8'));
}

function platformString(p: { os?: unknown; architecture?: unknown; variant?: unknown }): string | undefined {
  if (typeof p.os !== 'string' || typeof p.architecture !== 'string') return undefined;
  return [
    p.os,
    p.architecture,
    ...(typeof p.variant === 'string' && p.variant !== '' ? [p.variant] : []),
  ].join('/');
}

/** Platforms and size of a manifest tree. */
async function describe(
  repo: Repository,
  manifest: Manifest,
  size: number,
): Promise<{ platforms: string[]; size: number }> {
  const counted = new Set<string>();
  let total = size;
  const add = (digest: string, bytes: number): void => {
    if (counted.has(digest)) return;
    counted.add(digest);
    total += bytes;
  };
  const imagePlatform = async (image: Manifest): Promise<string | undefined> => {
    if (image.kind !== 'oci-manifest' && image.kind !== 'docker-manifest') return undefined;
    if (!IMAGE_CONFIG_TYPES.has(image.config.mediaType)) return undefined;
    try {
      return platformString((await readJson(repo, image.config.digest as Digest)) as Record<string, unknown>);
    } catch {
      return undefined;
    }
  };
  const addImage = (image: Manifest): void => {
    if (image.kind !== 'oci-manifest' && image.kind !== 'docker-manifest') return;
    add(image.config.digest, image.config.size);
    for (const layer of image.layers) add(layer.digest, layer.size);
  };
  if (manifest.kind === 'oci-index' || manifest.kind === 'docker-manifest-list') {
    const platforms: string[] = [];
    for (const child of manifest.manifests) {
      add(child.digest, child.size);
      const fromIndex = child.platform === undefined ? undefined : platformString(child.platform);
      let stored: Manifest | undefined;
      try {
        stored = (await repo.manifests.get(child.digest as Digest)).manifest;
      } catch {
        stored = undefined;
      }
      if (stored !== undefined) addImage(stored);
      const platform = fromIndex ?? (stored === undefined ? undefined : await imagePlatform(stored));
      if (platform !== undefined && !platforms.includes(platform)) platforms.push(platform);
    }
    return { platforms, size: total };
  }
  addImage(manifest);
  const platform = await imagePlatform(manifest);
  return { platforms: platform === undefined ? [] : [platform], size: total };
}

/** The tags of `name` with what they point at. @throws {CliError} `NOT_FOUND` */
export async function listTags(driver: StorageDriver, name: string, onTag?: () => void): Promise<TagInfo[]> {
  const repo = createRegistry({ driver }).repository(name);
  let tags: string[];
  try {
    tags = await repo.tags.list();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'NAME_UNKNOWN') {
      throw new CliError('NOT_FOUND', `repository ${JSON.stringify(name)} not found`);
    }
    throw err;
  }
  return mapLimit(tags, 8, async (tag): Promise<TagInfo> => {
    try {
      const digest = await repo.tags.resolve(tag);
      try {
        const stored = await repo.manifests.get(digest);
        const { platforms, size } = await describe(repo, stored.manifest, stored.bytes.byteLength);
        return { tag, digest, mediaType: stored.mediaType, platforms, size };
      } catch (err) {
        return { tag, digest, mediaType: null, platforms: [], size: null, error: (err as Error).message };
      }
    } catch (err) {
      return { tag, digest: null, mediaType: null, platforms: [], size: null, error: (err as Error).message };
    } finally {
      onTag?.();
    }
  });
}

/** Every repository name, in catalog order. */
export async function allRepositories(driver: StorageDriver): Promise<string[]> {
  const names: string[] = [];
  let last: string | undefined;
  for (;;) {
    const page = await listRepositories(driver, { n: 1000, ...(last === undefined ? {} : { last }) });
    names.push(...page.items);
    if (!page.more || page.items.length === 0) return names;
    last = page.items[page.items.length - 1];
  }
}

/** `berth catalog`. */
export const catalogCommand: Command = {
  name: 'catalog',
  summary: "list repositories, or a repository's tags with digest, media type, platforms, size",
  help: HELP,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return ExitCode.ok;
    }
    const { config, rest } = configAndRest(positionals, io, ['REPOSITORY']);
    const name = rest[0];
    if (name !== undefined && !isValidRepositoryName(name)) {
      throw usage(`invalid repository name ${JSON.stringify(name)}`);
    }
    const asJson = values.json === true;
    const { driver } = await openStorage(config, io, false);

    if (name === undefined) {
      const repositories = await allRepositories(driver);
      io.stdout.write(asJson ? json({ repositories }) : repositories.map((r) => `${r}\n`).join(''));
      return ExitCode.ok;
    }

    const progress = createProgress(io, !asJson);
    let done = 0;
    let tags: TagInfo[];
    try {
      tags = await listTags(driver, name, () => progress.update(`catalog: ${++done} tags read`));
    } finally {
      progress.done();
    }
    if (asJson) {
      io.stdout.write(json({ repository: name, tags }));
      return ExitCode.ok;
    }
    if (tags.length === 0) {
      io.stdout.write(`${name}: no tags\n`);
      return ExitCode.ok;
    }
    const rows = tags.map((t) => [
      t.tag,
      t.digest ?? '-',
      t.mediaType ?? `(${t.error ?? 'unknown'})`,
      t.platforms.length === 0 ? '-' : t.platforms.join(','),
      t.size === null ? '-' : formatBytes(t.size),
    ]);
    io.stdout.write(`${table(['TAG', 'DIGEST', 'MEDIA TYPE', 'PLATFORMS', 'SIZE'], rows, new Set([4]))}\n`);
    return ExitCode.ok;
  },
};
