/**
 * The storage change feed on Redis pub/sub: how replicas and `berth gc` tell each other of
 * removals, so in-process read caches never answer for something deleted elsewhere.
 */
import { randomBytes } from 'node:crypto';
import type { StorageChange, StorageChangeFeed } from '@berth/registry-core';
import type { Cluster, Redis } from 'ioredis';

/** The channel, before any key prefix. */
export const CHANGE_CHANNEL = 'berth::storage-changes';

/** Options of {@link createRedisChangeFeed}. */
export interface RedisChangeFeedOptions {
  /** The client to publish with; a duplicate of it subscribes. */
  readonly client: Redis | Cluster;
  /** Prepended to the channel name, as to the cache's keys. Default: none. */
  readonly keyPrefix?: string;
  /** A publish that takes longer is given up (and counted). @default 250 */
  readonly publishTimeoutMs?: number;
}

/** A {@link StorageChangeFeed} on Redis, with counters and a `close`. */
export interface RedisChangeFeed extends StorageChangeFeed {
  /** Announcements sent, received from others, and publishes that failed. */
  stats(): { readonly published: number; readonly received: number; readonly failed: number };
  /** Unsubscribes and closes the subscriber connection. Idempotent. */
  close(): Promise<void>;
}

interface Envelope {
  /** The publishing process (its own announcements come back to it and are skipped). */
  readonly from: string;
  readonly change: StorageChange;
}

function isChange(value: unknown): value is StorageChange {
  if (typeof value !== 'object' || value === null) return false;
  const change = value as { kind?: unknown; path?: unknown; digest?: unknown };
  if (change.kind === 'reset') return true;
  if (change.kind === 'link-removed') return typeof change.path === 'string';
  if (change.kind === 'blob-removed') return typeof change.digest === 'string';
  return false;
}

/**
 * Subscribes a duplicate connection of `client` to the change channel. `connected` is true
 * only while that subscription stands; every time it is (re)established the feed delivers a
 * `reset` to its listeners, since announcements made meanwhile were lost (pub/sub keeps
 * nothing). A malformed message is ignored.
 *
 * @example
 * ```ts
 * const feed = createRedisChangeFeed({ client: cache.client });
 * const registry = createRegistry({ driver, changes: feed }, { readCacheTtlMs: 60_000 });
 * ```
 */
export function createRedisChangeFeed(options: RedisChangeFeedOptions): RedisChangeFeed {
  const { client } = options;
  const channel = `${options.keyPrefix ?? ''}${CHANGE_CHANNEL}`;
  const publishTimeoutMs = options.publishTimeoutMs ?? 250;
  const self = randomBytes(8).toString('hex');
  const listeners = new Set<(change: StorageChange) => void>();
  const subscriber = client.duplicate();
  let connected = false;
  let closed = false;
  const counts = { published: 0, received: 0, failed: 0 };

  const deliver = (change: StorageChange): void => {
    for (const listener of listeners) listener(change);
  };
  const subscribe = (): void => {
    subscriber.subscribe(channel).then(
      () => {
        if (closed) return;
        connected = true;
        deliver({ kind: 'reset' });
      },
      () => {
        // The connection went again; its next `ready` subscribes again.
      },
    );
  };
  subscriber.on('ready', subscribe);
  for (const event of ['close', 'end', 'reconnecting'] as const) {
    subscriber.on(event, () => {
      connected = false;
    });
  }
  // Connection errors are what `connected` reports; the default handler would print them.
  subscriber.on('error', () => {});
  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    if (envelope.from === self || !isChange(envelope.change)) return;
    counts.received++;
    deliver(envelope.change);
  });

  return {
    get connected() {
      return connected;
    },
    async publish(change) {
      const message = JSON.stringify({ from: self, change } satisfies Envelope);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.publish(channel, message),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('publish timed out')), publishTimeoutMs);
          }),
        ]);
        counts.published++;
      } catch {
        counts.failed++;
      } finally {
        clearTimeout(timer);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({ ...counts }),
    async close() {
      if (closed) return;
      closed = true;
      connected = false;
      subscriber.disconnect();
    },
  };
}
