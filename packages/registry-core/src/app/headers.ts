/** Header names and values shared by the handlers, and the parsers of request headers. */

/** `Docker-Distribution-API-Version`, on every response (registry:2 and the spec's version check). */
export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';
/** Its only value. */
export const API_VERSION = 'registry/2.0';

/** The first value of a comma-separated header (`X-Forwarded-Host: a, b` → `a`). */
function firstValue(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const first = header.split(',', 1)[0]!.trim();
  return first === '' ? undefined : first;
}

/** The parameters of an RFC 7239 `Forwarded` header's first element. */
function parseForwarded(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const element = firstValue(header);
  if (element === undefined) return out;
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (key !== '' && value !== '' && !out.has(key)) out.set(key, value);
  }
  return out;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
// A host with an optional port; IPv6 literals in brackets. Anything else (spaces, `/`, `@`) is
// ignored so a forged header cannot turn a Location into a different URL shape.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]{1,5})?$/;

/** The request headers {@link requestBaseURL} reads. */
export interface BaseURLRequest {
  /** The request URL as the runtime built it (scheme and host of the connection). */
  readonly url: string;
  header(name: string): string | undefined;
}

/**
 * The absolute origin a client used to reach the registry, as registry:2 builds it for
 * `Location` headers (registry/api/v2/urls.go `NewURLBuilderFromRequest`): scheme from
 * `X-Forwarded-Proto`, else `Forwarded: proto=`, else the connection; host from the first
 * `X-Forwarded-Host`, else `Forwarded: host=`, else `Host`; `X-Forwarded-Port` when the host
 * has no port. (registry:2 also takes the host from `Forwarded: for=`, the *client* address —
 * a bug Berth does not copy.)
 */
export function requestOrigin(request: BaseURLRequest): string {
  const url = new URL(request.url);
  const forwarded = parseForwarded(request.header('forwarded'));
  let scheme = firstValue(request.header('x-forwarded-proto')) ?? forwarded.get('proto');
  if (scheme === undefined || !SCHEME.test(scheme)) scheme = url.protocol.slice(0, -1);
  let host = firstValue(request.header('x-forwarded-host')) ?? forwarded.get('host');
  if (host === undefined || !HOST.test(host)) host = url.host;
  const port = firstValue(request.header('x-forwarded-port'));
  if (port !== undefined && /^[0-9]{1,5}$/.test(port) && !/:[0-9]+$/.test(host)) host = `${host}:${port}`;
  return `${scheme.toLowerCase()}://${host}`;
}

/** `"<digest>"`: the entity tag of a manifest or blob. */
export function etagOf(digest: string): string {
  return `"${digest}"`;
}

/**
 * True when `If-None-Match` matches `digest`: `*`, or any listed entity tag equal to the digest,
 * quoted or bare (registry:2 accepts both), weak (`W/`) or strong.
 */
export function ifNoneMatch(header: string | undefined, digest: string): boolean {
  if (header === undefined) return false;
  for (const raw of header.split(',')) {
    let tag = raw.trim();
    if (tag === '*') return true;
    if (tag.startsWith('W/')) tag = tag.slice(2);
    if (tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"')) tag = tag.slice(1, -1);
    if (tag === digest) return true;
  }
  return false;
}

/** The outcome of evaluating a `Range` request header against a blob's size. */
export type RangeRequest =
  | { readonly kind: 'none' }
  | { readonly kind: 'unsatisfiable' }
  /** `start` inclusive, `end` exclusive. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number };

const BYTES_RANGE = /^\s*(\d*)\s*-\s*(\d*)\s*$/;

/**
 * Evaluates a `Range: bytes=…` header (RFC 9110 §14) against `size`.
 *
 * - No header, another unit, or more than one range → `none` (serve the whole blob with 200:
 *   RFC 9110 lets a server ignore `Range`; answering a multi-range request with one part would
 *   be wrong and multipart/byteranges helps no registry client).
 * - `a-b`, `a-`, `-n` → the range, `b` clipped to the end.
 * - A first byte past the end, `-0`, or a malformed `bytes=` set → `unsatisfiable` (416, as Go's
 *   `http.ServeContent` answers for registry:2).
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'none' };
  const specs = header.slice(eq + 1).split(',');
  if (specs.length !== 1) return { kind: 'none' };
  const match = BYTES_RANGE.exec(specs[0]!);
  if (!match) return { kind: 'unsatisfiable' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'unsatisfiable' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  if (last === '') return { kind: 'range', start, end: size };
  const end = Number(last);
  if (end < start) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(end + 1, size) };
}

/**
 * Parses an upload chunk's `Content-Range: <start>-<end>` (inclusive, no unit, no total: the
 * distribution spec's grammar `^[0-9]+-[0-9]+$`). Returns `undefined` when malformed.
 */
export function parseChunkRange(header: string): { start: number; end: number } | undefined {
  const match = /^\s*(?:bytes[ =])?(\d+)-(\d+)(?:\/(\d+|\*))?\s*$/.exec(header);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
  // A complete length must lie past the last byte (RFC 9110 §14.4): `0-99/50` is invalid.
  const total = match[3];
  if (total !== undefined && total !== '*' && !(Number(total) > end)) return undefined;
  return { start, end };
}

/**
 * Parses `Content-Length`. `undefined` when absent; `NaN` when present but not a non-negative
 * integer.
 */
export function parseContentLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  return /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

/** The media type of a `Content-Type` header without its parameters, or `undefined` when empty. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const type = header.split(';', 1)[0]!.trim();
  return type === '' ? undefined : type;
}

/**
 * `Range: 0-<last byte>` of an upload session. registry:2 answers `0-0` for an empty upload
 * too (there is no way to say "nothing" in this grammar), and clients expect it.
 */
export function uploadRange(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}

/** An RFC 8288 `Link: <url>; rel="next"` header value. */
export function nextLink(url: string): string {
  return `<${url}>; rel="next"`;
}
