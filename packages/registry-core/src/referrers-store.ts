import { type Digest, isDigest } from '@berth/digest';
import { artifactTypeOf, type Descriptor } from '@berth/manifest';
import { baseName, isPathNotFound } from '@berth/storage-driver';
import { mapLimit } from './concurrency.ts';
import type { StoreContext } from './context.ts';
import { digestParts } from './links.ts';
import { pathFor } from './paths.ts';
import { createReferrersIndex, type ReferrersIndex } from './referrers-index.ts';
import type { ManifestStore, ReferrersStore } from './types.ts';

/** How many referrer manifests `list` loads at once. */
export const REFERRER_LOAD_CONCURRENCY = 16;

/**
 * The referrers index of repository `name` (validated by the caller), kept by the manifest
 * store under Berth's own `_berth/referrers/<subject alg>/<subject hex>/<alg>/<hex>/link`.
 * Before answering, `index` brings the index up to date with revisions Berth did not store
 * itself (registry:2's, an older Berth's; see `referrers-index.ts`): two `list` calls when
 * nothing is new. Descriptors are built from the referrer manifests themselves (through the
 * manifest store and its cache), so they always match what is served.
 */
export function createReferrersStore(
  ctx: StoreContext,
  name: string,
  manifests: ManifestStore,
  index: ReferrersIndex = createReferrersIndex(ctx, name),
): ReferrersStore {
  const { driver } = ctx;

  return {
    async list(subject, options = {}) {
      const { algorithm, encoded, digest: subjectDigest } = digestParts(subject);
      const { unindexed } = await index.scan();
      // Referrers found by the scan whose link could not be written (e.g. read-only storage).
      const found = new Set<Digest>();
      for (const [referrer, of] of unindexed) if (of === subjectDigest) found.add(referrer);
      const dir = pathFor({ kind: 'referrers', name, algorithm, encoded });
      let algorithmDirs: string[];
      try {
        algorithmDirs = await driver.list(dir);
      } catch (err) {
        if (!isPathNotFound(err)) throw err;
        algorithmDirs = [];
      }
      for (const algorithmDir of algorithmDirs) {
        let entries: string[];
        try {
          entries = await driver.list(algorithmDir);
        } catch (err) {
          if (isPathNotFound(err)) continue;
          throw err;
        }
        for (const entry of entries) {
          const digest = `${baseName(algorithmDir)}:${baseName(entry)}`;
          if (isDigest(digest)) found.add(digest);
        }
      }
      const digests = [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

      const descriptors = await mapLimit(digests, REFERRER_LOAD_CONCURRENCY, async (digest) => {
        let stored: Awaited<ReturnType<ManifestStore['get']>>;
        try {
          stored = await manifests.get(digest);
        } catch (err) {
          // A dangling entry (the referrer was deleted or its content is gone): skip it.
          if ((err as { code?: unknown }).code === 'MANIFEST_UNKNOWN') return undefined;
          throw err;
        }
        const descriptor: Descriptor = {
          mediaType: stored.mediaType,
          digest,
          size: stored.bytes.byteLength,
        };
        const artifactType = artifactTypeOf(stored.manifest);
        if (artifactType !== undefined) descriptor.artifactType = artifactType;
        const annotations =
          stored.manifest.kind === 'oci-manifest' || stored.manifest.kind === 'oci-index'
            ? stored.manifest.annotations
            : undefined;
        if (annotations !== undefined) descriptor.annotations = annotations;
        return descriptor;
      });

      const wanted = options.artifactType;
      return descriptors.filter(
        (d): d is Descriptor => d !== undefined && (wanted === undefined || d.artifactType === wanted),
      );
    },
  };
}
