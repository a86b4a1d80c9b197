import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGcsDriver } from './gcs-driver.ts';
import type { GcsDriverOptions } from './options.ts';
import { NEEDS_COMPOSE, onRealGcs, startBackend, type TestBackend } from './test-support/backend.ts';
import { patternBytes, patternHash, sha256 } from './test-support/pattern.ts';

const CHILD = fileURLToPath(new URL('../test/child-writer.ts', import.meta.url));
const KiB = 1024;
const MiB = 1024 * KiB;
const compose = onRealGcs() ? '' : ` — skipped: ${NEEDS_COMPOSE}`;

let backend: TestBackend;
/** 256 KiB parts, the smallest chunk size. */
let small: StorageDriver;
/** 64 MiB chunks: commits of what small writers stored go through the read-back path. */
let large: StorageDriver;
const childOptions = (): GcsDriverOptions => backend.options({ chunksize: 256 * KiB });

beforeAll(async () => {
  backend = await startBackend('resume');
  small = await createGcsDriver(backend.options({ chunksize: 256 * KiB }));
  large = await createGcsDriver(backend.options({ chunksize: 64 * MiB }));
});

afterAll(async () => {
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
    ['--conditions=@berth/source', CHILD, JSON.stringify(childOptions()), ...args],
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

/** Objects of pending writes of `path` (the hidden tree). */
async function pendingObjects(path: string): Promise<string[]> {
  const root = backend.rootPrefix === '' ? '' : `${backend.rootPrefix}/`;
  return backend.objectNames(`${root}~berth-pending${path}/~`);
}

describe('resuming writes across processes', () => {
  it('a write closed by another process is resumed and committed here', async () => {
    const path = '/uploads/u1/data';
    const firstPart = 300 * KiB + 17;
    expect(await runChild([path, 'write-close', String(firstPart)])).toContain(`closed ${firstPart}`);
    // A full 256 KiB part and the rest.
    expect(await pendingObjects(path)).toHaveLength(2);
    await expect(small.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await expect(small.list('/uploads')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });

    const total = 700 * KiB + 3;
    const writer = await large.writer(path, { append: true });
    expect(writer.size).toBe(firstPart);
    await writer.write(patternBytes(firstPart, total - firstPart));
    await writer.commit();
    expect(sha256(await small.getContent(path))).toBe(patternHash(total));
    expect(await pendingObjects(path)).toEqual([]);
    await small.delete(path);
  });

  it('a write closed here is resumed, closed and committed by other processes', async () => {
    const path = '/uploads/u2/data';
    const writer = await large.writer(path);
    await writer.write(patternBytes(0, 100 * KiB + 1));
    await writer.close();
    expect(await runChild([path, 'append-close', String(200 * KiB)])).toContain(
      `closed ${100 * KiB + 1} ${200 * KiB}`,
    );
    expect(await runChild([path, 'append-close', String(200 * KiB)])).toContain(
      `closed ${200 * KiB} ${200 * KiB}`,
    );
    const resumed = await large.writer(path, { append: true });
    expect(resumed.size).toBe(200 * KiB);
    await resumed.commit();
    expect(sha256(await large.getContent(path))).toBe(patternHash(200 * KiB));
    await large.delete(path);
  });

  describe('a writer process killed with SIGKILL mid-write', () => {
    const path = '/uploads/u3/data';
    let work: string;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'berth-gcs-resume-'));
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

    it('leaves nothing visible; the pending write resumes from the unbroken run of parts', async () => {
      const reported = await killMidWrite();
      await expect(small.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      expect(await small.list('/')).not.toContain('/uploads');

      const writer = await large.writer(path, { append: true });
      // Whole 256 KiB parts up to the first one that had not been stored. The last reported
      // write may still have been buffered or uploading (four parts in flight plus one filling).
      expect(writer.size % (256 * KiB)).toBe(0);
      expect(writer.size).toBeGreaterThan(0);
      expect(writer.size).toBeLessThanOrEqual(reported + 64 * KiB);
      expect(writer.size).toBeGreaterThanOrEqual(reported - 5 * 256 * KiB);
      const resumedAt = writer.size;
      const total = resumedAt + MiB + 5;
      await writer.write(patternBytes(resumedAt, total - resumedAt));
      await writer.commit();
      expect(sha256(await small.getContent(path))).toBe(patternHash(total));
      expect(await pendingObjects(path)).toEqual([]);
      await small.delete(path);
    });

    it('leaves a pending write that cancel removes', async () => {
      await killMidWrite();
      const writer = await small.writer(path, { append: true });
      expect(writer.size).toBeGreaterThan(0);
      await writer.cancel();
      await expect(small.writer(path, { append: true })).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
      expect(await pendingObjects(path)).toEqual([]);
    });
  });
});

describe('pending writes', () => {
  it('a resume continues after the unbroken run of parts and deletes the parts after a gap', async () => {
    const path = '/gap/data';
    const writer = await small.writer(path);
    await writer.write(patternBytes(0, MiB));
    await writer.close();
    const parts = (await pendingObjects(path)).sort();
    expect(parts).toHaveLength(4);
    // Part 1 never arrived (its upload was in flight when the process died).
    await backend.bucket.file(parts[1]!).delete();

    const resumed = await small.writer(path, { append: true });
    expect(resumed.size).toBe(256 * KiB);
    expect((await pendingObjects(path)).sort(), 'the parts after the gap are gone').toEqual([parts[0]]);
    await resumed.write(patternBytes(256 * KiB, 100 * KiB));
    await resumed.close();
    const again = await large.writer(path, { append: true });
    expect(again.size).toBe(356 * KiB);
    await again.commit();
    expect(sha256(await small.getContent(path))).toBe(patternHash(356 * KiB));
    await small.delete(path);
  });

  const failing = 'uses the emulator’s 501 for compose to make a commit fail';
  it(`a commit that fails (here: compose, which the emulator lacks) leaves the write pending with every byte${onRealGcs() ? ` — skipped: ${failing}` : ''}`, async ({
    skip,
  }) => {
    if (onRealGcs()) skip(failing);
    const path = '/failed/commit';
    const writer = await small.writer(path);
    await writer.write(patternBytes(0, 600 * KiB + 9));
    await expect(writer.commit()).rejects.toMatchObject({ code: 'DRIVER_ERROR' });
    await expect(small.stat(path)).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const resumed = await large.writer(path, { append: true });
    expect(resumed.size).toBe(600 * KiB + 9);
    await resumed.commit();
    expect(sha256(await small.getContent(path))).toBe(patternHash(600 * KiB + 9));
    expect(await pendingObjects(path)).toEqual([]);
    await small.delete(path);
  });

  it('a write stored as one big part commits with one server-side copy, not a compose', async () => {
    const path = '/big/one-part';
    const big = await createGcsDriver(backend.options({ chunksize: 128 * MiB }));
    const size = 40 * MiB + 1;
    const writer = await big.writer(path);
    for (let offset = 0; offset < size; offset += 4 * MiB) {
      await writer.write(patternBytes(offset, Math.min(4 * MiB, size - offset)));
    }
    await writer.close();
    const resumed = await big.writer(path, { append: true });
    expect(resumed.size).toBe(size);
    await resumed.commit();
    const root = backend.rootPrefix === '' ? '' : `${backend.rootPrefix}/`;
    const [metadata] = await backend.bucket.file(`${root}big/one-part`).getMetadata();
    expect(Number(metadata.size)).toBe(size);
    expect(metadata.componentCount, 'a copy, not a composite object').toBeUndefined();
    expect(sha256(await big.getContent(path))).toBe(patternHash(size));
    await big.delete('/big');
  }, 120_000);

  it(`commits 41 parts through two rounds of compose${compose}`, async ({ skip }) => {
    if (!onRealGcs()) skip(NEEDS_COMPOSE);
    const path = '/composed/data';
    const size = 40 * 256 * KiB + 5;
    const writer = await small.writer(path);
    await writer.write(patternBytes(0, 3 * MiB));
    await writer.close();
    const resumed = await small.writer(path, { append: true });
    await resumed.write(patternBytes(3 * MiB, size - 3 * MiB));
    await resumed.commit();
    expect(sha256(await small.getContent(path))).toBe(patternHash(size));
    const reader = await small.reader(path, { offset: size - 10 });
    const tail: Buffer[] = [];
    for await (const chunk of reader) tail.push(chunk as Buffer);
    expect(sha256(Buffer.concat(tail))).toBe(sha256(patternBytes(size - 10, 10)));
    expect(await pendingObjects(path)).toEqual([]);
    await small.delete('/composed');
  }, 120_000);

  it(`appends to a big committed file without reading it back (compose)${compose}`, async ({ skip }) => {
    if (!onRealGcs()) skip(NEEDS_COMPOSE);
    const path = '/composed/append';
    const writer = await small.writer(path);
    await writer.write(patternBytes(0, MiB));
    await writer.commit();
    const append = await small.writer(path, { append: true });
    expect(append.size).toBe(MiB);
    await append.write(patternBytes(MiB, 300 * KiB));
    await append.commit();
    expect(sha256(await small.getContent(path))).toBe(patternHash(MiB + 300 * KiB));
    await small.delete('/composed');
  }, 60_000);
});
