/**
 * Online mark-and-sweep garbage collection over every repository. See `garbageCollect` and the
 * safety argument in `apps/registry-cli/README.md`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Digest } from '@berth/digest';
import { isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import type { BlobDescriptorCache } from '../cache/blob-descriptor-cache.ts';
import type { StorageChangeFeed } from '../cache/changes.ts';
import { mapLimit } from '../concurrency.ts';
import { digestParts, writeLink } from '../links.ts';
import { pathFor } from '../paths.ts';
import { ManifestRefsCache } from './manifest-refs.ts';
import { markLive } from './mark.ts';
import { type RepositoryScan, readTagHistory, scanBlobs, scanQuarantine, scanRepositories } from './scan.ts';

/** Default grace window: content written less than this long before the run is never deleted. */
export const DEFAULT_GC_GRACE_MS: number = 60 * 60 * 1000;

/**
 * Default settle time: how long GC waits between setting content aside and its final check, so
 * a manifest `PUT` that validated its references before they were set aside has written its
 * links by the time GC looks again.
 */
export const DEFAULT_GC_SETTLE_MS: number = 10_000;

/** Default number of storage operations GC keeps in flight. */
export const DEFAULT_GC_CONCURRENCY: number = 16;

/** The phases `onProgress` reports. */
export type GcPhase =
  | 'scan repositories'
  | 'read manifests'
  | 'scan blobs'
  | 'scan quarantine'
  | 'mark'
  | 'delete'
  | 'settle'
  | 'final check'
  | 'finish';

/** A progress report: `done` items of `phase` (out of `total` when known). */
export interface GcProgress {
  readonly phase: GcPhase;
  readonly done: number;
  readonly total?: number;
}

/** Options of {@link garbageCollect}. */
export interface GarbageCollectOptions {
  readonly driver: StorageDriver;
  /** Only report what would be deleted. @default false */
  readonly dryRun?: boolean;
  /**
   * Remove manifest revisions that no tag reaches (through index children and referrers), in
   * any repository. Without it every revision is kept, as registry:2 does. @default false
   */
  readonly deleteUntagged?: boolean;
  /**
   * Content (blob data, layer links, manifest revision links) written less than this many ms
   * before the run started is never deleted. @default 1 h
   */
  readonly graceMs?: number;
  /** See {@link DEFAULT_GC_SETTLE_MS}. @default 10 s */
  readonly settleMs?: number;
  /** Storage operations in flight at once. @default 16 */
  readonly concurrency?: number;
  /** The clock, in ms since the epoch. @default Date.now */
  readonly now?: () => number;
  readonly onProgress?: (progress: GcProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * The blob descriptor cache the registry serves from (Redis, shared with every replica):
   * a blob is cleared from it when set aside and again when deleted for good (so an entry a
   * read in flight wrote back meanwhile goes too), and a removed `_layers` link is cleared from
   * its repository. Without this, a replica could answer "exists" for a blob that is gone, and a
   * client would skip uploading it again (distribution/distribution#2945).
   */
  readonly blobDescriptorCache?: BlobDescriptorCache;
  /**
   * The feed the serving replicas listen on: each blob set aside is announced, and a `reset`
   * once the tentative deletions are made and again at the end, so no replica answers from
   * memory for links or blobs GC removed.
   */
  readonly changes?: StorageChangeFeed;
}

/** A manifest revision of one repository. */
export interface GcManifestEntry {
  readonly repository: string;
  readonly digest: Digest;
}

/** A blob of the global store. */
export interface GcBlobEntry {
  readonly digest: Digest;
  readonly size: number;
}

/** A `_layers` link of one repository. */
export interface GcLayerLinkEntry {
  readonly repository: string;
  readonly digest: Digest;
}

/** An entry of Berth's referrers index in one repository. */
export interface GcReferrerLinkEntry {
  readonly repository: string;
  readonly subject: Digest;
  readonly referrer: Digest;
}

/** What {@link garbageCollect} found and did. */
export interface GcReport {
  readonly dryRun: boolean;
  readonly deleteUntagged: boolean;
  readonly graceMs: number;
  /** ISO time the run started (the grace window ends here). */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly repositories: number;
  readonly manifests: {
    /** Manifest revisions over all repositories (a digest in two repositories counts twice). */
    readonly revisions: number;
    /** Of those, how many are kept. */
    readonly kept: number;
  };
  readonly blobs: {
    readonly count: number;
    readonly bytes: number;
    /** Blobs something live needs. */
    readonly marked: number;
    /** Unreferenced blobs kept because they were written (or linked) inside the grace window. */
    readonly recent: number;
    readonly recentBytes: number;
  };
  /** What was deleted (with `dryRun`: what would be). */
  readonly deleted: {
    readonly manifests: GcManifestEntry[];
    readonly blobs: GcBlobEntry[];
    /** `_layers` links whose blob is gone. */
    readonly layerLinks: GcLayerLinkEntry[];
    /** Referrers-index entries of deleted or missing manifests. */
    readonly referrerLinks: GcReferrerLinkEntry[];
    /** Tag history entries (`_manifests/tags/<tag>/index/…`) of deleted manifests. */
    readonly tagIndexEntries: number;
  };
  /**
   * What GC set aside and put back because something started using it during the run (a push
   * that raced with it). Empty in a dry run.
   */
  readonly restored: {
    readonly manifests: GcManifestEntry[];
    readonly blobs: GcBlobEntry[];
  };
  /** Bytes of blob data deleted (with `dryRun`: that would be). */
  readonly bytesReclaimed: number;
  /** Things worth an operator's attention (missing manifest content, dangling tags…). */
  readonly warnings: string[];
}

/** A tentative deletion: the link file and the digest it held, to write back if needed. */
interface RemovedLink {
  readonly path: string;
  readonly digest: Digest;
}

interface RemovedManifest extends GcManifestEntry {
  /** The revision link and the tag-history and referrers-index links removed with it. */
  readonly links: RemovedLink[];
  readonly tagIndexEntries: number;
}

function revisionLink(name: string, digest: Digest): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'manifestRevisionLink', name, algorithm, encoded });
}

