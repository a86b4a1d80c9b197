/**
 * Pushes a small OCI image (one layer, one config) to a real registry over HTTP, for the
 * upstream client's tests.
 */
import { randomBytes } from 'node:crypto';
import { digestOf } from '@berth/digest';

/** What {@link pushImage} pushed. */
export interface PushedImage {
  readonly manifest: Uint8Array;
  readonly manifestDigest: string;
  readonly layer: Uint8Array;
  readonly layerDigest: string;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function pushBlob(base: string, name: string, content: Uint8Array, headers: Record<string, string>) {
  const digest = digestOf(content);
  const started = await fetch(`${base}/v2/${name}/blobs/uploads/`, { method: 'POST', headers });
  if (started.status !== 202)
    throw new Error(`POST upload to ${base}: HTTP ${started.status} ${await started.text()}`);
  const location = new URL(started.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: content,
  });
  if (put.status !== 201) throw new Error(`PUT blob to ${base}: HTTP ${put.status} ${await put.text()}`);
  return digest;
}

/**
 * Pushes a fresh image (random layer of `layerSize` bytes) as `name:tag` to the registry at
 * `base`, with `authorization` on every request if given.
 */
export async function pushImage(
  base: string,
  name: string,
  tag: string,
  options: { authorization?: string; layerSize?: number } = {},
): Promise<PushedImage> {
  const headers: Record<string, string> =
    options.authorization === undefined ? {} : { authorization: options.authorization };
  const layer = new Uint8Array(randomBytes(options.layerSize ?? 100_000));
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [digestOf(layer)] },
    }),
  );
  const [layerDigest, configDigest] = [
    await pushBlob(base, name, layer, headers),
    await pushBlob(base, name, config, headers),
  ];
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const put = await fetch(`${base}/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': OCI_MANIFEST },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`PUT manifest to ${base}: HTTP ${put.status} ${await put.text()}`);
  return { manifest, manifestDigest: digestOf(manifest), layer, layerDigest };
}

/** `Basic <base64(user:password)>` */
export const basicAuth = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Reads a web stream to its end. */
export async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (body === null) return new Uint8Array();
  return new Uint8Array(await new Response(body).arrayBuffer());
}
