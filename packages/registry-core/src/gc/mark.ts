/**
 * The mark phase: which manifests each repository keeps, and which blobs anything kept needs.
 */
import type { Digest } from '@berth/digest';
import type { ManifestRefsCache } from './manifest-refs.ts';
import type { RepositoryScan } from './scan.ts';

/** Options of {@link markLive}. */
export interface MarkOptions {
  /**
   * Whether untagged manifests can die. When false every manifest revision of a repository is
   * live (registry:2's `garbage-collect` without `--delete-untagged`).
   */
  readonly deleteUntagged: boolean;
  /**
   * The grace cutoff, in ms since the epoch: a revision whose link was written at or after it
   * is live (it was pushed recently: an index's children arrive before the index is tagged).
   */
  readonly cutoff: number;
  /**
   * Revisions to treat as present in addition to those scanned (repository → digests), never as
   * recent: GC's final check passes the revisions it removed tentatively, so anything that
   * started referring to them again brings them back.
   */
  readonly extraRevisions?: ReadonlyMap<string, ReadonlySet<Digest>>;
}

/** The result of {@link markLive}. */
export interface MarkResult {
  /**
   * Repository → the manifests it keeps: those its tags point at, recent revisions, everything
   * they reach through index children and `subject` referrers — and, with `deleteUntagged`
   * off, every revision. May include digests the repository has no revision of (an index child
   * stored elsewhere); those are kept as blobs, not re-linked.
   */
  readonly live: Map<string, Set<Digest>>;
  /** Every manifest live in at least one repository. */
  readonly liveManifests: Set<Digest>;
  /** Every blob a live manifest needs: the manifests' own content, their configs and layers. */
  readonly blobs: Set<Digest>;
}

/**
 * Computes which manifests and blobs are live, reading manifests through `cache` (each digest
 * once). Marking is global: a blob is live if any repository's live manifests need it, and
 * (with `deleteUntagged`) a revision is kept in every repository holding it as soon as it is
 * live in one — an index child is never removed from a repository because the index that
 * refers to it is tagged in another one — and a referrer is kept whenever its subject is live
 * anywhere. Those two rules feed each other, so the computation repeats until nothing changes.
 */
export async function markLive(
  repositories: Iterable<RepositoryScan>,
  cache: ManifestRefsCache,
  options: MarkOptions,
): Promise<MarkResult> {
  const repos = [...repositories];
  const revisionsOf = new Map<string, Map<Digest, number>>();
  const initial = new Set<Digest>();
  for (const repo of repos) {
    const revisions = new Map<Digest, number>();
    for (const [digest, link] of repo.revisions) revisions.set(digest, link.modTime);
    for (const digest of options.extraRevisions?.get(repo.name) ?? []) {
      if (!revisions.has(digest)) revisions.set(digest, Number.NEGATIVE_INFINITY);
    }
    revisionsOf.set(repo.name, revisions);
    for (const digest of revisions.keys()) initial.add(digest);
    for (const tag of repo.tags.values()) if (tag.digest !== undefined) initial.add(tag.digest);
  }
  await cache.loadAll(initial);

  // Repository → subject → referrers stored in it (from the manifests themselves, plus Berth's
  // referrers index for any the manifests do not show, e.g. unreadable content).
  const referrersOf = new Map<string, Map<Digest, Digest[]>>();
  const buildReferrers = (repo: RepositoryScan): Map<Digest, Digest[]> => {
    const index = new Map<Digest, Digest[]>();
    const add = (subject: Digest, referrer: Digest): void => {
      const list = index.get(subject);
      if (list === undefined) index.set(subject, [referrer]);
      else if (!list.includes(referrer)) list.push(referrer);
    };
    const revisions = revisionsOf.get(repo.name)!;
    for (const digest of revisions.keys()) {
      const subject = cache.get(digest)?.subject;
      if (subject !== undefined) add(subject, digest);
    }
    for (const link of repo.referrerLinks) if (revisions.has(link.referrer)) add(link.subject, link.referrer);
    return index;
  };

  let global = new Set<Digest>();
  let live = new Map<string, Set<Digest>>();
  for (;;) {
    live = new Map();
    const next = new Set<Digest>();
    const need = new Set<Digest>();
    for (const repo of repos) {
      const revisions = revisionsOf.get(repo.name)!;
      const stack: Digest[] = [];
      for (const tag of repo.tags.values()) if (tag.digest !== undefined) stack.push(tag.digest);
      let referrers: Map<Digest, Digest[]> | undefined;
      if (!options.deleteUntagged) {
        for (const digest of revisions.keys()) stack.push(digest);
      } else {
        referrers = referrersOf.get(repo.name);
        if (referrers === undefined) {
          referrers = buildReferrers(repo);
          referrersOf.set(repo.name, referrers);
        }
        for (const [digest, modTime] of revisions) {
          const subject = cache.get(digest)?.subject;
          if (
            modTime >= options.cutoff ||
            global.has(digest) ||
            (subject !== undefined && global.has(subject))
          ) {
            stack.push(digest);
          }
        }
      }
      const kept = new Set<Digest>();
      while (stack.length > 0) {
        const digest = stack.pop()!;
        if (kept.has(digest)) continue;
        kept.add(digest);
        next.add(digest);
        const refs = cache.get(digest);
        if (refs === undefined) {
          need.add(digest);
          continue;
        }
        for (const child of refs.children) if (!kept.has(child)) stack.push(child);
        for (const referrer of referrers?.get(digest) ?? []) if (!kept.has(referrer)) stack.push(referrer);
      }
      live.set(repo.name, kept);
    }
    if (need.size > 0) {
      await cache.loadAll(need);
      referrersOf.clear();
      continue;
    }
    const settled = !options.deleteUntagged || next.size === global.size;
    global = next;
    if (settled) break;
  }

  const blobs = new Set<Digest>();
  for (const digest of global) {
    blobs.add(digest);
    for (const blob of cache.get(digest)?.blobs ?? []) blobs.add(blob);
  }
  return { live, liveManifests: global, blobs };
}
