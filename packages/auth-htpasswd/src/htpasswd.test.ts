import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BcryptPool } from './bcrypt-pool.ts';
import { isHtpasswdError } from './errors.ts';
import {
  dummyHash,
  type Htpasswd,
  type HtpasswdEvent,
  type HtpasswdOptions,
  openHtpasswd,
} from './htpasswd.ts';
import { line, tempDir } from './test-support/files.ts';

const client = { remoteAddress: '192.0.2.1' };
let dir: Awaited<ReturnType<typeof tempDir>>;
let pool: BcryptPool;
const opened: Htpasswd[] = [];

beforeAll(async () => {
  dir = await tempDir();
  pool = new BcryptPool({ size: 2 });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close()));
});
afterAll(async () => {
  await pool.close();
  await dir.remove();
});

let fileCount = 0;
async function file(lines: string[]): Promise<string> {
  const path = join(dir.path, `htpasswd-${fileCount++}`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

async function open(options: Partial<HtpasswdOptions> & { path: string }): Promise<Htpasswd> {
  const h = await openHtpasswd({ pool, ...options });
  opened.push(h);
  return h;
}

describe('openHtpasswd', () => {
  it('verifies users of the file', async () => {
    const h = await open({ path: await file([line('alice', 'secret'), line('bob', 'hunter2')]) });
    expect(h.users).toBe(2);
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
    expect(await h.verify('bob', 'hunter2', client)).toEqual({ outcome: 'valid' });
    expect(await h.verify('alice', 'hunter2', client)).toEqual({ outcome: 'invalid' });
    expect(await h.verify('mallory', 'secret', client)).toEqual({ outcome: 'invalid' });
    expect(await h.verify('', '', client)).toEqual({ outcome: 'invalid' });
  });

  it('refuses to start without the file (registry:2 would create one)', async () => {
    const error = await openHtpasswd({ path: join(dir.path, 'missing') }).catch((e: unknown) => e);
    expect(isHtpasswdError(error, 'HTPASSWD_UNREADABLE')).toBe(true);
    expect((error as Error).message).toContain('no such file');
  });

  it('refuses to start with a non-bcrypt entry, naming the user', async () => {
    const path = await file([line('alice', 'x'), 'bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/']);
    const error = await openHtpasswd({ path }).catch((e: unknown) => e);
    expect(isHtpasswdError(error, 'HTPASSWD_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/^line 2: user "bob": unsupported password hash \(apr1/);
  });

  it('compares unknown users against a dummy hash of the usual cost (no enumeration by timing)', async () => {
    const h = await open({ path: await file([line('alice', 'secret', 6), line('bob', 'x', 6)]) });
    const compare = vi.spyOn(pool, 'compare');
    try {
      await h.verify('nobody', 'secret', client);
      await h.verify('alice', 'wrong', client);
      expect(compare).toHaveBeenCalledTimes(2);
      const [unknownHash, knownHash] = compare.mock.calls.map((call) => call[1]);
      expect(unknownHash).toMatch(/^\$2b\$06\$[./A-Za-z0-9]{53}$/);
      expect(knownHash).toMatch(/^\$2y\$06\$/);
    } finally {
      compare.mockRestore();
    }
  });

  it('takes as long for an unknown user as for a wrong password', async () => {
    const h = await open({ path: await file([line('alice', 'secret', 8)]), throttle: false });
    const time = async (user: string): Promise<number> => {
      const start = performance.now();
      await h.verify(user, 'wrong', client);
      return performance.now() - start;
    };
    await time('alice');
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time('alice'));
      unknown.push(await time(`nobody${i}`));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[2]!;
    const ratio = median(unknown) / median(known);
    // Loose bounds (shared CI machines are noisy); a skipped bcrypt would be a ratio near 0.
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('dummyHash is a bcrypt hash of that cost no password matches', () => {
    const hash = dummyHash(4);
    expect(hash).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{53}$/);
    expect(bcrypt.compareSync('', hash)).toBe(false);
    expect(dummyHash(4)).not.toBe(hash);
  });

  it('caches successes: the second check runs no bcrypt', async () => {
    const h = await open({ path: await file([line('alice', 'secret')]) });
    const compare = vi.spyOn(pool, 'compare');
    try {
      expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
      expect(await h.verify('alice', 'secret', { remoteAddress: '192.0.2.99' })).toEqual({
        outcome: 'valid',
      });
      expect(compare).toHaveBeenCalledTimes(1);
      // Failures are never cached.
      await h.verify('alice', 'nope', client);
      await h.verify('alice', 'nope', client);
      expect(compare).toHaveBeenCalledTimes(3);
    } finally {
      compare.mockRestore();
    }
  });

  it('does not cache with ttlMs 0', async () => {
    const h = await open({ path: await file([line('alice', 'secret')]), cache: { ttlMs: 0 } });
    const compare = vi.spyOn(pool, 'compare');
    try {
      await h.verify('alice', 'secret', client);
      await h.verify('alice', 'secret', client);
      expect(compare).toHaveBeenCalledTimes(2);
    } finally {
      compare.mockRestore();
    }
  });

  it('shares one bcrypt run between identical checks in flight', async () => {
    const h = await open({ path: await file([line('alice', 'secret', 6)]) });
    const compare = vi.spyOn(pool, 'compare');
    try {
      const results = await Promise.all(Array.from({ length: 5 }, () => h.verify('alice', 'secret', client)));
      expect(results).toEqual(Array.from({ length: 5 }, () => ({ outcome: 'valid' })));
      expect(compare).toHaveBeenCalledTimes(1);
    } finally {
      compare.mockRestore();
    }
  });

  it('throttles repeated failures per (user, address), then answers throttled without bcrypt', async () => {
    const h = await open({
      path: await file([line('alice', 'secret')]),
      throttle: { freeFailures: 1, baseDelayMs: 20, maxDelayMs: 40, lockoutAfter: 3, lockoutMs: 30_000 },
    });
    const started = performance.now();
    expect(await h.verify('alice', 'a', client)).toEqual({ outcome: 'invalid' });
    expect(await h.verify('alice', 'b', client)).toEqual({ outcome: 'invalid' });
    expect(await h.verify('alice', 'c', client)).toEqual({ outcome: 'invalid' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55); // 20 + 40 ms of delays
    const compare = vi.spyOn(pool, 'compare');
    try {
      // Locked out, even with the right password, from this address…
      expect(await h.verify('alice', 'secret', client)).toEqual({
        outcome: 'throttled',
        retryAfterSeconds: 30,
      });
      expect(await h.verify('alice', 'd', client)).toEqual({ outcome: 'throttled', retryAfterSeconds: 30 });
      expect(compare).not.toHaveBeenCalled();
      // …but not from another one.
      expect(await h.verify('alice', 'secret', { remoteAddress: '192.0.2.2' })).toEqual({ outcome: 'valid' });
      // A cached success still passes the lockout (it proves the password without bcrypt).
      expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
    } finally {
      compare.mockRestore();
    }
  });

  it('a success served from the cache forgets the failures of the pair, as a checked one does', async () => {
    const h = await open({
      path: await file([line('alice', 'secret')]),
      throttle: { freeFailures: 5, lockoutAfter: 3, lockoutMs: 30_000 },
    });
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' }); // now cached
    expect(await h.verify('alice', 'a', client)).toEqual({ outcome: 'invalid' });
    expect(await h.verify('alice', 'b', client)).toEqual({ outcome: 'invalid' });
    const compare = vi.spyOn(pool, 'compare');
    try {
      expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
      expect(compare).not.toHaveBeenCalled(); // the cache answered
    } finally {
      compare.mockRestore();
    }
    // Two more failures start from zero: without the reset the first would be the third and
    // lock the pair out.
    expect(await h.verify('alice', 'c', client)).toEqual({ outcome: 'invalid' });
    expect(await h.verify('alice', 'd', client)).toEqual({ outcome: 'invalid' });
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
  });

  it('throttles unknown users the same way', async () => {
    const h = await open({
      path: await file([line('alice', 'secret')]),
      throttle: { lockoutAfter: 2, freeFailures: 5 },
    });
    await h.verify('ghost', 'a', client);
    await h.verify('ghost', 'b', client);
    expect((await h.verify('ghost', 'c', client)).outcome).toBe('throttled');
  });

  it('answers throttled when the bcrypt queue is full', async () => {
    const busy = new BcryptPool({ size: 1, maxQueue: 0 });
    try {
      const h = await open({ path: await file([line('alice', 'secret', 8)]), pool: busy });
      const [first, second] = await Promise.all([
        h.verify('alice', 'one', { remoteAddress: 'a' }),
        h.verify('alice', 'two', { remoteAddress: 'b' }),
      ]);
      expect(first).toEqual({ outcome: 'invalid' });
      expect(second).toEqual({ outcome: 'throttled', retryAfterSeconds: 1 });
    } finally {
      await busy.close();
    }
  });
});

describe('reload', () => {
  it('picks up a changed file (new user, removed user, changed password)', async () => {
    const path = await file([line('alice', 'secret'), line('bob', 'x')]);
    const events: HtpasswdEvent[] = [];
    const h = await open({ path, checkIntervalMs: 0, onEvent: (e) => events.push(e) });
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
    await writeFile(path, `${line('alice', 'changed')}\n${line('carol', 'c')}\n`);
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'invalid' }); // the cache does not help
    expect(await h.verify('alice', 'changed', client)).toEqual({ outcome: 'valid' });
    expect(await h.verify('carol', 'c', client)).toEqual({ outcome: 'valid' });
    expect(await h.verify('bob', 'x', client)).toEqual({ outcome: 'invalid' });
    expect(events).toEqual([{ type: 'reloaded', users: 2, warnings: [] }]);
  });

  it('picks up an atomic replace (rename over the file)', async () => {
    const path = await file([line('alice', 'secret')]);
    const h = await open({ path, checkIntervalMs: 0 });
    const next = `${path}.new`;
    await writeFile(next, `${line('dave', 'd')}\n`);
    await rename(next, path);
    expect(await h.verify('dave', 'd', client)).toEqual({ outcome: 'valid' });
    expect(h.has('alice')).toBe(false);
  });

  it('keeps the users while the file is missing, and reports it once', async () => {
    const path = await file([line('alice', 'secret')]);
    const events: HtpasswdEvent[] = [];
    const h = await open({ path, checkIntervalMs: 0, onEvent: (e) => events.push(e) });
    await rm(path);
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
    expect(events).toEqual([{ type: 'missing' }]);
    await writeFile(path, `${line('erin', 'e')}\n`);
    expect(await h.verify('erin', 'e', client)).toEqual({ outcome: 'valid' });
    expect(events.map((e) => e.type)).toEqual(['missing', 'reloaded']);
  });

  it('keeps the users when the new file is invalid, and reports it', async () => {
    const path = await file([line('alice', 'secret')]);
    const events: HtpasswdEvent[] = [];
    const h = await open({ path, checkIntervalMs: 0, onEvent: (e) => events.push(e) });
    await writeFile(path, 'alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
    expect(await h.verify('alice', 'secret', client)).toEqual({ outcome: 'valid' });
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.type).toBe('reload-failed');
    expect(event.type === 'reload-failed' && event.error.message).toContain('user "alice"');
  });

  it('checks the file at most every checkIntervalMs', async () => {
    const path = await file([line('alice', 'secret')]);
    const h = await open({ path, checkIntervalMs: 60_000 });
    await writeFile(path, `${line('frank', 'f')}\n`);
    expect(await h.verify('frank', 'f', client)).toEqual({ outcome: 'invalid' });
    await h.refresh();
    expect(await h.verify('frank', 'f', client)).toEqual({ outcome: 'valid' });
  });
});
