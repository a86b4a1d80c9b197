import type { Digest } from '@berth/digest';
import { baseName, isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { mapLimit } from './concurrency.ts';
import type { StoreContext } from './context.ts';
import { RegistryError } from './errors.ts';
import { digestParts, readLink, writeLink } from './links.ts';
import { isValidTag } from './names.ts';
import { pathFor } from './paths.ts';
import type { TagStore } from './types.ts';

/** How many tag links `tagsOf` reads at once (registry:2's `storage.tag.concurrencylimit`). */
export const TAG_LOOKUP_CONCURRENCY = 16;

function tagUnknown(tag: string, cause?: unknown): RegistryError {
  return new RegistryError(
    'MANIFEST_UNKNOWN',
    `manifest tagged ${JSON.stringify(tag)} is not known`,
    { tag },
    {
      cause,
    },
  );
}

/**
 * The tags of repository `name` (validated by the caller), in registry:2's layout:
 * `_manifests/tags/<tag>/current/link` (the digest the tag points at) and
 * `_manifests/tags/<tag>/index/<alg>/<hex>/link` (every digest it has pointed at).
 */
export function createTagStore(ctx: StoreContext, name: string): TagStore {
  const { driver } = ctx;

  const currentOf = (tag: string): Promise<Digest | undefined> =>
    readLink(driver, pathFor({ kind: 'tagCurrentLink', name, tag }));

  const list = async (): Promise<string[]> => {
    let children: string[];
    try {
      children = await driver.list(pathFor({ kind: 'tags', name }));
    } catch (err) {
      if (!isPathNotFound(err)) throw err;
      // registry:2 answers NAME_UNKNOWN for a repository it does not have; one whose last tag
      // was deleted still exists and has no tags.
      try {
        await driver.stat(pathFor({ kind: 'repository', name }));
      } catch (statErr) {
        if (isPathNotFound(statErr)) {
          throw new RegistryError('NAME_UNKNOWN', undefined, { name }, { cause: statErr });
        }
        throw statErr;
      }
      return [];
    }
    // `list` returns siblings in name order already (the driver contract), so the tags are
    // in registry:2's lexical order as they come.
    return children.map(baseName).filter(isValidTag);
  };

  return {
    list,

    async page(last, limit) {
      const all = await list();
      const after = last === '' ? all : all.filter((tag) => tag > last);
      const tags: string[] = [];
      let next = 0;
      // Reads only the current links the page needs, in batches of what is still missing.
      while (next < after.length && (limit === undefined || tags.length < limit)) {
        const want = limit === undefined ? after.length - next : limit - tags.length;
        const batch = after.slice(next, next + want);
        next += batch.length;
        const current = await mapLimit(batch, TAG_LOOKUP_CONCURRENCY, currentOf);
        tags.push(...batch.filter((_, i) => current[i] !== undefined));
      }
      return { tags, more: next < after.length };
    },

    async resolve(tag) {
      if (!isValidTag(tag)) throw tagUnknown(tag);
      const digest = await currentOf(tag);
      if (digest === undefined) throw tagUnknown(tag);
      return digest;
    },

    async set(tag, digest) {
      if (!isValidTag(tag)) {
        throw new RegistryError('TAG_INVALID', `invalid tag ${JSON.stringify(tag)}`, { tag });
      }
      // registry:2's order: the index entry first, then the current link.
      await writeTagIndexEntry(driver, name, tag, digest);
      await writeTagCurrent(driver, name, tag, digest);
    },

    async delete(tag) {
      if (!isValidTag(tag)) throw tagUnknown(tag);
      try {
        await driver.delete(pathFor({ kind: 'tag', name, tag }));
      } catch (err) {
        if (isPathNotFound(err)) throw tagUnknown(tag, err);
        throw err;
      }
    },

    async tagsOf(digest) {
      let tags: string[];
      try {
        tags = await list();
      } catch (err) {
        if ((err as { code?: unknown }).code === 'NAME_UNKNOWN') return [];
        throw err;
      }
      const current = await mapLimit(tags, TAG_LOOKUP_CONCURRENCY, currentOf);
      return tags.filter((_, i) => current[i] === digest);
    },
  };
}

/**
 * Writes the tag's index entry for `digest` (`tags/<tag>/index/<alg>/<hex>/link`), the history
 * registry:2 keeps. Tag and digest are validated by the caller.
 */
export async function writeTagIndexEntry(
  driver: StorageDriver,
  name: string,
  tag: string,
  digest: Digest,
): Promise<void> {
  const { algorithm, encoded } = digestParts(digest);
  await writeLink(driver, pathFor({ kind: 'tagIndexEntryLink', name, tag, algorithm, encoded }), digest);
}

/** Points the tag at `digest` (`tags/<tag>/current/link`): what makes the tag resolve to it. */
export async function writeTagCurrent(
  driver: StorageDriver,
  name: string,
  tag: string,
  digest: Digest,
): Promise<void> {
  await writeLink(driver, pathFor({ kind: 'tagCurrentLink', name, tag }), digest);
}
