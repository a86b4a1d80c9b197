import { createCipheriv, createHash, type Hash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** Media types used by the layouts this module writes. */
export const MediaType = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: Platform;
  annotations?: Record<string, string>;
  data?: string;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/** The OCI empty descriptor: `{}` as `application/vnd.oci.empty.v1+json`. */
export const emptyDescriptor: Descriptor = {
  mediaType: MediaType.empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
};

/**
 * A layer of pseudo-random bytes: the same `seed` and `size` always give the same bytes, which
 * are generated and written streaming (1 MiB at a time), so a layer of any size costs no memory.
 */
export interface LayerSpec {
  /** Bytes of content (before tar/gzip framing). */
  size: number;
  seed: string;
  /**
   * `raw` (default): the bytes themselves as `…layer.v1.tar` — not a valid tar, which registries
   * and skopeo (without conversion) do not care about. `tar+gzip`: a real gzipped tar holding one
   * file of those bytes, as `…layer.v1.tar+gzip`.
   */
  format?: 'raw' | 'tar+gzip';
}

/** An image: one OCI image manifest with a config and layers. */
export interface ImageSpec {
  platform: Platform;
  layers: LayerSpec[];
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

/** A multi-platform image: an OCI image index of image manifests. */
export interface IndexSpec {
  images: ImageSpec[];
  annotations?: Record<string, string>;
}

/** An artifact manifest (config = the OCI empty descriptor) that refers to a `subject`. */
export interface ArtifactSpec {
  artifactType: string;
  /** The reference (in this layout) of the manifest or index the artifact refers to. */
  subject?: string;
  blobs: Array<{ mediaType: string; content: string | Uint8Array }>;
  annotations?: Record<string, string>;
}

/**
 * What to put in an OCI image layout, by reference name (`org.opencontainers.image.ref.name`,
 * e.g. `v1`, addressed by skopeo as `oci:<dir>:v1`). Artifacts are written last, so their
 * subject can be any image or index of the same spec.
 */
export interface OciLayoutSpec {
  images?: Record<string, ImageSpec>;
  indexes?: Record<string, IndexSpec>;
  artifacts?: Record<string, ArtifactSpec>;
}

/** An image manifest that was written, with its config and layer descriptors. */
export interface WrittenManifest {
  descriptor: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** Uncompressed digests of the layers (`rootfs.diff_ids`). */
  diffIds: string[];
  subject?: Descriptor;
}

export interface WrittenIndex {
  descriptor: Descriptor;
  manifests: WrittenManifest[];
}

/** The layout {@link writeOciLayout} wrote. */
export interface OciLayout {
  dir: string;
  images: Record<string, WrittenManifest>;
  indexes: Record<string, WrittenIndex>;
  artifacts: Record<string, WrittenManifest>;
  /** Each reference name → the descriptor in `index.json`. */
  refs: Record<string, Descriptor>;
}

/**
 * Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) into `dir`
 * (created if needed; existing blobs are kept, `index.json` is replaced).
 *
 * @example
 * ```ts
 * const layout = await writeOciLayout(dir, {
 *   indexes: { v1: { images: [
 *     { platform: { os: 'linux', architecture: 'amd64' }, layers: [{ size: 50 << 20, seed: 'big' }] },
 *     { platform: { os: 'linux', architecture: 'arm64' }, layers: [{ size: 4096, seed: 'small', format: 'tar+gzip' }] },
 *   ] } },
 *   artifacts: { sbom: { artifactType: 'application/vnd.example.sbom.v1+json', subject: 'v1', blobs: [...] } },
 * });
 * ```
 */
export async function writeOciLayout(dir: string, spec: OciLayoutSpec): Promise<OciLayout> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  const layout: OciLayout = { dir, images: {}, indexes: {}, artifacts: {}, refs: {} };
  for (const [ref, image] of Object.entries(spec.images ?? {})) {
    const written = await writeImage(dir, image);
    layout.images[ref] = written;
    layout.refs[ref] = written.descriptor;
  }
  for (const [ref, index] of Object.entries(spec.indexes ?? {})) {
    const manifests: WrittenManifest[] = [];
    for (const image of index.images) manifests.push(await writeImage(dir, image));
    const descriptor = await writeJsonBlob(dir, MediaType.index, {
      schemaVersion: 2,
      mediaType: MediaType.index,
      manifests: manifests.map((manifest) => manifest.descriptor),
      ...(index.annotations ? { annotations: index.annotations } : {}),
    });
    layout.indexes[ref] = { descriptor, manifests };
    layout.refs[ref] = descriptor;
  }
  for (const [ref, artifact] of Object.entries(spec.artifacts ?? {})) {
    let subject: Descriptor | undefined;
    if (artifact.subject !== undefined) {
      const target = layout.refs[artifact.subject];
      if (!target)
        throw new Error(
          `artifact ${ref}: subject ${artifact.subject} is not an image or index of this layout`,
        );
      subject = { mediaType: target.mediaType, digest: target.digest, size: target.size };
    }
    const layers: Descriptor[] = [];
    for (const blob of artifact.blobs) {
      const bytes = typeof blob.content === 'string' ? Buffer.from(blob.content) : blob.content;
      layers.push(await writeBytesBlob(dir, blob.mediaType, bytes));
    }
    await writeBytesBlob(dir, MediaType.empty, Buffer.from('{}'));
    const descriptor = await writeJsonBlob(dir, MediaType.manifest, {
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      artifactType: artifact.artifactType,
      config: emptyDescriptor,
      layers,
      ...(subject ? { subject } : {}),
      ...(artifact.annotations ? { annotations: artifact.annotations } : {}),
    });
    descriptor.artifactType = artifact.artifactType;
    const written: WrittenManifest = { descriptor, config: emptyDescriptor, layers, diffIds: [] };
    if (subject) written.subject = subject;
    layout.artifacts[ref] = written;
    layout.refs[ref] = descriptor;
  }
  const manifests = Object.entries(layout.refs).map(([ref, descriptor]) => ({
    ...descriptor,
    annotations: { ...descriptor.annotations, 'org.opencontainers.image.ref.name': ref },
  }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  return layout;
}

async function writeImage(dir: string, image: ImageSpec): Promise<WrittenManifest> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const layer of image.layers) {
    const written = await writeLayer(dir, layer);
    layers.push(written.descriptor);
    diffIds.push(written.diffId);
  }
  const { platform } = image;
  const config = await writeJsonBlob(dir, MediaType.config, {
    created: '2024-01-01T00:00:00Z',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: image.layers.map((layer) => ({
      created: '2024-01-01T00:00:00Z',
      created_by: `berth e2e layer ${layer.seed} (${layer.size} bytes)`,
    })),
  });
  const descriptor = await writeJsonBlob(dir, MediaType.manifest, {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config,
    layers,
    ...(image.annotations ? { annotations: image.annotations } : {}),
  });
  descriptor.platform = { ...platform };
  return { descriptor, config, layers, diffIds };
}

/** Writes canonical-enough JSON (key order as given, no whitespace) as a blob. */
async function writeJsonBlob(dir: string, mediaType: string, value: unknown): Promise<Descriptor> {
  return writeBytesBlob(dir, mediaType, Buffer.from(JSON.stringify(value)));
}

async function writeBytesBlob(dir: string, mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(dir, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.byteLength };
}

/** A pass-through stream that hashes (SHA-256) and counts what flows through it. */
export class Tap extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }
}

