/**
 * The pull-through cache: a `Registry` whose mirrored repositories answer from local storage
 * when they can and fetch from their upstream when they must, storing what they fetch.
 *
 * In-process state and how it stays right when other processes change storage:
 * - fills, manifest fetches, tag checks and blob HEADs in flight (single-flight maps, keyed by
 *   `<name>@<digest>` or `<name>:<tag>`): each lives only while its request does; what it
 *   stores goes through the local stores, so other replicas see it as any push.
 * - nothing else is cached here: every read asks the local stores first (with their own,
 *   documented caches), and the TTL state is merged with the file on every flush
 *   (`expiry.ts`).
 */
import { Readable } from 'node:stream';
import { type Digest, digestOf, isDigest, parseDigest } from '@berth/digest';
import { DEFAULT_MAX_MANIFEST_SIZE, type Descriptor, MediaType, references } from '@berth/manifest';
import {
  type BlobDescriptor,
  type ByteRange,
  isRegistryError,
  type LinkedBlobStore,
  type ManifestStore,
  pathFor,
  type ReadOptions,
  type ReferrersStore,
  type Registry,
  RegistryError,
  type Repository,
  type StoredManifest,
  type TagStore,
  type UploadStore,
} from '@berth/registry-core';
import type { CacheExpiry, ExpiryEntry } from './expiry.ts';
import { failureResponse, isUpstreamFailure } from './failures.ts';
import { type Fill, startFill } from './fill.ts';
import { type MirrorMount, MountTable } from './routes.ts';
import type { Upstream, UpstreamResponse } from './upstream.ts';

/** Every manifest type the mirror asks its upstream for. */
export const MANIFEST_ACCEPT: string = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ');

/** One upstream mounted into the registry. */
export interface MirrorUpstream extends MirrorMount {
  readonly upstream: Upstream;
  /** `proxy.ttl`: how long a cached entry lives after its last use; `0` keeps it for ever. @default 168 h */
  readonly ttlMs?: number;
  /**
   * Within this long of the last upstream check of a tag, the tag is served without asking the
   * upstream (the check time is the tag link's modification time, so it survives restarts and
   * is shared by replicas). `0` checks every pull. @default 0
   */
  readonly freshnessMs?: number;
  /** `proxy.cachewritetimeout` (see {@link FillOptions.writeTimeoutMs}). @default 5 min */
  readonly writeTimeoutMs?: number;
}

/** What the mirror logs through (the server's logger). */
export interface MirrorLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug?(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link createMirror}. */
export interface MirrorOptions {
  /** The local registry the cache is stored in (and that serves unmirrored repositories). */
  readonly registry: Registry;
  readonly upstreams: readonly MirrorUpstream[];
  /** Where fills are spooled while clients stream them (created when missing). */
  readonly spoolDirectory: string;
  /** The TTL state; without it nothing expires. */
  readonly expiry?: CacheExpiry;
  readonly logger?: MirrorLogger;
}

/** Counters of a mirror's work, for metrics and tests. */
export interface MirrorStats {
  /** Blobs streamed from an upstream into the cache (started). */
  readonly blobFills: number;
  /** Blob fills that failed (upstream broke off, digest mismatch, storage). */
  readonly blobFillFailures: number;
  /**
   * Manifests fetched from an upstream: the misses (a tag check fetches the manifest of a new
   * digest, and the request that reads it then is a hit).
   */
  readonly manifestFetches: number;
  /** Blob requests answered from the cache. */
  readonly blobHits: number;
  /** Blob requests that needed the upstream (a fill, joined or started, or a forwarded range). */
  readonly blobMisses: number;
  /** Manifest requests answered from the cache (a pull by tag reads its manifest once). */
  readonly manifestHits: number;
  /** Bytes of blobs received from upstreams into the cache (committed fills). */
  readonly blobBytesPulled: number;
  /** Bytes of manifests received from upstreams. */
  readonly manifestBytesPulled: number;
  /** Tags served from the cache because the upstream failed. */
  readonly staleServed: number;
}

