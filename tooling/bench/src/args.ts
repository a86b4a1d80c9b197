/**
 * The command line of `pnpm bench` (`cli.ts`), parsed without side effects so that it can be tested.
 */
import { STORAGE_KINDS, type StorageKind } from './storage.ts';

export const USAGE = `usage: pnpm bench [options]

  --compare            also run registry:2 (Debian docker-registry) and alternate the runs;
                       registry:2 always stores on fs (--storage and --replicas apply to Berth only)
  --runs N             runs per registry (default: 5 with --compare, else 1)
  --storage KIND       Berth's storage: fs (default), s3 (Ceph radosgw), azure (azurite) or
                       gcs (firebase-tools' storage emulator); each run starts a fresh local
                       server from tooling/test-servers on 127.0.0.1 with a fresh bucket
  --no-redirect        storage.redirect.disable: true (default: blob GETs are redirected to the
                       storage server, as users run it; fs has no redirects)
  --gcs-chunksize N    storage.gcs.chunksize in bytes (default 1073741824, the maximum, so that a
                       512 MiB blob is never composed: the emulator cannot compose)
  --replicas N[,N]     N Berth processes (default 1, at most 8) on the same storage, with the
                       same http.secret, behind a round-robin HTTP proxy in this process that
                       alternates requests (not connections); --pid gets every replica's PID.
                       Several counts: the runs alternate between them (with every --cache
                       kind) and each is compared with the first
  --cache KIND[,KIND]  Berth's storage.cache.blobdescriptor: none (default, Berth's default),
                       inmemory, or redis (a fresh redis-server on 127.0.0.1 per run, shared by
                       every replica; its redis: section also turns on the change feed and the
                       in-process read caches). Several kinds: the runs alternate between them
                       and each is compared with the first
  --metrics off,on     Berth with and without Prometheus metrics (http.debug.addr on a free
                       port with http.debug.prometheus.enabled; the harness never scrapes
                       them); with both, the runs alternate and "on" is compared with "off"
  --proxy              put Berth behind the round-robin proxy even as one replica (so that one
                       and N replicas pay for the same load balancer on the same cores)
  --mirror             the pull-through cache scenario instead of the harness: an upstream
                       registry:2 (access log on, to count what the mirror asks it), and
                       Berth (with --compare also registry:2) as its mirror via
                       proxy.remoteurl, on fs: cold, warm and direct pulls of a 512 MiB blob,
                       16 concurrent pulls of a 64 MiB one, upstream fetches per miss
                       (--runs, --quick, --cpu-prof and --out apply; see docs/benchmarks.md)
  --quick              the harness's small sizes (smoke test)
  --scenarios a,b      only these scenarios (harness names, in this order)
  --set key=value      override one harness parameter (repeatable)
  --cpu-prof           run Berth with --cpu-prof; profiles are written to <out>/profiles
  --out DIR            where the JSON reports go (default .bench/<timestamp>)
  --harness PATH       registry-bench.mjs (default ../shared/bench/registry-bench.mjs
                       relative to the repository root)

Every run gets a fresh server on empty storage in a temporary directory, on a free
127.0.0.1 port; it is stopped by PID and the directory removed after the run.
`;

/** The options of `pnpm bench`. */
export interface Options {
  compare: boolean;
  runs: number | undefined;
  quick: boolean;
  scenarios: string[];
  set: string[];
  cpuProf: boolean;
  out: string | undefined;
  harness: string | undefined;
  /** Berth's storage (registry:2 always runs on fs). */
  storage: StorageKind;
  /** `!storage.redirect.disable` for Berth. */
  redirect: boolean;
  /** `storage.gcs.chunksize` (with `--storage gcs`). */
  gcsChunkSize: number | undefined;
  /**
   * Berth processes behind the round-robin proxy (1: no proxy); with more than one count, the
   * runs alternate between them.
   */
  replicas: number[];
  /** The round-robin proxy in front of a single replica too. */
  proxy: boolean;
  /**
   * Berth's `storage.cache.blobdescriptor` (`none`: no `storage.cache` section); with more than
   * one, the runs alternate between them.
   */
  caches: CacheKind[];
  /** The pull-through cache scenario (`mirror.ts`) instead of the harness. */
  mirror: boolean;
  /** Berth's metrics off and/or on; with both, the runs alternate between them. */
  metrics: boolean[];
}

