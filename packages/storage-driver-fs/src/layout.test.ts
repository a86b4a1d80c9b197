import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileInfo, StorageDriver } from '@berth/storage-driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hiddenName } from './disk.ts';
import { createFilesystemDriver, FsDriver } from './fs-driver.ts';
import { resolveFilesystemOptions } from './options.ts';
import { makeTempDir, rawLeftovers, rawTree, removeTempDir, shadowEntries } from './test-support/tmp.ts';

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

  it('treats an empty directory registry:2 leaves behind as missing, but its parent still lists it', async () => {
    await mkdir(join(root, 'docker/registry/v2/blobs/sha256/ef'), { recursive: true });
    await driver.putContent('/docker/registry/v2/blobs/sha256/ab/abc/data', text('x'));
    // list reads the listed directory only, not each child, so it cannot tell `ef` is empty.
    expect(await driver.list('/docker/registry/v2/blobs/sha256')).toEqual([
      '/docker/registry/v2/blobs/sha256/ab',
      '/docker/registry/v2/blobs/sha256/ef',
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
    // walk reads every directory it yields anyway, so it leaves the empty one out (as does
    // walkFallback, whose stat of it fails).
    expect(await walkPaths(driver, '/docker/registry/v2/blobs/sha256')).toEqual([
      '/docker/registry/v2/blobs/sha256/ab',
      '/docker/registry/v2/blobs/sha256/ab/abc',
      '/docker/registry/v2/blobs/sha256/ab/abc/data',
    ]);
    // Writing into it makes it an ordinary directory again.
    await driver.putContent('/docker/registry/v2/blobs/sha256/ef/efg/data', text('y'));
    expect(await driver.stat('/docker/registry/v2/blobs/sha256/ef')).toMatchObject({ isDir: true });
  });

  it('never disturbs registry:2: everything but committed files stays below <rootdirectory>/#berth', async () => {
    const data = '/docker/registry/v2/repositories/app/_uploads/u1/data';
    await driver.putContent('/docker/registry/v2/repositories/app/_uploads/u1/startedat', text('now'));
    const writer = await driver.writer(data);
    await writer.write(text('pending'));
    await writer.close();
    const open = await driver.writer('/docker/registry/v2/blobs/sha256/ab/abc/data');
    await open.write(text('x'));
    // registry:2 walks docker/registry/v2: it finds only committed files there.
    expect(await readdir(join(root, 'docker/registry/v2'), { recursive: true })).toEqual([
      'repositories',
      'repositories/app',
      'repositories/app/_uploads',
      'repositories/app/_uploads/u1',
      'repositories/app/_uploads/u1/startedat',
    ]);
    expect(await readdir(root)).toEqual(['#berth', 'docker']);
    expect((await shadowEntries(root)).filter((entry) => entry.includes('#pending-'))).toHaveLength(2);
    await open.cancel();
    await (await driver.writer(data, { append: true })).commit();
    expect(await readFile(join(root, data), 'utf8')).toBe('pending');
    expect(await shadowEntries(root)).toEqual([]);
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
    // `#berth/tmp` (where putContent prepared the file) is kept, like the root.
    expect(await readdir(root)).toEqual(['#berth', 'file']);
    expect(await readdir(join(root, '#berth'))).toEqual(['tmp']);
    expect(await shadowEntries(root)).toEqual([]);
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
    expect(await readdir(root)).toEqual(['#berth', 'z']);
    await driver.delete('/z/moved');
    expect(await readdir(root)).toEqual(['#berth']);
    expect(await shadowEntries(root)).toEqual([]);
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
    // Foreign entries: what an older version, `mkfs` or an operator may leave.
    await writeFile(join(root, 'dir', 'visible#tmp-0123456789ab'), 'stale');
    await writeFile(join(root, 'dir', 'old#pending-0123456789abcdef0'), 'stale');
    await mkdir(join(root, 'lost+found'));
    await writeFile(join(root, 'lost+found', 'x'), 'x');
    await writeFile(join(root, 'dir', 'has space'), 'x');

    // Pending writes live in the pending tree; a writer creates nothing in the visible tree.
    expect(await readdir(join(root, '#berth/pending/dir'))).toEqual([
      expect.stringMatching(/^pending#pending-[0-9a-z]{9}[0-9a-f]{8}$/),
    ]);
    expect(await readdir(join(root, '#berth/pending/only-pending/sub'))).toEqual([
      expect.stringMatching(/^file#pending-/),
    ]);
    expect(await exists(join(root, 'only-pending'))).toBe(false);
    expect(await driver.list('/')).toEqual(['/dir']);
    expect(await driver.list('/dir')).toEqual(['/dir/visible']);
    expect(await walkPaths(driver)).toEqual(['/dir', '/dir/visible']);
    await expect(driver.stat('/only-pending')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.list('/only-pending/sub')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.stat('/only-pending/sub/file')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(collectErr(driver.walk('/only-pending'))).resolves.toMatchObject({ code: 'PATH_NOT_FOUND' });
    // Hidden names cannot be addressed at all.
    await expect(driver.stat('/dir/pending#pending-0')).rejects.toMatchObject({ code: 'INVALID_PATH' });
    await expect(driver.list('/#berth')).rejects.toMatchObject({ code: 'INVALID_PATH' });
    await open.cancel();
    // The cancelled write's own directory went with it; its parents stay (they hold nothing).
    expect(await exists(join(root, '#berth/pending/only-pending/sub'))).toBe(false);
    expect(await readdir(join(root, '#berth/pending/only-pending'))).toEqual([]);
    await (await driver.writer('/dir/pending', { append: true })).cancel();
    expect(await shadowEntries(root)).toEqual([]);
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
    expect(await readdir(join(root, '#berth/pending/dir'))).toEqual([
      expect.stringMatching(/^n+#[0-9a-f]{32}#pending-/),
    ]);
    await resumed.commit();
    expect(await readdir(join(root, 'dir'))).toEqual([long]);
    expect(await shadowEntries(root)).toEqual([]);
  });
});

describe('the shadow tree (#berth)', () => {
  it('a writer creates no visible directory; its commit creates it, with the usual modes', async () => {
    const writer = await driver.writer('/new/dir/file');
    await writer.write(text('x'));
    expect(await readdir(root)).toEqual(['#berth']);
    await writer.commit();
    expect(await readFile(join(root, 'new/dir/file'), 'utf8')).toBe('x');
    const umask = process.umask();
    expect((await stat(join(root, 'new/dir'))).mode & 0o777).toBe(0o777 & ~umask);
    expect((await stat(join(root, 'new/dir/file'))).mode & 0o777).toBe(0o666 & ~umask);
    // The pending file's own directory went with it; the parents stay for the next write.
    expect(await rawTree(join(root, '#berth'))).toEqual(['pending', 'pending/new']);
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('delete of a directory discards the pending writes below it (purging an upload)', async () => {
    const upload = '/docker/registry/v2/repositories/app/_uploads/u1';
    await driver.putContent(`${upload}/startedat`, text('now'));
    const data = await driver.writer(`${upload}/data`);
    await data.write(text('pending bytes'));
    await data.close();
    const hashstate = await driver.writer(`${upload}/hashstates/sha256/13`);
    await hashstate.write(text('state'));
    await hashstate.close();
    // A sibling upload is left alone.
    const other = await driver.writer('/docker/registry/v2/repositories/app/_uploads/u10/data');
    await other.write(text('other'));
    await other.close();

    await driver.delete(upload);
    for (const path of [`${upload}/data`, `${upload}/hashstates/sha256/13`]) {
      await expect(driver.writer(path, { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    }
    const resumed = await driver.writer('/docker/registry/v2/repositories/app/_uploads/u10/data', {
      append: true,
    });
    expect(resumed.size).toBe(5);
    await resumed.cancel();
    expect(await shadowEntries(root)).toEqual([]);
    expect(await readdir(root)).toEqual(['#berth']);
  });

  it('delete of a path holding only pending writes discards them and rejects with PATH_NOT_FOUND', async () => {
    const writer = await driver.writer('/uploads/u1/data');
    await writer.write(text('pending'));
    await writer.close();
    await expect(driver.delete('/uploads')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.writer('/uploads/u1/data', { append: true })).rejects.toMatchObject({
      code: 'PATH_NOT_FOUND',
    });
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('a file and a directory of the same name keep their pending writes apart', async () => {
    const asFile = await driver.writer('/x/a');
    await asFile.write(text('file'));
    await asFile.close();
    const below = await driver.writer('/x/a/b');
    await below.write(text('below'));
    await below.close();
    await driver.putContent('/x/ab', text('sibling'));
    await expect(driver.delete('/x/a/b')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const kept = await driver.writer('/x/a', { append: true });
    expect(kept.size).toBe(4);
    await kept.close();
    await expect(driver.writer('/x/a/b', { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.delete('/x/a')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.writer('/x/a', { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    expect(await driver.getContent('/x/ab')).toEqual(text('sibling'));
    await driver.delete('/x');
    expect(await shadowEntries(root)).toEqual([]);
  });

  it('is not shown by list or walk of /, and not created by reads', async () => {
    await driver.putContent('/a', text('x'));
    const writer = await driver.writer('/b/c');
    await writer.write(text('x'));
    await writer.close();
    expect(await driver.list('/')).toEqual(['/a']);
    expect(await walkPaths(driver)).toEqual(['/a']);
    await driver.delete('/a');
    await expect(driver.delete('/b')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    expect(await driver.list('/')).toEqual([]);
    expect(await readdir(root)).toEqual(['#berth']);
  });

  it('a temporary file a crashed putContent left behind is invisible and harmless', async () => {
    await mkdir(join(root, '#berth', 'tmp'), { recursive: true });
    await writeFile(join(root, '#berth', 'tmp', 'link#tmp-0123456789abcdef'), 'stale');
    await driver.putContent('/dir/link', text('new'));
    expect(await driver.list('/')).toEqual(['/dir']);
    expect(await walkPaths(driver)).toEqual(['/dir', '/dir/link']);
    expect(await readdir(join(root, '#berth', 'tmp'))).toEqual(['link#tmp-0123456789abcdef']);
  });

  it('rawLeftovers (the suite hook) reports pending files and temporary files, not empty pending directories', async () => {
    const writer = await driver.writer('/t/dir/file');
    await writer.close();
    await mkdir(join(root, '#berth', 'pending', 't', 'empty'), { recursive: true });
    await mkdir(join(root, '#berth', 'tmp'), { recursive: true });
    await writeFile(join(root, '#berth', 'tmp', 'x#tmp-0'), '');
    expect(await rawLeftovers(root, '/t')).toEqual([
      '/#berth/pending/t',
      '/#berth/pending/t/dir',
      expect.stringMatching(/^\/#berth\/pending\/t\/dir\/file#pending-/),
      '/#berth/tmp/x#tmp-0',
    ]);
    expect(await rawLeftovers(root, '/other')).toEqual(['/#berth/tmp/x#tmp-0']);
  });
});

describe('commits across a symbolic link to another filesystem', () => {
  let otherDisk: string | undefined;

  beforeEach(async () => {
    otherDisk = undefined;
    try {
      const shm = await stat('/dev/shm');
      if (shm.isDirectory() && shm.dev !== (await stat(parent)).dev) {
        otherDisk = await mkdtemp('/dev/shm/berth-fs-exdev-');
      }
    } catch {
      // no second filesystem to test with
    }
  });

  afterEach(async () => {
    if (otherDisk !== undefined) await rm(otherDisk, { recursive: true, force: true });
  });

  it('putContent, commits and superseded commits work and leave no hidden file behind', async (context) => {
    if (otherDisk === undefined) {
      context.skip('needs /dev/shm on a filesystem other than os.tmpdir()');
      return;
    }
    await mkdir(join(otherDisk, 'blobs'));
    await driver.putContent('/docker/keep', text('k'));
    await symlink(join(otherDisk, 'blobs'), join(root, 'docker', 'blobs'));

    await driver.putContent('/docker/blobs/ab/link', text('put'));
    const writer = await driver.writer('/docker/blobs/cd/data');
    await writer.write(text('committed'));
    await writer.commit();
    const superseded = await driver.writer('/docker/blobs/ef/data');
    await superseded.write(text('first'));
    const newer = await driver.writer('/docker/blobs/ef/data');
    await superseded.commit();
    await newer.cancel();
    const resumed = await driver.writer('/docker/blobs/cd/data', { append: true });
    await resumed.write(text(' and appended'));
    await resumed.commit();

    expect(await readFile(join(otherDisk, 'blobs/ab/link'), 'utf8')).toBe('put');
    expect(await readFile(join(otherDisk, 'blobs/cd/data'), 'utf8')).toBe('committed and appended');
    expect(await readFile(join(otherDisk, 'blobs/ef/data'), 'utf8')).toBe('first');
    expect(await rawTree(join(otherDisk, 'blobs'))).toEqual([
      'ab',
      'ab/link',
      'cd',
      'cd/data',
      'ef',
      'ef/data',
    ]);
    expect(await shadowEntries(root)).toEqual([]);
    await expect(driver.move('/docker/blobs/ab/link', '/docker/moved')).rejects.toMatchObject({
      code: 'DRIVER_ERROR',
      cause: { code: 'EXDEV' },
    });
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
    expect(await readdir(root)).toEqual(['#berth', 'target']);
    expect(await shadowEntries(root)).toEqual([]);
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
    // A directory whose entries are only directories is a directory (it is not searched for files).
    expect(await driver.stat('/cycle')).toMatchObject({ isDir: true });
    expect(await driver.list('/cycle/inner')).toEqual(['/cycle/inner/back']);
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
