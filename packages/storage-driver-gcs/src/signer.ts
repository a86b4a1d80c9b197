/**
 * V4 signed URLs (`GOOG4-RSA-SHA256`, Google's documented algorithm), written here rather than
 * taken from `File.getSignedUrl` because the SDK signs only GET, PUT, DELETE and POST, and a
 * signature covers the HTTP method: a URL for `HEAD` has to be signed for `HEAD`. The signing
 * itself is the SDK's auth client: the service account's private key, or IAM `signBlob` with
 * Application Default Credentials.
 */
import { createHash } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';

/** What to sign. */
export interface SignRequest {
  readonly bucket: string;
  readonly object: string;
  readonly method: 'GET' | 'HEAD';
  /** Lifetime in seconds (at most 7 days). */
  readonly expiresIn: number;
  /** Signing time (milliseconds since the epoch). @default Date.now() */
  readonly now?: number;
}

/** RFC 3986 percent-encoding (`encodeURIComponent` leaves `!'()*` alone). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `20240102T030405Z` */
function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * A path-style V4 signed URL for one object on `storage`'s endpoint, signed for `method` with
 * only the `host` header signed (what a browser or a registry client sends).
 */
export async function signUrl(storage: Storage, request: SignRequest): Promise<string> {
  const auth = storage.authClient;
  const { client_email: email } = await auth.getCredentials();
  if (email === undefined) throw new Error('the credentials have no service account e-mail to sign with');
  const now = new Date(Math.floor((request.now ?? Date.now()) / 1000) * 1000);
  const stamp = timestamp(now);
  const scope = `${stamp.slice(0, 8)}/auto/storage/goog4_request`;
  const endpoint = new URL(storage.apiEndpoint);
  const path = `/${request.bucket}/${request.object.split('/').map(encode).join('/')}`;
  const query = [
    ['X-Goog-Algorithm', 'GOOG4-RSA-SHA256'],
    ['X-Goog-Credential', `${email}/${scope}`],
    ['X-Goog-Date', stamp],
    ['X-Goog-Expires', String(request.expiresIn)],
    ['X-Goog-SignedHeaders', 'host'],
  ]
    .map(([key, value]) => `${encode(key!)}=${encode(value!)}`)
    .sort()
    .join('&');
  const canonicalRequest = [
    request.method,
    path,
    query,
    `host:${endpoint.host}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [
    'GOOG4-RSA-SHA256',
    stamp,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signature = Buffer.from(await auth.sign(stringToSign), 'base64').toString('hex');
  return `${endpoint.origin}${path}?${query}&X-Goog-Signature=${signature}`;
}
