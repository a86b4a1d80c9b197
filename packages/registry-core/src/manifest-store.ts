import { type Digest, digestOf } from '@berth/digest';
import {
  DEFAULT_MAX_MANIFEST_SIZE,
  type Descriptor,
  isManifestError,
  type Manifest,
  MediaType,
  parseManifest,
  references,
  subjectOf,
} from '@berth/manifest';
import { isPathNotFound } from '@berth/storage-driver';
import { mapLimit } from './concurrency.ts';
import type { StoreContext } from './context.ts';
import { RegistryError, type RegistryErrorEntry } from './errors.ts';
import { digestParts, readLink, referrerLinkPath, revisionLinkPath, writeLink } from './links.ts';
import { loadManifest, manifestUnknown } from './manifest-load.ts';
import { isValidTag } from './names.ts';
import { createReferrersIndex, type ReferrersIndex } from './referrers-index.ts';
import { writeTagCurrent, writeTagIndexEntry } from './tag-store.ts';
import type { LinkedBlobStore, ManifestStore, RegistryOptions, StoredManifest, TagStore } from './types.ts';

/** A parsed manifest in the registry's in-process cache (keyed by digest). */
export interface ManifestCacheEntry {
  readonly bytes: Uint8Array;
  readonly manifest: Manifest;
  readonly mediaType: string;
}

export { referrerLinkPath, revisionLinkPath } from './links.ts';

/** How many references of a pushed manifest are checked at once. */
export const REFERENCE_CHECK_CONCURRENCY = 16;

/** Layer media types whose content may live elsewhere (`urls`), as registry:2 treats them. */
const FOREIGN_LAYER_TYPES: ReadonlySet<string> = new Set([
  MediaType.DockerForeignLayerTarGzip,
  MediaType.OciLayerNondistributableTar,
  MediaType.OciLayerNondistributableTarGzip,
  MediaType.OciLayerNondistributableTarZstd,
]);

/** What {@link createManifestStore} needs besides the context. */
export interface ManifestStoreDependencies {
  /** The repository's linked blobs: every config and layer must be linked there. */
  readonly blobs: LinkedBlobStore;
  /** The repository's tags: `put` sets them, `delete` removes those pointing at the manifest. */
  readonly tags: TagStore;
  /**
   * The repository's referrers index (its in-process state lives in the context, so any
   * instance for the same repository will do). @default createReferrersIndex(ctx, name)
   */
  readonly referrers?: ReferrersIndex;
}

/**
 * Why `url` may not appear in a pushed manifest's `urls`, or `undefined` when it may:
 * registry:2's rule is http(s) without a fragment, matching an `allow` pattern when `allow` is
 * set and no `deny` pattern; with neither set, nothing is allowed.
 */
