import { closeSync } from 'node:fs';
import { access, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Disk } from './disk.ts';
import { FsWriter, WRITE_BUFFER_SIZE } from './fs-writer.ts';
import { patternBytes, sha256 } from './test-support/pattern.ts';
import { makeTempDir, removeTempDir } from './test-support/tmp.ts';

describe('FsWriter buffering', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('writer');
  });
  afterEach(async () => {
    await removeTempDir(root);
  });

  async function writerOn(name: string): Promise<{ writer: FsWriter; fd: number; target: string }> {
    const disk = new Disk(root, 4, true);
    const pending = join(root, `${name}#pending-0`);
    const target = join(root, name);
    await mkdir(root, { recursive: true });
    const handle = await open(pending, 'a+');
    return { writer: new FsWriter(disk, `/${name}`, target, pending, handle, 0), fd: handle.fd, target };
  }

  it('keeps every byte in order while full buffers are written and synced in the background', async () => {
    const { writer, target } = await writerOn('big');
    // Chunks of odd sizes fill and hand over several buffers, with a write in flight meanwhile,
    // and (fsync on, past 8 MiB) a background fdatasync running under the writes.
    const total = 10 * WRITE_BUFFER_SIZE + 12_345;
    for (let at = 0; at < total; ) {
      const size = Math.min(65_521, total - at);
      await writer.write(patternBytes(at, size));
      at += size;
    }
    await writer.commit();
    const handle = await open(target, 'r');
    const content = await handle.readFile();
    await handle.close();
    expect(content.byteLength).toBe(total);
    expect(sha256(content)).toBe(sha256(patternBytes(0, total)));
  });

  it('a failed background write fails the commit, and nothing is published', async () => {
    const { writer, fd, target } = await writerOn('broken');
    await writer.write(patternBytes(0, 1000));
    // Pull the descriptor from under the writer: its next write to the file fails (EBADF).
    closeSync(fd);
    // Fills the buffer: its write starts in the background and fails there.
    await writer.write(patternBytes(1000, WRITE_BUFFER_SIZE));
    await expect(writer.commit()).rejects.toMatchObject({ code: 'EBADF' });
    await expect(access(target)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
