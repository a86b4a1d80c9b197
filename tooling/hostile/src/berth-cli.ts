/**
 * Runs the real `berth` operator command (`apps/registry-cli/src/main.ts`, from source, with
 * the Node running the tests) to completion, e.g. `gc` while servers serve.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `apps/registry-cli/src/main.ts` of this repository, found relative to this file. */
export const berthCliEntryPoint: string = fileURLToPath(
  new URL('../../../apps/registry-cli/src/main.ts', import.meta.url),
);

/** What a `berth` run did. */
export interface CliRun {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Whether the CLI's entry point is in the tree (the suites name it when it is not). */
export function berthCliMissing(): string | undefined {
  return existsSync(berthCliEntryPoint) ? undefined : `berth CLI not found at ${berthCliEntryPoint}`;
}

/** `node --conditions=@berth/source main.ts …args`; killed (SIGKILL by PID) after `timeoutMs`. */
export function runBerthCli(args: readonly string[], timeoutMs = 120_000): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@berth/source', berthCliEntryPoint, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      stderr += `\n(killed after ${timeoutMs} ms)`;
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ args, code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
