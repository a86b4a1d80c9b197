import { listRepositories, purgeUploads } from './catalog.ts';
import { type CacheLimits, createStoreContext } from './context.ts';
import { createLinkedBlobStore } from './linked-blob-store.ts';
import { createManifestStore } from './manifest-store.ts';
import { assertRepositoryName } from './names.ts';
import { createReferrersIndex } from './referrers-index.ts';
import { createReferrersStore } from './referrers-store.ts';
import { createTagStore } from './tag-store.ts';
import type { Page, Registry, RegistryOptions, Repository } from './types.ts';
import { createUploadStore } from './upload-store.ts';

/**
 * Creates the registry over `options.driver`: repositories (each a set of cheap store objects
 * that do no I/O until used) and the catalog. The in-process caches (upload hashers, parsed
 * manifests) belong to the returned registry; create one per process and share it.
 *
 * `deleteEnabled` and `redirect` are carried for the HTTP layer; the stores do not enforce them.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ driver: createInMemoryDriver() });
 * const repo = registry.repository('library/alpine');
 * const upload = await repo.uploads.create();
 * await upload.append(request.body);
 * await upload.complete(digest);
 * ```
 */
export function createRegistry(options: RegistryOptions, limits?: CacheLimits): Registry {
  const ctx = createStoreContext(options, limits);
  // Removals announced by other processes (kept for the registry's lifetime: the feed belongs
  // to the process, as the registry does).
  options.changes?.subscribe((change) => {
    if (change.kind === 'link-removed') ctx.links.invalidate(change.path);
    else if (change.kind === 'blob-removed') ctx.descriptors.invalidate(change.digest);
    else {
      ctx.links.clear();
      ctx.descriptors.clear();
    }
    // Any removal may remove a repository.
    ctx.catalog.clear();
  });
  return {
    options,

    repository(name: string): Repository {
      assertRepositoryName(name);
      const blobs = createLinkedBlobStore(ctx, name);
      const tags = createTagStore(ctx, name);
      const referrers = createReferrersIndex(ctx, name);
      const manifests = createManifestStore(ctx, name, { blobs, tags, referrers });
      return {
        name,
        blobs,
        uploads: createUploadStore(ctx, name),
        manifests,
        tags,
        referrers: createReferrersStore(ctx, name, manifests, referrers),
      };
    },

    catalog(page) {
      const key = `${page.n}/${page.last ?? ''}`;
      // `read` keeps no `undefined`; a page is never undefined.
      return ctx.catalog.read(key, () => listRepositories(ctx.driver, page)) as Promise<Page<string>>;
    },

    purgeUploads(purge) {
      return purgeUploads(ctx.driver, purge);
    },
  };
}
