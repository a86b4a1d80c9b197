/**
 * The CI regression guard (part of `pnpm test`), under a minute:
 *   (a) the harness's quick benchmark against Berth: fails if any scenario errors;
 *   (b) manifest GET's server CPU per request against a trivial node:http handler, measured in
 *       the same run: fails when the ratio exceeds MANIFEST_GET_CPU_RATIO_BOUND.
 * The harness lives beside the repository (`../shared/bench`); without it the guard is skipped
 * locally and fails under CI.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushTestImage } from './cpu-cost.ts';
import { describeCpuRatio, MANIFEST_GET_CPU_RATIO_BOUND, manifestGetCpuRatio } from './cpu-guard.ts';
import { locateHarness, readReport, runHarness } from './harness.ts';
import { type BenchServer, startBenchServer } from './servers.ts';

function skipReason(): string | undefined {
  const located = locateHarness(process.env.BERTH_BENCH_HARNESS);
  let reason = 'missing' in located ? located.missing : undefined;
  if (reason === undefined && !existsSync('/proc/self/stat')) reason = 'no /proc (the CPU check needs Linux)';
  if (reason !== undefined && process.env.CI)
    throw new Error(`CI is set, so the bench guard may not be skipped: ${reason}`);
  return reason;
}

const skip = skipReason();

describe.skipIf(skip !== undefined)(`bench regression guard${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: BenchServer;
  let out: string;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'berth-bench-guard-'));
    server = await startBenchServer('berth');
  });

  afterAll(async () => {
    await server?.stop();
    if (out !== undefined) rmSync(out, { recursive: true, force: true });
  });

  it('quick benchmark: every scenario passes', async () => {
    const located = locateHarness(process.env.BERTH_BENCH_HARNESS);
    if ('missing' in located) throw new Error(located.missing);
    const json = join(out, 'quick.json');
    const result = await runHarness({
      harness: located.path,
      url: server.url,
      pids: [server.pid],
      json,
      quick: true,
      echo: false,
    });
    const failed = existsSync(json) ? readReport(json).scenarios.filter((s) => !s.ok) : [];
    expect(
      failed.map((s) => `${s.name}: ${s.error}`),
      `${result.output}\n--- server log ---\n${server.logTail(20)}`,
    ).toEqual([]);
    expect(result.code, result.output).toBe(0);
  }, 90_000);

  it(`manifest GET costs at most ${MANIFEST_GET_CPU_RATIO_BOUND}x a trivial handler's CPU per request`, async () => {
    const manifest = await pushTestImage(server.url, 'guard/cpu', 'v1');
    const result = await manifestGetCpuRatio(server.url, server.pid, manifest);
    console.log(describeCpuRatio(result));
    expect(result.ratio, describeCpuRatio(result)).toBeLessThanOrEqual(MANIFEST_GET_CPU_RATIO_BOUND);
  }, 60_000);
});
