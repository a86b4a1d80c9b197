import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileInfo, StorageDriver } from '@berth/storage-driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hiddenName } from './disk.ts';
import { createFilesystemDriver, FsDriver } from './fs-driver.ts';
import { resolveFilesystemOptions } from './options.ts';
import { makeTempDir, removeTempDir } from './test-support/tmp.ts';

const text = (s: string): Buffer => Buffer.from(s);

async function walkPaths(driver: StorageDriver, path = '/', startAfter?: string): Promise<string[]> {
  const paths: string[] = [];
  for await (const info of driver.walk(path, startAfter === undefined ? {} : { startAfter }))
    paths.push(info.path);
  return paths;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

let parent: string;
let root: string;
let driver: StorageDriver;

beforeEach(async () => {
  parent = await makeTempDir('layout');
  root = join(parent, 'var', 'lib', 'registry');
  driver = createFilesystemDriver({ rootdirectory: root });
});

afterEach(async () => {
  await removeTempDir(parent);
});

describe('registry:2 on-disk layout', () => {
  const link = '/docker/registry/v2/repositories/library/alpine/_layers/sha256/abc123/link';

  it('stores /a/b as <rootdirectory>/a/b, readable with a plain fs.readFile', async () => {
    await driver.putContent(link, text('sha256:abc123'));
    const writer = await driver.writer('/docker/registry/v2/blobs/sha256/ab/abc123/data');
    await writer.write(text('layer bytes'));
    await writer.commit();
    expect(await readFile(join(root, link), 'utf8')).toBe('sha256:abc123');
    expect(await readFile(join(root, 'docker/registry/v2/blobs/sha256/ab/abc123/data'), 'utf8')).toBe(
      'layer bytes',
    );
  });

  it('serves a tree written by registry:2 (plain files and directories)', async () => {
    await mkdir(join(root, 'docker/registry/v2/blobs/sha256/cd/cdef'), { recursive: true });
    await writeFile(join(root, 'docker/registry/v2/blobs/sha256/cd/cdef/data'), 'blob');
    expect(await driver.getContent('/docker/registry/v2/blobs/sha256/cd/cdef/data')).toEqual(text('blob'));
    expect(await driver.list('/docker/registry/v2/blobs/sha256')).toEqual([
      '/docker/registry/v2/blobs/sha256/cd',
    ]);
    expect((await driver.stat('/docker/registry/v2/blobs/sha256/cd/cdef/data')).size).toBe(4);
    expect(await walkPaths(driver, '/docker/registry/v2/blobs')).toEqual([
      '/docker/registry/v2/blobs/sha256',
      '/docker/registry/v2/blobs/sha256/cd',
      '/docker/registry/v2/blobs/sha256/cd/cdef',
      '/docker/registry/v2/blobs/sha256/cd/cdef/data',
    ]);
  });

  it('resumes an upload registry:2 left in place (no pending file): append copies the file', async () => {
    const data = '/docker/registry/v2/repositories/app/_uploads/u1/data';
    await mkdir(join(root, 'docker/registry/v2/repositories/app/_uploads/u1'), { recursive: true });
    await writeFile(join(root, data), 'partial ');
    const writer = await driver.writer(data, { append: true });
    expect(writer.size).toBe(8);
    await writer.write(text('upload'));
    await writer.commit();
    expect(await readFile(join(root, data), 'utf8')).toBe('partial upload');
  });

  it('hides empty directories registry:2 leaves behind', async () => {
    await mkdir(join(root, 'docker/registry/v2/blobs/sha256/ef'), { recursive: true });
    await driver.putContent('/docker/registry/v2/blobs/sha256/ab/abc/data', text('x'));
    expect(await driver.list('/docker/registry/v2/blobs/sha256')).toEqual([
      '/docker/registry/v2/blobs/sha256/ab',
    ]);
    await expect(driver.stat('/docker/registry/v2/blobs/sha256/ef')).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    await expect(driver.list('/docker/registry/v2/blobs/sha256/ef')).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    await expect(driver.delete('/docker/registry/v2/blobs/sha256/ef')).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    expect(await walkPaths(driver, '/docker/registry/v2/blobs/sha256')).toEqual([
      '/docker/registry/v2/blobs/sha256/ab',
      '/docker/registry/v2/blobs/sha256/ab/abc',
      '/docker/registry/v2/blobs/sha256/ab/abc/data',
    ]);
  });

  it('creates files 0666 and directories 0777, less the umask, as registry:2 does', async () => {
    await driver.putContent('/dir/file', text('x'));
    const writer = await driver.writer('/dir/other');
    await writer.commit();
    const umask = process.umask();
    expect((await stat(join(root, 'dir/file'))).mode & 0o777).toBe(0o666 & ~umask);
    expect((await stat(join(root, 'dir/other'))).mode & 0o777).toBe(0o666 & ~umask);
    expect((await stat(join(root, 'dir'))).mode & 0o777).toBe(0o777 & ~umask);
  });
});

describe('the root directory', () => {
  it('is not created by reads, and reads before the first write find an empty store', async () => {
    expect(await driver.list('/')).toEqual([]);
    expect(await walkPaths(driver)).toEqual([]);
    expect(await driver.stat('/')).toMatchObject({ path: '/', isDir: true, size: 0 });
    await expect(driver.getContent('/a')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.reader('/a')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.list('/a')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.delete('/a')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.move('/a', '/b')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.writer('/a', { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    expect(await exists(root)).toBe(false);
  });

  it('is created, with its parents, by the first write', async () => {
    await driver.putContent('/file', text('x'));
    expect(await readdir(root)).toEqual(['file']);
  });

  it('is created by a writer too', async () => {
    const writer = await driver.writer('/a/b');
    await writer.write(text('x'));
    await writer.commit();
    expect(await readFile(join(root, 'a/b'), 'utf8')).toBe('x');
  });

  it('is kept when its last entry is deleted; emptied directories below it are removed', async () => {
    await driver.putContent('/a/b/c/file', text('x'));
    await driver.putContent('/a/keep', text('k'));
    await driver.delete('/a/b/c/file');
    expect(await readdir(join(root, 'a'))).toEqual(['keep']);
    await driver.move('/a/keep', '/z/moved');
    expect(await readdir(root)).toEqual(['z']);
    await driver.delete('/z/moved');
    expect(await readdir(root)).toEqual([]);
  });

  it('a relative rootdirectory is resolved against the working directory', () => {
    const fs = new FsDriver(resolveFilesystemOptions({ rootdirectory: 'relative/registry' }));
    expect(fs.rootDirectory).toBe(join(process.cwd(), 'relative/registry'));
  });
});

describe('hidden entries', () => {
  it('pending writes, temporary files and foreign names never show in list, stat or walk', async () => {
    await driver.putContent('/dir/visible', text('v'));
    const writer = await driver.writer('/dir/pending');
    await writer.write(text('p'));
    await writer.close();
    const open = await driver.writer('/only-pending/sub/file');
    await open.write(text('p'));
    // Foreign entries: what a crashed putContent, `mkfs` or an operator may leave.
    await writeFile(join(root, 'dir', 'visible#tmp-0123456789ab'), 'stale');
    await mkdir(join(root, 'lost+found'));
    await writeFile(join(root, 'lost+found', 'x'), 'x');
    await writeFile(join(root, 'dir', 'has space'), 'x');

    expect(
      (await readdir(join(root, 'dir'))).filter((name) => name.startsWith('pending#pending-')),
    ).toHaveLength(1);
    expect(await driver.list('/')).toEqual(['/dir']);
    expect(await driver.list('/dir')).toEqual(['/dir/visible']);
    expect(await walkPaths(driver)).toEqual(['/dir', '/dir/visible']);
    // A directory with nothing visible below it does not exist as far as the driver can tell.
    await expect(driver.stat('/only-pending')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.list('/only-pending/sub')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.stat('/only-pending/sub/file')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(collectErr(driver.walk('/only-pending'))).resolves.toMatchObject({ code: 'PATH_NOT_FOUND' });
    // Hidden names cannot be addressed at all.
    await expect(driver.stat('/dir/pending#pending-0')).rejects.toMatchObject({ code: 'INVALID_PATH' });
    await open.cancel();
    expect(await exists(join(root, 'only-pending'))).toBe(false);
  });

  it('a pending write of a 255-character name fits the filesystem name limit', async () => {
    const long = 'n'.repeat(255);
    const tag = 'pending-0123456789abcdef0';
    expect(hiddenName(long, tag)).toHaveLength(255);
    expect(hiddenName(long, tag)).not.toBe(hiddenName(`${'n'.repeat(254)}m`, tag));
    expect(hiddenName('short', tag)).toBe(`short#${tag}`);
    const writer = await driver.writer(`/dir/${long}`);
    await writer.write(text('x'));
    await writer.close();
    expect(await driver.list('/')).toEqual([]);
    const resumed = await driver.writer(`/dir/${long}`, { append: true });
    expect(resumed.size).toBe(1);
    await resumed.commit();
    expect(await readdir(join(root, 'dir'))).toEqual([long]);
  });
});

describe('errors', () => {
  it('maps a missing path, a path below a file and a directory read to PATH_NOT_FOUND', async () => {
    await driver.putContent('/dir/file', text('x'));
    for (const call of [
      () => driver.getContent('/dir'),
      () => driver.reader('/dir'),
      () => driver.stat('/dir/file/below'),
      () => driver.getContent('/dir/file/below'),
      () => driver.list('/dir/file'),
      () => driver.delete('/dir/file/below'),
      () => driver.writer('/dir', { append: true }),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'PATH_NOT_FOUND', driver: 'filesystem' });
    }
    expect(await readdir(join(root, 'dir'))).toEqual(['file']);
  });

  it('reports a file in the way of a write as DRIVER_ERROR with the system error as cause', async () => {
    await driver.putContent('/dir/file', text('x'));
    const err = await driver.putContent('/dir/file/below', text('y')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DRIVER_ERROR', cause: { code: 'ENOTDIR' } });
    await expect(driver.move('/dir/file', '/dir/file/below')).rejects.toMatchObject({ code: 'DRIVER_ERROR' });
    await driver.putContent('/other/x', text('x'));
    await expect(driver.move('/dir/file', '/other')).rejects.toMatchObject({ code: 'DRIVER_ERROR' });
    await expect(driver.putContent('/other', text('x'))).rejects.toMatchObject({ code: 'DRIVER_ERROR' });
    expect(await driver.getContent('/dir/file')).toEqual(text('x'));
    expect((await readdir(join(root, 'dir'))).sort()).toEqual(['file']);
    expect((await readdir(join(root, 'other'))).sort()).toEqual(['x']);
  });

  it('keeps a write pending when its commit fails, so it can be resumed or cancelled', async () => {
    await driver.putContent('/target/inside', text('x'));
    const writer = await driver.writer('/target');
    await writer.write(text('pending bytes'));
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR' });
    const resumed = await driver.writer('/target', { append: true });
    expect(resumed.size).toBe(13);
    await resumed.cancel();
    expect(await readdir(root)).toEqual(['target']);
  });

  it('never resolves a path outside the root, even without withBase', async () => {
    const unwrapped = new FsDriver(resolveFilesystemOptions({ rootdirectory: root }));
    await writeFile(join(parent, 'secret'), 'secret');
    for (const path of [
      '/../secret',
      '/a/../../secret',
      '../secret',
      '/a/./b',
      'relative',
      '/a/',
      '//a',
      '/a#pending',
    ]) {
      await expect(unwrapped.getContent(path)).rejects.toMatchObject({ code: 'INVALID_PATH' });
      await expect(unwrapped.putContent(path, text('x'))).rejects.toMatchObject({ code: 'INVALID_PATH' });
      await expect(unwrapped.delete(path)).rejects.toMatchObject({ code: 'INVALID_PATH' });
    }
    expect(await readFile(join(parent, 'secret'), 'utf8')).toBe('secret');
  });
});

describe('symbolic links (placed by an operator; the driver never creates any)', () => {
  let outside: string;

  beforeEach(async () => {
    outside = join(parent, 'other-disk');
    await mkdir(join(outside, 'blobs', 'ab'), { recursive: true });
    await writeFile(join(outside, 'blobs', 'ab', 'data'), 'on the other disk');
    await driver.putContent('/docker/keep', text('k'));
    await symlink(join(outside, 'blobs'), join(root, 'docker', 'blobs'));
  });

  it('are followed: content under a linked directory reads, lists and walks like any other', async () => {
    expect(await driver.getContent('/docker/blobs/ab/data')).toEqual(text('on the other disk'));
    expect(await driver.list('/docker')).toEqual(['/docker/blobs', '/docker/keep']);
    expect(await driver.stat('/docker/blobs')).toMatchObject({ isDir: true });
    expect(await walkPaths(driver, '/docker')).toEqual([
      '/docker/blobs',
      '/docker/blobs/ab',
      '/docker/blobs/ab/data',
      '/docker/keep',
    ]);
    await driver.putContent('/docker/blobs/cd/data', text('new'));
    expect(await readFile(join(outside, 'blobs', 'cd', 'data'), 'utf8')).toBe('new');
  });

  it('delete of a linked directory removes the link, never what it points to', async () => {
    await driver.delete('/docker/blobs');
    expect(await readFile(join(outside, 'blobs', 'ab', 'data'), 'utf8')).toBe('on the other disk');
    expect(await driver.list('/docker')).toEqual(['/docker/keep']);
    await symlink(join(outside, 'blobs'), join(root, 'docker', 'blobs'));
    await driver.delete('/docker');
    expect(await readFile(join(outside, 'blobs', 'ab', 'data'), 'utf8')).toBe('on the other disk');
  });

  it('a dangling link is hidden; a link loop does not hang list, stat or walk', async () => {
    await symlink(join(parent, 'nowhere'), join(root, 'docker', 'dangling'));
    await symlink(join(root, 'docker', 'loop'), join(root, 'docker', 'loop'));
    await mkdir(join(root, 'cycle', 'inner'), { recursive: true });
    await symlink(join(root, 'cycle'), join(root, 'cycle', 'inner', 'back'));
    expect(await driver.list('/docker')).toEqual(['/docker/blobs', '/docker/keep']);
    await expect(driver.stat('/docker/dangling')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.stat('/cycle')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const walked = await collectErr(driver.walk('/'));
    // Either the walk ends (the kernel's ELOOP limit stops the descent) or it fails: never hangs.
    expect(walked === undefined || (walked as { code?: string }).code === 'DRIVER_ERROR').toBe(true);
  });
});

describe('walk', () => {
  it('startAfter resumes exactly where an earlier walk stopped, at any entry', async () => {
    for (const name of ['a', 'b/c', 'b/d/e', 'b-c', 'b.c', 'bc', 'c/x', 'c/y/z/w']) {
      await driver.putContent(`/${name}`, text(name));
    }
    const all = await walkPaths(driver);
    for (const [i, after] of all.entries()) {
      expect(await walkPaths(driver, '/', after), `after ${after}`).toEqual(all.slice(i + 1));
    }
    expect(await walkPaths(driver, '/', '/b/cc')).toEqual(all.slice(all.indexOf('/b/d')));
    expect(await walkPaths(driver, '/', '/zzz')).toEqual([]);
  });

  it('reports sizes and modification times like stat', async () => {
    await driver.putContent('/d/f', text('12345'));
    const infos: FileInfo[] = [];
    for await (const info of driver.walk('/')) infos.push(info);
    expect(infos).toEqual([await driver.stat('/d'), await driver.stat('/d/f')]);
  });

  it('a break stops the walk', async () => {
    for (let i = 0; i < 50; i++) await driver.putContent(`/d/f${String(i).padStart(2, '0')}`, text('x'));
    const seen: string[] = [];
    for await (const info of driver.walk('/d')) {
      seen.push(info.path);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['/d/f00', '/d/f01', '/d/f02']);
  });
});

async function collectErr(iterable: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const _ of iterable) {
      // drain
    }
    return undefined;
  } catch (err) {
    return err;
  }
}
