/**
 * The cache's TTL: when each cached manifest and blob link expires, kept in registry:2's
 * `/scheduler-state.json` so an operator can move between registry:2 and Berth on one storage.
 *
 * Unlike registry:2's scheduler, expiry only unlinks the entry from its repository (blob data
 * is reclaimed afterwards by the registry's garbage collector, which keeps whatever any
 * repository still references), a cache hit pushes the expiry back, and replicas sharing the
 * storage merge the file instead of overwriting each other's entries.
 */
import type { Digest } from '@berth/digest';
import { isPathNotFound, type StorageDriver } from '@berth/storage-driver';

/** registry:2's `EntryType`: 0 blob, 1 manifest. */
export type ExpiryKind = 'blob' | 'manifest';

/** One scheduled expiry. */
export interface ExpiryEntry {
  readonly kind: ExpiryKind;
  readonly name: string;
  readonly digest: Digest;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

/** What the expiry logs (the server's logger). */
export interface ExpiryLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link createCacheExpiry}. */
export interface CacheExpiryOptions {
  readonly driver: StorageDriver;
  /** @default '/scheduler-state.json' (registry:2's path) */
  readonly path?: string;
  /** Unlinks an expired entry. A rejection keeps the entry for the next round. */
  readonly expire: (entry: ExpiryEntry) => Promise<void>;
  /**
   * Whether `entry` must not expire yet, and until when (e.g. a blob that a cached, unexpired
   * manifest of its repository references). Returns the new expiry or `undefined`.
   */
  readonly postpone?: (entry: ExpiryEntry, live: readonly ExpiryEntry[]) => Promise<number | undefined>;
  /** Called after a round that unlinked something (to reclaim the space). */
  readonly afterExpiry?: (expired: readonly ExpiryEntry[]) => Promise<void> | void;
  readonly logger?: ExpiryLogger;
  /** How often touched entries are written out. @default 10000 */
  readonly flushIntervalMs?: number;
  /** How often due entries are expired. @default 60000 */
  readonly checkIntervalMs?: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/** The TTL state of one cache (see the module comment). */
export interface CacheExpiry {
  /** Schedules (or pushes back) the expiry of a cached entry: `ttlMs` from now. `0` never expires. */
  touch(kind: ExpiryKind, name: string, digest: Digest, ttlMs: number): void;
  /** The entries known now (after the last load or flush, plus what was touched since). */
  entries(): ExpiryEntry[];
  /** Reads the state file (a missing one is empty; a corrupt one is a warning and a rebuild). */
  load(): Promise<void>;
  /** Merges what was touched into the state file. */
  flush(): Promise<void>;
  /** Loads, expires what is due, flushes. Returns what was expired. */
  runOnce(): Promise<ExpiryEntry[]>;
  /** Starts the periodic flush and expiry (timers do not keep the process alive). */
  start(): void;
  /** Stops the timers and flushes once more. */
  stop(): Promise<void>;
}

interface StateEntry {
  Key: string;
  ExpiryData: string;
  EntryType: number;
}

const keyOf = (name: string, digest: string): string => `${name}@${digest}`;

function parseKey(key: string): { name: string; digest: Digest } | undefined {
  const at = key.lastIndexOf('@');
  if (at <= 0) return undefined;
  const digest = key.slice(at + 1);
  if (!/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) return undefined;
  return { name: key.slice(0, at), digest: digest as Digest };
}

/**
 * Creates the TTL state over `driver`.
 *
 * Sharing: every flush reads the file, merges it with what this process touched since its last
 * flush (the later expiry wins), and writes the result atomically (`putContent`). Entries this
 * process knew but did not touch and no longer finds in the file were expired by another
 * process and are forgotten, so nothing expired comes back. Two flushes racing can still lose
 * one side's touches of that round: the cost is an entry that expires early (the next pull
 * fetches it again) or one that is never scheduled (it stays cached), never lost data.
 */
export function createCacheExpiry(options: CacheExpiryOptions): CacheExpiry {
  const path = options.path ?? '/scheduler-state.json';
  const now = options.now ?? Date.now;
  const flushIntervalMs = options.flushIntervalMs ?? 10_000;
  const checkIntervalMs = options.checkIntervalMs ?? 60_000;
  /** What the file held at the last load or flush, with this process's touches since. */
  let known = new Map<string, ExpiryEntry>();
  /** Touched since the last flush. */
  let touched = new Map<string, ExpiryEntry>();
  /** Expired by this process since the last flush. */
  const removed = new Set<string>();
  let timers: NodeJS.Timeout[] = [];
  let running: Promise<unknown> = Promise.resolve();

  /** Serializes file work: a flush and an expiry round never interleave in one process. */
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const result = running.then(task, task);
    running = result.catch(() => {});
    return result;
  };

