/**
 * Runs `../shared/bench/registry-bench.mjs` (the harness lives beside the repository, not in
 * it: nothing is copied from it) as a child process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found relative to this file. */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the harness is expected by default: `../shared/bench/registry-bench.mjs` from the repository root. */
export const defaultHarness: string = resolve(repoRoot, '../shared/bench/registry-bench.mjs');

/** The absolute path of the harness, or why it cannot be used. */
export function locateHarness(harness: string = defaultHarness): { path: string } | { missing: string } {
  const path = resolve(repoRoot, harness);
  if (existsSync(path)) return { path };
  return {
    missing:
      `registry-bench harness not found at ${path}. It is not part of this repository: check out ` +
      `the shared benchmark directory beside the repository (../shared/bench/registry-bench.mjs), ` +
      `or pass --harness <path to registry-bench.mjs>.`,
  };
}

/** Options of {@link runHarness}. */
export interface HarnessRun {
  readonly harness: string;
  readonly url: string;
  readonly pids?: readonly number[];
  readonly json?: string;
  readonly quick?: boolean;
  readonly scenarios?: readonly string[];
  /** More harness arguments, e.g. `['--set', 'key=value']`. */
  readonly extraArgs?: readonly string[];
  /** Print the harness's output as it comes (default) or only collect it. */
  readonly echo?: boolean;
}

/** The harness's exit status and output. 0: every scenario passed; 1: some failed; 2: usage or unreachable. */
export interface HarnessResult {
  readonly code: number;
  readonly output: string;
}

/** Runs the harness once against `url`. */
export function runHarness(run: HarnessRun): Promise<HarnessResult> {
  const args = [run.harness, '--url', run.url];
  if (run.pids !== undefined && run.pids.length > 0) args.push('--pid', run.pids.join(','));
  if (run.json !== undefined) args.push('--json', run.json);
  if (run.quick) args.push('--quick');
  if (run.scenarios !== undefined && run.scenarios.length > 0)
    args.push('--scenarios', run.scenarios.join(','));
  args.push(...(run.extraArgs ?? []));
  return runNode(args, run.echo ?? true);
}

/** `registry-bench.mjs summarize files…`: medians and min–max. */
export async function summarize(harness: string, files: readonly string[]): Promise<string> {
  return (await runChecked([harness, 'summarize', ...files])).output;
}

/** `registry-bench.mjs compare a… -- b…`: medians of A and B side by side ("B vs A" > 1: B better). */
export async function compare(harness: string, a: readonly string[], b: readonly string[]): Promise<string> {
  return (await runChecked([harness, 'compare', ...a, '--', ...b])).output;
}

async function runChecked(args: string[]): Promise<HarnessResult> {
  const result = await runNode(args, false);
  if (result.code !== 0)
    throw new Error(`node ${args.join(' ')} exited with ${result.code}:\n${result.output}`);
  return result;
}

function runNode(args: readonly string[], echo: boolean): Promise<HarnessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      chunks.push(chunk);
      if (echo) stream.write(chunk);
    };
    child.stdout.on('data', (chunk: Buffer) => onData(chunk, process.stdout));
    child.stderr.on('data', (chunk: Buffer) => onData(chunk, process.stderr));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolvePromise({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}

/** A metric of a harness JSON report. */
export interface ReportMetric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly better: 'higher' | 'lower' | null;
  readonly detail?: string;
}

/** One scenario of a harness JSON report. */
export interface ReportScenario {
  readonly name: string;
  readonly ok: boolean;
  readonly error: string | null;
  readonly seconds: number;
  readonly server: { readonly peakRssMiB: number | null; readonly cpuSeconds: number | null };
  readonly metrics: readonly ReportMetric[];
}

/** The part of a harness `--json` report this package reads. */
export interface Report {
  readonly tool: string;
  readonly ok: boolean;
  readonly url: string;
  readonly profile: string;
  readonly scenarios: readonly ReportScenario[];
}

/** Reads a harness `--json` report. */
export function readReport(file: string): Report {
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  if (report.tool !== 'registry-bench') throw new Error(`${file} is not a registry-bench JSON report`);
  return report;
}