const chunkSize = 1 << 20;

/** `size` pseudo-random bytes derived from `seed` (AES-256-CTR keystream), 1 MiB at a time. */
export async function* pseudoRandomBytes(seed: string, size: number): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(chunkSize, size));
  for (let left = size; left > 0; left -= chunkSize) {
    yield cipher.update(left >= chunkSize ? zeros : zeros.subarray(0, left));
  }
}

async function* tarOfOneFile(name: string, seed: string, size: number): AsyncGenerator<Buffer> {
  yield tarHeader(name, size);
  yield* pseudoRandomBytes(seed, size);
  const padding = (512 - (size % 512)) % 512;
  yield Buffer.alloc(padding + 1024); // pad the file, then two zero blocks end the archive
}

/** A ustar header for a regular file (mode 0644, mtime 0, root-owned). */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (offset: number, length: number, value: string): void => {
    header.write(value, offset, length, 'ascii');
  };
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  put(0, 100, name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(size, 12));
  put(136, 12, octal(0, 12));
  put(148, 8, '        '); // checksum is computed with this field as spaces
  put(156, 1, '0');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

async function writeLayer(
  dir: string,
  layer: LayerSpec,
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const temporary = join(dir, 'blobs', 'sha256', `.tmp-${randomUUID()}`);
  const content = new Tap();
  const stored = new Tap();
  try {
    if ((layer.format ?? 'raw') === 'raw') {
      await pipeline(pseudoRandomBytes(layer.seed, layer.size), stored, createWriteStream(temporary));
    } else {
      const source = tarOfOneFile(`layer-${layer.seed.replace(/[^\w.-]/g, '_')}.bin`, layer.seed, layer.size);
      await pipeline(source, content, createGzip({ level: 1 }), stored, createWriteStream(temporary));
    }
    const hex = stored.hash.digest('hex');
    await rename(temporary, join(dir, 'blobs', 'sha256', hex));
    const digest = `sha256:${hex}`;
    const raw = (layer.format ?? 'raw') === 'raw';
    return {
      descriptor: { mediaType: raw ? MediaType.layer : MediaType.layerGzip, digest, size: stored.size },
      diffId: raw ? digest : `sha256:${content.hash.digest('hex')}`,
    };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The sha256 digest and size of a file, read streaming. */
export async function digestFile(path: string): Promise<{ digest: string; size: number }> {
  const tap = new Tap();
  await pipeline(createReadStream(path, { highWaterMark: chunkSize }), tap, async (source) => {
    for await (const _ of source) {
      // drain
    }
  });
  return { digest: `sha256:${tap.hash.digest('hex')}`, size: tap.size };
}

/** A blob reachable from a reference of a layout, verified by re-hashing its file. */
export interface ReachableBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** How it was reached, e.g. `index > manifest[1] > layer[0]`. */
  path: string;
}

/**
 * Every blob reachable from reference `ref` of the OCI layout in `dir` (an index, its manifests,
 * their configs and layers, and subjects are not followed), in traversal order. Each blob file is
 * re-hashed; a missing file, or content whose digest or size differs from its descriptor,
 * throws.
 */
export async function reachableBlobs(dir: string, ref: string): Promise<ReachableBlob[]> {
  const indexJson = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    manifests?: Descriptor[];
  };
  const matches = (indexJson.manifests ?? []).filter(
    (descriptor) => descriptor.annotations?.['org.opencontainers.image.ref.name'] === ref,
  );
  if (matches.length !== 1) {
    throw new Error(`${dir}/index.json has ${matches.length} entries for reference ${JSON.stringify(ref)}`);
  }
  const out: ReachableBlob[] = [];
  await visit(dir, matches[0]!, 'ref', out);
  return out;
}