function layerLink(name: string, digest: Digest): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'layerLink', name, algorithm, encoded });
}

function tagIndexLink(name: string, tag: string, digest: Digest): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'tagIndexEntryLink', name, tag, algorithm, encoded });
}

function referrerLink(name: string, subject: Digest, referrer: Digest): string {
  const s = digestParts(subject);
  const r = digestParts(referrer);
  return pathFor({
    kind: 'referrerLink',
    name,
    algorithm: s.algorithm,
    encoded: s.encoded,
    referrerAlgorithm: r.algorithm,
    referrerEncoded: r.encoded,
  });
}

function blobData(digest: Digest): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'blobData', algorithm, encoded });
}

function quarantined(digest: Digest): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'gcQuarantineBlob', algorithm, encoded });
}

/** Deletes `path`; false when it was already gone. */
async function remove(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.delete(path);
    return true;
  } catch (err) {
    if (isPathNotFound(err)) return false;
    throw err;
  }
}

async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    return !(await driver.stat(path)).isDir;
  } catch (err) {
    if (isPathNotFound(err)) return false;
    throw err;
  }
}

function byRepoDigest(a: GcManifestEntry, b: GcManifestEntry): number {
  return a.repository < b.repository
    ? -1
    : a.repository > b.repository
      ? 1
      : a.digest < b.digest
        ? -1
        : a.digest > b.digest
          ? 1
          : 0;
}

