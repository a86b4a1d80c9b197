import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extractLayer, safeComponents } from './rootfs.ts';
import { type TarEntry, tarStream } from './tar.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A scratch directory holding `root/` (the extraction target) and room beside it to detect escapes. */
function scratch(): { base: string; root: string } {
  const base = mkdtempSync(join(tmpdir(), 'berth-image-rootfs-'));
  dirs.push(base);
  return { base, root: join(base, 'root') };
}

function file(path: string, text: string): TarEntry {
  const bytes = Buffer.from(text);
  return { type: 'file', path, mode: 0o644, uid: 0, gid: 0, size: bytes.length, content: { bytes } };
}

function symlink(path: string, target: string): TarEntry {
  return { type: 'symlink', path, mode: 0o777, uid: 0, gid: 0, target };
}

const layer = (...entries: TarEntry[]) => tarStream(entries, 0);

describe('extractLayer', () => {
  it('unpacks files, directories and symlinks with their modes; later layers replace entries', async () => {
    const { root } = scratch();
    await extractLayer(
      layer(
        { type: 'directory', path: 'tmp', mode: 0o1777, uid: 0, gid: 0 },
        { ...file('usr/local/bin/node', '#!'), mode: 0o755 },
        symlink('lib64/ld.so', '/lib/ld.so'),
        file('etc/config', 'one'),
      ),
      root,
      { chown: false },
    );
    expect(lstatSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(root, 'usr/local/bin/node')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(root, 'lib64/ld.so'))).toBe('/lib/ld.so');
    // A file replaces a symlink instead of writing through it; a symlink replaces a file.
    await extractLayer(layer(file('lib64/ld.so', 'real'), symlink('etc/config', 'other')), root, {
      chown: false,
    });
    expect(lstatSync(join(root, 'lib64/ld.so')).isFile()).toBe(true);
    expect(readFileSync(join(root, 'lib64/ld.so'), 'utf8')).toBe('real');
    expect(readlinkSync(join(root, 'etc/config'))).toBe('other');
  });

  it.each([
    ['../escape', /\.\./],
    ['a/../../escape', /\.\./],
    ['/etc/passwd', /absolute/],
    ['etc/.wh.passwd', /whiteout/],
  ])('refuses %s', async (path, message) => {
    const { base, root } = scratch();
    await expect(extractLayer(layer(file(path, 'x')), root, { chown: false })).rejects.toThrow(message);
    expect(existsSync(join(base, 'escape'))).toBe(false);
  });

  it('never writes through a symlink, relative or absolute, in this layer or an earlier one', async () => {
    const { base, root } = scratch();
    await expect(
      extractLayer(layer(symlink('out', '..'), file('out/escape', 'x')), root, { chown: false }),
    ).rejects.toThrow(/through the symlink/);
    await extractLayer(layer(symlink('abs', base)), root, { chown: false });
    await expect(extractLayer(layer(file('abs/escape', 'x')), root, { chown: false })).rejects.toThrow(
      /through the symlink/,
    );
    expect(existsSync(join(base, 'escape'))).toBe(false);
  });

  it('refuses hard links', async () => {
    const { root } = scratch();
    const bytes: Buffer[] = [];
    for await (const chunk of layer(file('a', 'x'))) bytes.push(chunk);
    const tar = Buffer.concat(bytes);
    tar[156] = '1'.charCodeAt(0); // turn the entry into a hard link (size stays, checksum fixed below)
    tar.write('        ', 148, 'latin1');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    async function* source(): AsyncGenerator<Buffer> {
      yield tar;
    }
    await expect(extractLayer(source(), root, { chown: false })).rejects.toThrow(/hardlink/);
  });
});

describe('safeComponents', () => {
  it('drops . and empty components', () => {
    expect(safeComponents('./usr//local/./bin/')).toEqual(['usr', 'local', 'bin']);
  });
});
