/**
 * The servers under test, each on fresh storage in its own temporary directory, on a free
 * 127.0.0.1 port, with its log written to a file in that directory (not piped into this
 * process: parsing thousands of access-log lines a second here would steal CPU from the
 * benchmark on a two-core machine). Stopped by PID; the directory is removed afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { berthEntryPoint, freePort, waitForHttp, which } from '@berth/test-servers';

/** Which registry to start. */
export type ServerKind = 'berth' | 'registry2';

/** A started server. */
export interface BenchServer {
  readonly kind: ServerKind;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** The temporary directory: `config.yml`, `server.log`, `data/`. */
  readonly dir: string;
  /** The last `lines` lines of the server's log. */
  logTail(lines?: number): string;
  /** SIGTERM by PID (SIGKILL after 10 s), then removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startBenchServer}. */
export interface BenchServerOptions {
  /** Extra arguments for `node` before the entry point (Berth only), e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** Keep the temporary directory after `stop()` (e.g. to read a CPU profile written there). */
  readonly keepDir?: boolean;
  /** Default 30 s. */
  readonly startTimeoutMs?: number;
  /**
   * Berth only: the `storage:` section of its config (see `storage.ts`) instead of filesystem
   * storage in the temporary directory. Storage given here is not removed by `stop()`.
   */
  readonly storageYaml?: string;
  /**
   * More top-level sections for the config (e.g. `proxy:`), given the server's temporary
   * directory (to place files in it).
   */
  readonly extraYaml?: (dir: string) => string;
  /** registry:2 only: its access log on (to count the requests it answered). Default off. */
  readonly accessLog?: boolean;
  /**
   * Berth only: Prometheus metrics on (`http.debug.addr: 127.0.0.1:0`, a port of its own, with
   * `http.debug.prometheus.enabled`). Default off.
   */
  readonly metrics?: boolean;
}

const quote = (value: string): string => JSON.stringify(value);

/**
 * Berth's configuration: the embedded default (access log on, `log.level: info`) with
 * filesystem storage in `dataDir`, or with `storageYaml` (a top-level `storage:` section) instead.
 * `http.secret` is fixed, so that replicas continue each other's uploads. With `metrics`, a debug
 * listener on a free port serves the Prometheus metrics.
 */
export function berthConfigYaml(
  dataDir: string,
  port: number,
  storageYaml?: string,
  metrics = false,
): string {
  return [
    'version: 0.1',
    ...(storageYaml === undefined
      ? ['storage:', '  filesystem:', `    rootdirectory: ${quote(dataDir)}`]
      : [storageYaml.trimEnd()]),
    'http:',
    `  addr: ${quote(`127.0.0.1:${port}`)}`,
    '  secret: berth-bench-secret',
    ...(metrics ? ['  debug:', '    addr: 127.0.0.1:0', '    prometheus:', '      enabled: true'] : []),
    '',
  ].join('\n');
}

/**
 * registry:2's configuration: the one `../shared/bench/baseline-distribution.sh` used for the
 * published baseline (access log off, `blobdescriptor: inmemory` cache), i.e. registry:2 at its
 * recommended best, while Berth runs with its access log on. `accessLog` turns it on (for an
 * upstream whose requests are counted).
 */
export function registry2ConfigYaml(dataDir: string, port: number, accessLog = false): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    `    disabled: ${!accessLog}`,
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${quote(dataDir)}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    `  addr: ${quote(`127.0.0.1:${port}`)}`,
    '  secret: berth-bench-secret',
    '',
  ].join('\n');
}

function command(kind: ServerKind, configFile: string, options: BenchServerOptions): [string, string[]] {
  if (kind === 'berth') {
    return [
      process.execPath,
      [...(options.nodeArgs ?? []), '--conditions=@berth/source', berthEntryPoint, configFile],
    ];
  }
  const binary = process.env.DOCKER_REGISTRY_BIN ?? 'docker-registry';
  const path = which(binary);
  if (path === undefined) {
    throw new Error(
      `${binary} not found on PATH (apt-get install -y --no-install-recommends docker-registry)`,
    );
  }
  return [path, ['serve', configFile]];
}

/**
 * Starts `kind` on empty storage and waits until `GET /v2/` answers.
 *
 * @example
 * ```ts
 * const server = await startBenchServer('berth');
 * try { … server.url, server.pid … } finally { await server.stop(); }
 * ```
 */
export async function startBenchServer(
  kind: ServerKind,
  options: BenchServerOptions = {},
): Promise<BenchServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(kind, options);
    } catch (error) {
      // Another process may take the port between freePort() and the server's bind.
      if (attempt < 3 && /EADDRINUSE|address already in use/i.test(String(error))) continue;
      throw error;
    }
  }
}

async function startOnce(kind: ServerKind, options: BenchServerOptions): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), `berth-bench-${kind}-`));
  const port = await freePort();
  const configFile = join(dir, 'config.yml');
  const dataDir = join(dir, 'data');
  const base =
    kind === 'berth'
      ? berthConfigYaml(dataDir, port, options.storageYaml, options.metrics)
      : registry2ConfigYaml(dataDir, port, options.accessLog);
  writeFileSync(
    configFile,
    options.extraYaml === undefined ? base : `${base}${options.extraYaml(dir).trimEnd()}\n`,
  );
  const logFile = join(dir, 'server.log');
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    const [cmd, args] = command(kind, configFile, options);
    child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', logFd, logFd] });
  } catch (error) {
    closeSync(logFd);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  closeSync(logFd); // the child has its own copy
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) =>
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`),
    );
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
  });
  const logTail = (lines = 40): string => {
    try {
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n');
    } catch {
      return '';
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const pid = child.pid;
      if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
        signal(pid, 'SIGTERM');
        const outcome = await Promise.race([exited, sleep(10_000, 'timeout' as const)]);
        if (outcome === 'timeout') {
          signal(pid, 'SIGKILL');
          await exited;
        }
      }
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, options.startTimeoutMs ?? 30_000, {
      abandon: exited.then((how) => Promise.reject(new Error(`${kind} ${how}`))),
    });
  } catch (error) {
    const tail = logTail();
    await stop();
    throw new Error(
      `${kind} did not become ready on ${url}: ${error instanceof Error ? error.message : error}\n--- last output ---\n${tail}`,
    );
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${kind}: no PID`);
  return { kind, url, pid, dir, logTail, stop };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
