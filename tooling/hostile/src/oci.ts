/**
 * OCI pieces the suites build and check: digests, image manifests, the error envelope, and the
 * shape of a `/v2/` route (mirroring the endpoints of the distribution spec, so a path that is
 * no endpoint — answered with a plain `404 page not found`, as registry:2 does — is told apart).
 */
import { createHash } from 'node:crypto';
import type { RawResponse } from './http.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_NONDISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** `sha256:<hex>` of `bytes`. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `sha512:<hex>` of `bytes`. */
export function sha512(bytes: Uint8Array): string {
  return `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
}

/** The digest of `bytes` in the algorithm `digest` names (sha256 or sha512). */
export function digestLike(digest: string, bytes: Uint8Array): string {
  return digest.startsWith('sha512:') ? sha512(bytes) : sha256(bytes);
}

/** A content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly [key: string]: unknown;
}

/** A blob with its digest. */
export interface Blob {
  readonly digest: string;
  readonly bytes: Buffer;
}

/** Makes a blob. */
export function blobOf(bytes: Buffer): Blob {
  return { digest: sha256(bytes), bytes };
}

/** The descriptor of a blob. */
export function describe(blob: Blob, mediaType: string, extra: Record<string, unknown> = {}): Descriptor {
  return { mediaType, digest: blob.digest, size: blob.bytes.length, ...extra };
}

/** A manifest as pushed: its exact bytes, digest and media type. */
export interface ManifestBytes {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string;
}

/** Serialises a manifest object. */
export function manifestBytes(manifest: unknown, mediaType: string): ManifestBytes {
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { bytes, digest: sha256(bytes), mediaType };
}

/** An OCI image manifest over a config and layers. */
export function imageManifest(
  config: Blob,
  layers: readonly Blob[],
  extra: Record<string, unknown> = {},
): ManifestBytes {
  return manifestBytes(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: describe(config, OCI_CONFIG),
      layers: layers.map((layer) => describe(layer, OCI_LAYER)),
      ...extra,
    },
    OCI_MANIFEST,
  );
}

/** A config blob: a small JSON document, unique per `label`. */
export function configBlob(label: string): Blob {
  return blobOf(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'org.example.hostile': label } },
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    ),
  );
}

/**
 * Why `response` is not a proper OCI error response (`Content-Type` JSON and
 * `{"errors":[{"code":string,"message":string,…}]}`), or `undefined` when it is.
 */
export function envelopeProblem(response: RawResponse): string | undefined {
  const type = response.headers.get('content-type');
  if (response.body.length === 0) return `empty body (Content-Type ${type ?? 'none'})`;
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
    return `Content-Type ${type ?? 'none'}, not application/json`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    return 'body is not JSON';
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return 'no non-empty "errors" array';
  for (const entry of errors) {
    const { code, message } = (entry ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code !== 'string' || code === '')
      return `an error without a string "code": ${JSON.stringify(entry)}`;
    if (typeof message !== 'string') return `an error without a string "message": ${JSON.stringify(entry)}`;
  }
  return undefined;
}

/** The `code` of the first error in an envelope, if any. */
export function errorCode(response: RawResponse): string | undefined {
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as { errors?: { code?: unknown }[] };
    const code = parsed.errors?.[0]?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The path of a request target (origin-form as is; the path of an absolute-form `http(s)` URL
 * with a host), without the query; `undefined` for `*`, authority-form and other targets. A
 * `#` stays in the path: a request target has no fragment, so it is just a character there.
 */
export function targetPath(target: string): string | undefined {
  let path = target;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    const absolute = /^https?:\/\/[^/?#]+(.*)$/i.exec(target);
    if (!absolute) return undefined;
    path = absolute[1] === '' ? '/' : absolute[1]!;
  }
  if (!path.startsWith('/')) return undefined;
  const cut = path.indexOf('?');
  return cut < 0 ? path : path.slice(0, cut);
}

/**
 * Whether `target` addresses a `/v2/` endpoint of the distribution spec (base, catalog, tags
 * list, manifest, blob, upload start, upload, referrers), whatever the name, reference or
 * digest in it. Error answers on these must carry the OCI error envelope.
 */
export function isApiTarget(target: string): boolean {
  const path = targetPath(target);
  if (path === undefined) return false;
  if (path === '/v2' || path === '/v2/') return true;
  if (!path.startsWith('/v2/')) return false;
  let rest = path.slice(4);
  if (rest === '_catalog' || rest === '_catalog/') return true;
  if (/^.+\/blobs\/uploads\/?$/.test(rest)) return true;
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  return (
    /^.+\/blobs\/uploads\/[^/]+$/.test(rest) ||
    /^.+\/tags\/list$/.test(rest) ||
    /^.+\/(manifests|blobs|referrers)\/[^/]+$/.test(rest)
  );
}
