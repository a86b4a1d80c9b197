// Hash throughput of node:crypto, the resumable (hash-wasm) hasher and a pure-TypeScript SHA-256
// prototype, plus the cost of save()/load(), parseDigest() and engine start-up.
//
//   pnpm --filter @berth/digest bench            # 512 MiB per measurement
//   node bench/hash-throughput.ts 128            # 128 MiB per measurement
//
// Prints Markdown tables (MB = 10^6 bytes; each throughput figure is the median of 3 runs).
import { createHash, hash, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import {
  type Algorithm,
  createDigester,
  createResumableHasher,
  isDigest,
  loadResumableHasher,
  parseDigest,
  type ResumableHasher,
} from '../src/index.ts';
import { PureSha256 } from './pure-ts-sha256.ts';

const MiB = 1024 * 1024;
const totalMiB = Number(process.argv[2] ?? 512);
if (!Number.isInteger(totalMiB) || totalMiB < 16) throw new Error('usage: hash-throughput.ts [MiB >= 16]');
const TOTAL = totalMiB * MiB;
const RUNS = 3;
const buffer = randomBytes(MiB);

/** Feeds TOTAL bytes to `update` in `chunkSize` pieces. */
function feed(chunkSize: number, update: (chunk: Uint8Array) => void): void {
  for (let done = 0; done < TOTAL; ) {
    for (let off = 0; off < buffer.length && done < TOTAL; off += chunkSize, done += chunkSize) {
      update(buffer.subarray(off, off + chunkSize));
    }
  }
}

async function throughput(run: () => void | Promise<void>): Promise<number> {
  const results: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    results.push(TOTAL / 1e6 / seconds);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(RUNS / 2)]!;
}

/** Results are folded into this so the optimizer cannot drop the measured calls. */
let sink = 0;

function nsPerOp(iterations: number, op: () => unknown): number {
  for (let i = 0; i < Math.min(iterations, 10_000); i++) if (op()) sink++; // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (op()) sink++;
  return Number(process.hrtime.bigint() - start) / iterations;
}

async function nsPerAsyncOp(iterations: number, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 1000; i++) await op();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await op();
  return Number(process.hrtime.bigint() - start) / iterations;
}

const fmt = (n: number) => n.toFixed(0);
const fmtUs = (ns: number) => (ns / 1000).toFixed(2);

// --- Engine start-up (must run first, while the engines are cold) ---------------------------------
const startup: string[] = [];
for (const algorithm of ['sha256', 'sha512'] as const) {
  let t = performance.now();
  await createResumableHasher(algorithm);
  const cold = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < 1000; i++) await createResumableHasher(algorithm);
  const warm = ((performance.now() - t) / 1000) * 1000;
  startup.push(`| ${algorithm} | ${cold.toFixed(1)} ms | ${warm.toFixed(2)} µs |`);
}

// --- Correctness guard: every measured path must produce the right digest -------------------------
{
  const data = randomBytes(3 * MiB + 17);
  const pure = new PureSha256();
  pure.update(data.subarray(0, 1000));
  pure.update(data.subarray(1000));
  if (pure.hex() !== hash('sha256', data, 'hex')) throw new Error('pure-TS prototype is wrong');
  for (const algorithm of ['sha256', 'sha512'] as const) {
    let h = await createResumableHasher(algorithm);
    h.update(data.subarray(0, MiB + 5));
    h = await loadResumableHasher(h.save());
    h.update(data.subarray(MiB + 5));
    if (h.digest() !== `${algorithm}:${hash(algorithm, data, 'hex')}`)
      throw new Error('resumable hasher is wrong');
  }
}

// --- Throughput --------------------------------------------------------------------------------------
type Row = { name: string; run: (chunkSize: number) => () => void | Promise<void> };

function resumableRun(algorithm: Algorithm, chunkSize: number, saveEvery: number | undefined) {
  return async () => {
    let h: ResumableHasher = await createResumableHasher(algorithm);
    let sinceSave = 0;
    for (let done = 0; done < TOTAL; ) {
      for (let off = 0; off < buffer.length && done < TOTAL; off += chunkSize, done += chunkSize) {
        h.update(buffer.subarray(off, off + chunkSize));
        sinceSave += chunkSize;
        if (saveEvery !== undefined && sinceSave >= saveEvery) {
          // What a chunked upload does between requests: save, (store), load elsewhere.
          h = await loadResumableHasher(h.save());
          sinceSave = 0;
        }
      }
    }
    h.digest();
  };
}