async function visit(dir: string, descriptor: Descriptor, path: string, out: ReachableBlob[]): Promise<void> {
  const [algorithm, hex] = descriptor.digest.split(':');
  if (algorithm !== 'sha256' || !hex) throw new Error(`${path}: unsupported digest ${descriptor.digest}`);
  const file = join(dir, 'blobs', algorithm, hex);
  const info = await stat(file).catch(() => undefined);
  if (!info)
    throw new Error(`${path}: blob ${descriptor.digest} (${descriptor.mediaType}) missing from ${dir}`);
  const actual = await digestFile(file);
  if (actual.digest !== descriptor.digest || actual.size !== descriptor.size) {
    throw new Error(
      `${path}: blob file ${file} has ${actual.digest} (${actual.size} bytes), descriptor says ${descriptor.digest} (${descriptor.size} bytes)`,
    );
  }
  out.push({ digest: descriptor.digest, size: descriptor.size, mediaType: descriptor.mediaType, path });
  if (descriptor.mediaType === MediaType.index) {
    const index = JSON.parse(await readFile(file, 'utf8')) as { manifests: Descriptor[] };
    for (const [i, child] of index.manifests.entries())
      await visit(dir, child, `${path} > manifest[${i}]`, out);
  } else if (descriptor.mediaType === MediaType.manifest) {
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { config: Descriptor; layers: Descriptor[] };
    await visit(dir, manifest.config, `${path} > config`, out);
    for (const [i, layer] of manifest.layers.entries()) await visit(dir, layer, `${path} > layer[${i}]`, out);
  }
}
