/**
 * An htpasswd file as a {@link CredentialVerifier}: bcrypt in worker threads, successes cached,
 * failures throttled per (user, client address), the file reloaded when it changes.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientInfo, CredentialCheck, CredentialVerifier } from '@berth/registry-core';
import bcrypt from 'bcryptjs';
import { BcryptPool, type BcryptPoolOptions } from './bcrypt-pool.ts';
import { HtpasswdError, isHtpasswdError } from './errors.ts';
import { type HtpasswdEntry, parseHtpasswd, typicalCost } from './parse.ts';
import { FailureThrottle, type ThrottleOptions } from './throttle.ts';
import { VerifiedCache, type VerifiedCacheOptions } from './verified-cache.ts';

/** Something that happened to the file after it was first loaded (for the server's log). */
export type HtpasswdEvent =
  | { readonly type: 'reloaded'; readonly users: number; readonly warnings: readonly string[] }
  | { readonly type: 'reload-failed'; readonly error: HtpasswdError }
  | { readonly type: 'missing' };

/** Options of {@link openHtpasswd}. */
export interface HtpasswdOptions {
  /** The htpasswd file (`auth.htpasswd.path`). */
  readonly path: string;
  /** How often, at most, the file's mtime is checked (on use, not by a timer). @default 1000 */
  readonly checkIntervalMs?: number;
  /** The bcrypt worker pool: a shared {@link BcryptPool}, or options for a private one. */
  readonly pool?: BcryptPool | BcryptPoolOptions;
  /** The cache of successful verifications. */
  readonly cache?: VerifiedCacheOptions;
  /** Throttling of failures; `false` turns it off (benchmarks only). */
  readonly throttle?: ThrottleOptions | false;
  /** Told when the file is reloaded, fails to reload, or is missing. */
  readonly onEvent?: (event: HtpasswdEvent) => void;
}

/** A loaded htpasswd file; see {@link openHtpasswd}. */
export interface Htpasswd extends CredentialVerifier {
  /** The number of users. */
  readonly users: number;
  /** Problems of the last load that did not prevent it (entries without a user name). */
  readonly warnings: readonly string[];
  /** Whether `user` is in the file (as last loaded). */
  has(user: string): boolean;
  /** Checks the file's mtime now (normally done lazily, at most every `checkIntervalMs`). */
  refresh(): Promise<void>;
  /** Stops the worker threads (of a private pool). */
  close(): Promise<void>;
}

interface Signature {
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly size: number;
  readonly ino: number;
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A bcrypt hash of the given cost that no password matches (its hash part is random), compared
 * for unknown users so they take as long as known ones.
 */
export function dummyHash(cost: number): string {
  const salt = bcrypt.genSaltSync(cost);
  let tail = '';
  const bytes = randomBytes(31);
  for (const byte of bytes) tail += BCRYPT_ALPHABET[byte % 64];
  return `${salt}${tail}`;
}

function unreadable(path: string, error: unknown): HtpasswdError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
  return new HtpasswdError('HTPASSWD_UNREADABLE', `cannot read htpasswd file ${path}: ${why}`, {
    cause: error,
  });
}

function signatureOf(stats: { mtimeMs: number; ctimeMs: number; size: number; ino: number }): Signature {
  return { mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, size: stats.size, ino: stats.ino };
}

function sameSignature(a: Signature | undefined, b: Signature): boolean {
  return (
    a !== undefined &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.size === b.size &&
    a.ino === b.ino
  );
}

/**
 * Loads an htpasswd file (bcrypt entries only) and returns a verifier for it.
 *
 * - **Reload**: before a check, at most every `checkIntervalMs`, the file's mtime/size/inode is
 *   compared; a changed file is re-read. A file that is missing (mid atomic replace) or invalid
 *   keeps the previous users and is reported through `onEvent`.
 * - **No event-loop blocking**: bcrypt runs in a {@link BcryptPool}.
 * - **Timing**: an unknown user is compared against a dummy hash of the file's usual cost, so
 *   the answer takes as long as for a known user with a wrong password.
 * - **Cache**: successes are remembered for `cache.ttlMs` (keyed by an HMAC, see
 *   {@link VerifiedCache}); identical checks in flight share one bcrypt run.
 * - **Throttling**: see {@link FailureThrottle}; a throttled check answers `throttled` with the
 *   seconds to wait, and so does a check that finds the bcrypt queue full.
 *
 * @throws {HtpasswdError} `HTPASSWD_UNREADABLE` (missing file: unlike registry:2, Berth does
 * not create one with a random password) or `HTPASSWD_INVALID` (naming the line and user).
 *
 * @example
 * ```ts
 * const htpasswd = await openHtpasswd({ path: '/etc/berth/htpasswd' });
 * await htpasswd.verify('alice', 'secret', { remoteAddress: '192.0.2.1' }); // { outcome: 'valid' }
 * ```
 */
