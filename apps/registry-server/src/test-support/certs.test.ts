import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslMissing } from './certs.ts';

describe('opensslMissing', () => {
  let empty: string;
  beforeAll(async () => {
    empty = await mkdtemp(join(tmpdir(), 'berth-no-openssl-'));
  });
  afterAll(async () => {
    await rm(empty, { recursive: true, force: true });
  });
  const without = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: empty, ...extra });

  it('says openssl is missing when it is not on PATH, outside CI', () => {
    for (const env of [without(), without({ CI: 'false' }), without({ CI: '' })]) {
      expect(opensslMissing(env)).toBe(
        'openssl is missing (apt-get install -y --no-install-recommends openssl)',
      );
    }
  });

  it('throws under CI instead of skipping', () => {
    for (const CI of ['true', '1']) {
      expect(() => opensslMissing(without({ CI }))).toThrow(
        'CI is set, so the TLS tests may not be skipped, but openssl is missing',
      );
    }
  });

  it('is undefined when openssl runs', () => {
    expect(opensslMissing({ PATH: process.env.PATH })).toBeUndefined();
  });
});
