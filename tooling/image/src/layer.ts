/**
 * One layer blob: the tree's tar, gzipped with node:zlib at a fixed level into the layout's
 * `blobs/sha256/`. zlib's gzip header has mtime 0, no file name and no comment, so the blob's
 * bytes depend only on the tar's bytes, the level and the zlib build (`process.versions.zlib`).
 *
 * The optional cache keeps compressed layers under their uncompressed digest (the diff ID),
 * level and zlib version: a rebuild whose tar is byte-identical copies the blob instead of
 * compressing again. The tar is still written (and hashed) on every build, so the cache can only
 * ever return what compressing would.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Tap } from '@berth/test-servers';
import { tarStream } from './tar.ts';
import type { LayerTree } from './tree.ts';

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** A layer written to a layout. */
export interface WrittenLayer {
  mediaType: typeof LAYER_MEDIA_TYPE;
  /** Digest of the gzipped blob. */
  digest: string;
  /** Bytes of the gzipped blob. */
  size: number;
  /** Digest of the uncompressed tar (`rootfs.diff_ids`). */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** Bytes of regular-file content. */
  contentBytes: number;
  entries: number;
  /** Whether the blob came from the cache. */
  cached: boolean;
  ms: number;
}

export interface WriteLayerOptions {
  /** The OCI layout directory (its `blobs/sha256` must exist). */
  layout: string;
  /** Every entry's mtime, seconds since the epoch. */
  mtime: number;
  /** gzip level, 1–9. */
  level: number;
  /** Directory of the compressed-layer cache; none when undefined. */
  cacheDir?: string;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

export async function writeLayer(tree: LayerTree, options: WriteLayerOptions): Promise<WrittenLayer> {
  const started = performance.now();
  const blobs = join(options.layout, 'blobs', 'sha256');
  const base = {
    mediaType: LAYER_MEDIA_TYPE,
    contentBytes: tree.contentBytes(),
    entries: tree.size,
  } as const;
  const cacheName = (diffHex: string): string =>
    join(options.cacheDir!, `${diffHex}.gzip${options.level}.zlib-${process.versions.zlib}`);

  let expectedDiffId: string | undefined;
  if (options.cacheDir !== undefined) {
    const tar = new Tap();
    await pipeline(tarStream(tree.entries(), options.mtime), tar, discard());
    expectedDiffId = `sha256:${tar.hash.digest('hex')}`;
    const cached = cacheName(expectedDiffId.slice(7));
    if (await exists(cached)) {
      const digest = await digestOf(cached);
      const target = join(blobs, digest.hex);
      const temporary = join(blobs, `.tmp-${randomUUID()}`);
      await copyFile(cached, temporary);
      await rename(temporary, target);
      return {
        ...base,
        digest: `sha256:${digest.hex}`,
        size: digest.size,
        diffId: expectedDiffId,
        tarSize: tar.size,
        cached: true,
        ms: Math.round(performance.now() - started),
      };
    }
  }

  const temporary = join(blobs, `.tmp-${randomUUID()}`);
  const tar = new Tap();
  const gz = new Tap();
  try {
    await pipeline(
      tarStream(tree.entries(), options.mtime),
      tar,
      createGzip({ level: options.level }),
      gz,
      createWriteStream(temporary),
    );
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const diffId = `sha256:${tar.hash.digest('hex')}`;
  if (expectedDiffId !== undefined && diffId !== expectedDiffId) {
    await rm(temporary, { force: true });
    throw new Error(`layer: the tar changed between two reads (${expectedDiffId}, then ${diffId})`);
  }
  const hex = gz.hash.digest('hex');
  await rename(temporary, join(blobs, hex));
  if (options.cacheDir !== undefined) {
    await mkdir(options.cacheDir, { recursive: true });
    const cached = cacheName(diffId.slice(7));
    const partial = `${cached}.tmp-${randomUUID()}`;
    await copyFile(join(blobs, hex), partial);
    await rename(partial, cached);
  }
  return {
    ...base,
    digest: `sha256:${hex}`,
    size: gz.size,
    diffId,
    tarSize: tar.size,
    cached: false,
    ms: Math.round(performance.now() - started),
  };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** sha256 and size of a file, read streaming. */
export async function digestOf(path: string): Promise<{ hex: string; size: number }> {
  const tap = new Tap();
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), tap, discard());
  return { hex: tap.hash.digest('hex'), size: tap.size };
}
