/**
 * Keeping the referrers index complete for manifests Berth did not receive itself.
 *
 * `ManifestStore.put` indexes a manifest's `subject` under `_berth/referrers/…`, but manifests
 * stored by registry:2 (before the swap, or during a rollback) or by an older Berth have no
 * entry. So before the referrers of repository R are listed, every manifest revision of R must
 * have been *checked*: read, and its referrer link written when it has a `subject`.
 *
 * ## Steady state: two `list` calls
 *
 * A scan lists `_manifests/revisions/sha256/` and `…/sha512/` and compares the digests with
 * the revisions already checked. Only the unchecked ones are read (revision link, then the
 * manifest through the registry's manifest cache or the blob store, without filling the cache).
 * What is "already checked" is known from:
 * - an in-process set per repository ({@link StoreContext.referrerScans}, an LRU over
 *   repositories bounded by entries and total digests), which `put` also adds to;
 * - a persisted scan record, `_berth/referrers-scanned` (one digest a line, rewritten atomically
 *   with `putContent` only when a scan checked something new), read when the repository is not
 *   in the in-process set, so a restart does not re-read every manifest. registry:2 never looks
 *   inside `_berth`. Revisions pushed through Berth's `put` are only added in-process: after a
 *   restart they are re-read once (their links already exist; writing them again is harmless).
 *
 * A listed revision whose link is missing (registry:2 deletes a manifest by deleting its `link`
 * and leaves the directory) is remembered as *absent* in-process only, so it is not re-read on
 * every request, and a restart re-checks it in case registry:2 pushed it again meanwhile.
 *
 * ## Consistency
 *
 * Scans of one repository are serialized within the process, and so is a manifest deletion
 * ({@link ReferrersIndex.removeRevision}): a scan cannot re-index a manifest being deleted, and
 * the deletion drops the digest from the set and the record, so if the same manifest is pushed
 * again later through registry:2 the next scan indexes it again. Across processes sharing the
 * storage nothing is locked: each rewrite of the record is the union of what is on disk and what
 * this process has checked, restricted to the revisions it just listed. That is safe enough
 * because the record only ever saves work (a digest missing from it is re-checked, and the
 * links written are idempotent); the worst a race can do is leave a digest of a deleted
 * referrer in the record, which only matters if registry:2 pushes that very manifest again, or
 * leave a link to a deleted revision, which `ReferrersStore.list` skips. Digests of revisions
 * that no longer exist are dropped whenever the record is rewritten; until then they are never
 * listed, so they are never consulted.
 *
 * Writes are best effort: when a referrer link cannot be written (read-only storage, a failing
 * driver) the scan still reports the referrer, the revision stays unchecked and the next scan
 * tries again; a record that cannot be written only costs re-reading on another process.
 */
import { ALGORITHMS, type Digest, isDigest } from '@berth/digest';
import { subjectOf } from '@berth/manifest';
import { baseName, isPathNotFound } from '@berth/storage-driver';
import { mapLimit } from './concurrency.ts';
import type { StoreContext } from './context.ts';
import { readLink, referrerLinkPath, revisionLinkPath, writeLink } from './links.ts';
import { loadManifest } from './manifest-load.ts';
import type { ManifestCacheEntry } from './manifest-store.ts';
import { pathFor } from './paths.ts';

/** How many unchecked revisions a scan reads at once. */
export const REFERRERS_SCAN_CONCURRENCY = 16;

/** What the process knows about the revisions of one repository (see {@link ReferrersIndex}). */
export interface ReferrersScanState {
  /**
   * Revisions whose `subject` is indexed or which have none (or whose content cannot be
   * parsed): never read again. Persisted in the scan record.
   */
  readonly checked: Set<Digest>;
  /** Revisions listed without a link (deleted by registry:2). In-process only. */
  readonly absent: Set<Digest>;
}

/** The result of {@link ReferrersIndex.scan}. */
export interface ReferrersScan {
  /**
   * Referrers found whose link could not be written (referrer digest → subject digest): the
   * caller must add them to what it reads from the index.
   */
  readonly unindexed: ReadonlyMap<Digest, Digest>;
}