function urlProblem(url: string, validation: RegistryOptions['validation']): string | undefined {
  const allow = validation?.urls?.allow ?? [];
  const deny = validation?.urls?.deny ?? [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'not an http or https URL';
  if (url.includes('#')) return 'URLs with a fragment are not allowed';
  if (allow.length === 0 && deny.length === 0) {
    return 'no URL is allowed without validation.manifests.urls.allow or .deny';
  }
  if (allow.length > 0 && !allow.some((re) => matches(re, url))) {
    return 'matches no validation.manifests.urls.allow pattern';
  }
  if (deny.some((re) => matches(re, url))) return 'matches a validation.manifests.urls.deny pattern';
  return undefined;
}

/**
 * True when `urls` is not empty and every URL is allowed by `validation.manifests.urls`,
 * registry:2's rule: http(s) without a fragment, matching an `allow` pattern when `allow` is set
 * and no `deny` pattern; with neither set, nothing is allowed.
 */
export function foreignUrlsAllowed(
  urls: readonly string[],
  validation: RegistryOptions['validation'],
): boolean {
  return urls.length > 0 && urls.every((url) => urlProblem(url, validation) === undefined);
}

/**
 * Refuses an image manifest whose config or layers carry a URL `validation.manifests.urls` does
 * not allow. Clients may fetch from `urls` before asking the registry, so an unchecked URL makes
 * every puller a request forger (an ordinary layer's URLs as much as a foreign layer's). Indexes
 * are not checked: clients resolve their children through the registry.
 * @throws {RegistryError} `MANIFEST_INVALID` naming the first offending URL.
 */
function assertUrlsAllowed(manifest: Manifest, validation: RegistryOptions['validation']): void {
  if (manifest.kind !== 'oci-manifest' && manifest.kind !== 'docker-manifest') return;
  const described: { pointer: string; what: string; descriptor: Descriptor }[] = [
    { pointer: '/config', what: 'the config', descriptor: manifest.config },
    ...manifest.layers.map((descriptor, i) => ({ pointer: `/layers/${i}`, what: `layer ${i}`, descriptor })),
  ];
  for (const { pointer, what, descriptor } of described) {
    for (const [i, url] of (descriptor.urls ?? []).entries()) {
      const problem = urlProblem(url, validation);
      if (problem === undefined) continue;
      throw new RegistryError('MANIFEST_INVALID', `invalid URL on ${what}: ${problem}`, {
        pointer: `${pointer}/urls/${i}`,
        url,
      });
    }
  }
}

function matches(re: RegExp, value: string): boolean {
  re.lastIndex = 0; // a /g or /y pattern keeps state between calls
  return re.test(value);
}

/** True when `validation.indexes` requires index child `child` to exist in the repository. */
function childRequired(child: Descriptor, validation: RegistryOptions['validation']): boolean {
  const policy = validation?.indexes?.platforms ?? 'all';
  if (policy === 'none') return false;
  const list = validation?.indexes?.platformList ?? [];
  if (policy === 'all' || list.length === 0) return true;
  const platform = child.platform;
  if (platform === undefined) return false;
  return list.some((p) => p.os === platform.os && p.architecture === platform.architecture);
}

/** Maps a `@berth/manifest` error to the registry's `MANIFEST_INVALID` (413 when too large). */
function toRegistryError(err: unknown, bytes: Uint8Array, limit: number, mediaType?: string): unknown {
  if (!isManifestError(err)) return err;
  switch (err.code) {
    case 'MANIFEST_TOO_LARGE':
      return new RegistryError(
        'MANIFEST_INVALID',
        err.message,
        { size: bytes.byteLength, limit },
        {
          status: 413,
          cause: err,
        },
      );
    case 'MANIFEST_UNSUPPORTED':
      return new RegistryError(
        'MANIFEST_INVALID',
        err.message,
        mediaType === undefined ? undefined : { mediaType },
        {
          cause: err,
        },
      );
    default:
      return new RegistryError(
        'MANIFEST_INVALID',
        err.message,
        { pointer: err.pointer ?? '' },
        { cause: err },
      );
  }
}

/**
 * The manifests of repository `name` (validated by the caller). Manifest bytes live in the
 * global blob store; the repository holds `_manifests/revisions/<alg>/<hex>/link`. Parsed
 * manifests are cached by digest in the registry's LRU (content never changes), so a pull costs
 * one link read plus, on a miss, one blob read.
 */
export function createManifestStore(
  ctx: StoreContext,
  name: string,
  deps: ManifestStoreDependencies,
): ManifestStore {
  const { driver, blobs, options } = ctx;

  const referrers = deps.referrers ?? createReferrersIndex(ctx, name);

  /** The parsed manifest stored under `digest` (not checking the repository link). */
  const load = (digest: Digest): Promise<ManifestCacheEntry> => loadManifest(ctx, digest);

  /** Whether `digest`'s revision link is in the repository (from the read cache when `cached`). */
  const linked = async (digest: Digest, cached = false): Promise<boolean> => {
    const path = revisionLinkPath(name, digest);
    const target = cached
      ? await ctx.links.read(path, () => readLink(driver, path))
      : await readLink(driver, path);
    return target === digest;
  };

  const exists = async (digest: Digest): Promise<boolean> => {
    if (!(await linked(digest))) return false;
    return ctx.manifests.has(digest) || (await blobs.exists(digest));
  };

  /** The digests (document order, deduplicated) that `manifest` needs and the repo lacks. */
  const missingReferences = async (manifest: Manifest): Promise<Digest[]> => {
    const validation = options.validation;
    const checks = references(manifest).filter(({ role, descriptor }) => {
      if (role === 'subject') return false; // the subject may be pushed later (OCI spec)
      if (role === 'manifest') return childRequired(descriptor, validation);
      // A foreign layer with (allowed) URLs need not be here; without URLs it must, like any layer.
      if (role === 'layer' && FOREIGN_LAYER_TYPES.has(descriptor.mediaType)) {
        return !foreignUrlsAllowed(descriptor.urls ?? [], validation);
      }
      return true;
    });
    const present = await mapLimit(checks, REFERENCE_CHECK_CONCURRENCY, async ({ role, descriptor }) => {
      const digest = digestParts(descriptor.digest).digest;
      if (role === 'manifest') return exists(digest);
      try {
        await deps.blobs.stat(digest);
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code === 'BLOB_UNKNOWN') return false;
        throw err;
      }
    });
    const missing = new Set<Digest>();
    checks.forEach(({ descriptor }, i) => {
      if (!present[i]) missing.add(descriptor.digest as Digest);
    });
    return [...missing];
  };

  return {
    exists,

    async get(digest, getOptions) {
      digestParts(digest);
      if (!(await linked(digest, getOptions?.cached === true))) throw manifestUnknown(digest);
      const entry = await load(digest);
      const stored: StoredManifest = {
        digest,
        mediaType: entry.mediaType,
        bytes: entry.bytes,
        manifest: entry.manifest,
      };
      return stored;
    },

    async put(bytes, putOptions) {
      const limit = options.manifestMaxSize ?? DEFAULT_MAX_MANIFEST_SIZE;
      let manifest: Manifest;
      try {
        manifest = parseManifest(bytes, { mediaType: putOptions.mediaType, maxSize: limit });
      } catch (err) {
        throw toRegistryError(err, bytes, limit, putOptions.mediaType);
      }
      const expected = putOptions.expectedDigest;
      const digest = digestOf(bytes, expected === undefined ? 'sha256' : digestParts(expected).algorithm);
      if (expected !== undefined && expected !== digest) {
        throw new RegistryError('DIGEST_INVALID', `manifest has digest ${digest}, not ${expected}`, {
          expected,
          actual: digest,
        });
      }
      const tags = [...(putOptions.tags ?? [])];
      for (const tag of tags) {
        if (!isValidTag(tag))
          throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag)}`, { tag });
      }

      if (options.validation?.disabled !== true && putOptions.skipReferenceCheck !== true) {
        assertUrlsAllowed(manifest, options.validation);
        const missing = await missingReferences(manifest);
        const [first, ...rest] = missing;
        if (first !== undefined) {
          const more: RegistryErrorEntry[] = rest.map((d) => ({
            code: 'MANIFEST_BLOB_UNKNOWN',
            message: 'blob unknown to registry',
            detail: d,
          }));
          throw new RegistryError('MANIFEST_BLOB_UNKNOWN', undefined, first, { more });
        }
      }

      // Content first, then the links that make it visible: a crash leaves at worst an
      // unreferenced blob for GC.
      // The links that do not point anything at the manifest yet (its revision link, the
      // referrer link, the tags' history entries) are written together; the tags' current
      // links, which make it resolvable by tag, only once the revision link is there.
      await blobs.putContent(digest, bytes);
      ctx.manifests.set(digest, { bytes, manifest, mediaType: manifest.mediaType });
      const subject = subjectOf(manifest);
      const subjectDigest = subject === undefined ? undefined : digestParts(subject.digest).digest;
      await Promise.all([
        writeLink(driver, revisionLinkPath(name, digest), digest),
        subjectDigest === undefined
          ? undefined
          : writeLink(driver, referrerLinkPath(name, subjectDigest, digest), digest),
        ...tags.map((tag) => writeTagIndexEntry(driver, name, tag, digest)),
      ]);
      referrers.noteChecked(digest);
      // The repository may be new: no cached `_catalog` page may miss it from now on.
      ctx.catalog.clear();
      await Promise.all(tags.map((tag) => writeTagCurrent(driver, name, tag, digest)));
      return subjectDigest === undefined ? { digest, tags } : { digest, subject: subjectDigest, tags };
    },

    async delete(digest) {
      digestParts(digest);
      const linkPath = revisionLinkPath(name, digest);
      if (!(await linked(digest))) throw manifestUnknown(digest);
      let subject: Descriptor | undefined;
      try {
        subject = subjectOf((await load(digest)).manifest);
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'MANIFEST_UNKNOWN') throw err;
      }
      // Tags first, so no tag is left pointing at an unlinked revision if this stops midway.
      for (const tag of await deps.tags.tagsOf(digest)) {
        try {
          await deps.tags.delete(tag);
        } catch (err) {
          if ((err as { code?: unknown }).code !== 'MANIFEST_UNKNOWN') throw err;
        }
      }
      const deletions: string[] = [linkPath];
      if (subject !== undefined) deletions.unshift(referrerLinkPath(name, subject.digest, digest));
      // Exclusive with referrer scans of this repository, so none re-indexes it meanwhile.
      await referrers.removeRevision(digest, subject?.digest, async () => {
        for (const path of deletions) {
          try {
            await driver.delete(path);
          } catch (err) {
            if (!isPathNotFound(err)) throw err;
          }
        }
      });
      // After the deletion, so no read in flight meanwhile can put the link back in the cache.
      ctx.links.invalidate(linkPath);
      // The repository may have lost its last manifest (and so its place in `_catalog`).
      ctx.catalog.clear();
      await ctx.options.changes?.publish({ kind: 'link-removed', path: linkPath });
    },
  };
}
