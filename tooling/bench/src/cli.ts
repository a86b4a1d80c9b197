#!/usr/bin/env node
/**
 * `pnpm bench [options]`: starts Berth on fresh storage (a temporary directory, or a local
 * radosgw / azurite / GCS emulator with `--storage`), optionally as several replicas behind a
 * round-robin proxy (`--replicas`), runs the registry-bench harness against it with `--pid`, and
 * stops everything by PID; with `--compare`, does the same with registry:2 (on fs) and alternates
 * the runs (registry:2, Berth, registry:2, …), then prints the harness's comparison of medians.
 * With `--mirror`, runs the pull-through cache scenario (`mirror.ts`) instead of the harness, the
 * same way. See `docs/benchmarks.md` and the README.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type CacheKind, type Options, parseArgs, USAGE, UsageError } from './args.ts';
import { cacheMissing } from './cache.ts';
import { compare, locateHarness, repoRoot, runHarness, summarize } from './harness.ts';
import {
  MIRROR_PARAMS,
  type MirrorReport,
  runMirrorScenario,
  type Stoppable,
  summarizeMirror,
} from './mirror.ts';
import { redactStorageYaml, storageMissing } from './storage.ts';
import { type BenchTarget, startBerthTarget, startRegistry2Target } from './target.ts';

type ServerKind = BenchTarget['kind'];

/** One configuration of the alternation: registry:2, or Berth with one blob descriptor cache and replica count. */
interface Variant {
  readonly kind: ServerKind;
  readonly cache: CacheKind;
  readonly replicas: number;
  /** Prometheus metrics on (Berth). */
  readonly metrics: boolean;
  /**
   * Prefix of its report files: `registry2`, `berth`, or `berth-<cache>-r<replicas>[-metrics]`
   * when caches, replica counts or metrics alternate.
   */
  readonly name: string;
}

/** What runs now, stopped on SIGINT / SIGTERM. */
let current: Stoppable | undefined;

