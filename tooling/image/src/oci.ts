/**
 * An OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), as skopeo's
 * `oci:DIR:TAG` and `podman load` read it. Tagging replaces that tag's entry in `index.json`,
 * keeps the others, and removes blobs no tag reaches any more.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MediaType = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
} as const;

export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/** A tag as Docker and skopeo accept it. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function checkTag(tag: string): void {
  if (!TAG.test(tag))
    throw new Error(`invalid tag ${JSON.stringify(tag)} (letters, digits, _ . -; at most 128)`);
}

/** Creates the layout's skeleton in `dir`; refuses a non-empty directory that is not a layout. */
export async function prepareLayout(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => undefined);
  if (entries !== undefined && entries.length > 0 && !entries.includes('oci-layout')) {
    throw new Error(`${dir} is not empty and not an OCI image layout; choose another --out`);
  }
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
}

/** Writes `value` as compact JSON into a blob. */
export async function writeJsonBlob(dir: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  const temporary = join(dir, 'blobs', 'sha256', `.tmp-${randomUUID()}`);
  await writeFile(temporary, bytes);
  await rename(temporary, join(dir, 'blobs', 'sha256', hex));
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** Points `tag` at `manifest` in `index.json` (other tags stay) and deletes unreachable blobs. */
export async function tagManifest(dir: string, tag: string, manifest: Descriptor): Promise<void> {
  const file = join(dir, 'index.json');
  const existing = await readIndex(dir);
  const others = existing.manifests.filter((entry) => entry.annotations?.[REF_NAME] !== tag);
  const manifests = [...others, { ...manifest, annotations: { [REF_NAME]: tag } }].sort((a, b) => {
    const x = a.annotations?.[REF_NAME] ?? '';
    const y = b.annotations?.[REF_NAME] ?? '';
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const index: Index = { schemaVersion: 2, mediaType: MediaType.index, manifests };
  const temporary = `${file}.tmp-${randomUUID()}`;
  await writeFile(temporary, `${JSON.stringify(index)}\n`);
  await rename(temporary, file);
  await prune(dir, index);
}

async function readIndex(dir: string): Promise<Index> {
  const text = await readFile(join(dir, 'index.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return { schemaVersion: 2, manifests: [] };
  return JSON.parse(text) as Index;
}

async function prune(dir: string, index: Index): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  const keep = new Set<string>();
  const visit = async (descriptor: Descriptor): Promise<void> => {
    const hex = descriptor.digest.replace(/^sha256:/, '');
    if (keep.has(hex)) return;
    keep.add(hex);
    if (descriptor.mediaType !== MediaType.manifest && descriptor.mediaType !== MediaType.index) return;
    const text = await readFile(join(blobs, hex), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const parsed = JSON.parse(text) as {
      config?: Descriptor;
      layers?: Descriptor[];
      manifests?: Descriptor[];
    };
    for (const child of [
      ...(parsed.config ? [parsed.config] : []),
      ...(parsed.layers ?? []),
      ...(parsed.manifests ?? []),
    ]) {
      await visit(child);
    }
  };
  for (const entry of index.manifests) await visit(entry);
  for (const name of await readdir(blobs)) {
    if (keep.has(name)) continue;
    const info = await stat(join(blobs, name)).catch(() => undefined);
    if (info?.isFile()) await rm(join(blobs, name), { force: true });
  }
}
