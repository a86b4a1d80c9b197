import type { Readable } from 'node:stream';
import type { Algorithm, Digest } from '@berth/digest';
import type { Descriptor, Manifest } from '@berth/manifest';
import type { StorageDriver } from '@berth/storage-driver';
import type { BlobDescriptorCache } from './cache/blob-descriptor-cache.ts';
import type { StorageChangeFeed } from './cache/changes.ts';

/** What the registry knows about a stored blob. */
export interface BlobDescriptor {
  readonly digest: Digest;
  readonly size: number;
  /** `application/octet-stream` for blobs (registry:2 does not record a layer's media type). */
  readonly mediaType: string;
}

/** A byte range of a blob, inclusive start, exclusive end. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Options of the store reads that serve GET/HEAD requests. */
export interface ReadOptions {
  /**
   * Whether the read may be answered from the registry's short-lived read cache (links and
   * blob sizes read less than `readCacheTtlMs` ago; see `read-cache.ts`). Writes, and checks
   * made on their behalf, read storage. @default false
   */
  readonly cached?: boolean;
}

/**
 * The blobs linked into one repository. A blob is visible in a repository only while its
 * `_layers/<alg>/<hex>/link` exists there (registry:2's access model).
 */
export interface LinkedBlobStore {
  /** @throws {RegistryError} `BLOB_UNKNOWN` when the blob is not linked here or its data is gone. */
  stat(digest: Digest, options?: ReadOptions): Promise<BlobDescriptor>;
  /** A stream of the blob's bytes (whole or `range`). @throws `BLOB_UNKNOWN` */
  open(digest: Digest, range?: ByteRange, options?: ReadOptions): Promise<Readable>;
  /** A direct URL from the storage driver, or `undefined` when it has none. */
  redirectURL(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined>;
  /**
   * Links a blob that is already in the global store into this repository if it is linked in
   * `from` (cross-repository mount). Returns `undefined` when it cannot be mounted.
   */
  mount(digest: Digest, from: string): Promise<BlobDescriptor | undefined>;
  /** Removes the repository's link (the data stays until GC). @throws `BLOB_UNKNOWN` */
  delete(digest: Digest): Promise<void>;
}

/** An upload session (`/v2/<name>/blobs/uploads/<uuid>`). */
export interface Upload {
  readonly name: string;
  readonly uuid: string;
  readonly startedAt: Date;
  /** Bytes received so far. */
  readonly size: number;
  /** The digest algorithm the content is hashed with (`?digest-algorithm=`). */
  readonly algorithm: Algorithm;
  /**
   * Appends a chunk streamed from `source` and returns the new size. `expectedStart` (the start
   * of the client's `Content-Range`) must equal `size`, else `RANGE_INVALID` before anything is
   * written. If the stream fails midway, the bytes that arrived stay and `size` says how many.
   *
   * Writes (this, {@link complete}, {@link cancel}) hold the upload exclusively, across every
   * process sharing the storage: one that finds the upload changed since it was loaded rejects
   * with `RANGE_INVALID` (another request wrote to it, or is writing to it right now) or
   * `BLOB_UPLOAD_UNKNOWN` (completed or cancelled), and writes nothing.
   */
  append(source: AsyncIterable<Uint8Array>, expectedStart?: number): Promise<number>;
  /**
   * Appends the optional final `chunk` (as {@link append}), verifies the content against
   * `digest` and makes it a blob linked into the repository. The upload is gone after success.
   * On a mismatch rejects with `DIGEST_INVALID`; the upload stays as it was before a chunk
   * that carried the whole blob (the client can retry with the same location), or with the
   * chunk appended otherwise.
   */
  complete(digest: Digest, chunk?: FinalChunk): Promise<BlobDescriptor>;
  /**
   * Discards the upload. Rejects with `BLOB_UPLOAD_UNKNOWN` when it is gone already (completed
   * or cancelled by another request); whatever was left of it is removed all the same.
   */
  cancel(): Promise<void>;
}

/** The chunk a completing request carries (`PUT ?digest=` with a body, or a single `POST`). */
export interface FinalChunk {
  readonly source: AsyncIterable<Uint8Array>;
  /** The start of the client's `Content-Range`, checked as by {@link Upload.append}. */
  readonly expectedStart?: number;
}

/** Upload sessions of one repository. */
export interface UploadStore {
  /** Starts an upload. */
  create(options?: { algorithm?: Algorithm }): Promise<Upload>;
  /**
   * Resumes an upload started by any process sharing the storage. `state` comes from the
   * client's `_state` token: `startedAt` is used when the stored start time is unreadable.
   *
   * With `offset`, the upload's stored size must equal it, else `RANGE_INVALID` (416, detail
   * `{ offset, size }` with the stored `size`): the check for requests that write (`PATCH`,
   * `PUT`), so a client replaying a stale location cannot append the same bytes twice. Without
   * it nothing is checked — for requests that only read or discard the upload (`GET`/`HEAD`
   * status, which is the spec's recovery after a 416, and `DELETE`), which must work with any
   * earlier location.
   * @throws {RegistryError} `BLOB_UPLOAD_UNKNOWN`, `BLOB_UPLOAD_INVALID` (unknown recorded
   * digest algorithm), `RANGE_INVALID`
   */
  get(uuid: string, state: { offset?: number; startedAt: Date }): Promise<Upload>;
}

/** A stored manifest as served. */
export interface StoredManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  /** The exact bytes that were pushed. */
  readonly bytes: Uint8Array;
  readonly manifest: Manifest;
}

