import { describe, expect, it, vi } from 'vitest';
import { createLogger, createMemorySink } from '../log/logger.ts';
import { initialPurgeDelay, scheduleUploadPurging } from './purge.ts';

const config = { enabled: true, ageMs: 3_600_000, intervalMs: 30, dryRun: false };

describe('initialPurgeDelay', () => {
  it("is registry:2's 0-59 whole minutes for intervals of an hour or more", () => {
    expect(initialPurgeDelay(24 * 3_600_000, () => 0)).toBe(0);
    expect(initialPurgeDelay(24 * 3_600_000, () => 0.999)).toBe(59 * 60_000);
    expect(initialPurgeDelay(3_600_000, () => 0.5)).toBe(30 * 60_000);
  });

  it('stays below a shorter interval', () => {
    expect(initialPurgeDelay(1000, () => 0.999)).toBe(999);
    expect(initialPurgeDelay(1000, () => 0)).toBe(0);
  });
});

describe('scheduleUploadPurging', () => {
  it('does nothing when disabled', () => {
    const purgeUploads = vi.fn();
    expect(
      scheduleUploadPurging(
        { purgeUploads },
        { ...config, enabled: false },
        createLogger({ sink: createMemorySink() }),
      ),
    ).toBe(undefined);
    expect(purgeUploads).not.toHaveBeenCalled();
  });

  it('runs after the initial delay, then every interval, with age and dryrun, logging what it purged', async () => {
    const sink = createMemorySink();
    const purgeUploads = vi.fn(async () => ['library/a/1234']);
    const purger = scheduleUploadPurging(
      { purgeUploads },
      { ...config, dryRun: true },
      createLogger({ sink }),
      {
        initialDelayMs: 5,
      },
    );
    try {
      await vi.waitFor(() => expect(purgeUploads.mock.calls.length).toBeGreaterThanOrEqual(3), {
        timeout: 2000,
      });
      expect(purgeUploads).toHaveBeenCalledWith({ olderThanMs: 3_600_000, dryRun: true });
      const purgeLines = sink.records().filter((r) => String(r.msg).startsWith('upload purge'));
      expect(purgeLines[0]).toMatchObject({
        msg: 'upload purge (dry run): would delete',
        count: 1,
        uploads: ['library/a/1234'],
        dryRun: true,
      });
    } finally {
      purger?.stop();
    }
    const calls = purgeUploads.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(purgeUploads.mock.calls.length).toBeLessThanOrEqual(calls + 1);
  });

  it('logs a failed run and keeps the schedule', async () => {
    const sink = createMemorySink();
    let calls = 0;
    const purgeUploads = async (): Promise<string[]> => {
      calls += 1;
      if (calls === 1) throw new Error('storage down');
      return [];
    };
    const purger = scheduleUploadPurging({ purgeUploads }, config, createLogger({ sink, level: 'debug' }), {
      initialDelayMs: 0,
    });
    try {
      await vi.waitFor(() => expect(calls).toBeGreaterThanOrEqual(2), { timeout: 2000 });
      expect(sink.records().find((r) => r.msg === 'upload purge failed')).toMatchObject({
        error: 'storage down',
      });
    } finally {
      purger?.stop();
    }
  });
});
