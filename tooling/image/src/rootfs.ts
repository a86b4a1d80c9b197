/**
 * Unpacks an image's layers, in order, into a root filesystem directory — what a container
 * runtime does before it starts a container — without ever writing outside that directory:
 * entries with absolute paths or `..` are rejected, nothing is written through a symlink (a later
 * entry replaces a link, it never follows it), and hard links, devices and whiteouts (which
 * Berth's image has none of) are refused. Each layer's uncompressed digest is checked against the
 * config's `rootfs.diff_ids`.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  createReadStream,
  createWriteStream,
  lchownSync,
  lstatSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { type Descriptor, REF_NAME } from './oci.ts';
import { readTar, type TarHeader } from './tar.ts';

export interface ExtractOptions {
  /** Set owners from the archive (needs root); default: when running as root. */
  chown?: boolean;
}

export interface ExtractedImage {
  config: { config?: Record<string, unknown>; rootfs?: { diff_ids?: string[] } };
  layers: Array<{ digest: string; diffId: string; entries: number }>;
}

/** Unpacks the image tagged `tag` in the OCI layout `layout` into `root` (created if needed). */
export async function extractImage(
  layout: string,
  tag: string,
  root: string,
  options: ExtractOptions = {},
): Promise<ExtractedImage> {
  const blob = (digest: string): string => join(layout, 'blobs', ...digest.split(':'));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const entry = index.manifests.find((descriptor) => descriptor.annotations?.[REF_NAME] === tag);
  if (entry === undefined) throw new Error(`${layout} has no tag ${tag}`);
  const manifest = JSON.parse(await readFile(blob(entry.digest), 'utf8')) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as ExtractedImage['config'];
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    throw new Error('config.rootfs.diff_ids does not match the layers');
  mkdirSync(root, { recursive: true });
  const layers: ExtractedImage['layers'] = [];
  const checked = new Set<string>();
  for (const [i, layer] of manifest.layers.entries()) {
    if (!layer.mediaType.endsWith('.tar+gzip') && !layer.mediaType.endsWith('.tar.gzip')) {
      throw new Error(`layer ${i}: media type ${layer.mediaType} is not a gzipped tar`);
    }
    const tap = new HashTap();
    const source = createReadStream(blob(layer.digest)).pipe(createGunzip()).pipe(tap);
    const entries = await extractLayer(source, root, options, checked);
    const diffId = `sha256:${tap.hash.digest('hex')}`;
    if (diffId !== diffIds[i])
      throw new Error(`layer ${i} (${layer.digest}) unpacks to ${diffId}, config says ${diffIds[i]}`);
    layers.push({ digest: layer.digest, diffId, entries });
  }
  return { config, layers };
}

/**
 * Unpacks one uncompressed layer tar onto `root` (see the module comment for what is refused).
 * Returns the number of entries. `checked` carries the directories known safe from one layer to
 * the next of the same extraction.
 */
export async function extractLayer(
  tar: AsyncIterable<Uint8Array>,
  root: string,
  options: ExtractOptions = {},
  checked: Set<string> = new Set(),
): Promise<number> {
  const setOwner = options.chown ?? process.getuid?.() === 0;
  mkdirSync(root, { recursive: true });
  let entries = 0;
  await readTar(tar, async (header, content) => {
    entries++;
    await extractEntry(root, header, content, setOwner, checked);
  });
  return entries;
}

class HashTap extends Transform {
  readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/** The entry's path as components, or a thrown error for anything that could leave the root. */
export function safeComponents(path: string): string[] {
  if (path.startsWith('/')) throw new Error(`refusing absolute path in layer: ${path}`);
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new Error(`refusing path with .. in layer: ${path}`);
  if (path.includes('\0')) throw new Error('refusing path with a NUL byte in layer');
  const last = parts.at(-1);
  if (last?.startsWith('.wh.')) throw new Error(`whiteout entries are not supported: ${path}`);
  return parts;
}

/**
 * Writes one entry below `root` (with synchronous calls for the metadata: thousands of small
 * files unpack several times faster than through the thread pool, and this runs in tests). `checked` holds directories already known to be real
 * directories inside the root (this extraction made or checked them), so that each is looked at
 * once, not once per file below it.
 */
async function extractEntry(
  root: string,
  header: TarHeader,
  content: AsyncIterable<Buffer>,
  setOwner: boolean,
  checked: Set<string>,
): Promise<void> {
  const parts = safeComponents(header.path);
  if (parts.length === 0) return; // the root itself
  // Every parent must be a real directory inside the root: never follow a symlink.
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    if (checked.has(dir)) continue;
    const info = lstatSync(dir, { throwIfNoEntry: false });
    if (info === undefined) mkdirSync(dir, { mode: 0o755 });
    else if (info.isSymbolicLink())
      throw new Error(`refusing to write ${header.path} through the symlink ${dir}`);
    else if (!info.isDirectory())
      throw new Error(`refusing to write ${header.path}: ${dir} is not a directory`);
    checked.add(dir);
  }
  const target = join(dir, parts.at(-1)!);
  const existing = lstatSync(target, { throwIfNoEntry: false });
  const replace = (): void => {
    if (existing === undefined) return;
    rmSync(target, { recursive: true, force: true });
    if (existing.isDirectory()) {
      for (const known of checked)
        if (known === target || known.startsWith(`${target}/`)) checked.delete(known);
    }
  };
  switch (header.type) {
    case 'directory':
      if (existing !== undefined && !existing.isDirectory()) replace();
      if (existing === undefined || !existing.isDirectory()) mkdirSync(target);
      checked.add(target);
      break;
    case 'file': {
      replace();
      // `wx`: create, and fail rather than follow anything that appeared meanwhile.
      if (header.size <= 1 << 20) {
        const chunks: Buffer[] = [];
        for await (const chunk of content) chunks.push(Buffer.from(chunk));
        writeFileSync(target, Buffer.concat(chunks), { flag: 'wx', mode: 0o600 });
      } else {
        await pipeline(content, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      }
      break;
    }
    case 'symlink':
      replace();
      symlinkSync(header.target, target);
      break;
    default:
      throw new Error(
        `refusing ${header.type} entry (type ${JSON.stringify(header.typeFlag)}) in layer: ${header.path}`,
      );
  }
  // Owner first: chown clears set-id bits that chmod then sets.
  if (setOwner) lchownSync(target, header.uid, header.gid);
  if (header.type !== 'symlink') chmodSync(target, header.mode);
}
