import { spawn } from 'node:child_process';

/** How a finished command ended and what it printed. */
export interface CommandResult {
  /** Exit status; `null` when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** Wall time from spawn to exit. */
  readonly ms: number;
}

/** Options of {@link runCommand} and {@link runChecked}. */
export interface CommandOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the command (by its PID) after this long. @default 300000 */
  readonly timeoutMs?: number;
}

/**
 * Runs `command args` without a shell, to completion. Never rejects for a non-zero exit (the
 * caller decides); rejects only when the command cannot be started.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${[command, ...args].join(' ')}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8'),
        ms: performance.now() - started,
      });
    });
  });
}

/**
 * {@link runCommand} that resolves only when the command exits 0, and otherwise rejects with
 * the command line, how it ended and the end of its stderr.
 */
export async function runChecked(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.code === 0) return result;
  const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.code}`;
  const err = result.stderr.trim();
  throw new Error(`${[command, ...args].join(' ')} ${how}${err ? `:\n${err.slice(-2_000)}` : ''}`);
}
