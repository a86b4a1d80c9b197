import type { Digest } from '@berth/digest';
import { isPathNotFound } from '@berth/storage-driver';
import type { StoreContext } from './context.ts';
import { RegistryError } from './errors.ts';
import { digestParts, readLink, writeLink } from './links.ts';
import { isValidRepositoryName } from './names.ts';
import { pathFor } from './paths.ts';
import type { BlobDescriptor, LinkedBlobStore, ReadOptions } from './types.ts';

/** The path of `digest`'s link in repository `name` (`_layers/<alg>/<hex>/link`). */
export function layerLinkPath(name: string, digest: string): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'layerLink', name, algorithm, encoded });
}

/**
 * Links the blob `descriptor` (its data in the global store) into repository `name`
 * (`_layers/<alg>/<hex>/link`) and records it in the blob descriptor cache, if any.
 */
export async function linkBlob(ctx: StoreContext, name: string, descriptor: BlobDescriptor): Promise<void> {
  await writeLink(ctx.driver, layerLinkPath(name, descriptor.digest), descriptor.digest);
  await ctx.options.blobDescriptorCache?.repository(name).set(descriptor.digest, descriptor);
}

/**
 * The blobs linked into repository `name` (validated by the caller). A blob is visible only
 * while `_layers/<alg>/<hex>/link` holds its digest and its data exists in the global store.
 */
export function createLinkedBlobStore(ctx: StoreContext, name: string): LinkedBlobStore {
  const { driver, blobs } = ctx;

  const unknown = (digest: string, cause?: unknown) =>
    new RegistryError('BLOB_UNKNOWN', undefined, { digest }, { cause });

  /** `digest`'s layer link in `repo`, from the read cache when `cached`. */
  const linkOf = (repo: string, digest: Digest, cached: boolean): Promise<Digest | undefined> => {
    const path = layerLinkPath(repo, digest);
    return cached ? ctx.links.read(path, () => readLink(driver, path)) : readLink(driver, path);
  };

  /** The descriptor of the global blob, `undefined` when its data is gone. */
  const descriptorOf = async (digest: Digest): Promise<BlobDescriptor | undefined> => {
    try {
      return await blobs.stat(digest);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'BLOB_UNKNOWN') return undefined;
      throw err;
    }
  };

  /**
   * Whether a cached read may take a `_layers` link from the in-process read cache. Not when a
   * blob descriptor cache is configured: that cache answers cached reads, and a miss there goes to
   * storage. A shared (Redis) cache is cleared by every writer, registry:2 included, which knows
   * nothing of Berth's change feed; the in-process link cache would keep a link that registry:2
   * deleted for its whole TTL.
   */
  const linkFromMemory = (cached: boolean): boolean =>
    cached && ctx.options.blobDescriptorCache === undefined;

  /** The descriptor when `digest` is linked in `repo` and its data exists, else undefined. */
  const statIn = async (
    repo: string,
    digest: Digest,
    cached = false,
  ): Promise<BlobDescriptor | undefined> => {
    // The shared blob descriptor cache answers only reads that may be served from memory
    // (blob GET/HEAD): a manifest push and a mount check storage itself, so a stale entry can
    // never make an image reference data that is gone.
    const shared = cached ? ctx.options.blobDescriptorCache?.repository(repo) : undefined;
    const hit = await shared?.stat(digest);
    if (hit !== undefined) return hit;
    if ((await linkOf(repo, digest, linkFromMemory(cached))) !== digest) return undefined;
    const descriptor = cached
      ? await ctx.descriptors.read(digest, () => descriptorOf(digest))
      : await descriptorOf(digest);
    if (descriptor !== undefined) await shared?.set(digest, descriptor);
    return descriptor;
  };

  const stat = async (digest: Digest, options?: ReadOptions): Promise<BlobDescriptor> => {
    const descriptor = await statIn(name, digest, options?.cached === true);
    if (descriptor === undefined) throw unknown(digest);
    return descriptor;
  };

  return {
    stat,

    async open(digest, range, options) {
      if ((await linkOf(name, digest, linkFromMemory(options?.cached === true))) !== digest)
        throw unknown(digest);
      return blobs.open(digest, range);
    },

    async redirectURL(digest, method) {
      const linked = await readLink(driver, layerLinkPath(name, digest));
      if (linked !== digest) throw unknown(digest);
      return blobs.redirectURL(digest, method);
    },

    async mount(digest, from) {
      if (!isValidRepositoryName(from)) return undefined;
      const descriptor = await statIn(from, digest);
      if (descriptor === undefined) return undefined;
      if (from !== name) await linkBlob(ctx, name, descriptor);
      return descriptor;
    },

    async delete(digest) {
      const path = layerLinkPath(name, digest);
      const linked = await readLink(driver, path);
      if (linked === undefined) throw unknown(digest);
      try {
        await driver.delete(path);
      } catch (err) {
        if (isPathNotFound(err)) throw unknown(digest, err);
        throw err;
      } finally {
        // After the deletion, so no read in flight meanwhile can put the link back in the cache.
        ctx.links.invalidate(path);
        await ctx.options.blobDescriptorCache?.repository(name).clear(digest);
        await ctx.options.changes?.publish({ kind: 'link-removed', path });
      }
    },
  };
}
