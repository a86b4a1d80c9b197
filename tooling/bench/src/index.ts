/**
 * Benchmark tooling: run the registry-bench harness against Berth (and registry:2), measure
 * per-request server CPU, render the benchmark chart. The command is `pnpm bench` (`cli.ts`).
 */

export { type Options, parseArgs, USAGE, UsageError } from './args.ts';
export { type BenchCache, cacheMissing, cacheYaml, startCache } from './cache.ts';
export {
  type CpuCost,
  type LoadSpec,
  measureCpuPerRequest,
  type PushedManifest,
  processCpuSeconds,
  pushTestImage,
  startTrivialServer,
  type TrivialServer,
} from './cpu-cost.ts';
export {
  type CpuRatio,
  type CpuRatioOptions,
  describeCpuRatio,
  MANIFEST_ACCEPT,
  MANIFEST_GET_CPU_RATIO_BOUND,
  manifestGetCpuRatio,
} from './cpu-guard.ts';
export {
  compare,
  defaultHarness,
  type HarnessResult,
  type HarnessRun,
  locateHarness,
  type Report,
  type ReportMetric,
  type ReportScenario,
  readReport,
  repoRoot,
  runHarness,
  summarize,
} from './harness.ts';
export {
  type BenchServer,
  type BenchServerOptions,
  berthConfigYaml,
  registry2ConfigYaml,
  type ServerKind,
  startBenchServer,
} from './servers.ts';
export {
  type BenchStorage,
  DEFAULT_GCS_CHUNK_SIZE,
  STORAGE_KINDS,
  type StorageKind,
  type StorageOptions,
  startStorage,
  storageMissing,
} from './storage.ts';
export {
  type BenchTarget,
  type BerthTargetOptions,
  problemLines,
  startBerthTarget,
  startRegistry2Target,
} from './target.ts';
