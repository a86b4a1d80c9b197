import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALGORITHMS, type Algorithm } from './algorithm.ts';
import { isDigestError } from './errors.ts';
import { createResumableHasher, loadResumableHasher, type ResumableHasher } from './resumable-hasher.ts';
import { VECTORS, vectorBytes } from './test-support/vectors.ts';

const run = promisify(execFile);

function nodeDigest(algorithm: Algorithm, ...parts: Uint8Array[]): string {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return `${algorithm}:${h.digest('hex')}`;
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(isDigestError(err)).toBe(true);
  return err as { code: string; message: string };
}

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(isDigestError(err)).toBe(true);
    return err as { code: string; message: string };
  }
  throw new Error('expected a throw');
}

/** Splits `data` at the given (unsorted, possibly repeated or out-of-range) cut points. */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, data.length]) {
    chunks.push(data.subarray(start, p));
    start = p;
  }
  return chunks;
}

describe('resumable hasher', () => {
  for (const algorithm of ALGORITHMS) {
    for (const v of VECTORS) {
      it(`${algorithm} of ${v.name} matches the published digest, saved and reloaded every 100 000 bytes`, async () => {
        const bytes = vectorBytes(v);
        let h = await createResumableHasher(algorithm);
        for (let i = 0; i < bytes.length; i += 100_000) {
          h.update(bytes.subarray(i, i + 100_000));
          h = await loadResumableHasher(h.save());
        }
        expect(h.size).toBe(bytes.length);
        expect(h.digest()).toBe(`${algorithm}:${v.digests[algorithm]}`);
      });
    }
  }

  it('defaults to sha256 and starts at zero bytes', async () => {
    const h = await createResumableHasher();
    expect(h.algorithm).toBe('sha256');
    expect(h.size).toBe(0);
    expect(h.digest()).toBe(`sha256:${VECTORS[0]!.digests.sha256}`);
  });

  it('equals node:crypto for random data split at random boundaries, with save/load at every boundary', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALGORITHMS),
        fc.uint8Array({ maxLength: 1500 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (algorithm, data, cuts) => {
          const chunks = split(data, cuts);
          let h = await createResumableHasher(algorithm);
          let size = 0;
          for (const chunk of chunks) {
            h.update(chunk);
            size += chunk.length;
            const state = h.save();
            expect(state.length).toBe(
              14 + (algorithm === 'sha256' ? 32 + (size % 64) : 64 + (size % 128)) + 4,
            );
            h = await loadResumableHasher(state, { algorithm, size });
            expect(h.size).toBe(size);
          }
          expect(h.digest()).toBe(nodeDigest(algorithm, data));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps many interleaved hashers independent while they share one engine', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 7 }), fc.uint8Array({ maxLength: 300 }), fc.boolean()), {
          maxLength: 80,
        }),
        async (steps) => {
          const hashers: ResumableHasher[] = [];
          const fed: Uint8Array[][] = [];
          for (let i = 0; i < 8; i++) {
            hashers.push(await createResumableHasher(i % 2 === 0 ? 'sha256' : 'sha512'));
            fed.push([]);
          }
          for (const [i, chunk, reload] of steps) {
            hashers[i]!.update(chunk);
            fed[i]!.push(chunk);
            if (reload) hashers[i] = await loadResumableHasher(hashers[i]!.save());
          }
          for (let i = 0; i < 8; i++) {
            expect(hashers[i]!.digest()).toBe(nodeDigest(hashers[i]!.algorithm, ...fed[i]!));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('lets one saved state be continued several ways', async () => {
    const a = randomBytes(1000);
    const h = await createResumableHasher();
    h.update(a);
    const state = h.save();
    const [x, y] = [randomBytes(77), randomBytes(200)];
    const hx = await loadResumableHasher(state);
    const hy = await loadResumableHasher(state);
    hx.update(x);
    hy.update(y);
    h.update(x);
    expect(hy.digest()).toBe(nodeDigest('sha256', a, y));
    expect(hx.digest()).toBe(nodeDigest('sha256', a, x));
    expect(h.digest()).toBe(nodeDigest('sha256', a, x));
  });

  it('does not retain the state buffer it was loaded from, nor the chunks it was given', async () => {
    const h = await createResumableHasher('sha512');
    const chunk = new Uint8Array(50).fill(7);
    h.update(chunk);
    chunk.fill(9);
    const state = h.save();
    const loaded = await loadResumableHasher(state);
    state.fill(0);
    expect(loaded.digest()).toBe(nodeDigest('sha512', new Uint8Array(50).fill(7)));
  });

  it('save() does not disturb the hasher', async () => {
    const data = randomBytes(500);
    const h = await createResumableHasher();
    h.update(data.subarray(0, 100));
    const s1 = h.save();
    expect(h.save()).toEqual(s1);
    h.update(data.subarray(100));
    expect(h.digest()).toBe(nodeDigest('sha256', data));
  });

  it('is finalized by digest(): update, save and digest then throw HASHER_FINALIZED', async () => {
    const h = await createResumableHasher();
    h.update(new Uint8Array([1, 2, 3]));
    h.digest();
    expect(h.size).toBe(3);
    for (const use of [() => h.update(new Uint8Array(1)), () => h.save(), () => h.digest()]) {
      const err = thrown(use);
      expect(err.code).toBe('HASHER_FINALIZED');
      expect(err.message).toMatch(/called after digest\(\) on a sha256 resumable hasher/);
    }
  });

  it('rejects non-bytes with a TypeError and unknown algorithms', async () => {
    const h = await createResumableHasher();
    expect(() => h.update('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect((await rejection(createResumableHasher('md5' as Algorithm))).code).toBe(
      'DIGEST_UNSUPPORTED_ALGORITHM',
    );
  });

  describe('loadResumableHasher rejects bad states with HASH_STATE_INVALID', () => {
    it('truncated or extended', async () => {
      const h = await createResumableHasher();
      h.update(randomBytes(1234));
      const state = h.save();
      for (const bad of [state.subarray(0, state.length - 1), state.subarray(0, 20), new Uint8Array(0)]) {
        expect((await rejection(loadResumableHasher(bad))).code).toBe('HASH_STATE_INVALID');
      }
      const longer = new Uint8Array(state.length + 1);
      longer.set(state);
      expect((await rejection(loadResumableHasher(longer))).code).toBe('HASH_STATE_INVALID');
    });

    it('corrupted anywhere', async () => {
      const h = await createResumableHasher('sha512');
      h.update(randomBytes(300));
      const state = h.save();
      for (let i = 0; i < state.length; i++) {
        const copy = state.slice();
        copy[i]! ^= 0x10;
        expect((await rejection(loadResumableHasher(copy))).code).toBe('HASH_STATE_INVALID');
      }
    });

    it('for a different algorithm or byte count than expected', async () => {
      const h = await createResumableHasher('sha512');
      h.update(new Uint8Array(10));
      const state = h.save();
      const wrongAlgorithm = await rejection(loadResumableHasher(state, { algorithm: 'sha256' }));
      expect(wrongAlgorithm).toMatchObject({
        code: 'HASH_STATE_INVALID',
        message: 'invalid resumable hash state: it is a sha512 state, expected sha256',
      });
      const wrongSize = await rejection(loadResumableHasher(state, { size: 11 }));
      expect(wrongSize.message).toBe('invalid resumable hash state: it covers 10 bytes, expected 11');
      expect((await loadResumableHasher(state, { algorithm: 'sha512', size: 10 })).size).toBe(10);
    });

    it('not produced by this package', async () => {
      const { createSHA256 } = await import('hash-wasm');
      const raw = (await createSHA256()).update('abc').save(); // hash-wasm's own, unwrapped format
      expect((await rejection(loadResumableHasher(raw))).message).toContain('bad magic');
      expect((await rejection(loadResumableHasher('state' as unknown as Uint8Array))).code).toBe(
        'HASH_STATE_INVALID',
      );
    });
  });

  it('continues a state in a separate Node process and back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-digest-'));
    try {
      for (const algorithm of ALGORITHMS) {
        const [a, b, c] = [randomBytes(100_003), randomBytes(65_537), randomBytes(999)];
        const h = await createResumableHasher(algorithm);
        h.update(a);
        const stateFile = join(dir, `${algorithm}.state`);
        const dataFile = join(dir, `${algorithm}.data`);
        await writeFile(stateFile, h.save());
        await writeFile(dataFile, b);

        const script = join(import.meta.dirname, 'test-support', 'continue-hash.ts');
        // The flag is the default from Node 22.18 / 23.6 on; it keeps the test working on 22.12+.
        const { stdout } = await run(process.execPath, [
          '--experimental-strip-types',
          script,
          stateFile,
          dataFile,
        ]);
        const child = JSON.parse(stdout) as {
          algorithm: string;
          sizeBefore: number;
          size: number;
          state: string;
          digest: string;
        };
        expect(child).toMatchObject({ algorithm, sizeBefore: a.length, size: a.length + b.length });
        expect(child.digest).toBe(nodeDigest(algorithm, a, b));

        const back = await loadResumableHasher(Buffer.from(child.state, 'base64'), {
          size: a.length + b.length,
        });
        back.update(c);
        expect(back.digest()).toBe(nodeDigest(algorithm, a, b, c));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
