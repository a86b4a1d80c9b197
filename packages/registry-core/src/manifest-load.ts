import type { Digest } from '@berth/digest';
import { DEFAULT_MAX_MANIFEST_SIZE, type Manifest, parseManifest } from '@berth/manifest';
import type { StoreContext } from './context.ts';
import { RegistryError } from './errors.ts';
import type { ManifestCacheEntry } from './manifest-store.ts';

/** `MANIFEST_UNKNOWN` for `digest`. */
export function manifestUnknown(digest: string, cause?: unknown): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', undefined, { digest }, { cause });
}

/**
 * The parsed manifest stored under `digest` in the global blob store, from the registry's
 * in-process cache when it is there. Does not check any repository link. With `cache: false`
 * a manifest read from storage is not added to the cache (a bulk scan must not evict what is
 * being served).
 * @throws {RegistryError} `MANIFEST_UNKNOWN` when the content is missing or cannot be parsed
 * (e.g. a schema1 manifest pushed to an old registry:2).
 */
export async function loadManifest(
  ctx: StoreContext,
  digest: Digest,
  options: { readonly cache?: boolean } = {},
): Promise<ManifestCacheEntry> {
  const cached = ctx.manifests.get(digest);
  if (cached !== undefined) return cached;
  let bytes: Uint8Array;
  try {
    bytes = await ctx.blobs.getContent(digest);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'BLOB_UNKNOWN') throw manifestUnknown(digest, err);
    throw err;
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes, { maxSize: Math.max(bytes.byteLength, DEFAULT_MAX_MANIFEST_SIZE) });
  } catch (err) {
    throw new RegistryError(
      'MANIFEST_UNKNOWN',
      `stored manifest cannot be served: ${err instanceof Error ? err.message : String(err)}`,
      { digest },
      { cause: err },
    );
  }
  const entry: ManifestCacheEntry = { bytes, manifest, mediaType: manifest.mediaType };
  if (options.cache !== false) ctx.manifests.set(digest, entry);
  return entry;
}
