/**
 * Pushes a small OCI image (one layer, one config) to a running registry over its HTTP API,
 * with `fetch`, for the server tests.
 */
import { randomBytes } from 'node:crypto';
import { type Digest, digestOf } from '@berth/digest';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

/** The bytes and digests of a pushed image. */
export interface TestImage {
  readonly manifest: Buffer;
  readonly manifestDigest: Digest;
  readonly config: Buffer;
  readonly configDigest: Digest;
  readonly layer: Buffer;
  readonly layerDigest: Digest;
}

/** Options of {@link pushTestImage}. */
export interface PushTestImageOptions {
  /** The layer's bytes. @default 64 KiB of random bytes */
  readonly layer?: Buffer;
  /** Sent with every request (`authorization`). */
  readonly headers?: Record<string, string>;
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status !== status) {
    throw new Error(`${what}: HTTP ${response.status} (expected ${status}): ${await response.text()}`);
  }
  await response.body?.cancel();
}

/** Uploads `content` as one blob of `name` (a POST, then one PUT with the whole body). */
export async function pushTestBlob(
  base: string,
  name: string,
  content: Buffer,
  headers: Record<string, string> = {},
): Promise<Digest> {
  const digest = digestOf(content);
  const started = await fetch(`${base}/v2/${name}/blobs/uploads/`, { method: 'POST', headers });
  await expectStatus(started, 202, `POST ${name} upload`);
  const location = new URL(started.headers.get('location') ?? '', base);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: content,
  });
  await expectStatus(put, 201, `PUT ${name} blob`);
  return digest;
}

/** Pushes a fresh image as `name:tag` to the registry at `base`. */
export async function pushTestImage(
  base: string,
  name: string,
  tag: string,
  options: PushTestImageOptions = {},
): Promise<TestImage> {
  const headers = options.headers ?? {};
  const layer = options.layer ?? randomBytes(64 * 1024);
  const layerDigest = await pushTestBlob(base, name, layer, headers);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
    }),
  );
  const configDigest = await pushTestBlob(base, name, config, headers);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
    }),
  );
  const put = await fetch(`${base}/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': OCI_MANIFEST },
    body: manifest,
  });
  await expectStatus(put, 201, `PUT ${name}:${tag}`);
  return { manifest, manifestDigest: digestOf(manifest), config, configDigest, layer, layerDigest };
}
