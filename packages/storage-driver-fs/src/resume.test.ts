import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageDriver } from '@berth/storage-driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFilesystemDriver } from './fs-driver.ts';
import { patternBytes, patternHash, sha256 } from './test-support/pattern.ts';
import { makeTempDir, rawTree, removeTempDir, shadowEntries } from './test-support/tmp.ts';

const CHILD = fileURLToPath(new URL('../test/child-writer.ts', import.meta.url));
const MiB = 1024 * 1024;

/** Starts test/child-writer.ts in a separate Node process (Node 24 runs `.ts` directly). */
function startChild(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--conditions=@berth/source', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (data: string) => {
    stdout += data;
  });
  child.stderr?.setEncoding('utf8').on('data', (data: string) => {
    stderr += data;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return { child, output: () => `${stdout}${stderr}`, exited };
}

async function runChild(args: string[]): Promise<string> {
  const { output, exited } = startChild(args);
  const code = await exited;
  if (code !== 0) throw new Error(`child exited with ${code}: ${output()}`);
  return output();
}

/** The visible tree: everything on disk below `root` but the shadow tree `#berth`. */
async function visibleTree(root: string): Promise<string[]> {
  return (await rawTree(root)).filter((entry) => entry !== '#berth' && !entry.startsWith('#berth/'));
}

describe('resuming writes across processes', () => {
  let root: string;
  let driver: StorageDriver;

  beforeEach(async () => {
    root = join(await makeTempDir('resume'), 'registry');
    driver = createFilesystemDriver({ rootdirectory: root });
  });

  afterEach(async () => {
    await removeTempDir(join(root, '..'));
  });

  it('two writers continuing one pending write at once add up their bytes, never overwrite', async () => {
    const first = await driver.writer('/race/data');
    await first.write(new Uint8Array(1000).fill(1));
    await first.close();
    const other = createFilesystemDriver({ rootdirectory: root });
    const [a, b] = await Promise.all([
      driver.writer('/race/data', { append: true }),
      other.writer('/race/data', { append: true }),
    ]);
    expect([a.size, b.size]).toEqual([1000, 1000]);
    await Promise.all([a.write(new Uint8Array(500).fill(2)), b.write(new Uint8Array(500).fill(3))]);
    await Promise.all([a.close(), b.close()]);
    const resumed = await driver.writer('/race/data', { append: true });
    expect(resumed.size).toBe(2000);
    await resumed.commit();
    const content = await driver.getContent('/race/data');
    expect(content.filter((byte) => byte === 2).length).toBe(500);
    expect(content.filter((byte) => byte === 3).length).toBe(500);
    await driver.delete('/race');
  });

  it('a write closed by another process is resumed and committed here', async () => {
    const path = '/docker/registry/v2/repositories/app/_uploads/u1/data';
    const firstPart = 3 * MiB + 12_345;
    const total = 5 * MiB + 7;
    expect(await runChild([root, path, 'write-close', String(firstPart)])).toContain(`closed ${firstPart}`);

    await expect(driver.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const writer = await driver.writer(path, { append: true });
    expect(writer.size).toBe(firstPart);
    await writer.write(patternBytes(firstPart, total - firstPart));
    await writer.commit();

    const content = await driver.getContent(path);
    expect(content.byteLength).toBe(total);
    expect(sha256(content)).toBe(patternHash(total));
  });

  it('a write closed here is resumed and committed by another process', async () => {
    const path = '/uploads/u2/data';
    const writer = await driver.writer(path);
    await writer.write(patternBytes(0, MiB + 1));
    await writer.close();
    const total = 2 * MiB + 99;
    expect(await runChild([root, path, 'append-commit', String(total)])).toContain(
      `committed ${MiB + 1} ${total}`,
    );
    expect(sha256(await driver.getContent(path))).toBe(patternHash(total));
    expect(await visibleTree(root)).toEqual(['uploads', 'uploads/u2', 'uploads/u2/data']);
    expect(await shadowEntries(root)).toEqual([]);
  });

  describe('a writer process killed with SIGKILL mid-write', () => {
    const path = '/uploads/u3/data';

    async function killMidWrite(): Promise<number> {
      const progressFile = join(root, '..', 'progress');
      const progress = async (): Promise<number[]> => {
        const text = await readFile(progressFile, 'utf8').catch(() => '');
        return [...text.matchAll(/written (\d+)\n/g)].map((m) => Number(m[1]));
      };
      const { child, output, exited } = startChild([root, path, 'write-forever', progressFile]);
      // Wait until the child has written a few MiB, then kill it without warning.
      await new Promise<void>((resolve, reject) => {
        const poll = async (): Promise<void> => {
          if (((await progress()).at(-1) ?? 0) >= 6 * MiB) resolve();
          else if (child.exitCode !== null) reject(new Error(`child exited early: ${output()}`));
          else setTimeout(() => void poll().catch(reject), 5);
        };
        void poll().catch(reject);
      });
      child.kill('SIGKILL');
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
      // Every report was written synchronously before the child went on, so none is lost.
      return Math.max(...(await progress()));
    }

    it('leaves nothing visible, and the pending write resumes from what reached the disk', async () => {
      const reported = await killMidWrite();

      await expect(driver.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      await expect(driver.getContent(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      expect(await driver.list('/')).toEqual([]);
      expect(await collectPaths(driver)).toEqual([]);

      // Nothing at all in the visible tree: the pending write is in the shadow tree.
      expect(await visibleTree(root)).toEqual([]);
      // The pending file holds a prefix of what the child wrote: everything up to its last
      // flushed buffer (the child may have been killed with up to one buffer unwritten).
      const pendingDir = join(root, '#berth', 'pending', 'uploads', 'u3');
      const pendingNames = (await readdir(pendingDir)).filter((n) => n.startsWith('data#pending-'));
      expect(pendingNames).toHaveLength(1);
      const pendingFile = join(pendingDir, pendingNames[0]!);
      const onDisk = (await stat(pendingFile)).size;
      expect(onDisk).toBeGreaterThan(0);
      expect(onDisk).toBeLessThanOrEqual(reported + 64 * 1024);
      const raw = await readFile(pendingFile);
      expect(sha256(raw)).toBe(patternHash(onDisk));

      const writer = await driver.writer(path, { append: true });
      expect(writer.size).toBe(onDisk);
      const total = onDisk + 3 * MiB + 5;
      await writer.write(patternBytes(onDisk, total - onDisk));
      await writer.commit();
      expect(sha256(await driver.getContent(path))).toBe(patternHash(total));
      expect(await visibleTree(root)).toEqual(['uploads', 'uploads/u3', 'uploads/u3/data']);
      expect(await shadowEntries(root)).toEqual([]);
    });

    it('leaves a pending write that cancel removes without a trace', async () => {
      await killMidWrite();
      const writer = await driver.writer(path, { append: true });
      expect(writer.size).toBeGreaterThan(0);
      await writer.cancel();
      await expect(driver.writer(path, { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      // The pending file's own directory is pruned; its parent stays, empty, for the next
      // write beside it.
      expect(await rawTree(root)).toEqual(['#berth', '#berth/pending', '#berth/pending/uploads']);
      expect(await shadowEntries(root)).toEqual([]);
      expect((await stat(root)).isDirectory()).toBe(true);
    });
  });
});

async function collectPaths(driver: StorageDriver): Promise<string[]> {
  const paths: string[] = [];
  for await (const info of driver.walk('/')) paths.push(info.path);
  return paths;
}
