/**
 * The pull-through cache the server runs when `proxy.remoteurl` or `berth.proxy.upstreams` is
 * configured: an upstream client per mount, the TTL state (`/scheduler-state.json`, registry:2's
 * file), and a garbage collection after each expiry round that unlinked something.
 *
 * Expiry only unlinks; the collection reclaims what nothing references any more, so the space of
 * expired content comes back whether or not `storage.delete.enabled` is set, and a blob another
 * repository (local, or mirrored from another upstream) still uses stays. Nothing here contacts
 * an upstream: the mirror starts offline and serves what it has cached.
 */
import { resolve } from 'node:path';
import {
  type CacheExpiry,
  createCacheExpiry,
  createMirror,
  createUpstream,
  credentialHelper,
  isUpstreamError,
  type Mirror,
  type MirrorUpstream,
  type Upstream,
  type UpstreamOptions,
} from '@berth/proxy';
import {
  type BlobDescriptorCache,
  type GarbageCollectOptions,
  type GcReport,
  garbageCollect,
  type Registry,
  type StorageChangeFeed,
} from '@berth/registry-core';
import { formatDuration } from '../config/duration.ts';
import type { ProxyConfig, ProxyUpstreamConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { StartupError } from './errors.ts';

/** Options of {@link openMirror}. */
export interface OpenMirrorOptions {
  /** The local registry the cache is stored in. */
  readonly registry: Registry;
  readonly logger: Logger;
  /** The blob descriptor cache the registry serves from, cleared by the garbage collection. */
  readonly blobDescriptorCache?: BlobDescriptorCache;
  /** The storage change feed, announced to by the garbage collection. */
  readonly changes?: StorageChangeFeed;
  /** The garbage collection's timing after expiry. @default registry-core's (1 h grace, 10 s settle) */
  readonly reclaim?: Pick<GarbageCollectOptions, 'graceMs' | 'settleMs'>;
  /** Options of the TTL state (intervals, clock), for tests. */
  readonly expiry?: { readonly flushIntervalMs?: number; readonly checkIntervalMs?: number };
}

/** A mirror and the jobs beside it. */
export interface OpenedMirror {
  readonly mirror: Mirror;
  readonly expiry: CacheExpiry;
  /** Settles when no garbage collection runs (at once when none does); for tests. */
  reclaimed(): Promise<GcReport | undefined>;
  /** Starts the periodic TTL flush and expiry (once the server listens). */
  start(): void;
  /**
   * Stops the TTL timers (writing the state once more), waits up to `settleTimeoutMs` for fills
   * in flight, and stops a garbage collection in progress. Never rejects.
   */
  close(settleTimeoutMs: number): Promise<void>;
}

/** How one mount's upstream authenticates, as `createUpstream` takes it. */
function credentialsOf(config: ProxyUpstreamConfig): Pick<UpstreamOptions, 'credentials'> {
  const credentials = config.credentials;
  if (credentials === undefined) return {};
  if (credentials.type === 'basic') {
    return { credentials: { username: credentials.username, password: credentials.password } };
  }
  return {
    credentials: credentialHelper({
      command: credentials.command,
      serverURL: config.remoteUrl,
      ...(credentials.lifetimeMs === undefined ? {} : { lifetimeMs: credentials.lifetimeMs }),
    }),
  };
}

/** What the start line says of one mount (never its credentials). */
function describeMount(config: ProxyUpstreamConfig, upstream: Upstream): Record<string, unknown> {
  return {
    prefix: config.prefix === '' ? 'every repository' : config.prefix,
    upstream: upstream.url.host,
    ttl: config.ttlMs === 0 ? 'never' : formatDuration(config.ttlMs),
    ...(config.freshnessMs > 0 ? { freshness: formatDuration(config.freshnessMs) } : {}),
    ...(config.library ? { library: true } : {}),
    ...(config.namespaces.length > 0 ? { namespaces: config.namespaces.join(',') } : {}),
    auth:
      config.credentials?.type === 'exec' ? 'credential helper' : (config.credentials?.type ?? 'anonymous'),
  };
}

/**
 * Creates the mirror over `options.registry` and loads its TTL state (a state file that cannot
 * be read is a warning: the cache starts with what it finds in storage, and entries are
 * scheduled again as they are used).
 * @throws {StartupError} when an upstream's URL is refused by the upstream client
 */
export async function openMirror(config: ProxyConfig, options: OpenMirrorOptions): Promise<OpenedMirror> {
  const { registry, logger } = options;
  const driver = registry.options.driver;

  const mounts: MirrorUpstream[] = config.upstreams.map((entry) => {
    let upstream: Upstream;
    try {
      upstream = createUpstream({ url: entry.remoteUrl, ...credentialsOf(entry) });
    } catch (error) {
      if (isUpstreamError(error) && error.code === 'UPSTREAM_INVALID_OPTIONS') {
        throw new StartupError(`${entry.key}.remoteurl: ${error.message}`);
      }
      throw error;
    }
    return {
      prefix: entry.prefix,
      library: entry.library,
      namespaces: entry.namespaces,
      upstream,
      ttlMs: entry.ttlMs,
      freshnessMs: entry.freshnessMs,
      writeTimeoutMs: entry.cacheWriteTimeoutMs,
    };
  });

  // The collection after expiry: one at a time; a round that expires more while one runs
  // asks for one more run after it.
  const stopping = new AbortController();
  let collecting: Promise<GcReport | undefined> | undefined;
  let again = false;
  const collectOnce = async (): Promise<GcReport | undefined> => {
    try {
      const report = await garbageCollect({
        driver,
        signal: stopping.signal,
        ...(options.blobDescriptorCache === undefined
          ? {}
          : { blobDescriptorCache: options.blobDescriptorCache }),
        ...(options.changes === undefined ? {} : { changes: options.changes }),
        ...options.reclaim,
      });
      logger.info('proxy: garbage collection after expiry', {
        manifests: report.deleted.manifests.length,
        blobs: report.deleted.blobs.length,
        bytesReclaimed: report.bytesReclaimed,
        layerLinks: report.deleted.layerLinks.length,
        recentBlobsKept: report.blobs.recent,
        restored: report.restored.manifests.length + report.restored.blobs.length,
        warnings: report.warnings.length,
        durationMs: report.durationMs,
      });
      return report;
    } catch (error) {
      if (!stopping.signal.aborted) {
        logger.warn('proxy: garbage collection after expiry failed (it runs again after the next expiry)', {
          err: error,
        });
      }
      return undefined;
    }
  };
  const reclaim = (): void => {
    if (stopping.signal.aborted) return;
    if (collecting !== undefined) {
      again = true;
      return;
    }
    collecting = (async () => {
      let report: GcReport | undefined;
      do {
        again = false;
        report = await collectOnce();
      } while (again && !stopping.signal.aborted);
      return report;
    })().finally(() => {
      collecting = undefined;
    });
  };

  // The expiry's callbacks reach the mirror, which is created with the expiry.
  let mirror: Mirror | undefined;
  const expiry = createCacheExpiry({
    driver,
    expire: async (entry) => {
      await mirror?.expireEntry(entry);
    },
    postpone: async (entry, live) => mirror?.postponeEntry(entry, live),
    afterExpiry: reclaim,
    logger,
    ...options.expiry,
  });
  const spoolDirectory = resolve(config.spoolDirectory);
  mirror = createMirror({ registry, upstreams: mounts, spoolDirectory, expiry, logger });
  const created = mirror;

  try {
    await expiry.load();
  } catch (error) {
    logger.warn('proxy: the TTL state could not be read: entries are scheduled again as they are used', {
      err: error,
    });
  }
  logger.info('pull-through cache', {
    mounts: config.upstreams.map((entry, i) => describeMount(entry, mounts[i]!.upstream)),
    spoolDirectory,
  });

  let closing: Promise<void> | undefined;
  return {
    mirror: created,
    expiry,
    reclaimed: async () => collecting,
    start: () => expiry.start(),
    close(settleTimeoutMs) {
      closing ??= (async () => {
        await expiry.stop();
        if (settleTimeoutMs > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            created.settled(),
            new Promise<void>((done) => {
              timer = setTimeout(done, settleTimeoutMs);
            }),
          ]);
          clearTimeout(timer);
        }
        stopping.abort();
        await collecting;
      })().catch((error: unknown) => {
        logger.warn('proxy: stopping the cache failed', { err: error });
      });
      return closing;
    },
  };
}