/** Result of {@link ManifestStore.put}. */
export interface PutManifestResult {
  readonly digest: Digest;
  /** The `subject` digest when the manifest has one (answered as `OCI-Subject`). */
  readonly subject?: Digest;
  readonly tags: readonly string[];
}

/** Options of {@link ManifestStore.put}. */
export interface PutManifestOptions {
  /** The `Content-Type` it was pushed with. */
  readonly mediaType?: string;
  /** The digest the client named (`PUT …/manifests/<digest>`): the bytes must hash to it. */
  readonly expectedDigest?: Digest;
  readonly tags?: readonly string[];
  /**
   * Store the manifest without checking that the blobs and child manifests it references are
   * in the repository (`validation.manifests` does not apply). For a pull-through cache, which
   * stores what its upstream served before the blobs are pulled; never for a client's push.
   * @default false
   */
  readonly skipReferenceCheck?: boolean;
}

/** Manifests of one repository. */
export interface ManifestStore {
  /** @throws {RegistryError} `MANIFEST_UNKNOWN` */
  get(digest: Digest, options?: ReadOptions): Promise<StoredManifest>;
  exists(digest: Digest): Promise<boolean>;
  /**
   * Validates and stores a manifest, links it into the repository, indexes its `subject` and
   * points `tags` at it.
   * @throws {RegistryError} `MANIFEST_INVALID` (413 when over the size limit),
   * `MANIFEST_BLOB_UNKNOWN` (one entry per missing reference), `DIGEST_INVALID` when
   * `expectedDigest` is given and differs, `TAG_INVALID`.
   */
  put(bytes: Uint8Array, options: PutManifestOptions): Promise<PutManifestResult>;
  /** Unlinks the manifest, removes every tag pointing at it and its referrer entry. @throws `MANIFEST_UNKNOWN` */
  delete(digest: Digest): Promise<void>;
}

/** Tags of one repository. */
export interface TagStore {
  /** @throws {RegistryError} `MANIFEST_UNKNOWN` */
  resolve(tag: string): Promise<Digest>;
  set(tag: string, digest: Digest): Promise<void>;
  /** @throws {RegistryError} `MANIFEST_UNKNOWN` */
  delete(tag: string): Promise<void>;
  /** All tags in lexical order. @throws {RegistryError} `NAME_UNKNOWN` when the repository does not exist. */
  list(): Promise<string[]>;
  /**
   * One page of `GET …/tags/list`: the tags after `last` (lexically), at most `limit` (all when
   * undefined), leaving out tag directories without a current link — what a process killed
   * between a tag's two links, or a tag DELETE racing a PUT of it, can leave — since they
   * resolve to nothing. `more` tells whether tags remain after the page.
   * @throws {RegistryError} `NAME_UNKNOWN` when the repository does not exist.
   */
  page(last: string, limit: number | undefined): Promise<{ tags: string[]; more: boolean }>;
  /** Tags whose current link is `digest`. */
  tagsOf(digest: Digest): Promise<string[]>;
}

