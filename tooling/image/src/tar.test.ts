import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeLayer } from './layer.ts';
import { prepareLayout } from './oci.ts';
import { readTar, type TarEntry, type TarHeader, tarStream } from './tar.ts';
import { LayerTree } from './tree.ts';

async function bytesOf(entries: TarEntry[], mtime = 1_700_000_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries, mtime)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  // Odd-sized chunks, so that headers straddle reads.
  for (let at = 0; at < bytes.length; at += 777) yield bytes.subarray(at, at + 777);
}

async function entriesOf(bytes: Buffer): Promise<Array<TarHeader & { text: string }>> {
  const out: Array<TarHeader & { text: string }> = [];
  await readTar(once(bytes), async (header, content) => {
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk);
    out.push({ ...header, text: Buffer.concat(chunks).toString() });
  });
  return out;
}

function file(path: string, text: string, mode = 0o644): TarEntry {
  const bytes = Buffer.from(text);
  return { type: 'file', path, mode, uid: 0, gid: 0, size: bytes.length, content: { bytes } };
}

describe('tarStream', () => {
  it('writes the same bytes whatever the order the entries come in', async () => {
    const entries: TarEntry[] = [
      { type: 'directory', path: 'etc', mode: 0o755, uid: 0, gid: 0 },
      file('etc/passwd', 'root:x:0:0::/:/sbin/nologin\n'),
      { type: 'symlink', path: 'etc/mtab', mode: 0o777, uid: 0, gid: 0, target: '/proc/mounts' },
      { type: 'directory', path: 'var/lib/registry', mode: 0o755, uid: 65532, gid: 65532 },
    ];
    const a = await bytesOf(entries);
    const b = await bytesOf([...entries].reverse());
    expect(a.equals(b)).toBe(true);
    expect(a.length % 512).toBe(0);
    const read = await entriesOf(a);
    expect(read.map((entry) => entry.path)).toEqual(['etc/', 'etc/mtab', 'etc/passwd', 'var/lib/registry/']);
    expect(read[2]).toMatchObject({
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 1_700_000_000,
      text: 'root:x:0:0::/:/sbin/nologin\n',
    });
    expect(read[1]).toMatchObject({ type: 'symlink', target: '/proc/mounts' });
    expect(read[3]).toMatchObject({ type: 'directory', uid: 65532, gid: 65532 });
    // ustar, empty user and group names, no pax header for short names.
    expect(a.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    expect(a.subarray(265, 329).every((byte) => byte === 0)).toBe(true);
    expect(read.every((entry) => entry.typeFlag !== 'x')).toBe(true);
  });

  it('throws on a duplicate path', async () => {
    await expect(bytesOf([file('a', '1'), file('a', '2')])).rejects.toThrow(/duplicate entry a/);
  });

  it('splits long paths into ustar prefix and name, and uses pax only when that cannot work', async () => {
    const splittable = `app/node_modules/.pnpm/${'x'.repeat(80)}/node_modules/${'y'.repeat(60)}/index.js`;
    const unsplittable = `app/${'z'.repeat(120)}`;
    const longTarget = `../${'t'.repeat(140)}`;
    const bytes = await bytesOf([
      file(splittable, 'split'),
      file(unsplittable, 'pax'),
      { type: 'symlink', path: 'link', mode: 0o777, uid: 0, gid: 0, target: longTarget },
    ]);
    const read = await entriesOf(bytes);
    expect(read.map((entry) => [entry.path, entry.text])).toEqual([
      [splittable, 'split'],
      [unsplittable, 'pax'],
      ['link', ''],
    ]);
    expect(read[2]!.target).toBe(longTarget);
    // The splittable path's header carries its directory in the prefix field, without pax.
    expect(bytes.subarray(345, 500).toString('latin1').replace(/\0+$/, '')).toBe(
      splittable.slice(0, splittable.lastIndexOf('/', 154)),
    );
  });

  it('reads a file from disk and checks its size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-image-tar-'));
    try {
      const path = join(dir, 'f');
      writeFileSync(path, 'abc');
      const read = await entriesOf(
        await bytesOf([
          { type: 'file', path: 'f', mode: 0o755, uid: 0, gid: 0, size: 3, content: { file: path } },
        ]),
      );
      expect(read[0]).toMatchObject({ path: 'f', mode: 0o755, text: 'abc' });
      await expect(
        bytesOf([{ type: 'file', path: 'f', mode: 0o644, uid: 0, gid: 0, size: 4, content: { file: path } }]),
      ).rejects.toThrow(/has 3 bytes, expected 4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects truncated archives and bad checksums', async () => {
    const bytes = await bytesOf([file('a', 'hello')]);
    await expect(entriesOf(bytes.subarray(0, 700))).rejects.toThrow(/truncated/);
    const corrupt = Buffer.from(bytes);
    corrupt[0] = 0x62;
    await expect(entriesOf(corrupt)).rejects.toThrow(/checksum/);
  });
});

describe('writeLayer', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('gzips with mtime 0 and no file name, the same bytes every time, with or without the cache', async () => {
    const tree = new LayerTree();
    tree.text('etc/hostname', 'berth\n');
    tree.directory('tmp', 0o1777);
    const layouts = [0, 1, 2].map(() => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-image-layer-'));
      dirs.push(dir);
      return dir;
    });
    const cacheDir = join(layouts[0]!, 'cache');
    const results = [];
    for (const [i, layout] of layouts.entries()) {
      await prepareLayout(layout);
      results.push(await writeLayer(tree, { layout, mtime: 1, level: 6, ...(i > 0 ? { cacheDir } : {}) }));
    }
    expect(new Set(results.map((result) => result.digest)).size).toBe(1);
    expect(results.map((result) => result.cached)).toEqual([false, false, true]);
    const blob = readFileSync(join(layouts[0]!, 'blobs', 'sha256', results[0]!.digest.slice(7)));
    expect(`sha256:${createHash('sha256').update(blob).digest('hex')}`).toBe(results[0]!.digest);
    // ID1 ID2 deflate, flags 0 (no name, comment or extra), mtime 0.
    expect([...blob.subarray(0, 8)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    expect(results[0]!.entries).toBe(3);
  });
});
