/**
 * Reading the whole registry into memory for garbage collection and the operator tools: one
 * walk of `repositories/` (every repository's revision, tag, layer and referrer links), one walk
 * of `blobs/`, one of GC's quarantine. Each walk is a single driver `walk`, so a cloud driver
 * lists keys page by page instead of issuing one request per directory.
 */
import { type Digest, isDigest } from '@berth/digest';
import { baseName, type FileInfo, isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { readLink } from '../links.ts';
import { pathFor } from '../paths.ts';
import { createLimiter } from './limiter.ts';

/** A link file as the scan saw it. */
export interface ScannedLink {
  /** The link file's modification time, in ms since the epoch. */
  readonly modTime: number;
}

/** A tag's `current/link`. */
export interface ScannedTag extends ScannedLink {
  /** The digest the tag points at; `undefined` when the link is unreadable or not a digest. */
  readonly digest: Digest | undefined;
}

/** An entry of Berth's referrers index (`_berth/referrers/<subject>/<referrer>/link`). */
export interface ScannedReferrerLink extends ScannedLink {
  readonly subject: Digest;
  readonly referrer: Digest;
}

/** Everything GC needs to know about one repository's links. */
export interface RepositoryScan {
  readonly name: string;
  /** Manifest revisions (`_manifests/revisions/<alg>/<hex>/link`), by digest (from the path). */
  readonly revisions: Map<Digest, ScannedLink>;
  /** Tags (`_manifests/tags/<tag>/current/link`), by name. */
  readonly tags: Map<string, ScannedTag>;
  /** Blobs linked into the repository (`_layers/<alg>/<hex>/link`), by digest (from the path). */
  readonly layers: Map<Digest, ScannedLink>;
  /** Berth's referrers-index entries. */
  readonly referrerLinks: ScannedReferrerLink[];
}

/** A blob's `data` file (or a quarantined copy) as a walk saw it. */
export interface ScannedBlob {
  readonly size: number;
  /** Modification time of the data, in ms since the epoch. */
  readonly modTime: number;
}

/** Progress callback of the scans: `done` items of the named phase so far. */
export type ScanProgress = (phase: string, done: number, total?: number) => void;

/** Options of {@link scanRepositories}. */
export interface ScanRepositoriesOptions {
  /** How many tag links are read at once. @default 32 */
  readonly concurrency?: number;
  readonly onProgress?: ScanProgress;
  readonly signal?: AbortSignal;
}

/** `<alg>:<hex>` when valid. */
function digestFrom(algorithm: string | undefined, encoded: string | undefined): Digest | undefined {
  if (algorithm === undefined || encoded === undefined) return undefined;
  const digest = `${algorithm}:${encoded}`;
  return isDigest(digest) ? digest : undefined;
}

function emptyRepository(name: string): RepositoryScan {
  return {
    name,
    revisions: new Map(),
    tags: new Map(),
    layers: new Map(),
    referrerLinks: [],
  };
}

/** Options of {@link readTagHistory}. */
export interface ReadTagHistoryOptions {
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

/**
 * Finds the repositories under `repositories/`: every directory holding a `_manifests`,
 * `_layers` or `_berth` directory. The walk never descends into those (nor into anything
 * starting with `_`), so it costs about one listing per repository.
 */
async function findRepositories(
  driver: StorageDriver,
  root: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const names = new Set<string>();
  const walk = driver.walk(root, {
    descend: (dir) => !baseName(dir.path).startsWith('_'),
    ...(signal === undefined ? {} : { signal }),
  });
  try {
    for await (const info of walk) {
      const base = baseName(info.path);
      if (!info.isDir || (base !== '_manifests' && base !== '_layers' && base !== '_berth')) continue;
      const name = info.path.slice(root.length + 1, info.path.length - base.length - 1);
      if (name !== '') names.add(name);
    }
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
  return [...names];
}

/**
 * Reads every repository's links: revision, tag (`current/link`, whose digests are read too),
 * layer and referrers-index links, with their modification times. Repositories are found with
 * one walk that stops at each repository's `_…` directories, then walked one by one, several
 * at once. Upload directories and each tag's history (`tags/<tag>/index/`, which grows with
 * every push to the tag) are not descended into. A revision or tag directory without its `link`
 * file (how registry:2 deletes) does not count.
 */
export async function scanRepositories(
  driver: StorageDriver,
  options: ScanRepositoriesOptions = {},
): Promise<Map<string, RepositoryScan>> {
  const root = pathFor({ kind: 'repositories' });
  const concurrency = options.concurrency ?? 32;
  const signal = options.signal;
  const names = await findRepositories(driver, root, signal);
  const repositories = new Map<string, RepositoryScan>();
  for (const name of names.sort()) repositories.set(name, emptyRepository(name));
  const limit = createLimiter(concurrency);
  let seen = 0;
  let scanned = 0;

  const scanOne = async (repo: RepositoryScan): Promise<void> => {
    const base = `${root}/${repo.name}`;
    const tagLinks: { tag: string; path: string; modTime: number }[] = [];
    const walk = driver.walk(base, {
      descend: (dir) => {
        const parts = dir.path.slice(base.length + 1).split('/');
        const first = parts[0]!;
        // A nested repository (`a/b` inside `a`) is scanned on its own.
        if (!first.startsWith('_')) return false;
        if (first === '_uploads') return false;
        // `_manifests/tags/<tag>/index`: the tag's history, read only when needed.
        return !(first === '_manifests' && parts[1] === 'tags' && parts.length === 4 && parts[3] === 'index');
      },
      ...(signal === undefined ? {} : { signal }),
    });
    try {
      for await (const info of walk) {
        seen++;
        if ((seen & 4095) === 0) options.onProgress?.('scan repositories', scanned, repositories.size);
        if (info.isDir || baseName(info.path) !== 'link') continue;
        const parts = info.path.slice(base.length + 1).split('/');
        const rest = parts.slice(1);
        const modTime = info.modTime.getTime();
        switch (parts[0]) {
          case '_manifests':
            if (rest[0] === 'revisions' && rest.length === 4) {
              const digest = digestFrom(rest[1], rest[2]);
              if (digest !== undefined) repo.revisions.set(digest, { modTime });
            } else if (rest[0] === 'tags' && rest.length === 4 && rest[2] === 'current') {
              tagLinks.push({ tag: rest[1]!, path: info.path, modTime });
            }
            break;
          case '_layers': {
            const digest = rest.length === 3 ? digestFrom(rest[0], rest[1]) : undefined;
            if (digest !== undefined) repo.layers.set(digest, { modTime });
            break;
          }
          case '_berth': {
            if (rest[0] !== 'referrers' || rest.length !== 6) break;
            const subject = digestFrom(rest[1], rest[2]);
            const referrer = digestFrom(rest[3], rest[4]);
            if (subject !== undefined && referrer !== undefined) {
              repo.referrerLinks.push({ subject, referrer, modTime });
            }
            break;
          }
        }
      }
    } catch (err) {
      // Deleted meanwhile: the repository is simply empty.
      if (!isPathNotFound(err)) throw err;
    }
    for (const { tag, path, modTime } of tagLinks) {
      // A link deleted meanwhile reads as no digest, which protects and deletes nothing.
      repo.tags.set(tag, { digest: await readLink(driver, path), modTime });
    }
    scanned++;
  };

  await Promise.all([...repositories.values()].map((repo) => limit(() => scanOne(repo))));
  options.onProgress?.('scan repositories', scanned, repositories.size);
  return repositories;
}

/**
 * Which tags' histories (`_manifests/tags/<tag>/index/<alg>/<hex>/link`) in repository `name`
 * hold each of `digests`: digest → tags. One listing per tag and algorithm.
 */
export async function readTagHistory(
  driver: StorageDriver,
  name: string,
  digests: ReadonlySet<Digest>,
  options: ReadTagHistoryOptions = {},
): Promise<Map<Digest, string[]>> {
  const found = new Map<Digest, string[]>();
  if (digests.size === 0) return found;
  const signal = options.signal === undefined ? {} : { signal: options.signal };
  let tagDirs: string[];
  try {
    tagDirs = await driver.list(pathFor({ kind: 'tags', name }), signal);
  } catch (err) {
    if (isPathNotFound(err)) return found;
    throw err;
  }
  const algorithms = new Set([...digests].map((d) => d.slice(0, d.indexOf(':'))));
  const limit = createLimiter(options.concurrency ?? 16);
  await Promise.all(
    tagDirs.map((dir) =>
      limit(async () => {
        const tag = baseName(dir);
        for (const algorithm of algorithms) {
          let entries: string[];
          try {
            entries = await driver.list(`${dir}/index/${algorithm}`, signal);
          } catch (err) {
            if (isPathNotFound(err)) continue;
            throw err;
          }
          for (const entry of entries) {
            const digest = digestFrom(algorithm, baseName(entry));
            if (digest === undefined || !digests.has(digest)) continue;
            const tags = found.get(digest);
            if (tags === undefined) found.set(digest, [tag]);
            else tags.push(tag);
          }
        }
      }),
    ),
  );
  return found;
}

/**
 * Walks a directory of `<alg>/<2 hex>/<hex>/data` (`blobs/`) or `<alg>/<hex>` (the quarantine)
 * and returns every blob it holds. Paths that do not follow the layout are ignored (registry:2
 * would never serve them either; `berth verify` reports them).
 */
async function walkBlobFiles(
  driver: StorageDriver,
  root: string,
  layout: 'blobs' | 'quarantine',
  onProgress?: ScanProgress,
  signal?: AbortSignal,
): Promise<Map<Digest, ScannedBlob>> {
  const blobs = new Map<Digest, ScannedBlob>();
  let seen = 0;
  const depth = layout === 'blobs' ? 4 : 2;
  const walk = driver.walk(root, {
    descend: (dir: FileInfo) => dir.path.slice(root.length + 1).split('/').length < depth,
    ...(signal === undefined ? {} : { signal }),
  });
  try {
    for await (const info of walk) {
      if (info.isDir) continue;
      seen++;
      if ((seen & 1023) === 0) onProgress?.(layout === 'blobs' ? 'scan blobs' : 'scan quarantine', seen);
      const parts = info.path.slice(root.length + 1).split('/');
      let digest: Digest | undefined;
      if (layout === 'blobs') {
        if (parts.length !== 4 || parts[3] !== 'data') continue;
        digest = digestFrom(parts[0], parts[2]);
        if (digest === undefined || parts[1] !== parts[2]!.slice(0, 2)) continue;
      } else {
        if (parts.length !== 2) continue;
        digest = digestFrom(parts[0], parts[1]);
        if (digest === undefined) continue;
      }
      blobs.set(digest, { size: info.size, modTime: info.modTime.getTime() });
    }
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
  return blobs;
}

/** Every blob in the global store (`blobs/<alg>/<2 hex>/<hex>/data`), in one walk. */
export function scanBlobs(
  driver: StorageDriver,
  options: { readonly onProgress?: ScanProgress; readonly signal?: AbortSignal } = {},
): Promise<Map<Digest, ScannedBlob>> {
  return walkBlobFiles(driver, pathFor({ kind: 'blobs' }), 'blobs', options.onProgress, options.signal);
}

/** Every blob `berth gc` has set aside and not yet restored or deleted (an interrupted run). */
export function scanQuarantine(
  driver: StorageDriver,
  options: { readonly onProgress?: ScanProgress; readonly signal?: AbortSignal } = {},
): Promise<Map<Digest, ScannedBlob>> {
  return walkBlobFiles(
    driver,
    pathFor({ kind: 'gcQuarantine' }),
    'quarantine',
    options.onProgress,
    options.signal,
  );
}