  async function read(): Promise<Map<string, ExpiryEntry>> {
    let bytes: Uint8Array;
    try {
      bytes = await options.driver.getContent(path);
    } catch (error) {
      if (isPathNotFound(error)) return new Map();
      throw error;
    }
    const entries = new Map<string, ExpiryEntry>();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      options.logger?.warn('proxy: the TTL state file is not JSON: rebuilding it', { path });
      return entries;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      options.logger?.warn('proxy: the TTL state file is not an object: rebuilding it', { path });
      return entries;
    }
    let skipped = 0;
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      const entry = value as Partial<StateEntry> | null;
      const parts = parseKey(key);
      const expiresAt = typeof entry?.ExpiryData === 'string' ? Date.parse(entry.ExpiryData) : Number.NaN;
      const kind = entry?.EntryType === 0 ? 'blob' : entry?.EntryType === 1 ? 'manifest' : undefined;
      if (parts === undefined || kind === undefined || Number.isNaN(expiresAt)) {
        skipped += 1;
        continue;
      }
      entries.set(key, { kind, ...parts, expiresAt });
    }
    if (skipped > 0) options.logger?.warn('proxy: skipped unreadable TTL state entries', { path, skipped });
    return entries;
  }

  async function write(entries: Map<string, ExpiryEntry>): Promise<void> {
    const out: Record<string, StateEntry> = {};
    for (const [key, entry] of entries) {
      out[key] = {
        Key: key,
        ExpiryData: new Date(entry.expiresAt).toISOString(),
        EntryType: entry.kind === 'blob' ? 0 : 1,
      };
    }
    await options.driver.putContent(path, Buffer.from(JSON.stringify(out)));
  }

  const doLoad = async (): Promise<void> => {
    const file = await read();
    for (const [key, entry] of touched) file.set(key, later(file.get(key), entry));
    known = file;
  };

  const doFlush = async (): Promise<void> => {
    if (touched.size === 0 && removed.size === 0) return;
    const pendingTouched = touched;
    const pendingRemoved = new Set(removed);
    touched = new Map();
    removed.clear();
    try {
      const file = await read();
      for (const key of pendingRemoved) {
        // Expired here; touched again by another process since? Its touch wins.
        const theirs = file.get(key);
        if (theirs !== undefined && theirs.expiresAt <= now()) file.delete(key);
        else if (theirs === undefined) file.delete(key);
      }
      for (const [key, entry] of pendingTouched) file.set(key, later(file.get(key), entry));
      await write(file);
      known = file;
    } catch (error) {
      // Kept for the next flush.
      for (const [key, entry] of pendingTouched) touched.set(key, later(touched.get(key), entry));
      for (const key of pendingRemoved) removed.add(key);
      throw error;
    }
  };

  const doRun = async (): Promise<ExpiryEntry[]> => {
    await doLoad();
    const time = now();
    const due = [...known.values()].filter((entry) => entry.expiresAt <= time);
    const expired: ExpiryEntry[] = [];
    const live = [...known.values()].filter((entry) => entry.expiresAt > time);
    for (const entry of due) {
      const key = keyOf(entry.name, entry.digest);
      const until = await options.postpone?.(entry, live);
      if (until !== undefined && until > time) {
        const next = { ...entry, expiresAt: until };
        known.set(key, next);
        touched.set(key, next);
        continue;
      }
      try {
        await options.expire(entry);
      } catch (error) {
        options.logger?.warn('proxy: could not expire a cached entry (retried next round)', {
          key,
          err: error,
        });
        continue;
      }
      known.delete(key);
      touched.delete(key);
      removed.add(key);
      expired.push(entry);
    }
    await doFlush();
    if (expired.length > 0) {
      options.logger?.info('proxy: expired cached entries', {
        manifests: expired.filter((e) => e.kind === 'manifest').length,
        blobs: expired.filter((e) => e.kind === 'blob').length,
      });
      await options.afterExpiry?.(expired);
    }
    return expired;
  };

  const report = (what: string) => (error: unknown) =>
    options.logger?.warn(`proxy: TTL state ${what} failed`, { path, err: error });

  return {
    touch(kind, name, digest, ttlMs) {
      if (ttlMs <= 0) return;
      const key = keyOf(name, digest);
      const entry: ExpiryEntry = { kind, name, digest, expiresAt: now() + ttlMs };
      known.set(key, entry);
      touched.set(key, entry);
      removed.delete(key);
    },
    entries: () => [...known.values()],
    load: () => serial(doLoad),
    flush: () => serial(doFlush),
    runOnce: () => serial(doRun),
    start() {
      if (timers.length > 0) return;
      const flush = setInterval(() => void serial(doFlush).catch(report('flush')), flushIntervalMs);
      const check = setInterval(() => void serial(doRun).catch(report('expiry round')), checkIntervalMs);
      flush.unref();
      check.unref();
      timers = [flush, check];
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      timers = [];
      await serial(doFlush).catch(report('flush'));
    },
  };
}

function later(a: ExpiryEntry | undefined, b: ExpiryEntry): ExpiryEntry {
  return a === undefined || b.expiresAt >= a.expiresAt ? b : a;
}
