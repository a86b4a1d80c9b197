import { readdir } from 'node:fs/promises';
import { createInMemoryDriver, type StorageDriver } from '@berth/storage-driver';
import { createFilesystemDriver } from '@berth/storage-driver-fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pathFor } from './paths.ts';
import { filesOf, tempDir } from './test-support/stores.ts';
import { CLAIM_RENEW_MS, CLAIM_TTL_MS, claimUpload, type UploadClaim } from './upload-claims.ts';

const NAME = 'team/app';
const ID = 'b4f1c0de-0000-4000-8000-000000000001';
const claims = pathFor({ kind: 'berthUploadClaims', name: NAME, id: ID });

/** Claims the test upload; `undefined` when it is busy. */
async function claim(driver: StorageDriver, now?: () => number): Promise<UploadClaim | undefined> {
  const result = await claimUpload(driver, NAME, ID, {
    check: async () => 'checked',
    ...(now ? { now } : {}),
  });
  if (result.claim !== undefined) expect(result.checked).toBe('checked');
  return result.claim;
}

async function claimNames(driver: StorageDriver): Promise<string[]> {
  return (await filesOf(driver)).filter((path) => path.startsWith(`${claims}/`));
}

const drivers: [string, () => Promise<{ driver: StorageDriver; done: () => Promise<void> }>][] = [
  ['in-memory', async () => ({ driver: createInMemoryDriver(), done: async () => {} })],
  [
    'filesystem',
    async () => {
      const { dir, remove } = await tempDir('claims');
      return {
        driver: createFilesystemDriver({ rootdirectory: dir, fsync: false }),
        done: async () => {
          // Released claims leave no directory behind either (the driver's own scratch
          // directories aside).
          const entries = await readdir(dir, { recursive: true });
          expect(entries.filter((entry) => !/^#berth(\/(tmp|pending|trash))?$/.test(entry))).toEqual([]);
          await remove();
        },
      };
    },
  ],
];

describe.each(drivers)('upload claims (%s)', (_, make) => {
  let done: (() => Promise<void>) | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await done?.();
    done = undefined;
  });

  it('grants a free upload and leaves nothing once released (twice is harmless)', async () => {
    const made = await make();
    done = made.done;
    const held = await claim(made.driver);
    expect(held).toBeDefined();
    expect(await claimNames(made.driver)).toHaveLength(1);
    await held?.release();
    await held?.release();
    expect(await filesOf(made.driver)).toEqual([]);
  });

  it('refuses while another live claim is held, and grants again after its release', async () => {
    const made = await make();
    done = made.done;
    const first = await claim(made.driver);
    expect(await claim(made.driver)).toBeUndefined();
    // The refused request's own claim is gone again.
    expect(await claimNames(made.driver)).toHaveLength(1);
    await first?.release();
    const second = await claim(made.driver);
    expect(second).toBeDefined();
    await second?.release();
  });

  it('of many overlapping claims, at most one is granted', async () => {
    const made = await make();
    done = made.done;
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(Array.from({ length: 4 }, () => claim(made.driver)));
      const granted = results.filter((claim) => claim !== undefined);
      expect(granted.length).toBeLessThanOrEqual(1);
      await Promise.all(granted.map((claim) => claim.release()));
    }
    expect(await filesOf(made.driver)).toEqual([]);
  });

  it('ignores and removes a claim older than the TTL (a process that died holding it)', async () => {
    const made = await make();
    done = made.done;
    const stale = `${Date.now() - CLAIM_TTL_MS - 1000}-0123456789abcdef`;
    await made.driver.putContent(`${claims}/${stale}`, new Uint8Array([1]));
    const held = await claim(made.driver);
    expect(held).toBeDefined();
    expect(await claimNames(made.driver)).not.toContain(`${claims}/${stale}`);
    await held?.release();
  });

  it('grants a claim on an upload removed meanwhile (the caller then finds it gone)', async () => {
    const made = await make();
    done = made.done;
    const held = await claim(made.driver);
    await made.driver.delete(pathFor({ kind: 'upload', name: NAME, id: ID }));
    await held?.removedWithUpload();
    await held?.release();
    expect(await filesOf(made.driver)).toEqual([]);
  });

  it('releases the claim when the check alongside it fails, and passes the failure on', async () => {
    const made = await make();
    done = made.done;
    const failing = claimUpload(made.driver, NAME, ID, {
      check: () => Promise.reject(new Error('storage unreachable')),
    });
    await expect(failing).rejects.toThrow('storage unreachable');
    expect(await filesOf(made.driver)).toEqual([]);
  });
});

describe('upload claims: renewal', () => {
  it('a long request renews its claim, so it is never taken for a dead one', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const driver = createInMemoryDriver();
      let now = Date.now();
      const held = await claim(driver, () => now);
      for (let i = 0; i < 5; i++) {
        now += CLAIM_RENEW_MS;
        vi.advanceTimersByTime(CLAIM_RENEW_MS);
        // Let the renewal's writes settle.
        await vi.waitFor(async () => {
          const names = await claimNames(driver);
          expect(names).toHaveLength(1);
          expect(names[0]).toContain(`/${now}-`);
        });
      }
      // Older than the TTL since it was first written, yet still live.
      expect(await claim(driver, () => now)).toBeUndefined();
      await held?.release();
      expect(await filesOf(driver)).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
