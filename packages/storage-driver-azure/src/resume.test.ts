import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureDriver } from './azure-driver.ts';
import { decodeBlockId } from './block-ids.ts';
import { containerName, startBackend, type TestBackend } from './test-support/backend.ts';
import { patternBytes, patternHash, sha256 } from './test-support/pattern.ts';

const CHILD = fileURLToPath(new URL('../test/child-writer.ts', import.meta.url));
const KiB = 1024;
const MiB = 1024 * KiB;

let backend: TestBackend;
let container: string;
let blobs: ContainerClient;
let driver: StorageDriver;
let other: StorageDriver;

beforeAll(async () => {
  backend = await startBackend();
  container = containerName('resume');
  blobs = BlobServiceClient.fromConnectionString(backend.connectionString).getContainerClient(container);
  // Small blocks, so a few hundred KiB already make several blocks.
  driver = await createAzureDriver({ ...backend.options(container), blockSize: 64 * KiB });
  other = await createAzureDriver({ ...backend.options(container), blockSize: 48 * KiB });
});

afterAll(async () => {
  await backend?.deleteContainer(container);
  await backend?.stop();
});

/** Starts test/child-writer.ts in a separate Node process (Node 24 runs `.ts` directly). */
function startChild(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    ['--conditions=@berth/source', CHILD, backend.connectionString, container, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (data: string) => {
    text += data;
  });
  child.stderr?.setEncoding('utf8').on('data', (data: string) => {
    text += data;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  return { child, output: () => text, exited };
}

async function runChild(args: string[]): Promise<string> {
  const { output, exited } = startChild(args);
  const code = await exited;
  if (code !== 0) throw new Error(`child exited with ${code}: ${output()}`);
  return output();
}

async function blockList(path: string) {
  const list = await blobs.getBlockBlobClient(path.slice(1)).getBlockList('all');
  return { committed: list.committedBlocks ?? [], uncommitted: list.uncommittedBlocks ?? [] };
}

describe('resuming writes across processes', () => {
  it('a write closed by another process is resumed and committed here', async () => {
    const path = '/uploads/u1/data';
    const firstPart = MiB + 12_345;
    const total = 2 * MiB + 7;
    expect(await runChild([path, 'write-close', String(firstPart)])).toContain(`closed ${firstPart}`);

    await expect(driver.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(driver.list('/uploads')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const writer = await driver.writer(path, { append: true });
    expect(writer.size).toBe(firstPart);
    await writer.write(patternBytes(firstPart, total - firstPart));
    await writer.commit();

    const content = await driver.getContent(path);
    expect(content.byteLength).toBe(total);
    expect(sha256(content)).toBe(patternHash(total));
    // The child's 256 KiB blocks and this driver's 64 KiB blocks, committed in order.
    expect((await blockList(path)).committed.length).toBe(Math.ceil(firstPart / (256 * KiB)) + 16);
    await driver.delete(path);
  });

  it('a write closed here is resumed and committed by another process', async () => {
    const path = '/uploads/u2/data';
    const writer = await driver.writer(path);
    await writer.write(patternBytes(0, 300 * KiB + 1));
    await writer.close();
    const total = MiB + 99;
    expect(await runChild([path, 'append-commit', String(total)])).toContain(
      `committed ${300 * KiB + 1} ${total}`,
    );
    expect(sha256(await driver.getContent(path))).toBe(patternHash(total));
    await driver.delete(path);
  });

  describe('a writer process killed with SIGKILL mid-write', () => {
    const path = '/uploads/u3/data';
    let work: string;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'berth-azure-resume-'));
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    async function killMidWrite(): Promise<number> {
      const progressFile = join(work, `progress-${Date.now()}`);
      const progress = async (): Promise<number[]> => {
        const text = await readFile(progressFile, 'utf8').catch(() => '');
        return [...text.matchAll(/written (\d+)\n/g)].map((m) => Number(m[1]));
      };
      const { child, output, exited } = startChild([path, 'write-forever', progressFile]);
      await new Promise<void>((resolve, reject) => {
        const poll = async (): Promise<void> => {
          if (((await progress()).at(-1) ?? 0) >= 3 * MiB) resolve();
          else if (child.exitCode !== null) reject(new Error(`child exited early: ${output()}`));
          else setTimeout(() => void poll().catch(reject), 5);
        };
        void poll().catch(reject);
      });
      child.kill('SIGKILL');
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
      return Math.max(...(await progress()));
    }

    it('leaves nothing visible; the pending write resumes from the blocks that were staged', async () => {
      const reported = await killMidWrite();
      await expect(driver.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      expect(await driver.list('/')).not.toContain('/uploads');

      const writer = await driver.writer(path, { append: true });
      // Whole 256 KiB blocks up to the first one that had not reached the service. The last
      // reported write may still have been buffered or in flight (at most two blocks in flight
      // plus one being filled); the write after it may have sent a block before the child died.
      expect(writer.size % (256 * KiB)).toBe(0);
      expect(writer.size).toBeGreaterThan(0);
      expect(writer.size).toBeLessThanOrEqual(reported + 64 * KiB);
      expect(writer.size).toBeGreaterThanOrEqual(reported - 3 * 256 * KiB);
      const resumedAt = writer.size;
      const total = resumedAt + MiB + 5;
      await writer.write(patternBytes(resumedAt, total - resumedAt));
      await writer.commit();
      expect(sha256(await driver.getContent(path))).toBe(patternHash(total));
      await driver.delete(path);
    });

    it('leaves a pending write that cancel makes unresumable', async () => {
      await killMidWrite();
      const writer = await driver.writer(path, { append: true });
      expect(writer.size).toBeGreaterThan(0);
      await writer.cancel();
      await expect(driver.writer(path, { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      await expect(driver.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    });
  });
});

describe('appends', () => {
  it('survives many small appends across resumes on two driver instances', async () => {
    const path = '/many/appends';
    const parts: Uint8Array[] = [];
    let offset = 0;
    let writer = await driver.writer(path);
    for (let round = 0; round < 120; round++) {
      // 1 byte to ~100 KiB: some rounds fill several blocks, most leave a small one.
      const size = round % 10 === 9 ? 100 * KiB + round : 1 + ((round * 7919) % 3000);
      const part = patternBytes(offset, size);
      await writer.write(part.subarray(0, size >> 1));
      await writer.write(part.subarray(size >> 1));
      parts.push(part);
      offset += size;
      expect(writer.size).toBe(offset);
      await writer.close();
      writer = await (round % 2 === 0 ? other : driver).writer(path, { append: true });
      expect(writer.size, `size after resuming round ${round}`).toBe(offset);
    }
    await writer.commit();
    const content = await other.getContent(path);
    expect(content.byteLength).toBe(offset);
    expect(sha256(content)).toBe(patternHash(offset));
    const { committed, uncommitted } = await blockList(path);
    expect(uncommitted).toEqual([]);
    expect(committed.reduce((sum, block) => sum + (block.size ?? 0), 0)).toBe(offset);
    await driver.delete(path);
  }, 120_000);

  it('appending to a blob committed by a writer reuses its committed blocks (nothing is copied)', async () => {
    const path = '/committed/by-writer';
    const first = await driver.writer(path);
    await first.write(patternBytes(0, 200 * KiB));
    await first.commit();
    const before = (await blockList(path)).committed.map((block) => block.name);
    expect(before).toHaveLength(4);

    const append = await driver.writer(path, { append: true });
    expect(append.size).toBe(200 * KiB);
    await append.write(patternBytes(200 * KiB, 70 * KiB));
    await append.close();
    // Only the new bytes were staged: two blocks of this write, none re-uploaded.
    const pending = (await blockList(path)).uncommitted;
    expect(pending.map((block) => block.size)).toEqual([64 * KiB, 6 * KiB]);
    expect((await driver.stat(path)).size, 'the committed blob is unchanged until commit').toBe(200 * KiB);

    const resumed = await other.writer(path, { append: true });
    expect(resumed.size).toBe(270 * KiB);
    await resumed.commit();
    const after = (await blockList(path)).committed.map((block) => block.name);
    expect(after.slice(0, 4)).toEqual(before);
    expect(after).toHaveLength(6);
    expect(sha256(await driver.getContent(path))).toBe(patternHash(270 * KiB));
    await driver.delete(path);
  });

  it('appending to a blob written by putContent (no block list) copies it into the new write', async () => {
    const path = '/committed/by-put';
    await driver.putContent(path, patternBytes(0, 150 * KiB));
    expect((await blockList(path)).committed).toEqual([]);
    const append = await driver.writer(path, { append: true });
    expect(append.size).toBe(150 * KiB);
    await append.write(patternBytes(150 * KiB, 10));
    await append.commit();
    expect(sha256(await driver.getContent(path))).toBe(patternHash(150 * KiB + 10));
    // From now on the blob has a block list that the next append reuses.
    expect((await blockList(path)).committed.length).toBe(3);
    await driver.delete(path);
  });

  it('keeps a moved blob appendable without copying (the copy keeps the block ids)', async () => {
    const writer = await driver.writer('/move/src');
    await writer.write(patternBytes(0, 100 * KiB));
    await writer.commit();
    await driver.move('/move/src', '/move/dst');
    const append = await driver.writer('/move/dst', { append: true });
    await append.write(patternBytes(100 * KiB, 1));
    await append.commit();
    expect(sha256(await driver.getContent('/move/dst'))).toBe(patternHash(100 * KiB + 1));
    expect((await blockList('/move/dst')).committed.length).toBe(3);
    await driver.delete('/move');
  });
});

describe('pending writes', () => {
  it('a new write supersedes a pending one; cancelling it leaves neither', async () => {
    const path = '/pending/superseded';
    const old = await driver.writer(path);
    await old.write(patternBytes(0, 100 * KiB));
    await old.close();
    const replacement = await other.writer(path);
    await replacement.write(patternBytes(0, 10));
    await replacement.cancel();
    await expect(driver.writer(path, { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });

  it('a commit by another writer discards the pending write (Azure drops uncommitted blocks)', async () => {
    const path = '/pending/discarded';
    const pending = await driver.writer(path);
    await pending.write(patternBytes(0, 100 * KiB));
    await pending.close();
    const winner = await other.writer(path);
    await winner.write(patternBytes(0, 5));
    await winner.commit();
    expect((await blockList(path)).uncommitted).toEqual([]);
    const append = await driver.writer(path, { append: true });
    expect(append.size, 'append continues the committed blob').toBe(5);
    await append.cancel();
    await driver.delete(path);
  });

  it('stages ids of one fixed length that carry the write, session and position', async () => {
    const path = '/pending/ids';
    const writer = await driver.writer(path);
    await writer.write(patternBytes(0, 130 * KiB));
    await writer.close();
    const resumed = await other.writer(path, { append: true });
    await resumed.write(patternBytes(130 * KiB, 40 * KiB));
    await resumed.close();
    const ids = (await blockList(path)).uncommitted.map((block) => block.name);
    expect(new Set(ids.map((id) => id.length))).toEqual(new Set([76]));
    const fields = ids.map((id) => decodeBlockId(id)!).sort((a, b) => a.seq - b.seq);
    expect(fields.map((f) => [f.kind, f.session, f.start, f.seq])).toEqual([
      ['d', 0, 0, 0],
      ['d', 0, 0, 1],
      ['d', 0, 0, 2],
      ['d', 1, 3, 3],
    ]);
    expect(new Set(fields.map((f) => `${f.generation}/${f.writeId}/${f.base}`)).size).toBe(1);
    const last = await driver.writer(path, { append: true });
    await last.cancel();
  });
});
