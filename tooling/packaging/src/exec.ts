import { runCommand } from '@berth/test-servers';

/** What a finished child process printed, and how it ended. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child (by its PID) after this long. @default 300000 */
  readonly timeoutMs?: number;
}

/**
 * Runs `command` to completion and collects its output as text; never rejects for a non-zero
 * exit (the caller asserts on `code` and shows `stderr`), only when the command cannot be
 * started.
 */
export async function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const result = await runCommand(command, args, options);
  return { ...result, stdout: result.stdout.toString('utf8') };
}

/** `result` as text for an assertion message: the command's exit and the tail of its output. */
export function describeFailure(what: string, result: RunResult): string {
  const tail = (text: string) => text.trim().split('\n').slice(-40).join('\n');
  return `${what} exited with ${result.code ?? result.signal}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`;
}

/**
 * The environment of a user's shell rather than of this test: without the lowercase
 * `npm_*`/`pnpm_*` variables pnpm sets for scripts (its whole config as `npm_config_*`, which
 * npm would read as its own), while a user's `NPM_CONFIG_*` (npm's documented upper-case form,
 * e.g. `NPM_CONFIG_REGISTRY` for a mirror) and `~/.npmrc` still apply; without
 * `NODE_OPTIONS` (so no `--conditions=@berth/source` can sneak in) and without vitest's
 * `NODE_ENV=test`.
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/.test(key) || key === 'NODE_OPTIONS' || key === 'NODE_ENV') continue;
    if (key === 'VITEST' || key.startsWith('VITEST_')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Milliseconds as seconds with one decimal, for the timing lines. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
