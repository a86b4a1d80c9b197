import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describeFailure, run, userEnv } from './exec.ts';
import { REPO_ROOT } from './workspace.ts';

/** publint's verdict on one tarball: every message (suggestions included), formatted. */
export interface PublintResult {
  readonly messages: readonly string[];
}

/**
 * publint on the packed tarball (so it sees exactly the published files), in strict mode
 * (warnings count as errors) at the `suggestion` level: any message at all is a finding.
 */
export async function publintTarball(path: string): Promise<PublintResult> {
  const bytes = await readFile(path);
  const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { messages, pkg } = await publint({ pack: { tarball }, level: 'suggestion', strict: true });
  return {
    messages: messages.map((message) => `${message.type}: ${formatMessage(message, pkg, { color: false })}`),
  };
}

/**
 * The resolution modes attw's `esm-only` profile leaves out. Every Berth package is ESM-only
 * (`"type": "module"`, an `exports` map with only `types` and `default`, no CommonJS build), so
 * `node10` (which has no `exports` support) and `node16` from a CommonJS file (`require()`) are
 * not supported ways to load it; attw would report them as `NoResolution` and `CJSResolvesToESM`
 * for every package. `node16` from ESM and `bundler` are checked in full.
 */
export const ATTW_PROFILE = 'esm-only';
const ATTW_IGNORED_RESOLUTIONS: ReadonlySet<string> = new Set(['node10', 'node16-cjs']);

/** attw's verdict on one tarball under {@link ATTW_PROFILE}. */
export interface AttwResult {
  /** Problems the profile counts, one line each (the check fails on any). */
  readonly problems: readonly string[];
  /** Problems the profile ignores, one line each (for the report). */
  readonly ignored: readonly string[];
  readonly exitCode: number | null;
}

interface AttwProblem {
  readonly kind: string;
  readonly entrypoint?: string;
  readonly resolutionKind?: string;
}

/** The `attw` executable of the root devDependency `@arethetypeswrong/cli`. */
function attwBin(): string {
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  const manifestPath = require.resolve('@arethetypeswrong/cli/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    bin: string | Record<string, string>;
  };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin.attw;
  if (bin === undefined) throw new Error('@arethetypeswrong/cli has no attw bin');
  return join(dirname(manifestPath), bin);
}

/** `attw <tarball> --profile esm-only --format json`, with the problems split into counted and ignored. */
export async function attwTarball(path: string): Promise<AttwResult> {
  const result = await run(
    process.execPath,
    [attwBin(), path, '--profile', ATTW_PROFILE, '--format', 'json', '--no-color'],
    { cwd: dirname(path), env: userEnv(), timeoutMs: 120_000 },
  );
  let report: { problems?: Record<string, AttwProblem[]> };
  try {
    report = JSON.parse(result.stdout) as typeof report;
  } catch {
    throw new Error(describeFailure(`attw ${path}`, result));
  }
  const problems: string[] = [];
  const ignored: string[] = [];
  for (const problem of Object.values(report.problems ?? {}).flat()) {
    const line = `${problem.kind} (${problem.entrypoint ?? 'package'}${problem.resolutionKind ? `, ${problem.resolutionKind}` : ''})`;
    if (problem.resolutionKind !== undefined && ATTW_IGNORED_RESOLUTIONS.has(problem.resolutionKind)) {
      ignored.push(line);
    } else {
      problems.push(line);
    }
  }
  return { problems, ignored, exitCode: result.code };
}
