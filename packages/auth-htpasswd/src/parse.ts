import { HtpasswdError } from './errors.ts';

/** One user of an htpasswd file. */
export interface HtpasswdEntry {
  /** The bcrypt hash (`$2y$10$…`). */
  readonly hash: string;
  /** Its cost factor (log2 of the rounds). */
  readonly cost: number;
}

/** A parsed htpasswd file. */
export interface ParsedHtpasswd {
  readonly entries: ReadonlyMap<string, HtpasswdEntry>;
  /** Lines that were skipped, e.g. an entry without a user name. */
  readonly warnings: readonly string[];
}

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'apr1 (Apache MD5)';
  if (hash.startsWith('$1$')) return 'MD5-crypt';
  if (hash.startsWith('$5$')) return 'SHA-256-crypt';
  if (hash.startsWith('$6$')) return 'SHA-512-crypt';
  if (hash.startsWith('{SHA}')) return 'SHA-1';
  if (hash.startsWith('$2')) return 'malformed bcrypt';
  if (hash.startsWith('$')) return 'unknown';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'DES crypt';
  return 'plain text or unknown';
}

/**
 * Parses an htpasswd file the way registry:2 does (lines are trimmed; empty lines and lines
 * starting with `#` are skipped; the user name ends at the first `:`; a later entry for the same
 * user wins), and accepts bcrypt hashes only (`$2y$`, `$2a$`, `$2b$`; `htpasswd -B`).
 *
 * @throws {HtpasswdError} `HTPASSWD_INVALID` naming the line and user: a line without `:`, or
 * a hash of another type (MD5/apr1, SHA-1, crypt, plain text), which registry:2 would only
 * notice when that user logs in.
 */
export function parseHtpasswd(text: string): ParsedHtpasswd {
  const entries = new Map<string, HtpasswdEntry>();
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const colon = trimmed.indexOf(':');
    if (colon < 0) {
      throw new HtpasswdError('HTPASSWD_INVALID', `line ${line}: not a "user:hash" entry`, { line });
    }
    const user = trimmed.slice(0, colon);
    const hash = trimmed.slice(colon + 1);
    if (user === '') {
      warnings.push(`line ${line}: entry without a user name ignored`);
      return;
    }
    const match = BCRYPT.exec(hash);
    const cost = match === null ? Number.NaN : Number(match[1]);
    if (match === null || cost < 4 || cost > 31) {
      throw new HtpasswdError(
        'HTPASSWD_INVALID',
        `line ${line}: user ${JSON.stringify(user)}: unsupported password hash (${hashKind(hash)}); ` +
          'only bcrypt is accepted, as in registry:2 (create entries with "htpasswd -B")',
        { line, user },
      );
    }
    entries.set(user, { hash, cost });
  });
  return { entries, warnings };
}

/** The most common cost factor of `entries` (ties: the higher one), or `fallback` for none. */
export function typicalCost(entries: ReadonlyMap<string, HtpasswdEntry>, fallback: number): number {
  const counts = new Map<number, number>();
  for (const { cost } of entries.values()) counts.set(cost, (counts.get(cost) ?? 0) + 1);
  let best = fallback;
  let bestCount = 0;
  for (const [cost, count] of counts) {
    if (count > bestCount || (count === bestCount && cost > best)) {
      best = cost;
      bestCount = count;
    }
  }
  return best;
}
