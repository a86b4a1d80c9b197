import { createSHA256, createSHA512 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { isDigestError } from './errors.ts';
import { checkLayout, fromWasmState, getWasmEngine, toWasmState, WASM_LAYOUT } from './wasm-engine.ts';

const create = { sha256: createSHA256, sha512: createSHA512 } as const;
const ABC = new Uint8Array([0x61, 0x62, 0x63]);

describe('hash-wasm state translation', () => {
  for (const algorithm of ['sha256', 'sha512'] as const) {
    it(`${algorithm}: accepts the real layout and rejects any altered field`, async () => {
      const h = await create[algorithm]();
      const fresh = h.init().save();
      const abc = h.init().update(ABC).save();
      expect(() => checkLayout(algorithm, fresh, abc)).not.toThrow();

      const layout = WASM_LAYOUT[algorithm];
      const alterations: Array<[string, (fresh: Uint8Array, abc: Uint8Array) => void]> = [
        [
          'length field',
          (_f, a) => {
            a[layout.length] = 4;
          },
        ],
        [
          'pending bytes',
          (_f, a) => {
            a[layout.message] = 0x41;
          },
        ],
        [
          'chaining value',
          (f) => {
            f[layout.hash]! ^= 1;
          },
        ],
        [
          'digest length',
          (f) => {
            f[layout.digestLength] = 0;
          },
        ],
        [
          'initial length',
          (f) => {
            f[layout.length] = 1;
          },
        ],
      ];
      for (const [name, alter] of alterations) {
        const f = fresh.slice();
        const a = abc.slice();
        alter(f, a);
        let caught: unknown;
        try {
          checkLayout(algorithm, f, a);
        } catch (err) {
          caught = err;
        }
        expect(isDigestError(caught, 'HASH_ENGINE_INCOMPATIBLE'), name).toBe(true);
      }
      expect(() => checkLayout(algorithm, fresh.subarray(0, fresh.length - 8), abc)).toThrow(
        /bytes, expected/,
      );
    });

    it(`${algorithm}: translates states both ways losslessly`, async () => {
      const h = await create[algorithm]();
      const initial = h.init().save();
      for (const n of [0, 1, 63, 64, 65, 127, 128, 129, 1000]) {
        const data = Uint8Array.from({ length: n }, (_, i) => (i * 151) & 0xff);
        const raw = h.init().update(data).save();
        const state = fromWasmState(algorithm, raw);
        expect(state.size).toBe(n);
        expect(state.pending).toEqual(data.subarray(n - (n % (algorithm === 'sha256' ? 64 : 128))));
        const rebuilt = toWasmState(state, initial);
        expect(fromWasmState(algorithm, rebuilt)).toEqual(state);
        const tail = new Uint8Array([9, 8, 7]);
        expect(h.load(rebuilt).update(tail).digest('hex')).toBe(h.load(raw).update(tail).digest('hex'));
      }
    });
  }

  it('shares one engine per algorithm', async () => {
    const [a, b] = await Promise.all([getWasmEngine('sha256'), getWasmEngine('sha256')]);
    expect(a).toBe(b);
    expect(await getWasmEngine('sha512')).not.toBe(a);
  });
});
