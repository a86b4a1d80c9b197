import type { Digest } from '@berth/digest';

/**
 * A change to storage that caches in other processes must hear of: what `ReadCache`s keep is
 * only ever made stale by a removal (content is immutable, links are only added or deleted).
 */
export type StorageChange =
  /** A manifest revision link or a `_layers` link was deleted (its storage path). */
  | { readonly kind: 'link-removed'; readonly path: string }
  /** A blob's data left the global store (`berth gc` set it aside or deleted it). */
  | { readonly kind: 'blob-removed'; readonly digest: Digest }
  /** Forget everything: many things changed (a GC run), or changes may have been missed. */
  | { readonly kind: 'reset' };

/**
 * How the processes sharing one storage tell each other of removals, so that each can keep
 * short-lived in-process read caches that are never stale: every replica and `berth gc`
 * publish what they remove, every replica drops what it hears of at once.
 *
 * Delivery is at most once (Redis pub/sub): an implementation reports `connected: false` while
 * it may be missing announcements — the registry then reads storage and keeps nothing — and
 * delivers a `reset` to its own listeners whenever it connects again.
 */
export interface StorageChangeFeed {
  /** Announces `change` to every other process. Never rejects (a failure is counted, not thrown). */
  publish(change: StorageChange): Promise<void>;
  /** Calls `listener` for every change announced by another process; returns the unsubscribe. */
  subscribe(listener: (change: StorageChange) => void): () => void;
  /** Whether announcements are being received now. */
  readonly connected: boolean;
}

/**
 * A feed within one process (for tests, and for several registries over one storage in one
 * process): `publish` calls every other subscriber synchronously. Always connected.
 */
export function createLocalChangeFeed(): StorageChangeFeed & {
  /** A view that does not hear its own announcements, like another process. */
  peer(): StorageChangeFeed;
} {
  const listeners = new Map<symbol, (change: StorageChange) => void>();
  const view = (): StorageChangeFeed => {
    const own = new Set<symbol>();
    return {
      connected: true,
      async publish(change) {
        for (const [id, listener] of listeners) if (!own.has(id)) listener(change);
      },
      subscribe(listener) {
        const id = Symbol('listener');
        own.add(id);
        listeners.set(id, listener);
        return () => {
          listeners.delete(id);
          own.delete(id);
        };
      },
    };
  };
  return { ...view(), connected: true, peer: view };
}
