import type { Digest } from '@berth/digest';
import { isPathNotFound } from '@berth/storage-driver';
import type { StoreContext } from './context.ts';
import { RegistryError } from './errors.ts';
import { digestParts, readLink, writeLink } from './links.ts';
import { isValidRepositoryName } from './names.ts';
import { pathFor } from './paths.ts';
import type { BlobDescriptor, LinkedBlobStore } from './types.ts';

/** The path of `digest`'s link in repository `name` (`_layers/<alg>/<hex>/link`). */
export function layerLinkPath(name: string, digest: string): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'layerLink', name, algorithm, encoded });
}

/**
 * The blobs linked into repository `name` (validated by the caller). A blob is visible only
 * while `_layers/<alg>/<hex>/link` holds its digest and its data exists in the global store.
 */
export function createLinkedBlobStore(ctx: StoreContext, name: string): LinkedBlobStore {
  const { driver, blobs } = ctx;

  const unknown = (digest: string, cause?: unknown) =>
    new RegistryError('BLOB_UNKNOWN', undefined, { digest }, { cause });

  /** The descriptor when `digest` is linked in `repo` and its data exists, else undefined. */
  const statIn = async (repo: string, digest: Digest): Promise<BlobDescriptor | undefined> => {
    const target = await readLink(driver, layerLinkPath(repo, digest));
    if (target !== digest) return undefined;
    try {
      return await blobs.stat(digest);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'BLOB_UNKNOWN') return undefined;
      throw err;
    }
  };

  const stat = async (digest: Digest): Promise<BlobDescriptor> => {
    const descriptor = await statIn(name, digest);
    if (descriptor === undefined) throw unknown(digest);
    return descriptor;
  };

  return {
    stat,

    async open(digest, range) {
      const linked = await readLink(driver, layerLinkPath(name, digest));
      if (linked !== digest) throw unknown(digest);
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
      if (from !== name) await writeLink(driver, layerLinkPath(name, digest), digest);
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
      }
    },
  };
}
