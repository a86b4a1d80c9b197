#!/usr/bin/env node
/**
 * `pnpm bench [options]`: starts Berth on fresh filesystem storage, runs the registry-bench
 * harness against it with `--pid`, stops it; with `--compare`, does the same with registry:2
 * and alternates the runs (registry:2, Berth, registry:2, …), then prints the harness's
 * comparison of medians. See `docs/benchmarks.md`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { compare, locateHarness, repoRoot, runHarness, summarize } from './harness.ts';
import { type BenchServer, type ServerKind, startBenchServer } from './servers.ts';

const USAGE = `usage: pnpm bench [options]

  --compare            also run registry:2 (Debian docker-registry) and alternate the runs
  --runs N             runs per registry (default: 5 with --compare, else 1)
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

interface Options {
  compare: boolean;
  runs: number | undefined;
  quick: boolean;
  scenarios: string[];
  set: string[];
  cpuProf: boolean;
  out: string | undefined;
  harness: string | undefined;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Options | 'help' {
  const options: Options = {
    compare: false,
    runs: undefined,
    quick: false,
    scenarios: [],
    set: [],
    cpuProf: false,
    out: undefined,
    harness: undefined,
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
      case '--runs': {
        const runs = Number(value());
        if (!Number.isInteger(runs) || runs < 1) throw new UsageError('--runs needs a positive integer');
        options.runs = runs;
        break;
      }
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
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  return options;
}

let current: BenchServer | undefined;

async function runOnce(
  kind: ServerKind,
  run: number,
  options: Options,
  harness: string,
  out: string,
): Promise<{ file: string; ok: boolean }> {
  const profiles = join(out, 'profiles');
  const nodeArgs =
    kind === 'berth' && options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : undefined;
  const server = await startBenchServer(kind, nodeArgs === undefined ? {} : { nodeArgs });
  current = server;
  const file = join(out, `${kind}-${run}.json`);
  process.stdout.write(`\n=== ${kind} run ${run} (pid ${server.pid}, ${server.url}) ===\n`);
  try {
    const result = await runHarness({
      harness,
      url: server.url,
      pids: [server.pid],
      json: file,
      quick: options.quick,
      scenarios: options.scenarios,
      extraArgs: options.set.flatMap((s) => ['--set', s]),
    });
    if (result.code !== 0) {
      process.stderr.write(`\n${kind} run ${run}: harness exited with ${result.code}; server log tail:\n`);
      process.stderr.write(`${server.logTail(20)}\n`);
    }
    return { file, ok: result.code === 0 };
  } finally {
    await server.stop();
    current = undefined;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const options = parsed;
  const located = locateHarness(options.harness);
  if ('missing' in located) {
    process.stderr.write(`pnpm bench: ${located.missing}\n`);
    return 2;
  }
  const harness = located.path;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = resolve(options.out ?? join(repoRoot, '.bench', stamp));
  mkdirSync(out, { recursive: true });
  const runs = options.runs ?? (options.compare ? 5 : 1);
  const kinds: ServerKind[] = options.compare ? ['registry2', 'berth'] : ['berth'];

  const files: Record<ServerKind, string[]> = { berth: [], registry2: [] };
  let ok = true;
  for (let run = 1; run <= runs; run++) {
    // Alternating A B A B …: drift of the machine hits both registries alike.
    for (const kind of kinds) {
      const result = await runOnce(kind, run, options, harness, out);
      files[kind].push(result.file);
      ok &&= result.ok;
    }
  }

  let summary = '';
  if (runs > 1) summary += `Berth, ${await summarize(harness, files.berth)}\n`;
  if (options.compare) {
    summary += `\nA = registry:2, B = Berth, alternating runs\n${await compare(harness, files.registry2, files.berth)}\n`;
  }
  if (summary !== '') {
    writeFileSync(join(out, 'summary.txt'), summary);
    process.stdout.write(`\n${summary}`);
  }
  process.stdout.write(`\nreports: ${relative(process.cwd(), out) || '.'}\n`);
  if (!ok) process.stderr.write('some scenarios failed\n');
  return ok ? 0 : 1;
}

const interrupt = (signal: NodeJS.Signals): void => {
  process.stderr.write(`\n${signal}: stopping the server under test\n`);
  const stopping = current?.stop() ?? Promise.resolve();
  stopping.finally(() => process.exit(130));
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof UsageError;
    process.stderr.write(`pnpm bench: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) process.stderr.write(USAGE);
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(usage ? 2 : 1));
  },
);
