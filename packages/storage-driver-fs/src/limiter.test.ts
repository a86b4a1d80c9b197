import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFilesystemDriver } from './fs-driver.ts';
import { Limiter } from './limiter.ts';
import { makeTempDir, removeTempDir } from './test-support/tmp.ts';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

describe('Limiter', () => {
  it('never runs more than max calls at once, and runs waiters in order', async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          order.push(i);
          running++;
          peak = Math.max(peak, running);
          await tick();
          running--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(limiter.active).toBe(0);
    expect(limiter.waiting).toBe(0);
  });

  it('releases the slot when a call fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 42)).resolves.toBe(42);
    expect(limiter.active).toBe(0);
  });

  it('rejects a limit below 1', () => {
    expect(() => new Limiter(0)).toThrow(RangeError);
  });
});

describe('maxthreads', () => {
  it('a driver limited to one call at a time still completes concurrent mixed operations', async () => {
    const parent = await makeTempDir('limit');
    try {
      const driver = createFilesystemDriver({ rootdirectory: join(parent, 'r'), maxthreads: 1 });
      const bytes = new Uint8Array(300_000).fill(7);
      await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          await driver.putContent(`/d${i % 3}/p${i}`, bytes);
          const writer = await driver.writer(`/d${i % 3}/w${i}/data`);
          await writer.write(bytes);
          await writer.write(bytes);
          await writer.commit();
          await driver.move(`/d${i % 3}/w${i}/data`, `/m/${i}`);
          expect((await driver.stat(`/m/${i}`)).size).toBe(600_000);
          expect(await driver.list(`/d${i % 3}`)).toContain(`/d${i % 3}/p${i}`);
        }),
      );
      let count = 0;
      for await (const _ of driver.walk('/')) count++;
      expect(count).toBe(1 + 24 + 3 + 24);
      await Promise.all(['/d0', '/d1', '/d2', '/m'].map((dir) => driver.delete(dir)));
      expect(await driver.list('/')).toEqual([]);
    } finally {
      await removeTempDir(parent);
    }
  });
});