export async function openHtpasswd(options: HtpasswdOptions): Promise<Htpasswd> {
  const path = options.path;
  let text: string;
  let signature: Signature | undefined;
  try {
    signature = signatureOf(await stat(path));
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
  const first = parseHtpasswd(text);
  return new HtpasswdFile(options, first.entries, first.warnings, signature);
}

class HtpasswdFile implements Htpasswd {
  readonly #path: string;
  readonly #checkIntervalMs: number;
  readonly #pool: BcryptPool;
  readonly #ownPool: boolean;
  readonly #cache: VerifiedCache;
  readonly #throttle: FailureThrottle | undefined;
  readonly #onEvent: (event: HtpasswdEvent) => void;
  readonly #inFlight = new Map<string, Promise<CredentialCheck>>();
  #entries: ReadonlyMap<string, HtpasswdEntry>;
  #warnings: readonly string[];
  #dummy: string;
  #signature: Signature | undefined;
  #lastCheck = Date.now();
  #checking: Promise<void> | undefined;
  #missingReported = false;

  constructor(
    options: HtpasswdOptions,
    entries: ReadonlyMap<string, HtpasswdEntry>,
    warnings: readonly string[],
    signature: Signature | undefined,
  ) {
    this.#path = options.path;
    this.#checkIntervalMs = Math.max(0, options.checkIntervalMs ?? 1000);
    if (options.pool instanceof BcryptPool) {
      this.#pool = options.pool;
      this.#ownPool = false;
    } else {
      this.#pool = new BcryptPool(options.pool);
      this.#ownPool = true;
    }
    this.#cache = new VerifiedCache(options.cache);
    this.#throttle = options.throttle === false ? undefined : new FailureThrottle(options.throttle);
    this.#onEvent = options.onEvent ?? (() => {});
    this.#entries = entries;
    this.#warnings = warnings;
    this.#dummy = dummyHash(typicalCost(entries, 10));
    this.#signature = signature;
  }

  get users(): number {
    return this.#entries.size;
  }

  get warnings(): readonly string[] {
    return this.#warnings;
  }

  has(user: string): boolean {
    return this.#entries.has(user);
  }

  async verify(username: string, password: string, client: ClientInfo): Promise<CredentialCheck> {
    if (Date.now() - this.#lastCheck >= this.#checkIntervalMs) await this.refresh();
    const entry = this.#entries.get(username);
    const hash = entry?.hash ?? this.#dummy;
    const cacheKey = this.#cache.keyOf(username, hash, password);
    // Only the right password can produce a hit, so this fast path reveals nothing. It is a
    // success like any other: the pair's failures are forgotten.
    if (entry !== undefined && this.#cache.has(cacheKey)) {
      this.#throttle?.forget(username, client.remoteAddress);
      return { outcome: 'valid' };
    }
    const shared = this.#inFlight.get(cacheKey);
    if (shared !== undefined) return shared;
    const check = this.#check(username, password, hash, entry !== undefined, cacheKey, client).finally(() =>
      this.#inFlight.delete(cacheKey),
    );
    this.#inFlight.set(cacheKey, check);
    return check;
  }

  async #check(
    username: string,
    password: string,
    hash: string,
    known: boolean,
    cacheKey: string,
    client: ClientInfo,
  ): Promise<CredentialCheck> {
    const throttle = this.#throttle;
    const address = client.remoteAddress;
    if (throttle !== undefined) {
      const admission = throttle.admit(username, address);
      if (!admission.admitted)
        return { outcome: 'throttled', retryAfterSeconds: Math.ceil(admission.retryAfterMs / 1000) };
    }
    let matches: boolean;
    try {
      matches = await this.#pool.compare(password, hash);
    } catch (error) {
      throttle?.release(username, address);
      if (isHtpasswdError(error, 'BCRYPT_POOL_BUSY')) return { outcome: 'throttled', retryAfterSeconds: 1 };
      throw error;
    }
    if (matches && known) {
      throttle?.success(username, address);
      this.#cache.add(cacheKey);
      return { outcome: 'valid' };
    }
    const delay = throttle?.failure(username, address) ?? 0;
    if (delay > 0) await sleep(delay);
    return { outcome: 'invalid' };
  }

  refresh(): Promise<void> {
    this.#checking ??= this.#reloadIfChanged().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #reloadIfChanged(): Promise<void> {
    this.#lastCheck = Date.now();
    let current: Signature;
    let text: string;
    try {
      current = signatureOf(await stat(this.#path));
      if (sameSignature(this.#signature, current)) {
        this.#missingReported = false;
        return;
      }
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // Mid atomic replace, or deleted: keep the users we have.
        if (!this.#missingReported) this.#onEvent({ type: 'missing' });
        this.#missingReported = true;
        return;
      }
      this.#onEvent({ type: 'reload-failed', error: unreadable(this.#path, error) });
      return;
    }
    this.#missingReported = false;
    this.#signature = current;
    try {
      const parsed = parseHtpasswd(text);
      this.#entries = parsed.entries;
      this.#warnings = parsed.warnings;
      this.#dummy = dummyHash(typicalCost(parsed.entries, 10));
      this.#onEvent({ type: 'reloaded', users: parsed.entries.size, warnings: parsed.warnings });
    } catch (error) {
      if (!isHtpasswdError(error)) throw error;
      this.#onEvent({ type: 'reload-failed', error });
    }
  }

  async close(): Promise<void> {
    this.#cache.clear();
    if (this.#ownPool) await this.#pool.close();
  }
}
