/**
 * Parses HTTP `Accept` header value(s) into the set of acceptable media types, for manifest content
 * negotiation. Values are split on commas, trimmed and lower-cased; parameters (`;q=0.5`) are dropped,
 * and entries explicitly refused with `q=0` are left out. Empty entries are ignored. Never throws.
 *
 * @param header - a header value, the list of repeated header values, or `undefined`.
 *
 * @example
 * ```ts
 * parseAccept('application/vnd.oci.image.index.v1+json, application/json;q=0.5');
 * // Set { 'application/vnd.oci.image.index.v1+json', 'application/json' }
 * ```
 */
export function parseAccept(header: string | readonly string[] | undefined): Set<string> {
  const out = new Set<string>();
  if (header === undefined) return out;
  const values = typeof header === 'string' ? [header] : header;
  for (const value of values) {
    for (const entry of value.split(',')) {
      const parts = entry.split(';');
      const mediaType = (parts[0] ?? '').trim().toLowerCase();
      if (mediaType === '' || isRefused(parts)) continue;
      out.add(mediaType);
    }
  }
  return out;
}

/** True when the entry carries a `q` parameter equal to zero. */
function isRefused(parts: readonly string[]): boolean {
  for (let i = 1; i < parts.length; i++) {
    const param = (parts[i] ?? '').trim();
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const q = Number(param.slice(eq + 1).trim());
    return q === 0;
  }
  return false;
}