function byDigest(a: { digest: Digest }, b: { digest: Digest }): number {
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/**
 * Mark and sweep over every repository, safe to run while a registry serves the same storage.
 *
 * **Mark** (global): every repository's tags, recent revisions (and, without `deleteUntagged`,
 * all revisions), everything those reach through index children and `subject` referrers, and
 * the configs and layers of all of them. A blob is live if any repository needs it.
 *
 * **Sweep**: unmarked blobs whose data and every `_layers` link are older than the grace window;
 * with `deleteUntagged`, revisions no repository keeps, older than the grace window; the
 * `_layers` links of blobs that are gone; referrers-index entries of manifests that are gone.
 *
 * **Tentative, then final**: deletions are first tentative — blob data is moved to a
 * quarantine (`_berth/gc/quarantine/`), links are removed but remembered. After `settleMs`, the
 * repositories are scanned and marked again, and anything that became live meanwhile (a
 * manifest pushed that refers to it, a tag moved to it, a blob re-uploaded or mounted) is put
 * back before the rest is deleted for good. A run interrupted in between leaves blobs in the
 * quarantine; the next run puts back those that are live and deletes the others.
 */
export async function garbageCollect(options: GarbageCollectOptions): Promise<GcReport> {
  const { driver, signal } = options;
  const descriptors = options.blobDescriptorCache;
  const now = options.now ?? Date.now;
  const dryRun = options.dryRun === true;
  const deleteUntagged = options.deleteUntagged === true;
  const graceMs = Math.max(0, options.graceMs ?? DEFAULT_GC_GRACE_MS);
  const settleMs = Math.max(0, options.settleMs ?? DEFAULT_GC_SETTLE_MS);
  const concurrency = options.concurrency ?? DEFAULT_GC_CONCURRENCY;
  const progress = (phase: GcPhase, done: number, total?: number): void =>
    options.onProgress?.(total === undefined ? { phase, done } : { phase, done, total });
  const scanProgress = (phase: string, done: number, total?: number): void =>
    progress(phase as GcPhase, done, total);
  const walkOptions = { onProgress: scanProgress, ...(signal === undefined ? {} : { signal }) };

  const started = now();
  const cutoff = started - graceMs;
  const warnings: string[] = [];

  // ---- Scan and mark -------------------------------------------------------------------
  // The repositories (then the mark) and the blob store are read at the same time: the order
  // does not matter for safety (what appears after either scan is never deleted, or is caught by
  // the final check), and the two walks overlap their I/O.
  const cache = new ManifestRefsCache(driver, concurrency);
  cache.onLoad = (loaded) => {
    if ((loaded & 255) === 0) progress('read manifests', loaded);
  };
  const [[scan1, repos, mark1], blobs, leftovers] = await Promise.all([
    (async () => {
      const scan = await scanRepositories(driver, { concurrency, ...walkOptions });
      const sorted = [...scan.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      progress('mark', 0);
      return [scan, sorted, await markLive(sorted, cache, { deleteUntagged, cutoff })] as const;
    })(),
    scanBlobs(driver, walkOptions),
    scanQuarantine(driver, walkOptions),
  ]);
  signal?.throwIfAborted();

  for (const repo of repos) {
    for (const [digest] of repo.revisions) {
      if (cache.get(digest)?.status === 'missing') {
        warnings.push(`${repo.name}@${digest}: manifest revision whose content is missing`);
      }
    }
    for (const [tag, link] of repo.tags) {
      if (link.digest === undefined) warnings.push(`${repo.name}:${tag}: tag link is unreadable`);
      else if (!repo.revisions.has(link.digest)) {
        warnings.push(
          `${repo.name}:${tag}: tag points at ${link.digest}, which is not a revision of the repository`,
        );
      }
    }
  }

  /** Digests with a `_layers` link inside the grace window, in any repository. */
  const recentlyLinked = new Set<Digest>();
  for (const repo of repos) {
    for (const [digest, link] of repo.layers) if (link.modTime >= cutoff) recentlyLinked.add(digest);
  }

  const candidates: GcBlobEntry[] = [];
  let recent = 0;
  let recentBytes = 0;
  let totalBytes = 0;
  for (const [digest, blob] of blobs) {
    totalBytes += blob.size;
    if (mark1.blobs.has(digest)) continue;
    if (blob.modTime >= cutoff || recentlyLinked.has(digest)) {
      recent++;
      recentBytes += blob.size;
      continue;
    }
    candidates.push({ digest, size: blob.size });
  }
  const candidateSet = new Set(candidates.map((c) => c.digest));

  // Leftovers of an interrupted run: live ones go back, the rest is deleted with the candidates.
  const putBack: GcBlobEntry[] = [];
  const leftoverPurge: GcBlobEntry[] = [];
  for (const [digest, blob] of leftovers) {
    if (mark1.blobs.has(digest) || recentlyLinked.has(digest)) putBack.push({ digest, size: blob.size });
    else leftoverPurge.push({ digest, size: blob.size });
  }
  const restoring = new Set(putBack.map((b) => b.digest));
  /** Blobs whose data will not exist when the run ends. */
  const gone = (digest: Digest): boolean =>
    !mark1.blobs.has(digest) && (candidateSet.has(digest) || (!blobs.has(digest) && !restoring.has(digest)));

  // Manifests (only with deleteUntagged), their tag history and referrer entries.
  const manifestPlan: RemovedManifest[] = [];
  const referrerPlan: GcReferrerLinkEntry[] = [];
  const layerPlan: GcLayerLinkEntry[] = [];
  let revisionCount = 0;
  let keptCount = 0;
  const removedByRepo = new Map<string, Set<Digest>>();
  for (const repo of repos) {
    const live = mark1.live.get(repo.name) ?? new Set<Digest>();
    const removedHere = new Set<Digest>();
    for (const [digest, link] of repo.revisions) {
      revisionCount++;
      if (!deleteUntagged || live.has(digest) || link.modTime >= cutoff) keptCount++;
      else removedHere.add(digest);
    }
    if (removedHere.size > 0) removedByRepo.set(repo.name, removedHere);
    for (const link of repo.referrerLinks) {
      const referrerGone = removedHere.has(link.referrer) || !repo.revisions.has(link.referrer);
      if (referrerGone && (removedHere.has(link.referrer) || link.modTime < cutoff)) {
        referrerPlan.push({ repository: repo.name, subject: link.subject, referrer: link.referrer });
      }
    }
    for (const [digest, link] of repo.layers) {
      if (link.modTime < cutoff && gone(digest)) layerPlan.push({ repository: repo.name, digest });
    }
  }
  // The tag history entries of the manifests to remove (read only for those repositories).
  await mapLimit([...removedByRepo], concurrency, async ([name, removedHere]) => {
    const history = await readTagHistory(driver, name, removedHere, {
      concurrency,
      ...(signal === undefined ? {} : { signal }),
    });
    for (const digest of [...removedHere].sort()) {
      const tags = history.get(digest) ?? [];
      const links: RemovedLink[] = [{ path: revisionLink(name, digest), digest }];
      for (const tag of tags) links.push({ path: tagIndexLink(name, tag, digest), digest });
      manifestPlan.push({ repository: name, digest, links, tagIndexEntries: tags.length });
    }
  });

  const report = (
    deleted: GcReport['deleted'],
    restored: GcReport['restored'],
    bytesReclaimed: number,
  ): GcReport => ({
    dryRun,
    deleteUntagged,
    graceMs,
    startedAt: new Date(started).toISOString(),
    durationMs: now() - started,
    repositories: repos.length,
    manifests: { revisions: revisionCount, kept: keptCount },
    blobs: {
      count: blobs.size,
      bytes: totalBytes,
      marked: [...blobs.keys()].filter((d) => mark1.blobs.has(d)).length,
      recent,
      recentBytes,
    },
    deleted: {
      manifests: deleted.manifests
        .map(({ repository, digest }) => ({ repository, digest }))
        .sort(byRepoDigest),
      blobs: [...deleted.blobs].sort(byDigest),
      layerLinks: [...deleted.layerLinks].sort(byRepoDigest),
      referrerLinks: [...deleted.referrerLinks].sort((a, b) =>
        byRepoDigest(
          { repository: a.repository, digest: a.referrer },
          { repository: b.repository, digest: b.referrer },
        ),
      ),
      tagIndexEntries: deleted.tagIndexEntries,
    },
    restored: {
      manifests: [...restored.manifests].sort(byRepoDigest),
      blobs: [...restored.blobs].sort(byDigest),
    },
    bytesReclaimed,
    warnings,
  });

  const allPurged = [...candidates, ...leftoverPurge.filter((b) => !candidateSet.has(b.digest))];
  if (dryRun) {
    progress('finish', 1, 1);
    return report(
      {
        manifests: manifestPlan,
        blobs: allPurged,
        layerLinks: layerPlan,
        referrerLinks: referrerPlan,
        tagIndexEntries: manifestPlan.reduce((n, m) => n + m.tagIndexEntries, 0),
      },
      { manifests: [], blobs: [] },
      allPurged.reduce((n, b) => n + b.size, 0),
    );
  }

  // ---- Tentative deletion ---------------------------------------------------------------
  const total =
    putBack.length + manifestPlan.length + referrerPlan.length + layerPlan.length + candidates.length;
  let done = 0;
  const step = (): void => {
    done++;
    if ((done & 63) === 0 || done === total) progress('delete', done, total);
  };

  const restoredBlobs: GcBlobEntry[] = [];
  await mapLimit(putBack, concurrency, async (blob) => {
    await restoreBlob(driver, blob.digest);
    restoredBlobs.push(blob);
    step();
  });

  const removedManifests: RemovedManifest[] = [];
  await mapLimit(manifestPlan, concurrency, async (plan) => {
    // Tag history first, the revision link (links[0]) last: if GC stops midway, the revision
    // still exists and the next run decides again.
    const removed = new Set<string>();
    for (const link of [...plan.links].reverse()) if (await remove(driver, link.path)) removed.add(link.path);
    if (removed.has(plan.links[0]!.path)) {
      removedManifests.push({ ...plan, links: plan.links.filter((link) => removed.has(link.path)) });
    }
    step();
  });
  const removedReferrers: GcReferrerLinkEntry[] = [];
  await mapLimit(referrerPlan, concurrency, async (entry) => {
    if (await remove(driver, referrerLink(entry.repository, entry.subject, entry.referrer))) {
      removedReferrers.push(entry);
    }
    step();
  });
  const setAside: GcBlobEntry[] = [];
  await mapLimit(candidates, concurrency, async (blob) => {
    try {
      await driver.move(blobData(blob.digest), quarantined(blob.digest));
      setAside.push(blob);
      await descriptors?.clear(blob.digest);
      await options.changes?.publish({ kind: 'blob-removed', digest: blob.digest });
    } catch (err) {
      if (!isPathNotFound(err)) throw err;
    }
    step();
  });
  const inQuarantine = [...setAside, ...leftoverPurge.filter((b) => !candidateSet.has(b.digest))];
  // Manifest revision links and referrer links are gone (tentatively): replicas forget them.
  await options.changes?.publish({ kind: 'reset' });

  /**
   * Deletes the `_layers` links of `entries` whose blob is gone for good — each only if the
   * link has not been written again since the first scan (an upload or a mount relinked the
   * blob) and the blob's data is still absent.
   */
  const sweepLayerLinks = async (keep: (digest: Digest) => boolean): Promise<GcLayerLinkEntry[]> => {
    const deleted: GcLayerLinkEntry[] = [];
    await mapLimit(layerPlan, concurrency, async (entry) => {
      if (keep(entry.digest)) return;
      const path = layerLink(entry.repository, entry.digest);
      const before = scan1.get(entry.repository)?.layers.get(entry.digest);
      let modTime: number;
      try {
        modTime = (await driver.stat(path)).modTime.getTime();
      } catch (err) {
        if (isPathNotFound(err)) return;
        throw err;
      }
      if (before === undefined || modTime !== before.modTime) return;
      if (await exists(driver, blobData(entry.digest))) return;
      if (await remove(driver, path)) deleted.push(entry);
      await descriptors?.repository(entry.repository).clear(entry.digest);
      await options.changes?.publish({ kind: 'link-removed', path });
      step();
    });
    return deleted;
  };

  const nothingTentative =
    removedManifests.length === 0 && removedReferrers.length === 0 && inQuarantine.length === 0;
  if (nothingTentative) {
    // Only links to blobs that were already missing: nothing to settle.
    const deletedLayers = await sweepLayerLinks(() => false);
    progress('finish', 1, 1);
    return report(
      { manifests: [], blobs: [], layerLinks: deletedLayers, referrerLinks: [], tagIndexEntries: 0 },
      { manifests: [], blobs: restoredBlobs },
      0,
    );
  }

  // ---- Settle, then look again ------------------------------------------------------------
  // Interrupted from here on, GC still makes its final check and puts back what is live (the
  // tentative manifest deletions exist only in this process), but deletes nothing more: what it
  // set aside stays in the quarantine for the next run.
  progress('settle', 0, settleMs);
  let interrupted = signal?.aborted === true;
  if (settleMs > 0 && !interrupted) {
    try {
      await sleep(settleMs, undefined, signal === undefined ? {} : { signal });
    } catch (err) {
      if (signal?.aborted !== true) throw err;
      interrupted = true;
    }
  }
  progress('final check', 0);
  const scan2 = await scanRepositories(driver, { concurrency, onProgress: scanProgress });
  // Content that was missing may have been pushed since.
  for (const repo of scan2.values()) {
    for (const digest of repo.revisions.keys())
      if (cache.get(digest)?.status === 'missing') cache.forget(digest);
    for (const tag of repo.tags.values()) {
      if (tag.digest !== undefined && cache.get(tag.digest)?.status === 'missing') cache.forget(tag.digest);
    }
  }
  const extraRevisions = new Map<string, Set<Digest>>();
  for (const removed of removedManifests) {
    let set = extraRevisions.get(removed.repository);
    if (set === undefined) {
      set = new Set();
      extraRevisions.set(removed.repository, set);
    }
    set.add(removed.digest);
  }
  const repos2: RepositoryScan[] = [...scan2.values()];
  for (const name of extraRevisions.keys()) {
    if (!scan2.has(name)) {
      repos2.push({
        name,
        revisions: new Map(),
        tags: new Map(),
        layers: new Map(),
        referrerLinks: [],
      });
    }
  }
  const mark2 = await markLive(repos2, cache, { deleteUntagged, cutoff, extraRevisions });

  /** Blobs with a `_layers` link that is recent or was (re)written since the first scan. */
  const relinked = new Set<Digest>();
  for (const repo of scan2.values()) {
    const before = scan1.get(repo.name);
    for (const [digest, link] of repo.layers) {
      const old = before?.layers.get(digest);
      if (link.modTime >= cutoff || old === undefined || old.modTime !== link.modTime) relinked.add(digest);
    }
  }
  const protectedNow = (digest: Digest): boolean => mark2.blobs.has(digest) || relinked.has(digest);

  // ---- Put back what became live; delete the rest for good -------------------------------
  const restoredManifests: GcManifestEntry[] = [];
  const deletedManifests: RemovedManifest[] = [];
  await mapLimit(removedManifests, concurrency, async (removed) => {
    if (mark2.live.get(removed.repository)?.has(removed.digest)) {
      // The revision link last, mirroring how a push writes it after the content.
      for (const link of removed.links.slice(1)) await writeLink(driver, link.path, link.digest);
      const subject = cache.get(removed.digest)?.subject;
      if (subject !== undefined) {
        await writeLink(driver, referrerLink(removed.repository, subject, removed.digest), removed.digest);
      }
      await writeLink(driver, removed.links[0]!.path, removed.digest);
      restoredManifests.push({ repository: removed.repository, digest: removed.digest });
    } else {
      deletedManifests.push(removed);
    }
  });

  const deletedReferrers: GcReferrerLinkEntry[] = [];
  await mapLimit(removedReferrers, concurrency, async (entry) => {
    const repo = scan2.get(entry.repository);
    const back =
      repo?.revisions.has(entry.referrer) === true ||
      restoredManifests.some((m) => m.repository === entry.repository && m.digest === entry.referrer);
    if (back) {
      await writeLink(driver, referrerLink(entry.repository, entry.subject, entry.referrer), entry.referrer);
    } else {
      deletedReferrers.push(entry);
    }
  });

  const restoredDigests = new Set<Digest>();
  const deletedBlobs: GcBlobEntry[] = [];
  let bytesReclaimed = 0;
  await mapLimit(inQuarantine, concurrency, async (blob) => {
    if (protectedNow(blob.digest)) {
      await restoreBlob(driver, blob.digest);
      restoredDigests.add(blob.digest);
      restoredBlobs.push(blob);
      return;
    }
    if (interrupted || signal?.aborted) {
      interrupted = true;
      return;
    }
    if (await remove(driver, quarantined(blob.digest))) {
      deletedBlobs.push(blob);
      bytesReclaimed += blob.size;
    }
    await descriptors?.clear(blob.digest);
  });

  if (interrupted) throw signal?.reason ?? new Error('garbage collection interrupted');
  const deletedLayers = await sweepLayerLinks(
    (digest) => restoredDigests.has(digest) || protectedNow(digest),
  );
  await options.changes?.publish({ kind: 'reset' });

  progress('finish', 1, 1);
  return report(
    {
      manifests: deletedManifests,
      blobs: deletedBlobs,
      layerLinks: deletedLayers,
      referrerLinks: deletedReferrers,
      tagIndexEntries: deletedManifests.reduce((n, m) => n + m.tagIndexEntries, 0),
    },
    { manifests: restoredManifests, blobs: restoredBlobs },
    bytesReclaimed,
  );
}

/**
 * Moves a quarantined blob back to the blob store, or drops the quarantined copy when the blob
 * store has the data again (re-uploaded meanwhile: same digest, same bytes).
 */
async function restoreBlob(driver: StorageDriver, digest: Digest): Promise<void> {
  if (await exists(driver, blobData(digest))) {
    await remove(driver, quarantined(digest));
    return;
  }
  try {
    await driver.move(quarantined(digest), blobData(digest));
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
}