/** The referrers index of one repository (OCI referrers API). */
export interface ReferrersStore {
  /**
   * Descriptors of the manifests whose `subject` is `subject`, optionally filtered. Includes
   * manifests stored without Berth (by registry:2 or an older Berth): every revision of the
   * repository not yet checked for a `subject` is checked and indexed first.
   */
  list(subject: Digest, options?: { artifactType?: string }): Promise<Descriptor[]>;
}

/** Everything about one repository. */
export interface Repository {
  readonly name: string;
  readonly blobs: LinkedBlobStore;
  readonly uploads: UploadStore;
  readonly manifests: ManifestStore;
  readonly tags: TagStore;
  readonly referrers: ReferrersStore;
}

/** One page of a listing. */
export interface Page<T> {
  readonly items: T[];
  /** True when more entries follow the last one returned. */
  readonly more: boolean;
}

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  /** Where everything is stored. */
  readonly driver: StorageDriver;
  /** `storage.delete.enabled`: allow deleting manifests, tags and blobs. @default false */
  readonly deleteEnabled?: boolean;
  /** `!storage.redirect.disable`: answer blob GETs with the driver's redirect URL. @default true */
  readonly redirect?: boolean;
  /** Largest manifest accepted, in bytes. @default 4194304 */
  readonly manifestMaxSize?: number;
  /**
   * `storage.cache.blobdescriptor`: answers blob GET/HEAD from a cache of blob descriptors
   * (in memory, or Redis shared by every replica and `berth gc`). Blob links written are
   * recorded in it, deleted ones cleared; a manifest push and a mount always check storage.
   */
  readonly blobDescriptorCache?: BlobDescriptorCache;
  /**
   * The feed every process sharing the storage announces its removals on (Redis pub/sub, see
   * `@berth/cache-redis`): this registry publishes the links it deletes and drops from its
   * in-process read caches what others announce; while the feed is disconnected, nothing is
   * answered from memory.
   */
  readonly changes?: StorageChangeFeed;
  /**
   * `validation.manifests`: which references of a pushed manifest must exist. Every URL in the
   * `urls` of an image manifest's config or layers must match `urls.allow` (when set) and not
   * `urls.deny` (with neither set, none is allowed); foreign layers with such URLs need not be
   * uploaded (registry:2).
   * `indexes.platforms`: `all` (every index child must exist, the default), `none`, or `list`
   * (only children whose platform is in `platformlist`).
   */
  readonly validation?: {
    readonly disabled?: boolean;
    readonly urls?: { readonly allow?: readonly RegExp[]; readonly deny?: readonly RegExp[] };
    readonly indexes?: {
      readonly platforms?: 'all' | 'none' | 'list';
      readonly platformList?: readonly { readonly os: string; readonly architecture: string }[];
    };
  };
}

/** The registry over one storage driver: repositories and the catalog. */
export interface Registry {
  readonly options: Readonly<RegistryOptions>;
  /** The stores of repository `name`. @throws {RegistryError} `NAME_INVALID` */
  repository(name: string): Repository;
  /** Repository names in lexical order, `n` at most, after `last`. */
  catalog(options: { n: number; last?: string }): Promise<Page<string>>;
  /**
   * Deletes uploads (in every repository) started more than `olderThanMs` ago
   * (`maintenance.uploadpurging`). Returns the `<name>/<uuid>` of each purged upload.
   */
  purgeUploads(options: { olderThanMs: number; dryRun?: boolean }): Promise<string[]>;
}
