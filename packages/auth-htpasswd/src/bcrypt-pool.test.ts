import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, it } from 'vitest';
import { BcryptPool, defaultPoolSize } from './bcrypt-pool.ts';
import { isHtpasswdError } from './errors.ts';

const pools: BcryptPool[] = [];
function pool(options: ConstructorParameters<typeof BcryptPool>[0]): BcryptPool {
  const p = new BcryptPool(options);
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('BcryptPool', () => {
  const hash = bcrypt.hashSync('secret', 4);

  it('compares in a worker', async () => {
    const p = pool({ size: 1 });
    expect(await p.compare('secret', hash)).toBe(true);
    expect(await p.compare('wrong', hash)).toBe(false);
    expect(await p.compare('secret', '$2y$04$invalid')).toBe(false);
  });

  it('defaults to half the cores, 1 to 4 workers', () => {
    expect(defaultPoolSize()).toBeGreaterThanOrEqual(1);
    expect(defaultPoolSize()).toBeLessThanOrEqual(4);
    expect(new BcryptPool().maxQueue).toBe(16 * defaultPoolSize());
  });

  it('rejects at once with BCRYPT_POOL_BUSY when the workers and the queue are full', async () => {
    const p = pool({ size: 1, maxQueue: 1 });
    const slow = bcrypt.hashSync('x', 8);
    const running = p.compare('x', slow);
    const queued = p.compare('x', slow);
    expect(p.running).toBe(1);
    expect(p.queued).toBe(1);
    const error = await p.compare('x', slow).catch((e: unknown) => e);
    expect(isHtpasswdError(error, 'BCRYPT_POOL_BUSY')).toBe(true);
    expect(await running).toBe(true);
    expect(await queued).toBe(true);
  });

  it('does not block the event loop while bcrypt runs (cost 12, ≈270 ms)', async () => {
    const p = pool({ size: 1 });
    const expensive = bcrypt.hashSync('x', 12);
    await p.compare('warm-up', bcrypt.hashSync('x', 4)); // start the worker
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 2);
    const started = performance.now();
    await p.compare('x', expensive);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(elapsed).toBeGreaterThan(100); // bcrypt did run…
    // …while timers kept firing: on the event loop the gap would be the whole comparison.
    expect(maxGap).toBeLessThan(elapsed / 2);
  });

  it('rejects pending comparisons on close, and later ones', async () => {
    const p = pool({ size: 1, maxQueue: 4 });
    const slow = bcrypt.hashSync('x', 8);
    const settled = Promise.allSettled([p.compare('x', slow), p.compare('x', slow)]);
    await p.close();
    for (const result of await settled) {
      expect(result.status).toBe('rejected');
    }
    const error = await p.compare('x', slow).catch((e: unknown) => e);
    expect(isHtpasswdError(error, 'BCRYPT_POOL_CLOSED')).toBe(true);
  });

  it('runs up to size comparisons in parallel', async () => {
    const p = pool({ size: 2, maxQueue: 0 });
    const slow = bcrypt.hashSync('x', 6);
    const both = Promise.all([p.compare('x', slow), p.compare('x', slow)]);
    expect(p.running).toBe(2);
    expect(await both).toEqual([true, true]);
  });
});