/** The referrers-index upkeep of one repository; its state is shared through the context. */
export interface ReferrersIndex {
  /**
   * Makes sure every manifest revision of the repository has been checked for a `subject`,
   * writing the missing referrer links. Costs two `list` calls when nothing is new.
   */
  scan(): Promise<ReferrersScan>;
  /** Records that `digest` has just been stored with its referrer link written (`put`). */
  noteChecked(digest: Digest): void;
  /**
   * Runs `unlink` (which deletes the revision's links) exclusively with scans of this
   * repository, then forgets `digest` in-process and, when it had a `subject`, in the record.
   */
  removeRevision(digest: Digest, subject: string | undefined, unlink: () => Promise<void>): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NOTHING_UNINDEXED: ReferrersScan = { unindexed: new Map() };

/** Creates the referrers-index upkeep of repository `name` (validated by the caller). No I/O. */
export function createReferrersIndex(ctx: StoreContext, name: string): ReferrersIndex {
  const { driver } = ctx;
  const recordPath = pathFor({ kind: 'referrersScanRecord', name });

  /** The digests in the scan record (empty when there is none; junk lines are ignored). */
  const readRecord = async (): Promise<Set<Digest>> => {
    let bytes: Uint8Array;
    try {
      bytes = await driver.getContent(recordPath);
    } catch (err) {
      if (isPathNotFound(err)) return new Set();
      throw err;
    }
    const digests = new Set<Digest>();
    for (const line of decoder.decode(bytes).split('\n')) {
      const text = line.trim();
      if (isDigest(text)) digests.add(text);
    }
    return digests;
  };

  const writeRecord = async (digests: ReadonlySet<Digest>): Promise<void> => {
    const text = [...digests].sort().join('\n');
    await driver.putContent(recordPath, encoder.encode(text === '' ? '' : `${text}\n`));
  };

  /** Every revision directory of the repository, as digests (empty for an unknown repository). */
  const listRevisions = async (): Promise<Set<Digest>> => {
    const listed = new Set<Digest>();
    for (const algorithm of ALGORITHMS) {
      let entries: string[];
      try {
        entries = await driver.list(pathFor({ kind: 'manifestRevisionsOf', name, algorithm }));
      } catch (err) {
        if (isPathNotFound(err)) continue;
        throw err;
      }
      for (const entry of entries) {
        const digest = `${algorithm}:${baseName(entry)}`;
        if (isDigest(digest)) listed.add(digest);
      }
    }
    return listed;
  };

  /** Checks one revision: reads it and writes its referrer link when it has a subject. */
  const check = async (
    digest: Digest,
  ): Promise<{ kind: 'checked' } | { kind: 'absent' } | { kind: 'unindexed'; subject: Digest }> => {
    if ((await readLink(driver, revisionLinkPath(name, digest))) !== digest) return { kind: 'absent' };
    let entry: ManifestCacheEntry;
    try {
      entry = await loadManifest(ctx, digest, { cache: false });
    } catch (err) {
      // Content gone or not a manifest Berth can parse: it can never be served as a referrer.
      if ((err as { code?: unknown }).code === 'MANIFEST_UNKNOWN') return { kind: 'checked' };
      throw err;
    }
    const subject = subjectOf(entry.manifest)?.digest;
    if (subject === undefined || !isDigest(subject)) return { kind: 'checked' };
    // A referrer is about to be listed (its descriptor is built from it): keep it parsed.
    ctx.manifests.set(digest, entry);
    try {
      await writeLink(driver, referrerLinkPath(name, subject, digest), digest);
    } catch {
      return { kind: 'unindexed', subject };
    }
    return { kind: 'checked' };
  };

  /**
   * Rewrites the record as (record ∩ `listed`) ∪ `checked` (already restricted to the listed
   * revisions, plus any `put` noted since), when that changes it. Best effort.
   */
  const persist = async (checked: Set<Digest>, listed: ReadonlySet<Digest>): Promise<void> => {
    try {
      const onDisk = await readRecord();
      const merged = new Set<Digest>();
      for (const digest of onDisk) {
        if (listed.has(digest)) {
          merged.add(digest);
          checked.add(digest); // checked by another process: no need to read it here
        }
      }
      for (const digest of checked) merged.add(digest);
      if (merged.size === onDisk.size && [...merged].every((digest) => onDisk.has(digest))) return;
      await writeRecord(merged);
    } catch {
      // Only costs re-reading these revisions on a process that does not know them yet.
    }
  };

  const scanLocked = async (): Promise<ReferrersScan> => {
    const listed = await listRevisions();
    let state = ctx.referrerScans.get(name);
    // Whether the record names revisions that are gone: rewritten below, so that a manifest
    // deleted and later pushed again by registry:2 is not taken as checked after a restart.
    let stale = false;
    if (state === undefined) {
      // An unknown or empty repository: nothing to check, nothing worth remembering.
      if (listed.size === 0) return NOTHING_UNINDEXED;
      state = { checked: await readRecord(), absent: new Set() };
      stale = [...state.checked].some((digest) => !listed.has(digest));
    }
    // Forget revisions that are gone (deleted since), so a later push of one is checked again.
    for (const set of [state.checked, state.absent]) {
      for (const digest of set) if (!listed.has(digest)) set.delete(digest);
    }
    const { checked, absent } = state;
    const unchecked = [...listed].filter((digest) => !checked.has(digest) && !absent.has(digest));
    const unindexed = new Map<Digest, Digest>();
    let added = false;
    if (unchecked.length > 0) {
      const results = await mapLimit(unchecked, REFERRERS_SCAN_CONCURRENCY, check);
      results.forEach((result, i) => {
        const digest = unchecked[i]!;
        if (result.kind === 'checked') {
          checked.add(digest);
          added = true;
        } else if (result.kind === 'absent') {
          absent.add(digest);
        } else {
          unindexed.set(digest, result.subject);
        }
      });
    }
    if (added || stale) await persist(checked, listed);
    ctx.referrerScans.set(name, state); // also re-weighs it
    return unindexed.size === 0 ? NOTHING_UNINDEXED : { unindexed };
  };

  return {
    scan() {
      return ctx.referrerLocks.run(name, scanLocked);
    },

    noteChecked(digest) {
      // Only into a loaded state: a fresh one would hide the persisted record from the next scan.
      ctx.referrerScans.get(name)?.checked.add(digest);
    },

    removeRevision(digest, subject, unlink) {
      return ctx.referrerLocks.run(name, async () => {
        await unlink();
        const state = ctx.referrerScans.get(name);
        state?.checked.delete(digest);
        state?.absent.delete(digest);
        // A manifest without a subject needs no index entry if it is ever pushed again.
        if (subject === undefined) return;
        const recorded = await readRecord();
        if (recorded.delete(digest)) await writeRecord(recorded);
      });
    },
  };
}
