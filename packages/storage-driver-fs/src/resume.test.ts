import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageDriver } from '@berth/storage-driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFilesystemDriver } from './fs-driver.ts';
import { patternBytes, patternHash, sha256 } from './test-support/pattern.ts';
import { makeTempDir, removeTempDir } from './test-support/tmp.ts';

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

async function rawTree(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { recursive: true })).sort();
  } catch {
    return [];
  }
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
    expect(await rawTree(root)).toEqual(['uploads', 'uploads/u2', 'uploads/u2/data']);
  });

  describe('a writer process killed with SIGKILL mid-write', () => {
    const path = '/uploads/u3/data';

    async function killMidWrite(): Promise<number> {
      const { child, output, exited } = startChild([root, path, 'write-forever']);
      // Wait until the child has written a few MiB, then kill it without warning.
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          const sizes = [...output().matchAll(/written (\d+)/g)].map((m) => Number(m[1]));
          if ((sizes.at(-1) ?? 0) >= 6 * MiB) {
            clearInterval(timer);
            resolve();
          } else if (child.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`child exited early: ${output()}`));
          }
        }, 5);
      });
      child.kill('SIGKILL');
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
      const reported = Math.max(...[...output().matchAll(/written (\d+)/g)].map((m) => Number(m[1])));
      return reported;
    }

    it('leaves nothing visible, and the pending write resumes from what reached the disk', async () => {
      const reported = await killMidWrite();

      await expect(driver.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      await expect(driver.getContent(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      expect(await driver.list('/')).toEqual([]);
      expect(await collectPaths(driver)).toEqual([]);

      // The pending file holds a prefix of what the child wrote: everything up to its last
      // flushed buffer (the child may have been killed with up to one buffer unwritten).
      const pendingNames = (await readdir(join(root, 'uploads', 'u3'))).filter((n) =>
        n.startsWith('data#pending-'),
      );
      expect(pendingNames).toHaveLength(1);
      const pendingFile = join(root, 'uploads', 'u3', pendingNames[0]!);
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
      expect(await rawTree(root)).toEqual(['uploads', 'uploads/u3', 'uploads/u3/data']);
    });

    it('leaves a pending write that cancel removes without a trace', async () => {
      await killMidWrite();
      const writer = await driver.writer(path, { append: true });
      expect(writer.size).toBeGreaterThan(0);
      await writer.cancel();
      await expect(driver.writer(path, { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      // Empty directories are pruned up to (not including) the root, which stays.
      expect(await rawTree(root)).toEqual([]);
      expect((await stat(root)).isDirectory()).toBe(true);
    });
  });
});

async function collectPaths(driver: StorageDriver): Promise<string[]> {
  const paths: string[] = [];
  for await (const info of driver.walk('/')) paths.push(info.path);
  return paths;
}
