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

/** One range of bytes: `start` inclusive, `end` exclusive. */
export interface ByteSpan {
  readonly start: number;
  readonly end: number;
}

/** The outcome of evaluating a `Range` request header against a blob's size. */
export type RangeRequest =
  | { readonly kind: 'none' }
  | { readonly kind: 'unsatisfiable' }
  /** One range: a `206` with `Content-Range`. `start` inclusive, `end` exclusive. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  /** Several ranges, in the order asked: a `206` with `multipart/byteranges`. */
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteSpan[] };

const BYTES_RANGE = /^\s*(\d*)\s*-\s*(\d*)\s*$/;

/**
 * Evaluates a `Range: bytes=…` header (RFC 9110 §14) against `size`, as Go's `http.ServeContent`
 * does for registry:2 (`net/http/fs.go` `parseRange`, `serveContent`):
 *
 * - No header, another unit, or no range at all (`bytes=`) → `none` (the whole blob, 200).
 * - Each of `a-b`, `a-`, `-n` becomes a range, `b` clipped to the end; empty elements are
 *   skipped, and so are ranges starting at or past the end (and `-0`, and any suffix of an empty
 *   blob). A malformed element, or `b < a`, makes the whole header `unsatisfiable` (416).
 * - Nothing left → `unsatisfiable` (416, whose `Content-Range` gives `*` and the size).
 * - Ranges adding up to more than the blob → `none`: Go's defence against a request that would
 *   send more than the whole (overlapping ranges are fine below that).
 * - One range → `range`; several → `ranges`, in the order asked, overlaps included.
 *
 * Unlike Go, another unit is ignored rather than answered 416 (RFC 9110 lets a server ignore
 * `Range`), and a `-0` or a suffix of an empty blob is no zero-length range (Go answers it
 * with `Content-Range: bytes 20-19/20`) but skipped.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'none' };
  const ranges: ByteSpan[] = [];
  let skipped = false;
  for (const element of header.slice(eq + 1).split(',')) {
    if (element.trim() === '') continue;
    const match = BYTES_RANGE.exec(element);
    if (!match) return { kind: 'unsatisfiable' };
    const [, first = '', last = ''] = match;
    if (first === '' && last === '') return { kind: 'unsatisfiable' };
    if (first === '') {
      const suffix = Number(last);
      if (suffix === 0 || size === 0) {
        skipped = true;
        continue;
      }
      ranges.push({ start: Math.max(0, size - suffix), end: size });
      continue;
    }
    const start = Number(first);
    if (start >= size) {
      skipped = true;
      continue;
    }
    if (last === '') {
      ranges.push({ start, end: size });
      continue;
    }
    const end = Number(last);
    if (end < start) return { kind: 'unsatisfiable' };
    ranges.push({ start, end: Math.min(end + 1, size) });
  }
  if (ranges.length === 0) return skipped ? { kind: 'unsatisfiable' } : { kind: 'none' };
  if (ranges.reduce((sum, range) => sum + (range.end - range.start), 0) > size) return { kind: 'none' };
  if (ranges.length === 1) return { kind: 'range', start: ranges[0]!.start, end: ranges[0]!.end };
  return { kind: 'ranges', ranges };
}

/** The framing of a `multipart/byteranges` body; the parts' bytes go between. */
export interface ByteRangesLayout {
  /** `multipart/byteranges; boundary=…`. */
  readonly contentType: string;
  /** What goes before each part's bytes: delimiter and the part's headers. */
  readonly heads: readonly Uint8Array[];
  /** The closing delimiter, after the last part's bytes. */
  readonly tail: Uint8Array;
  /** The body's length: framing and every part's bytes. */
  readonly length: number;
}

/**
 * Lays out a `multipart/byteranges` body as Go's `mime/multipart` writes it for
 * `http.ServeContent`: `--boundary` then, per part, `Content-Range` and `Content-Type` (sorted
 * by name), a blank line and the bytes; `\r\n` before each following delimiter; `\r\n--boundary--\r\n`
 * at the end.
 */
export function byteRangesLayout(
  ranges: readonly ByteSpan[],
  partType: string,
  size: number,
  boundary: string,
): ByteRangesLayout {
  const encoder = new TextEncoder();
  const heads = ranges.map((range, index) =>
    encoder.encode(
      `${index === 0 ? '' : '\r\n'}--${boundary}\r\n` +
        `Content-Range: bytes ${range.start}-${range.end - 1}/${size}\r\n` +
        `Content-Type: ${partType}\r\n\r\n`,
    ),
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const length =
    heads.reduce((sum, head) => sum + head.byteLength, 0) +
    ranges.reduce((sum, range) => sum + (range.end - range.start), 0) +
    tail.byteLength;
  return { contentType: `multipart/byteranges; boundary=${boundary}`, heads, tail, length };
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
