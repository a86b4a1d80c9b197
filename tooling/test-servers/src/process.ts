import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { killAtExit } from './exit-cleanup.ts';

/** A free TCP port on 127.0.0.1 (the kernel picks it; there is a small race until it is bound again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

/** Options of {@link waitForHttp}. */
export interface WaitForHttpOptions {
  /** Whether a response means "ready"; default: any HTTP response with a status below 500. */
  ready?: (response: Response) => boolean;
  /** Stop waiting (and reject with this reason's message) as soon as this promise settles. */
  abandon?: Promise<unknown>;
  /** Pause between attempts; default 50 ms. */
  intervalMs?: number;
}

/**
 * Polls `url` with GET until it answers (see {@link WaitForHttpOptions.ready}) or `timeoutMs`
 * has passed; then rejects with the last error seen.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  options: WaitForHttpOptions = {},
): Promise<void> {
  const ready = options.ready ?? ((response: Response) => response.status < 500);
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let abandoned: Error | undefined;
  options.abandon?.then(
    (value) => {
      abandoned = new Error(`gave up waiting for ${url}: ${String(value)}`);
    },
    (error: unknown) => {
      abandoned = new Error(
        `gave up waiting for ${url}: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  );
  let last = 'no attempt made';
  for (let attempt = 1; ; attempt++) {
    if (abandoned) throw abandoned;
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(`${url} not ready after ${timeoutMs} ms (${attempt - 1} attempts; last: ${last})`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, Math.min(left, 2_000))) });
      await response.body?.cancel();
      if (ready(response)) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      last = `${error instanceof Error ? error.message : String(error)}${cause}`;
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** The last lines a process wrote to stdout and stderr, for error messages. */
export class OutputTail {
  readonly #lines: string[] = [];
  readonly #max: number;
  #partial = '';

  constructor(maxLines: number = 200) {
    this.#max = maxLines;
  }

  push(chunk: Buffer | string): void {
    const text = this.#partial + chunk.toString();
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#add(line);
  }

  #add(line: string): void {
    this.#lines.push(line.length > 2_000 ? `${line.slice(0, 2_000)}…` : line);
    if (this.#lines.length > this.#max) this.#lines.shift();
  }

  /** The retained output, the last `lines` lines at most. */
  text(lines: number = this.#max): string {
    const all = this.#partial === '' ? this.#lines : [...this.#lines, this.#partial];
    return all.slice(-lines).join('\n');
  }
}

/** A server process started by this harness. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** `host:port`, as skopeo's `docker://` references want it. */
  readonly host: string;
  readonly pid: number;
  /** Where its config file was written (or the file it was given). */
  readonly configFile: string;
  /** The last lines it logged (stdout and stderr interleaved). */
  logs(lines?: number): string;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5 s); resolves once it has exited. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
}

/** What {@link startProcessServer} needs to know. */
export interface ProcessServerSpec {
  /** For messages, e.g. `registry:2`. */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  port: number;
  configFile: string;
  /** Path polled for readiness; default `/v2/`. */
  readyPath?: string;
  /** Default 20 s. */
  startTimeoutMs?: number;
}

/**
 * Spawns a server that listens on `127.0.0.1:<port>`, waits until it answers HTTP, and returns
 * a handle that stops it by PID. If it exits or does not answer in time, it is killed and the
 * error carries its last log lines.
 */
export async function startProcessServer(spec: ProcessServerSpec): Promise<RunningServer> {
  const tail = new OutputTail();
  const child = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
  });
  const commandLine = [spec.command, ...spec.args].join(' ');
  try {
    await spawned;
  } catch (error) {
    throw new Error(
      `${spec.name}: cannot run ${commandLine}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${spec.name}: no PID for ${commandLine}`);
  killAtExit(child);

  let stopping: Promise<void> | undefined;
  const stop = (timeoutMs = 5_000): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal(pid, 'SIGTERM');
      const cancel = new AbortController();
      const timer = sleep(timeoutMs, 'timeout' as const, { signal: cancel.signal }).catch(
        () => 'cancelled' as const,
      );
      const outcome = await Promise.race([exited, timer]);
      cancel.abort();
      if (outcome === 'timeout') {
        signal(pid, 'SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };

  const url = `http://127.0.0.1:${spec.port}`;
  const timeoutMs = spec.startTimeoutMs ?? 20_000;
  try {
    await waitForHttp(`${url}${spec.readyPath ?? '/v2/'}`, timeoutMs, {
      abandon: exited.then((how) => Promise.reject(new Error(`${spec.name} ${how}`))),
    });
  } catch (error) {
    await stop(1_000);
    throw new Error(
      `${spec.name} (pid ${pid}, ${commandLine}) did not become ready: ${error instanceof Error ? error.message : error}\n` +
        `--- last output ---\n${tail.text(60)}`,
    );
  }
  return {
    url,
    host: `127.0.0.1:${spec.port}`,
    pid,
    configFile: spec.configFile,
    logs: (lines?: number) => tail.text(lines),
    stop,
  };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
