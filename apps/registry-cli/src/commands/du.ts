import type { Digest } from '@berth/digest';
import {
  DEFAULT_GC_CONCURRENCY,
  isValidRepositoryName,
  ManifestRefsCache,
  markLive,
  scanBlobs,
  scanRepositories,
} from '@berth/registry-core';
import type { StorageDriver } from '@berth/storage-driver';
import { configAndRest, parseCommandArgs } from '../args.ts';
import { CliError, ExitCode, usage } from '../errors.ts';
import { formatBytes, json, plural, table } from '../format.ts';
import { createProgress, type Io } from '../io.ts';
import { openStorage } from '../storage.ts';
import type { Command } from './command.ts';

const HELP = `Usage: berth du [CONFIG] [REPOSITORY] [--json]

Disk usage per repository. A repository uses the blobs its manifests need
(every revision, tagged or not, with configs, layers and index children) and
the blobs linked into it. Blobs are stored once for the whole registry, so:
  UNIQUE  bytes only this repository uses (what deleting it would free)
  SHARED  bytes it shares with at least one other repository
The total line also shows the bytes no repository uses (what "berth gc" would
reclaim, grace window permitting).

Options:
  --json       print the result as JSON on stdout
  -h, --help   show this help`;

/** Usage of one repository. */
export interface RepositoryUsage {
  readonly repository: string;
  readonly blobs: number;
  readonly bytes: number;
  readonly uniqueBytes: number;
  readonly sharedBytes: number;
}

/** The whole registry's usage. */
export interface DiskUsage {
  readonly repositories: RepositoryUsage[];
  readonly total: {
    readonly blobs: number;
    readonly bytes: number;
    /** Blobs (and their bytes) no repository uses. */
    readonly unreferencedBlobs: number;
    readonly unreferencedBytes: number;
  };
}

/** Computes {@link DiskUsage} with one walk of the repositories and one of the blobs. */
export async function diskUsage(
  driver: StorageDriver,
  onProgress?: (text: string) => void,
  signal?: AbortSignal,
): Promise<DiskUsage> {
  const concurrency = DEFAULT_GC_CONCURRENCY;
  const walk = {
    onProgress: (phase: string, done: number) => onProgress?.(`du: ${phase}… ${done}`),
    ...(signal === undefined ? {} : { signal }),
  };
  const scans = await scanRepositories(driver, { concurrency, ...walk });
  const cache = new ManifestRefsCache(driver, concurrency);
  cache.onLoad = (n) => onProgress?.(`du: read manifests… ${n}`);
  const mark = await markLive(scans.values(), cache, {
    deleteUntagged: false,
    cutoff: Number.POSITIVE_INFINITY,
  });
  const blobs = await scanBlobs(driver, walk);

  const uses = new Map<string, Set<Digest>>();
  const users = new Map<Digest, number>();
  for (const repo of scans.values()) {
    const set = new Set<Digest>();
    const add = (digest: Digest): void => {
      if (blobs.has(digest)) set.add(digest);
    };
    for (const digest of mark.live.get(repo.name) ?? []) {
      add(digest);
      for (const blob of cache.get(digest)?.blobs ?? []) add(blob);
    }
    for (const digest of repo.layers.keys()) add(digest);
    uses.set(repo.name, set);
    for (const digest of set) users.set(digest, (users.get(digest) ?? 0) + 1);
  }

  const repositories: RepositoryUsage[] = [...uses.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([repository, set]) => {
      let bytes = 0;
      let uniqueBytes = 0;
      for (const digest of set) {
        const size = blobs.get(digest)!.size;
        bytes += size;
        if (users.get(digest) === 1) uniqueBytes += size;
      }
      return { repository, blobs: set.size, bytes, uniqueBytes, sharedBytes: bytes - uniqueBytes };
    });
  let bytes = 0;
  let unreferencedBlobs = 0;
  let unreferencedBytes = 0;
  for (const [digest, blob] of blobs) {
    bytes += blob.size;
    if (!users.has(digest)) {
      unreferencedBlobs++;
      unreferencedBytes += blob.size;
    }
  }
  return { repositories, total: { blobs: blobs.size, bytes, unreferencedBlobs, unreferencedBytes } };
}

/** `berth du`. */
export const duCommand: Command = {
  name: 'du',
  summary: 'bytes per repository, unique and shared',
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
    const progress = createProgress(io, !asJson);
    let usage_: DiskUsage;
    try {
      usage_ = await diskUsage(driver, (text) => progress.update(text), io.signal);
    } finally {
      progress.done();
    }
    let rows = usage_.repositories;
    if (name !== undefined) {
      rows = rows.filter((r) => r.repository === name);
      if (rows.length === 0) throw new CliError('NOT_FOUND', `repository ${JSON.stringify(name)} not found`);
    }
    if (asJson) {
      io.stdout.write(json(name === undefined ? usage_ : { repositories: rows, total: usage_.total }));
      return ExitCode.ok;
    }
    const body = rows.map((r) => [
      r.repository,
      String(r.blobs),
      formatBytes(r.bytes),
      formatBytes(r.uniqueBytes),
      formatBytes(r.sharedBytes),
    ]);
    io.stdout.write(
      `${table(['REPOSITORY', 'BLOBS', 'SIZE', 'UNIQUE', 'SHARED'], body, new Set([1, 2, 3, 4]))}\n`,
    );
    const t = usage_.total;
    io.stdout.write(
      `Total: ${plural(t.blobs, 'blob')}, ${formatBytes(t.bytes)} stored; ` +
        `${plural(t.unreferencedBlobs, 'blob')} (${formatBytes(t.unreferencedBytes)}) used by no repository.\n`,
    );
    return ExitCode.ok;
  },
};