const rows: Row[] = [];
for (const algorithm of ['sha256', 'sha512'] as const) {
  rows.push({
    name: `node:crypto ${algorithm} (\`createDigester\`)`,
    run: (chunkSize) => () => {
      const d = createDigester(algorithm);
      feed(chunkSize, (c) => d.update(c));
      d.digest();
    },
  });
  rows.push({
    name: `resumable ${algorithm}, no save`,
    run: (chunkSize) => resumableRun(algorithm, chunkSize, undefined),
  });
  rows.push({
    name: `resumable ${algorithm}, save()+load() every 16 MiB`,
    run: (chunkSize) => resumableRun(algorithm, chunkSize, 16 * MiB),
  });
}
rows.push({
  name: 'resumable sha256, 2 hashers interleaved chunk by chunk',
  run: (chunkSize) => async () => {
    const a = await createResumableHasher('sha256');
    const b = await createResumableHasher('sha256');
    let flip = false;
    feed(chunkSize, (c) => {
      (flip ? a : b).update(c);
      flip = !flip;
    });
    a.digest();
    b.digest();
  },
});
rows.push({
  name: 'pure-TypeScript sha256 prototype (not shipped)',
  run: (chunkSize) => () => {
    const p = new PureSha256();
    feed(chunkSize, (c) => p.update(c));
    p.hex();
  },
});

// Warm every path up once on a small input so no row pays for JIT compilation.
{
  const h = createHash('sha256');
  for (let i = 0; i < 64; i++) h.update(buffer);
}

const throughputLines: string[] = [];
for (const row of rows) {
  const figures: string[] = [];
  for (const chunkSize of [MiB, 64 * 1024]) figures.push(fmt(await throughput(row.run(chunkSize))));
  throughputLines.push(`| ${row.name} | ${figures.join(' | ')} |`);
  process.stderr.write(`${throughputLines.at(-1)}\n`);
}

// --- save() / load() and parsing ---------------------------------------------------------------------
const stateLines: string[] = [];
for (const algorithm of ['sha256', 'sha512'] as const) {
  const h = await createResumableHasher(algorithm);
  h.update(buffer.subarray(0, 1000)); // mid-block: the state carries pending bytes
  const state = h.save();
  const save = nsPerOp(200_000, () => h.save());
  const load = await nsPerAsyncOp(200_000, () => loadResumableHasher(state));
  const cycle = await nsPerAsyncOp(100_000, async () => {
    const next = await loadResumableHasher(state);
    next.update(buffer.subarray(0, 1));
    next.save();
  });
  stateLines.push(
    `| ${algorithm} | ${state.length} | ${fmtUs(save)} µs | ${fmtUs(load)} µs | ${fmtUs(cycle)} µs |`,
  );
}

const sha256 = `sha256:${hash('sha256', buffer, 'hex')}`;
const sha512 = `sha512:${hash('sha512', buffer, 'hex')}`;
const tag = 'v1.2.3-alpine';
const parseLines = [
  `| \`parseDigest\` sha256 | ${fmt(nsPerOp(2_000_000, () => parseDigest(sha256)))} ns |`,
  `| \`parseDigest\` sha512 | ${fmt(nsPerOp(2_000_000, () => parseDigest(sha512)))} ns |`,
  `| \`isDigest\` sha256 (valid) | ${fmt(nsPerOp(2_000_000, () => isDigest(sha256)))} ns |`,
  `| \`isDigest\` tag \`${tag}\` (invalid) | ${fmt(nsPerOp(2_000_000, () => isDigest(tag)))} ns |`,
];

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`Machine: ${cpus().length} × ${cpu}, Node ${process.version}, ${totalMiB} MiB per measurement\n`);
console.log('| Throughput (MB/s) | 1 MiB chunks | 64 KiB chunks |');
console.log('| --- | ---: | ---: |');
for (const line of throughputLines) console.log(line);
console.log(
  '\n| Resumable state | bytes | `save()` | `loadResumableHasher()` | load + 1-byte update + save |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const line of stateLines) console.log(line);
console.log('\n| Engine start-up | first `createResumableHasher()` | each later one |');
console.log('| --- | ---: | ---: |');
for (const line of startup) console.log(line);
console.log('\n| Parsing | per call |');
console.log('| --- | ---: |');
for (const line of parseLines) console.log(line);
if (sink < 0) console.log(sink);
