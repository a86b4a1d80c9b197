/**
 * What one run of `pnpm bench` measures: registry:2 on fs, or Berth on storage of any kind
 * (`storage.ts`) with a blob descriptor cache of any kind (`cache.ts`), as one process or as N
 * replicas on the same storage behind the round-robin proxy (`startRoundRobinProxy` of
 * `@berth/test-servers`). Everything is started fresh for the run and stopped by PID after it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RoundRobinProxy, startRoundRobinProxy } from '@berth/test-servers';
import type { CacheKind } from './args.ts';
import { type BenchCache, startCache } from './cache.ts';
import { type BenchServer, startBenchServer } from './servers.ts';
import { type BenchStorage, type StorageKind, startStorage } from './storage.ts';

/** A started registry (or set of replicas) for one harness run. */
export interface BenchTarget {
  readonly kind: 'berth' | 'registry2';
  /** Where the harness points: the proxy with replicas, else the server itself. */
  readonly url: string;
  /** The registry processes, for the harness's `--pid` (which sums them). */
  readonly pids: readonly number[];
  readonly servers: readonly BenchServer[];
  /** Berth's storage (`undefined` for registry:2, which keeps fs storage in its own directory). */
  readonly storage: BenchStorage | undefined;
  /** With more than one replica. */
  readonly proxy: RoundRobinProxy | undefined;
  /** Berth's blob descriptor cache (`undefined` for registry:2, which runs `inmemory`). */
  readonly cache: BenchCache | undefined;
  /** One line: what runs where. */
  readonly description: string;
  /** The last lines of every server's log (each labelled), and of the storage server's. */
  logTail(lines?: number): string;
  /**
   * The servers' log lines that are not info-level access/debug lines: JSON lines of level
   * `warn`, `error` or `fatal`, and anything that is not JSON (Node warnings, crashes). Read
   * after the run; at most `max` lines, each labelled with its server.
   */
  problems(max?: number): string[];
  /** Stops the proxy, the servers and the storage (in that order). Idempotent. */
  stop(): Promise<void>;
}

/** The lines of `server.log` in `server.dir` that are not JSON lines below level warn. */
export function problemLines(log: string): string[] {
  return log.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    if (!line.startsWith('{')) return true;
    try {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      return (
        level === 'warn' ||
        level === 'error' ||
        level === 'fatal' ||
        (typeof level === 'number' && level >= 40)
      );
    } catch {
      return true;
    }
  });
}

function serverProblems(servers: readonly BenchServer[], max: number): string[] {
  const lines: string[] = [];
  servers.forEach((server, i) => {
    let log: string;
    try {
      log = readFileSync(join(server.dir, 'server.log'), 'utf8');
    } catch {
      return;
    }
    const label = servers.length > 1 ? `[replica ${i + 1}] ` : '';
    for (const line of problemLines(log)) if (lines.length < max) lines.push(`${label}${line}`);
  });
  return lines;
}

/** Options of {@link startBerthTarget}. */
export interface BerthTargetOptions {
  readonly storage: StorageKind;
  /** Berth processes; more than one are put behind the round-robin proxy. Default 1. */
  readonly replicas?: number;
  /** `!storage.redirect.disable`. Default true. */
  readonly redirect?: boolean;
  readonly gcsChunkSize?: number;
  /** The round-robin proxy in front of a single replica too. Default false. */
  readonly proxy?: boolean;
  /** `storage.cache.blobdescriptor`; default `none`. With `redis`, one Redis for every replica. */
  readonly cache?: CacheKind;
  /** Extra `node` arguments for every Berth process (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /**
   * Prometheus metrics on: `http.debug.addr` (a port of its own per replica) with
   * `http.debug.prometheus.enabled`. Default false.
   */
  readonly metrics?: boolean;
}

/** Starts storage, then `replicas` Berth processes on it (same config, same `http.secret`), then the proxy. */
export async function startBerthTarget(options: BerthTargetOptions): Promise<BenchTarget> {
  const replicas = options.replicas ?? 1;
  const storage = await startStorage(options.storage, {
    ...(options.redirect === undefined ? {} : { redirect: options.redirect }),
    ...(options.gcsChunkSize === undefined ? {} : { gcsChunkSize: options.gcsChunkSize }),
  });
  const servers: BenchServer[] = [];
  let cache: BenchCache | undefined;
  let proxy: RoundRobinProxy | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await proxy?.close();
        await Promise.all(servers.map((server) => server.stop()));
      } finally {
        await Promise.all([cache?.stop(), storage.stop()]);
      }
    })();
    return stopping;
  };
  const logTail = (lines = 20): string => {
    const parts = servers.map((server, i) =>
      servers.length > 1
        ? `--- replica ${i + 1} (pid ${server.pid}) ---\n${server.logTail(lines)}`
        : server.logTail(lines),
    );
    const storageTail = storage.logTail(lines);
    if (storageTail !== '') parts.push(`--- ${options.storage} server ---\n${storageTail}`);
    if (proxy !== undefined && proxy.errors > 0)
      parts.push(`--- proxy: ${proxy.errors} failed requests ---\n${proxy.lastErrors.join('\n')}`);
    return parts.join('\n');
  };
  try {
    cache = await startCache(options.cache ?? 'none');
    const storageYaml = cache.yaml === '' ? storage.yaml : `${storage.yaml.trimEnd()}\n${cache.yaml}`;
    // One after another: two cold starts at once on two cores only slow each other down.
    for (let i = 0; i < replicas; i++) {
      servers.push(
        await startBenchServer('berth', {
          storageYaml,
          ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs }),
          ...(options.metrics === true ? { metrics: true } : {}),
        }),
      );
    }
    if (replicas > 1 || options.proxy === true)
      proxy = await startRoundRobinProxy(servers.map((server) => server.url));
  } catch (error) {
    await stop();
    throw error;
  }
  const url = proxy?.url ?? servers[0]!.url;
  const where =
    proxy !== undefined
      ? `${replicas} replica${replicas === 1 ? '' : 's'} (${servers.map((s) => `pid ${s.pid}`).join(', ')}) behind the round-robin proxy ${url}`
      : `pid ${servers[0]!.pid}, ${url}`;
  return {
    kind: 'berth',
    url,
    pids: servers.map((server) => server.pid),
    servers,
    storage,
    proxy,
    cache,
    description: `${where}; storage: ${storage.description}; blob descriptor cache: ${cache!.description}`,
    logTail,
    problems: (max = 200) => serverProblems(servers, max),
    stop,
  };
}

/** Starts registry:2 on fresh fs storage (its baseline configuration, `servers.ts`). */
export async function startRegistry2Target(): Promise<BenchTarget> {
  const server = await startBenchServer('registry2');
  return {
    kind: 'registry2',
    url: server.url,
    pids: [server.pid],
    servers: [server],
    storage: undefined,
    proxy: undefined,
    cache: undefined,
    description: `pid ${server.pid}, ${server.url}; storage: filesystem ${server.dir}/data`,
    logTail: (lines) => server.logTail(lines),
    problems: (max = 200) => serverProblems([server], max),
    stop: () => server.stop(),
  };
}
