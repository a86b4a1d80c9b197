import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKOFF_MS, QuickReads, SLOW_CALL_MS, SLOW_CALLS, WINDOW } from './quick-reads.ts';
import { makeTempDir, removeTempDir } from './test-support/tmp.ts';

describe('QuickReads', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('quick');
  });
  afterEach(async () => {
    await removeTempDir(dir);
  });

  it('reads files below the limit whole, leaves larger ones to the caller, and throws fs errors', async () => {
    await writeFile(join(dir, 'small'), 'sha256:abc');
    await writeFile(join(dir, 'exact'), Buffer.alloc(64, 1));
    await mkdir(join(dir, 'sub'));
    const quick = new QuickReads();
    expect(Buffer.from(quick.readSmall(join(dir, 'small'), 64) ?? []).toString()).toBe('sha256:abc');
    expect(quick.readSmall(join(dir, 'exact'), 64)).toBeUndefined();
    expect(() => quick.readSmall(join(dir, 'missing'), 64)).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    expect(() => quick.readSmall(join(dir, 'sub'), 64)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(quick.stat(join(dir, 'small'))?.size).toBe(10);
    expect(() => quick.stat(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('a few slow calls among the recent ones turn quick reads off for the back-off period', async () => {
    await writeFile(join(dir, 'f'), 'x');
    let now = 1000;
    let step = 0;
    // Each call reads the clock twice (start, end): `step` is how long the call "takes".
    const quick = new QuickReads(() => {
      const t = now;
      now += step;
      return t;
    });
    const call = (ms: number) => {
      step = ms;
      const result = quick.stat(join(dir, 'f'));
      step = 0;
      return result;
    };
    // An occasional slow call (a preempted thread) changes nothing.
    for (let i = 0; i < 3 * WINDOW; i++)
      expect(call(i % WINDOW === 0 ? SLOW_CALL_MS + 5 : 0.01)).toBeDefined();
    expect(quick.enabled).toBe(true);
    // A slow device: SLOW_CALLS slow calls in a row are answered, then quick reads are off.
    for (let i = 0; i < SLOW_CALLS; i++) expect(call(SLOW_CALL_MS + 5)).toBeDefined();
    expect(quick.enabled).toBe(false);
    expect(quick.stat(join(dir, 'f'))).toBeUndefined();
    expect(quick.readSmall(join(dir, 'f'), 64)).toBeUndefined();
    now += BACKOFF_MS;
    expect(quick.enabled).toBe(true);
    expect(call(0.01)).toBeDefined();
  });
});
