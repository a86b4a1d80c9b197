/**
 * Runs the real entry point (`src/main.ts`) as a child process and follows its JSON log lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `apps/registry-server/src/main.ts`. */
export const MAIN: string = fileURLToPath(new URL('../main.ts', import.meta.url));
/** `apps/registry-server`. */
export const APP_DIR: string = fileURLToPath(new URL('../..', import.meta.url));

/** The environment of the test process without pnpm's lifecycle and `REGISTRY_*` variables. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('REGISTRY_') || key.startsWith('npm_') || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export interface Child {
  readonly process: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  readonly stderr: () => string;
  /** Parsed JSON log records so far. */
  records(): Record<string, unknown>[];
  /** Resolves with the first record matching, waiting up to `timeoutMs`. */
  waitFor(
    match: (record: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns `command args` and collects its output. */
export function spawnChild(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean } = {},
): Child {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (data: string) => {
    partial += data;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter((line) => line !== ''));
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (data: string) => {
    stderr += data;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve(code ?? signal ?? -1);
    });
  });
  const records = (): Record<string, unknown>[] =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    process: child,
    lines,
    stderr: () => stderr,
    records,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (options.detached && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    },
    waitFor: (match, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = records().find(match);
          if (found) {
            cleanup();
            resolve(found);
            return true;
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(
              new Error(
                `process exited (${child.exitCode ?? child.signalCode})\n${lines.join('\n')}\n${stderr}`,
              ),
            );
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for a log line\n${lines.join('\n')}\n${stderr}`));
        }, timeoutMs);
        const wake = (): void => void check();
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        waiters.add(wake);
        check();
      }),
  };
}

/** Spawns `node --conditions=@berth/source src/main.ts …args`. */
export function spawnMain(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Child {
  return spawnChild(process.execPath, ['--conditions=@berth/source', MAIN, ...args], options);
}

/** The `addr` of the `listening` line (`127.0.0.1:PORT`) as a base URL. */
export async function listeningUrl(child: Child): Promise<{ url: string; port: number }> {
  const record = await child.waitFor((r) => r.msg === 'listening');
  const addr = String(record.addr);
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  return { url: `http://${addr}`, port };
}