/** The values of `--cache`. */
export const CACHE_KINDS = ['none', 'inmemory', 'redis'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

/** A bad command line: the CLI prints the message and the usage, and exits with 2. */
export class UsageError extends Error {}

/** The largest number of Berth replicas `--replicas` accepts. */
export const MAX_REPLICAS = 8;

const positiveInteger = (arg: string, text: string): number => {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${arg} needs a positive integer, got ${JSON.stringify(text)}`);
  return value;
};

/**
 * Parses the arguments after `pnpm bench` (a `--` that pnpm passes through is ignored).
 *
 * @returns the options, or `'help'` for `-h`/`--help`
 * @throws {UsageError} on an unknown argument, a missing value or a bad number
 */
export function parseArgs(argv: readonly string[]): Options | 'help' {
  const options: Options = {
    compare: false,
    runs: undefined,
    quick: false,
    scenarios: [],
    set: [],
    cpuProf: false,
    out: undefined,
    harness: undefined,
    storage: 'fs',
    redirect: true,
    gcsChunkSize: undefined,
    replicas: [1],
    proxy: false,
    caches: ['none'],
    mirror: false,
    metrics: [false],
  };
  const args = argv.filter((arg) => arg !== '--');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const value = (): string => {
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return 'help';
      case '--compare':
        options.compare = true;
        break;
      case '--runs':
        options.runs = positiveInteger(arg, value());
        break;
      case '--quick':
        options.quick = true;
        break;
      case '--scenarios':
        options.scenarios = value()
          .split(',')
          .filter((s) => s !== '');
        break;
      case '--set':
        options.set.push(value());
        break;
      case '--cpu-prof':
        options.cpuProf = true;
        break;
      case '--out':
        options.out = value();
        break;
      case '--harness':
        options.harness = value();
        break;
      case '--storage': {
        const kind = value();
        if (!(STORAGE_KINDS as readonly string[]).includes(kind))
          throw new UsageError(
            `--storage must be one of ${STORAGE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
          );
        options.storage = kind as StorageKind;
        break;
      }
      case '--cache': {
        const kinds = value().split(',');
        for (const kind of kinds) {
          if (!(CACHE_KINDS as readonly string[]).includes(kind))
            throw new UsageError(
              `--cache must be one of ${CACHE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
            );
        }
        if (new Set(kinds).size !== kinds.length) throw new UsageError('--cache names a kind twice');
        options.caches = kinds as CacheKind[];
        break;
      }
      case '--proxy':
        options.proxy = true;
        break;
      case '--mirror':
        options.mirror = true;
        break;
      case '--metrics': {
        const values = value().split(',');
        for (const v of values) {
          if (v !== 'on' && v !== 'off')
            throw new UsageError(`--metrics takes off, on or both (off,on), got ${JSON.stringify(v)}`);
        }
        if (new Set(values).size !== values.length) throw new UsageError('--metrics names a value twice');
        options.metrics = values.map((v) => v === 'on');
        break;
      }
      case '--no-redirect':
        options.redirect = false;
        break;
      case '--gcs-chunksize':
        options.gcsChunkSize = positiveInteger(arg, value());
        break;
      case '--replicas': {
        const counts = value()
          .split(',')
          .map((text) => positiveInteger(arg, text));
        for (const replicas of counts) {
          if (replicas > MAX_REPLICAS)
            throw new UsageError(`--replicas must be between 1 and ${MAX_REPLICAS}, got ${replicas}`);
        }
        if (new Set(counts).size !== counts.length) throw new UsageError('--replicas names a count twice');
        options.replicas = counts;
        break;
      }
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  if (options.gcsChunkSize !== undefined && options.storage !== 'gcs')
    throw new UsageError('--gcs-chunksize needs --storage gcs');
  if (options.mirror) {
    const harnessOnly = [
      options.storage !== 'fs' && '--storage',
      !options.redirect && '--no-redirect',
      options.replicas.length > 1 || options.replicas[0] !== 1 ? '--replicas' : false,
      options.caches.length > 1 || options.caches[0] !== 'none' ? '--cache' : false,
      options.proxy && '--proxy',
      options.scenarios.length > 0 && '--scenarios',
      options.set.length > 0 && '--set',
      options.harness !== undefined && '--harness',
      (options.metrics.length > 1 || options.metrics[0] === true) && '--metrics',
    ].filter((arg): arg is string => arg !== false);
    if (harnessOnly.length > 0)
      throw new UsageError(
        `--mirror runs one process per registry on fs; ${harnessOnly.join(', ')} does not apply`,
      );
  }
  return options;
}
