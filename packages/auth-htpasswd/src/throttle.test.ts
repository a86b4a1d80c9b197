import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './throttle.ts';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

type Pair = readonly [string, string];

/** Runs one failed check; returns the delay or the refusal. */
function fail(throttle: FailureThrottle, [user, address]: Pair): number | string {
  const admission = throttle.admit(user, address);
  if (!admission.admitted) return `429 after ${admission.retryAfterMs}`;
  return throttle.failure(user, address);
}

describe('FailureThrottle', () => {
  const key: Pair = ['alice', '192.0.2.1'];

  it('answers the first failures at once, then with a doubling, capped delay, then 429', () => {
    const c = clock();
    const throttle = new FailureThrottle({ now: c.now });
    const delays = Array.from({ length: 10 }, () => fail(throttle, key));
    // 3 free, then 250 doubling to the 4 s cap; the 10th failure also starts the lockout.
    expect(delays).toEqual([0, 0, 0, 250, 500, 1000, 2000, 4000, 4000, 4000]);
    expect(fail(throttle, key)).toBe('429 after 60000');
    c.advance(59_999);
    expect(fail(throttle, key)).toBe('429 after 1');
  });

  it('doubles the lockout with each failure after it, up to the cap', () => {
    const c = clock();
    const throttle = new FailureThrottle({
      now: c.now,
      lockoutAfter: 2,
      freeFailures: 10,
      maxLockoutMs: 200_000,
    });
    fail(throttle, key);
    fail(throttle, key);
    expect(fail(throttle, key)).toBe('429 after 60000');
    c.advance(60_000);
    fail(throttle, key); // 3rd failure: 120 s
    expect(fail(throttle, key)).toBe('429 after 120000');
    c.advance(120_000);
    fail(throttle, key); // 4th: 240 s, capped at 200 s
    expect(fail(throttle, key)).toBe('429 after 200000');
  });

  it('counts per (user, address): other addresses and users are not affected', () => {
    const c = clock();
    const throttle = new FailureThrottle({ now: c.now, lockoutAfter: 3 });
    for (let i = 0; i < 3; i++) fail(throttle, key);
    expect(throttle.admit(...key).admitted).toBe(false);
    expect(throttle.admit('alice', '192.0.2.2').admitted).toBe(true);
    expect(throttle.admit('bob', '192.0.2.1').admitted).toBe(true);
  });

  it('forgets a pair after a success', () => {
    const c = clock();
    const throttle = new FailureThrottle({ now: c.now });
    for (let i = 0; i < 5; i++) fail(throttle, key);
    expect(throttle.admit(...key).admitted).toBe(true);
    throttle.success(...key);
    expect(throttle.size).toBe(0);
    expect(throttle.runningFrom(key[1])).toBe(0);
    expect(fail(throttle, key)).toBe(0);
  });

  it('forget() clears failures and a lockout without touching running checks', () => {
    const throttle = new FailureThrottle({ lockoutAfter: 3 });
    for (let i = 0; i < 3; i++) fail(throttle, key);
    expect(throttle.admit(...key).admitted).toBe(false);
    throttle.forget(...key);
    expect(throttle.size).toBe(0);
    expect(throttle.admit(...key).admitted).toBe(true);
    throttle.forget(...key); // a check of the pair is running: its slot stays taken
    expect(throttle.size).toBe(1);
    expect(throttle.runningFrom(key[1])).toBe(1);
    expect(throttle.failure(...key)).toBe(0);
    expect(throttle.runningFrom(key[1])).toBe(0);
  });

  it('forgets failures after resetAfterMs without one', () => {
    const c = clock();
    const throttle = new FailureThrottle({ now: c.now, resetAfterMs: 1000 });
    for (let i = 0; i < 5; i++) fail(throttle, key);
    c.advance(1000);
    expect(fail(throttle, key)).toBe(0);
  });

  it('limits concurrent checks per pair', () => {
    const throttle = new FailureThrottle({ maxConcurrentPerClient: 2 });
    expect(throttle.admit(...key).admitted).toBe(true);
    expect(throttle.admit(...key).admitted).toBe(true);
    expect(throttle.admit(...key)).toEqual({ admitted: false, retryAfterMs: 1000 });
    throttle.release(...key);
    expect(throttle.admit(...key).admitted).toBe(true);
    throttle.success(...key);
    throttle.release(...key);
    expect(throttle.size).toBe(0);
    expect(throttle.runningFrom(key[1])).toBe(0);
  });

  it('limits concurrent checks per address, whatever the user names', () => {
    const throttle = new FailureThrottle({ maxConcurrentPerAddress: 3 });
    for (let i = 0; i < 3; i++) expect(throttle.admit(`user${i}`, '198.51.100.1').admitted).toBe(true);
    expect(throttle.admit('user9', '198.51.100.1')).toEqual({ admitted: false, retryAfterMs: 1000 });
    expect(throttle.admit('user9', '198.51.100.2').admitted).toBe(true);
    expect(throttle.failure('user0', '198.51.100.1')).toBe(0);
    expect(throttle.admit('user9', '198.51.100.1').admitted).toBe(true);
    expect(throttle.runningFrom('198.51.100.1')).toBe(3);
  });

  it('stays bounded, forgetting the least recently failed pairs', () => {
    const throttle = new FailureThrottle({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) fail(throttle, [`u${i}`, 'a']);
    expect(throttle.size).toBe(3);
  });
});