async function runOnce(
  variant: Variant,
  run: number,
  options: Options,
  harness: string,
  out: string,
): Promise<{ file: string; ok: boolean }> {
  const { kind } = variant;
  const profiles = join(out, 'profiles');
  const target =
    kind === 'berth'
      ? await startBerthTarget({
          storage: options.storage,
          replicas: variant.replicas,
          proxy: options.proxy,
          redirect: options.redirect,
          cache: variant.cache,
          metrics: variant.metrics,
          ...(options.gcsChunkSize === undefined ? {} : { gcsChunkSize: options.gcsChunkSize }),
          ...(options.cpuProf ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profiles}`] } : {}),
        })
      : await startRegistry2Target();
  current = target;
  const file = join(out, `${variant.name}-${run}.json`);
  process.stdout.write(`\n=== ${variant.name} run ${run}: ${target.description} ===\n`);
  try {
    const cpuBefore = process.cpuUsage();
    const result = await runHarness({
      harness,
      url: target.url,
      pids: target.pids,
      json: file,
      quick: options.quick,
      scenarios: options.scenarios,
      extraArgs: options.set.flatMap((s) => ['--set', s]),
    });
    const cpu = process.cpuUsage(cpuBefore);
    const proxy = target.proxy;
    if (proxy !== undefined) {
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      process.stdout.write(
        `round-robin proxy: ${proxy.counts.reduce((a, b) => a + b, 0)} requests (${proxy.counts.join(' / ')} per replica), ` +
          `${proxy.errors} failed, ${cpuSeconds.toFixed(1)} CPU s in this process\n`,
      );
    }
    const problems = target.problems();
    if (problems.length > 0) {
      const log = file.replace(/\.json$/, '.problems.log');
      writeFileSync(log, `${problems.join('\n')}\n`);
      process.stdout.write(
        `server log: ${problems.length}${problems.length >= 200 ? '+' : ''} warning/error lines, in ${relative(process.cwd(), log)}\n`,
      );
    }
    annotateReport(file, target, options, variant, cpu);
    if (result.code !== 0) {
      process.stderr.write(`\n${kind} run ${run}: harness exited with ${result.code}; server log tail:\n`);
      process.stderr.write(`${target.logTail(20)}\n`);
    }
    return { file, ok: result.code === 0 };
  } finally {
    await target.stop();
    current = undefined;
  }
}

/**
 * Adds a `bench` field to the harness's JSON report: what was measured (storage, its server,
 * replicas, redirects, the storage section with secrets redacted) and the proxy's request counts.
 * The harness's `summarize` and `compare` ignore it.
 */
function annotateReport(
  file: string,
  target: BenchTarget,
  options: Options,
  variant: Variant,
  cpu: NodeJS.CpuUsage,
): void {
  const { cache } = variant;
  if (!existsSync(file)) return;
  const report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  report.bench = {
    target: target.kind,
    storage: target.kind === 'berth' ? options.storage : 'fs',
    storageServer: target.storage?.description ?? 'filesystem',
    storageYaml: target.storage === undefined ? null : redactStorageYaml(target.storage.yaml),
    cacheYaml: target.cache === undefined || target.cache.yaml === '' ? null : target.cache.yaml,
    replicas: target.servers.length,
    blobDescriptorCache: target.kind === 'berth' ? cache : 'inmemory',
    metrics: target.kind === 'berth' ? variant.metrics : false,
    redirect: target.kind === 'berth' && options.storage !== 'fs' ? options.redirect : null,
    proxy:
      target.proxy === undefined
        ? null
        : {
            kind: 'round-robin per request (node:http, in the pnpm bench process)',
            requestsPerReplica: [...target.proxy.counts],
            failed: target.proxy.errors,
            cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
          },
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** `Berth (storage s3, redirects on, 2 replicas behind a round-robin proxy)` */
function berthLabel(options: Options, variant: Variant): string {
  const { cache, replicas } = variant;
  const details = [`storage ${options.storage}`];
  if (options.metrics.length > 1 || variant.metrics)
    details.push(`metrics ${variant.metrics ? 'on' : 'off'}`);
  if (options.storage !== 'fs') details.push(`redirects ${options.redirect ? 'on' : 'off'}`);
  if (options.gcsChunkSize !== undefined) details.push(`chunksize ${options.gcsChunkSize}`);
  if (cache !== 'none' || options.caches.length > 1) details.push(`blobdescriptor ${cache}`);
  if (replicas > 1) details.push(`${replicas} replicas behind a round-robin proxy`);
  else if (options.proxy) details.push('1 replica behind a round-robin proxy');
  else if (options.replicas.length > 1) details.push('1 replica');
  return `Berth (${details.join(', ')})`;
}

/**
 * `--mirror`: the pull-through cache scenario, `runs` times per mirror kind (registry:2 first
 * with `--compare`), alternating; one JSON report per run and a `summary.txt`.
 */
async function mirrorRuns(options: Options, out: string): Promise<number> {
  const runs = options.runs ?? (options.compare ? 5 : 1);
  const kinds: ServerKind[] = options.compare ? ['registry2', 'berth'] : ['berth'];
  const params = options.quick ? MIRROR_PARAMS.quick : MIRROR_PARAMS.full;
  const reports: MirrorReport[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const kind of kinds) {
      process.stdout.write(`\n=== ${kind} as the mirror, run ${run} ===\n`);
      const report = await runMirrorScenario(
        kind,
        run,
        params,
        (line) => process.stdout.write(`${line}\n`),
        (running) => {
          current = running;
        },
        options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(out, 'profiles')}`] : [],
      );
      writeFileSync(join(out, `mirror-${kind}-${run}.json`), `${JSON.stringify(report, null, 2)}\n`);
      for (const metric of report.metrics)
        process.stdout.write(`  ${metric.name}: ${metric.value} ${metric.unit} (${metric.detail ?? ''})\n`);
      reports.push(report);
    }
  }
  const summary = summarizeMirror(reports);
  writeFileSync(join(out, 'summary.txt'), summary);
  process.stdout.write(`\n${summary}\nreports: ${relative(process.cwd(), out) || '.'}\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const options = parsed;
  const missing =
    storageMissing(options.storage) ?? options.caches.map(cacheMissing).find((why) => why !== undefined);
  if (missing !== undefined) {
    process.stderr.write(`pnpm bench: ${missing}\n`);
    return 2;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = resolve(options.out ?? join(repoRoot, '.bench', stamp));
  if (options.mirror) {
    mkdirSync(out, { recursive: true });
    return mirrorRuns(options, out);
  }
  const located = locateHarness(options.harness);
  if ('missing' in located) {
    process.stderr.write(`pnpm bench: ${located.missing}\n`);
    return 2;
  }
  const harness = located.path;
  mkdirSync(out, { recursive: true });
  const runs = options.runs ?? (options.compare ? 5 : 1);
  const alternating = options.caches.length > 1 || options.replicas.length > 1 || options.metrics.length > 1;
  const berths: Variant[] = options.replicas.flatMap((replicas) =>
    options.caches.flatMap((cache) =>
      options.metrics.map((metrics) => ({
        kind: 'berth' as const,
        cache,
        replicas,
        metrics,
        name: alternating ? `berth-${cache}-r${replicas}${metrics ? '-metrics' : ''}` : 'berth',
      })),
    ),
  );
  const variants: Variant[] = [
    ...(options.compare
      ? [{ kind: 'registry2', cache: 'inmemory', replicas: 1, metrics: false, name: 'registry2' } as const]
      : []),
    ...berths,
  ];

  const files = new Map<Variant, string[]>(variants.map((variant) => [variant, []]));
  let ok = true;
  for (let run = 1; run <= runs; run++) {
    // Alternating A B A B …: drift of the machine hits every configuration alike.
    for (const variant of variants) {
      const result = await runOnce(variant, run, options, harness, out);
      files.get(variant)!.push(result.file);
      ok &&= result.ok;
    }
  }

  let summary = '';
  const written = (variant: Variant): string[] => files.get(variant)!.filter((file) => existsSync(file));
  if (runs > 1) {
    for (const variant of berths) {
      summary += `${berthLabel(options, variant)}, ${await summarize(harness, written(variant))}\n`;
    }
  }
  if (options.compare) {
    for (const variant of berths) {
      summary += `\nA = registry:2 (fs), B = ${berthLabel(options, variant)}, alternating runs\n${await compare(harness, written(variants[0]!), written(variant))}\n`;
    }
  }
  // Each cache kind against the first, each replica count against the first, and metrics on
  // against the first metrics setting: each time with everything else the same.
  const [firstCache] = options.caches as [CacheKind];
  const [firstReplicas] = options.replicas as [number];
  const [firstMetrics] = options.metrics as [boolean];
  for (const variant of berths) {
    const bases = berths.filter(
      (base) =>
        base !== variant &&
        ((base.replicas === variant.replicas &&
          base.metrics === variant.metrics &&
          base.cache === firstCache) ||
          (base.cache === variant.cache &&
            base.metrics === variant.metrics &&
            base.replicas === firstReplicas) ||
          (base.cache === variant.cache &&
            base.replicas === variant.replicas &&
            base.metrics === firstMetrics)),
    );
    for (const base of bases) {
      summary += `\nA = ${berthLabel(options, base)}, B = ${berthLabel(options, variant)}, alternating runs\n${await compare(harness, written(base), written(variant))}\n`;
    }
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