/** A mirror: the registry to serve, and what runs beside it. */
export interface Mirror {
  /** Serves mirrored repositories through the cache, the others from the local registry. */
  readonly registry: Registry;
  readonly mounts: MountTable<MirrorUpstream>;
  readonly stats: MirrorStats;
  /** Fills in flight. */
  readonly fillsInFlight: number;
  /** The local name for `?ns=<host>` requests, or `undefined` when `host` is not served. */
  namespaceName(name: string, host: string): string | undefined;
  /** Settles when every fill in flight has finished (for shutdown and tests). */
  settled(): Promise<void>;
  /**
   * Unlinks an expired entry from its repository (the {@link CacheExpiry} `expire` callback).
   * Blob data stays for the garbage collector, which keeps what anything still references.
   */
  expireEntry(entry: ExpiryEntry): Promise<void>;
  /** The {@link CacheExpiry} `postpone` callback: a blob lives as long as a cached manifest using it. */
  postponeEntry(entry: ExpiryEntry, live: readonly ExpiryEntry[]): Promise<number | undefined>;
}

const DEFAULT_TTL_MS = 168 * 60 * 60 * 1000;

/**
 * Creates the mirror over `options.registry`.
 * @throws {RangeError} when the mounts overlap or a prefix is invalid
 *
 * @example
 * ```ts
 * const local = createRegistry({ driver });
 * const mirror = createMirror({
 *   registry: local,
 *   upstreams: [{ prefix: '', upstream: createUpstream({ url: 'https://registry-1.docker.io' }) }],
 *   spoolDirectory: '/var/tmp/berth-proxy',
 * });
 * const app = createRegistryApp({ registry: mirror.registry, secret });
 * ```
 */
export function createMirror(options: MirrorOptions): Mirror {
  const local = options.registry;
  const mounts = new MountTable(options.upstreams);
  const logger = options.logger;
  const maxManifest = local.options.manifestMaxSize ?? DEFAULT_MAX_MANIFEST_SIZE;
  const stats = {
    blobFills: 0,
    blobFillFailures: 0,
    manifestFetches: 0,
    blobHits: 0,
    blobMisses: 0,
    manifestHits: 0,
    blobBytesPulled: 0,
    manifestBytesPulled: 0,
    staleServed: 0,
  };
  const fills = new Map<string, Promise<Fill>>();
  const manifestFetches = new Map<string, Promise<StoredManifest>>();
  const tagChecks = new Map<string, Promise<Digest>>();
  const blobHeads = new Map<string, Promise<BlobDescriptor>>();
  const running = new Set<Promise<unknown>>();

  /** Joins the flight under `key`, or starts it. */
  function single<T>(map: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
    let flight = map.get(key);
    if (flight === undefined) {
      flight = start().finally(() => map.delete(key));
      map.set(key, flight);
    }
    return flight;
  }

  function proxied(name: string, mount: MirrorUpstream, remoteName: string): Repository {
    const repo = local.repository(name);
    const upstream = mount.upstream;
    const ttlMs = mount.ttlMs ?? DEFAULT_TTL_MS;
    const host = upstream.url.host;
    const touch = (kind: 'blob' | 'manifest', digest: Digest): void =>
      options.expiry?.touch(kind, name, digest, ttlMs);
    const unsupported = (what: string): RegistryError =>
      new RegistryError(
        'UNSUPPORTED',
        `${name} is a pull-through cache of ${host}${remoteName === name ? '' : `/${remoteName}`}: ${what} is not supported here`,
        undefined,
        { headers: { Allow: 'GET, HEAD' } },
      );
    const failure = (error: unknown, what: string): unknown =>
      failureResponse(error, `${what} ${remoteName} from ${host}`);

    // ---- manifests ----------------------------------------------------------------------

    /** Stores the manifest the upstream answered with, after checking it is `digest`'s. */
    async function storeManifest(
      response: UpstreamResponse,
      expected: Digest | undefined,
    ): Promise<StoredManifest> {
      const bytes = await readBounded(response.body, maxManifest);
      if (bytes === undefined) {
        throw new RegistryError(
          'MANIFEST_INVALID',
          `the manifest from ${host} is larger than ${maxManifest} bytes`,
          undefined,
          { status: 502 },
        );
      }
      const digest = digestOf(bytes, expected === undefined ? 'sha256' : parseDigest(expected).algorithm);
      if (expected !== undefined && digest !== expected) {
        throw new RegistryError(
          'UNAVAILABLE',
          `${host} answered ${remoteName}@${expected} with content whose digest is ${digest}`,
          { expected, actual: digest },
          { status: 502 },
        );
      }
      const mediaType = response.headers.get('content-type')?.split(';')[0]?.trim();
      stats.manifestFetches += 1;
      stats.manifestBytesPulled += bytes.byteLength;
      try {
        await repo.manifests.put(bytes, {
          ...(mediaType === undefined || mediaType === '' ? {} : { mediaType }),
          expectedDigest: digest,
          skipReferenceCheck: true,
        });
      } catch (error) {
        if (isRegistryError(error) && error.code === 'MANIFEST_INVALID') {
          throw new RegistryError(
            'UNAVAILABLE',
            `${host} sent an invalid manifest for ${remoteName}@${digest}: ${error.message}`,
            undefined,
            { status: 502, cause: error },
          );
        }
        throw error;
      }
      touch('manifest', digest);
      return repo.manifests.get(digest);
    }

    /** The manifest `digest`, fetched and stored when it is not cached. */
    const fetchManifest = (digest: Digest): Promise<StoredManifest> =>
      single(manifestFetches, `${name}@${digest}`, async () => {
        let response: UpstreamResponse;
        try {
          response = await upstream.manifest(remoteName, digest, { accept: MANIFEST_ACCEPT });
        } catch (error) {
          throw failure(error, 'fetching');
        }
        if (response.status === 404) {
          await response.body?.cancel();
          throw new RegistryError('MANIFEST_UNKNOWN', undefined, { digest, upstream: host });
        }
        if (response.status !== 200) {
          await response.body?.cancel();
          throw new RegistryError(
            'UNAVAILABLE',
            `${host} answered HTTP ${response.status} for ${remoteName}@${digest}`,
            undefined,
            { status: 502 },
          );
        }
        return storeManifest(response, digest);
      });

    const cachedManifest = (digest: Digest, readOptions?: ReadOptions): Promise<StoredManifest | undefined> =>
      unlessUnknown(repo.manifests.get(digest, readOptions), 'MANIFEST_UNKNOWN');

    const manifests: ManifestStore = {
      async get(digest, readOptions) {
        const hit = await cachedManifest(digest, readOptions);
        if (hit !== undefined) {
          stats.manifestHits += 1;
          touch('manifest', digest);
          return hit;
        }
        return fetchManifest(digest);
      },
      exists: (digest) => repo.manifests.exists(digest),
      put: () => Promise.reject(unsupported('pushing a manifest')),
      delete: () => Promise.reject(unsupported('deleting a manifest')),
    };

    /**
     * A listing from the upstream: its status and headers, with the JSON body of a 200
     * (`undefined` when it is not JSON or over `limit` bytes). `undefined` when the upstream
     * failed (logged): the cache answers instead.
     */
    async function askUpstream(
      send: () => Promise<UpstreamResponse>,
      what: 'tags' | 'referrers',
      limit: number,
    ): Promise<{ status: number; headers: Headers; json: unknown } | undefined> {
      let response: UpstreamResponse;
      try {
        response = await send();
      } catch (error) {
        if (!isUpstreamFailure(error)) throw error;
        logger?.warn(`proxy: upstream failed, listing the cached ${what}`, {
          repository: name,
          upstream: host,
          err: error,
        });
        return undefined;
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        return { status: response.status, headers: response.headers, json: undefined };
      }
      const body = await readBounded(response.body, limit);
      let json: unknown;
      try {
        json = body === undefined ? undefined : JSON.parse(Buffer.from(body).toString('utf8'));
      } catch {
        json = undefined;
      }
      return { status: 200, headers: response.headers, json };
    }

    // ---- tags ---------------------------------------------------------------------------

    const localTag = (tag: string): Promise<Digest | undefined> =>
      unlessUnknown(repo.tags.resolve(tag), 'MANIFEST_UNKNOWN');

    /** Whether the tag was checked upstream within the freshness window. */
    const fresh = async (tag: string): Promise<boolean> => {
      const window = mount.freshnessMs ?? 0;
      if (window <= 0) return false;
      try {
        const info = await local.options.driver.stat(pathFor({ kind: 'tagCurrentLink', name, tag }));
        return Date.now() - info.modTime.getTime() < window;
      } catch {
        return false;
      }
    };

    /** One upstream HEAD: the tag's digest now (its manifest fetched when not cached). */
    const checkTag = (tag: string): Promise<Digest> =>
      single(tagChecks, `${name}:${tag}`, async () => {
        const response = await upstream.manifest(remoteName, tag, {
          method: 'HEAD',
          accept: MANIFEST_ACCEPT,
        });
        if (response.status === 404)
          throw new RegistryError('MANIFEST_UNKNOWN', undefined, { tag, upstream: host });
        if (response.status !== 200) {
          throw new RegistryError(
            'UNAVAILABLE',
            `${host} answered HTTP ${response.status} for ${remoteName}:${tag}`,
            undefined,
            { status: 502 },
          );
        }
        const header = response.headers.get('docker-content-digest') ?? '';
        let digest: Digest;
        if (isDigest(header)) {
          digest = header;
          if ((await cachedManifest(digest)) === undefined) await fetchManifest(digest);
        } else {
          // An upstream that does not name the digest: the manifest itself says it.
          const got = await upstream.manifest(remoteName, tag, { accept: MANIFEST_ACCEPT });
          if (got.status !== 200) {
            await got.body?.cancel();
            throw new RegistryError(
              'UNAVAILABLE',
              `${host} answered HTTP ${got.status} for ${remoteName}:${tag}`,
              undefined,
              { status: 502 },
            );
          }
          digest = (await storeManifest(got, undefined)).digest;
        }
        const current = await localTag(tag);
        // Rewritten when unchanged too, with a freshness window: its time is the check's.
        if (current !== digest || (mount.freshnessMs ?? 0) > 0) await repo.tags.set(tag, digest);
        return digest;
      });

    const tags: TagStore = {
      async resolve(tag) {
        if (await fresh(tag)) {
          const digest = await localTag(tag);
          if (digest !== undefined) {
            touch('manifest', digest);
            return digest;
          }
        }
        try {
          const digest = await checkTag(tag);
          touch('manifest', digest);
          return digest;
        } catch (error) {
          if (isRegistryError(error) && error.code === 'MANIFEST_UNKNOWN') throw error;
          // Stale-if-error: the upstream failed; the cached tag is better than nothing.
          const cached = await localTag(tag);
          if (cached !== undefined && (await cachedManifest(cached)) !== undefined) {
            stats.staleServed += 1;
            logger?.warn('proxy: upstream failed, serving the cached tag', {
              repository: name,
              tag,
              upstream: host,
              err: error,
            });
            touch('manifest', cached);
            return cached;
          }
          throw failure(error, `checking tag ${tag} of`);
        }
      },
      set: () => Promise.reject(unsupported('tagging')),
      delete: () => Promise.reject(unsupported('deleting a tag')),
      list: () => repo.tags.list(),
      async page(last, limit) {
        const answer = await askUpstream(
          () =>
            upstream.tags(remoteName, {
              ...(limit === undefined ? {} : { n: limit }),
              ...(last === '' ? {} : { last }),
            }),
          'tags',
          16 * 1024 * 1024,
        );
        if (answer?.status === 404) throw new RegistryError('NAME_UNKNOWN', undefined, { name });
        const values = (answer?.json as { tags?: unknown } | undefined)?.tags;
        if (answer === undefined || !Array.isArray(values)) return repo.tags.page(last, limit);
        const names = values.filter((t): t is string => typeof t === 'string');
        return { tags: names, more: /rel="?next"?/.test(answer.headers.get('link') ?? '') };
      },
      tagsOf: (digest) => repo.tags.tagsOf(digest),
    };

    // ---- blobs --------------------------------------------------------------------------

    const cachedBlob = (digest: Digest, readOptions?: ReadOptions): Promise<BlobDescriptor | undefined> =>
      unlessUnknown(repo.blobs.stat(digest, readOptions), 'BLOB_UNKNOWN');

    const blobKey = (digest: Digest): string => `${name}@${digest}`;

    /** One upstream HEAD for a blob that is not cached (concurrent callers share it). */
    const headBlob = (digest: Digest): Promise<BlobDescriptor> =>
      single(blobHeads, blobKey(digest), async () => {
        let response: UpstreamResponse;
        try {
          response = await upstream.blob(remoteName, digest, { method: 'HEAD' });
        } catch (error) {
          throw failure(error, 'looking up a blob of');
        }
        if (response.status === 404)
          throw new RegistryError('BLOB_UNKNOWN', undefined, { digest, upstream: host });
        const size = Number(response.headers.get('content-length'));
        if (response.status !== 200 || !Number.isSafeInteger(size) || size < 0) {
          throw new RegistryError(
            'UNAVAILABLE',
            `${host} answered HTTP ${response.status} without a size for ${remoteName}@${digest}`,
            undefined,
            { status: 502 },
          );
        }
        return { digest, size, mediaType: 'application/octet-stream' };
      });

    /** Streams `digest` from the upstream into a local upload, through a spooled fill. */
    async function startBlobFill(digest: Digest): Promise<Fill> {
      let response: UpstreamResponse;
      try {
        response = await upstream.blob(remoteName, digest);
      } catch (error) {
        throw failure(error, 'fetching a blob of');
      }
      if (response.status === 404)
        throw new RegistryError('BLOB_UNKNOWN', undefined, { digest, upstream: host });
      if (response.status !== 200 || response.body === null) {
        await response.body?.cancel();
        throw new RegistryError(
          'UNAVAILABLE',
          `${host} answered HTTP ${response.status} for ${remoteName}@${digest}`,
          undefined,
          { status: 502 },
        );
      }
      const length = Number(response.headers.get('content-length') ?? Number.NaN);
      const upload = await repo.uploads.create({ algorithm: parseDigest(digest).algorithm });
      stats.blobFills += 1;
      return startFill({
        digest,
        size: Number.isSafeInteger(length) && length >= 0 ? length : undefined,
        body: response.body,
        spoolDirectory: options.spoolDirectory,
        ...(mount.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: mount.writeTimeoutMs }),
        sink: {
          write: async (source) => {
            await upload.append(source);
          },
          commit: async () => {
            await upload.complete(digest);
            touch('blob', digest);
          },
          abort: () => upload.cancel(),
        },
      });
    }

    /**
     * The fill of `digest`: the one running, or a new one. It stays joinable until it is
     * committed or has failed; from then on the local blob (or a new fill) serves.
     */
    function fill(digest: Digest): Promise<Fill> {
      const key = blobKey(digest);
      const existing = fills.get(key);
      if (existing !== undefined) return existing;
      const flight = startBlobFill(digest);
      fills.set(key, flight);
      const settled = flight
        .then(
          (started) =>
            started.done.then(
              () => {
                stats.blobBytesPulled += started.size ?? 0;
                logger?.debug?.('proxy: cached blob', { repository: name, digest, size: started.size });
              },
              (error: unknown) => {
                stats.blobFillFailures += 1;
                logger?.warn('proxy: caching a blob failed', {
                  repository: name,
                  digest,
                  upstream: host,
                  err: error,
                });
              },
            ),
          // Not started (unknown upstream, upstream down): the waiting requests got the error.
          () => {},
        )
        .finally(() => {
          running.delete(settled);
          if (fills.get(key) === flight) fills.delete(key);
        });
      running.add(settled);
      return flight;
    }

    const blobs: LinkedBlobStore = {
      async stat(digest, readOptions) {
        const hit = await cachedBlob(digest, readOptions);
        if (hit !== undefined) {
          stats.blobHits += 1;
          touch('blob', digest);
          return hit;
        }
        const inFlight = fills.get(blobKey(digest));
        if (inFlight !== undefined) {
          const size = (await inFlight.catch(() => undefined))?.size;
          if (size !== undefined) return { digest, size, mediaType: 'application/octet-stream' };
        }
        return headBlob(digest);
      },
      async open(digest, range, readOptions) {
        if ((await cachedBlob(digest, readOptions)) !== undefined)
          return repo.blobs.open(digest, range, readOptions);
        stats.blobMisses += 1;
        if (range !== undefined) return openRange(digest, range);
        const started = await fill(digest);
        return started.read();
      },
      async redirectURL(digest, method) {
        // Only a cached blob has a storage URL.
        if ((await cachedBlob(digest, { cached: true })) === undefined) return undefined;
        return repo.blobs.redirectURL(digest, method);
      },
      mount: () => Promise.reject(unsupported('mounting a blob')),
      delete: () => Promise.reject(unsupported('deleting a blob')),
    };

    /** A range of a blob that is not cached: forwarded to the upstream, nothing cached. */
    async function openRange(digest: Digest, range: ByteRange): Promise<Readable> {
      let response: UpstreamResponse;
      try {
        response = await upstream.blob(remoteName, digest, {
          range: `bytes=${range.start}-${range.end - 1}`,
        });
      } catch (error) {
        throw failure(error, 'fetching a blob range of');
      }
      if (response.status === 404)
        throw new RegistryError('BLOB_UNKNOWN', undefined, { digest, upstream: host });
      if (response.status === 416) {
        await response.body?.cancel();
        throw new RegistryError('RANGE_INVALID', 'requested range not satisfiable', undefined);
      }
      if ((response.status !== 206 && response.status !== 200) || response.body === null) {
        await response.body?.cancel();
        throw new RegistryError(
          'UNAVAILABLE',
          `${host} answered HTTP ${response.status} for a range of ${remoteName}@${digest}`,
          undefined,
          { status: 502 },
        );
      }
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      // An upstream that ignores `Range` sends everything: cut the range out of it.
      return response.status === 206 ? body : sliceStream(body, range);
    }

    // ---- referrers ----------------------------------------------------------------------

    const referrers: ReferrersStore = {
      async list(subject, listOptions) {
        const type = listOptions?.artifactType;
        const answer = await askUpstream(
          () => upstream.referrers(remoteName, subject, type === undefined ? {} : { artifactType: type }),
          'referrers',
          maxManifest,
        );
        const manifests = (answer?.json as { manifests?: unknown } | undefined)?.manifests;
        if (answer?.status !== 200 || !Array.isArray(manifests))
          return repo.referrers.list(subject, listOptions);
        return (manifests as Descriptor[]).filter(
          (d) => typeof d?.digest === 'string' && (type === undefined || d.artifactType === type),
        );
      },
    };

    const uploads: UploadStore = {
      create: () => Promise.reject(unsupported('pushing a blob')),
      get: () => Promise.reject(unsupported('uploading')),
    };

    return { name, blobs, uploads, manifests, tags, referrers };
  }

  const registry: Registry = {
    options: local.options,
    repository(name) {
      const match = mounts.match(name);
      if (match === undefined) return local.repository(name);
      return proxied(name, match.mount, match.remoteName);
    },
    catalog: (page) => local.catalog(page),
    purgeUploads: (purge) => local.purgeUploads(purge),
  };

  return {
    registry,
    mounts,
    get stats() {
      return { ...stats };
    },
    get fillsInFlight() {
      return fills.size;
    },
    namespaceName: (name, host) => mounts.withNamespace(name, host),
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    async expireEntry(entry) {
      if (mounts.match(entry.name) === undefined) return; // not a mirrored repository (any more)
      const repo = local.repository(entry.name);
      try {
        if (entry.kind === 'manifest') await repo.manifests.delete(entry.digest);
        else await repo.blobs.delete(entry.digest);
      } catch (error) {
        const gone = entry.kind === 'manifest' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN';
        if (!(isRegistryError(error) && error.code === gone)) throw error;
      }
    },
    async postponeEntry(entry, live) {
      if (entry.kind !== 'blob') return undefined;
      let until: number | undefined;
      for (const other of live) {
        if (other.kind !== 'manifest' || other.name !== entry.name) continue;
        if (until !== undefined && other.expiresAt <= until) continue;
        let stored: StoredManifest;
        try {
          stored = await local.repository(other.name).manifests.get(other.digest, { cached: true });
        } catch {
          continue;
        }
        if (references(stored.manifest).some((ref) => ref.descriptor.digest === entry.digest))
          until = other.expiresAt;
      }
      return until;
    },
  };
}

/** `read`'s value, or `undefined` when it rejects with the registry error `code` (not here). */
async function unlessUnknown<T>(
  read: Promise<T>,
  code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN',
): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (isRegistryError(error) && error.code === code) return undefined;
    throw error;
  }
}

/** Reads a body whole, `undefined` when it is over `limit` bytes. */
async function readBounded(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    length += chunk.byteLength;
    if (length > limit) {
      await body.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

/** The bytes of `range` out of a stream of the whole blob. */
function sliceStream(source: Readable, range: ByteRange): Readable {
  let position = 0;
  return Readable.from(
    (async function* () {
      try {
        for await (const chunk of source as AsyncIterable<Uint8Array>) {
          const start = Math.max(range.start - position, 0);
          const end = Math.min(range.end - position, chunk.byteLength);
          position += chunk.byteLength;
          if (end > start) yield chunk.subarray(start, end);
          if (position >= range.end) break;
        }
      } finally {
        source.destroy();
      }
    })(),
    { objectMode: false },
  );
}
