/**
 * `pnpm bench --mirror`: the pull-through cache scenario. An upstream registry:2 (its access log
 * on, so that every request the mirror sends it is counted) holds random blobs; a mirror on fresh
 * storage — Berth with `proxy.remoteurl`, or registry:2 with the same key — pulls them through:
 *
 * - `direct-get`: a GET of the big blob straight from the upstream (what a client gets without a mirror);
 * - `cold-get`: the first GET of another big blob through the empty mirror;
 * - `warm-get`: a GET of that blob once the mirror has stored it;
 * - `plain-get`: the same server kind without `proxy:`, the blob pushed to it (the non-proxy figure);
 * - `*-concurrent`: the same with `clients` clients starting at one moment on a smaller blob;
 * - `upstream-gets-*`: the blob GETs the upstream answered for one cold pull and for one
 *   concurrent cold pull (1 means one fetch per miss).
 *
 * Every body is verified (sha256 for the big blob, byte for byte for the concurrent one). Every
 * server runs on a free 127.0.0.1 port in its own temporary directory and is stopped by PID.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuSeconds } from './cpu-cost.ts';
import { type BenchServer, type ServerKind, startBenchServer } from './servers.ts';

const MiB = 1024 * 1024;

/** Sizes and counts of one mirror run. */
export interface MirrorParams {
  /** The big blob (`*-get`), in MiB. */
  readonly bigMiB: number;
  /** The blob that `clients` pull at once (`*-concurrent`), in MiB. */
  readonly concurrentMiB: number;
  /** Clients of the concurrent pulls, each on its own connection. */
  readonly clients: number;
  /** Samples per figure in one run (each cold sample needs a blob of its own). */
  readonly rounds: number;
}

/** The full sizes (as the issue states them) and the `--quick` ones. */
export const MIRROR_PARAMS: { readonly full: MirrorParams; readonly quick: MirrorParams } = {
  full: { bigMiB: 512, concurrentMiB: 64, clients: 16, rounds: 3 },
  quick: { bigMiB: 8, concurrentMiB: 2, clients: 16, rounds: 2 },
};

/** One figure of a run, in the harness's metric shape. */
export interface MirrorMetric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly better: 'higher' | 'lower' | null;
  readonly detail?: string;
}

/** What one mirror run writes as JSON. */
export interface MirrorReport {
  readonly tool: 'berth-bench-mirror';
  /** The mirror's kind. */
  readonly mirror: ServerKind;
  readonly run: number;
  readonly startedAt: string;
  readonly params: MirrorParams;
  readonly upstream: string;
  readonly metrics: readonly MirrorMetric[];
  /** CPU seconds of the mirror process per phase, and its peak RSS (`VmHWM`). */
  readonly mirrorServer: {
    readonly cpuSeconds: Readonly<Record<string, number>>;
    readonly peakRssMiB: number | null;
  };
}

/** Something `pnpm bench` stops on SIGINT. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Counts the requests in a registry:2 access log (Apache combined format, one line per request:
 * `… "GET /v2/<name>/blobs/<digest> HTTP/1.1" 200 …`) whose method is `method` and whose path
 * ends with `/blobs/<digest>`.
 */
export function countBlobRequests(log: string, method: 'GET' | 'HEAD', digest: string): number {
  let count = 0;
  const suffix = `/blobs/${digest}`;
  for (const match of log.matchAll(/"([A-Z]+) (\S+) HTTP\/[\d.]+"/g)) {
    const path = (match[2] as string).split('?')[0] as string;
    if (match[1] === method && path.endsWith(suffix)) count++;
  }
  return count;
}

/** The median of `values` (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function send(
  agent: Agent,
  url: URL,
  method: string,
  body?: Uint8Array,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent,
      method,
      headers:
        body === undefined
          ? {}
          : { 'content-type': 'application/octet-stream', 'content-length': body.byteLength },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.end(body);
  });
}

/** Pushes `bytes` to `repo` as one monolithic upload (POST, then PUT `?digest=`); returns the digest. */
export async function pushBlob(base: string, repo: string, bytes: Uint8Array): Promise<string> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const digest = sha256(bytes);
    const post = await send(agent, new URL(`/v2/${repo}/blobs/uploads/`, base), 'POST');
    const location = post.headers.location;
    if (post.status !== 202 || typeof location !== 'string')
      throw new Error(`POST ${base}/v2/${repo}/blobs/uploads/: HTTP ${post.status} ${post.text}`);
    const put = new URL(location, base);
    put.searchParams.set('digest', digest);
    const done = await send(agent, put, 'PUT', bytes);
    if (done.status !== 201) throw new Error(`PUT blob ${digest}: HTTP ${done.status} ${done.text}`);
    return digest;
  } finally {
    agent.destroy();
  }
}

/**
 * GETs a blob and verifies it as it arrives: its sha256 against `digest`, or its bytes against
 * `source`. Resolves with the seconds from the request to the last byte.
 */
export function getBlob(
  agent: Agent,
  base: string,
  repo: string,
  digest: string,
  expect: { readonly size: number; readonly source?: Uint8Array },
): Promise<number> {
  const started = performance.now();
  const url = new URL(`/v2/${repo}/blobs/${digest}`, base);
  return new Promise((resolve, reject) => {
    const req = request(url, { agent });
    req.once('error', reject);
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          reject(
            new Error(
              `GET ${url}: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`,
            ),
          ),
        );
        return;
      }
      const hash = expect.source === undefined ? createHash('sha256') : undefined;
      let offset = 0;
      let mismatch = false;
      res.on('data', (chunk: Buffer) => {
        if (hash !== undefined) hash.update(chunk);
        else if (!mismatch && !chunk.equals(expect.source!.subarray(offset, offset + chunk.byteLength)))
          mismatch = true;
        offset += chunk.byteLength;
      });
      res.once('error', reject);
      res.once('end', () => {
        const seconds = (performance.now() - started) / 1000;
        if (offset !== expect.size) reject(new Error(`GET ${url}: ${offset} bytes, expected ${expect.size}`));
        else if (mismatch) reject(new Error(`GET ${url}: the body differs from the pushed blob`));
        else if (hash !== undefined && `sha256:${hash.digest('hex')}` !== digest)
          reject(new Error(`GET ${url}: the body's sha256 is not ${digest}`));
        else resolve(seconds);
      });
    });
    req.end();
  });
}

/** `clients` GETs of one blob started at one moment, each on its own connection; resolves with aggregate MB/s. */
async function concurrentGet(
  base: string,
  repo: string,
  digest: string,
  source: Uint8Array,
  clients: number,
): Promise<number> {
  const agents = Array.from({ length: clients }, () => new Agent({ keepAlive: false, maxSockets: 1 }));
  try {
    const started = performance.now();
    await Promise.all(
      agents.map((agent) => getBlob(agent, base, repo, digest, { size: source.byteLength, source })),
    );
    const seconds = (performance.now() - started) / 1000;
    return (clients * source.byteLength) / 1e6 / seconds;
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** The path of a committed blob in registry:2's filesystem layout under `root`. */
const blobDataPath = (root: string, digest: string): string => {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
};

/**
 * Waits until the mirror has committed `digest` (`size` bytes) to its storage: both registries
 * store the fill in the background, and a warm pull must not race it.
 */
async function waitCommitted(
  server: BenchServer,
  digest: string,
  size: number,
  timeoutMs = 180_000,
): Promise<void> {
  const file = blobDataPath(join(server.dir, 'data'), digest);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (statSync(file).size === size) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `${server.kind} mirror did not store ${digest} within ${timeoutMs / 1000} s:\n${server.logTail(20)}`,
      );
    await sleep(50);
  }
}

/** `berth:` / `proxy:` config making `kind` a mirror of `upstream`, its spool inside `dir`. */
function mirrorYaml(kind: ServerKind, upstream: string): (dir: string) => string {
  return (dir) =>
    [
      'proxy:',
      `  remoteurl: ${JSON.stringify(upstream)}`,
      ...(kind === 'berth'
        ? ['berth:', '  proxy:', `    spooldirectory: ${JSON.stringify(join(dir, 'spool'))}`]
        : []),
    ].join('\n');
}

const peakRssMiB = (pid: number): number | null => {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? null : Math.round(Number(match[1]) / 1024);
  } catch {
    return null;
  }
};

/** Writes progress lines (`pnpm bench` passes stdout). */
export type Progress = (line: string) => void;

/**
 * One run of the mirror scenario with `mirror` as the pull-through cache: starts the upstream, the
 * plain server and the mirror (each fresh), measures, stops them all by PID.
 *
 * @param track receives a {@link Stoppable} for everything started, so that SIGINT stops it too
 * @param nodeArgs extra `node` arguments for a Berth mirror (e.g. `--cpu-prof`)
 */
export async function runMirrorScenario(
  mirror: ServerKind,
  run: number,
  params: MirrorParams,
  progress: Progress,
  track: (running: Stoppable | undefined) => void,
  nodeArgs: readonly string[] = [],
): Promise<MirrorReport> {
  const started: BenchServer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((server) => server.stop()));
  };
  track({ stop: stopAll });
  const startedAt = new Date().toISOString();
  const repo = `bench/mirror-${randomBytes(4).toString('hex')}`;
  const bigSize = params.bigMiB * MiB;
  const concurrentSize = params.concurrentMiB * MiB;
  const metrics: MirrorMetric[] = [];
  const cpu: Record<string, number> = {};
  const mbps = (size: number, seconds: number): number => size / 1e6 / seconds;
  try {
    const upstream = await startBenchServer('registry2', { accessLog: true });
    started.push(upstream);
    const upstreamLog = (): string => readFileSync(join(upstream.dir, 'server.log'), 'utf8');

    // Blobs of their own for every cold sample: a mirror is only cold once per blob.
    progress(
      `pushing ${params.rounds} × ${params.bigMiB} MiB and ${params.rounds} × ${params.concurrentMiB} MiB to the upstream`,
    );
    const big: string[] = [];
    for (let i = 0; i < params.rounds; i++)
      big.push(await pushBlob(upstream.url, repo, randomBytes(bigSize)));
    const small: { digest: string; bytes: Buffer }[] = [];
    for (let i = 0; i < params.rounds; i++) {
      const bytes = randomBytes(concurrentSize);
      small.push({ digest: await pushBlob(upstream.url, repo, bytes), bytes });
    }

    // The non-proxy figures: the same server kind, no proxy, the blob pushed to it.
    {
      const plain = await startBenchServer(mirror);
      started.push(plain);
      const bytes = randomBytes(bigSize);
      const digest = await pushBlob(plain.url, repo, bytes);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const gets: number[] = [];
      const concurrent: number[] = [];
      const cpu0 = processCpuSeconds(plain.pid);
      for (let i = 0; i < params.rounds; i++)
        gets.push(mbps(bigSize, await getBlob(agent, plain.url, repo, digest, { size: bigSize })));
      agent.destroy();
      const sample = small[0]!;
      const smallDigest = await pushBlob(plain.url, repo, sample.bytes);
      for (let i = 0; i < params.rounds; i++)
        concurrent.push(await concurrentGet(plain.url, repo, smallDigest, sample.bytes, params.clients));
      cpu.plain = processCpuSeconds(plain.pid) - cpu0;
      metrics.push(figure('plain-get', gets), figure('plain-concurrent', concurrent));
      await plain.stop();
    }

    const server = await startBenchServer(mirror, {
      extraYaml: mirrorYaml(mirror, upstream.url),
      ...(mirror === 'berth' ? { nodeArgs } : {}),
    });
    started.push(server);
    progress(
      `${mirror} mirror: pid ${server.pid}, ${server.url}; upstream registry:2 pid ${upstream.pid}, ${upstream.url}`,
    );
    const direct: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    const coldFetches: number[] = [];
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const cpuBig = processCpuSeconds(server.pid);
    for (const digest of big) {
      direct.push(mbps(bigSize, await getBlob(agent, upstream.url, repo, digest, { size: bigSize })));
      const before = countBlobRequests(upstreamLog(), 'GET', digest);
      cold.push(mbps(bigSize, await getBlob(agent, server.url, repo, digest, { size: bigSize })));
      await waitCommitted(server, digest, bigSize);
      coldFetches.push(countBlobRequests(upstreamLog(), 'GET', digest) - before);
      warm.push(mbps(bigSize, await getBlob(agent, server.url, repo, digest, { size: bigSize })));
    }
    agent.destroy();
    cpu.big = processCpuSeconds(server.pid) - cpuBig;

    const directConcurrent: number[] = [];
    const coldConcurrent: number[] = [];
    const warmConcurrent: number[] = [];
    const concurrentFetches: number[] = [];
    const cpuConcurrent = processCpuSeconds(server.pid);
    for (const { digest, bytes } of small) {
      directConcurrent.push(await concurrentGet(upstream.url, repo, digest, bytes, params.clients));
      const before = countBlobRequests(upstreamLog(), 'GET', digest);
      coldConcurrent.push(await concurrentGet(server.url, repo, digest, bytes, params.clients));
      await waitCommitted(server, digest, concurrentSize);
      concurrentFetches.push(countBlobRequests(upstreamLog(), 'GET', digest) - before);
      warmConcurrent.push(await concurrentGet(server.url, repo, digest, bytes, params.clients));
    }
    cpu.concurrent = processCpuSeconds(server.pid) - cpuConcurrent;

    metrics.push(
      figure('direct-get', direct),
      figure('cold-get', cold),
      figure('warm-get', warm),
      figure('direct-concurrent', directConcurrent),
      figure('cold-concurrent', coldConcurrent),
      figure('warm-concurrent', warmConcurrent),
      count('upstream-gets-cold', coldFetches),
      count('upstream-gets-concurrent', concurrentFetches),
    );
    const report: MirrorReport = {
      tool: 'berth-bench-mirror',
      mirror,
      run,
      startedAt,
      params,
      upstream: 'registry:2 (Debian docker-registry), filesystem storage, access log on',
      metrics,
      mirrorServer: {
        cpuSeconds: Object.fromEntries(
          Object.entries(cpu).map(([key, value]) => [key, Math.round(value * 100) / 100]),
        ),
        peakRssMiB: peakRssMiB(server.pid),
      },
    };
    return report;
  } finally {
    await stopAll();
    track(undefined);
  }
}

/** A throughput figure: the median of the run's samples, the samples in the detail. */
function figure(name: string, samples: readonly number[]): MirrorMetric {
  return {
    name,
    value: Math.round(median(samples)),
    unit: 'MB/s',
    better: 'higher',
    detail: samples.map((s) => s.toFixed(0)).join(', '),
  };
}

/** An upstream request count: the largest of the run's samples (one extra fetch is one too many). */
function count(name: string, samples: readonly number[]): MirrorMetric {
  return {
    name,
    value: Math.max(...samples),
    unit: 'requests',
    better: 'lower',
    detail: samples.join(', '),
  };
}

/** Median, minimum and maximum of one metric over runs. */
interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spread(reports: readonly MirrorReport[], name: string): Spread | undefined {
  const values = reports.flatMap((report) =>
    report.metrics.filter((m) => m.name === name).map((m) => m.value),
  );
  if (values.length === 0) return undefined;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** The metric names in report order. */
export const MIRROR_METRICS: readonly string[] = [
  'direct-get',
  'cold-get',
  'warm-get',
  'plain-get',
  'direct-concurrent',
  'cold-concurrent',
  'warm-concurrent',
  'plain-concurrent',
  'upstream-gets-cold',
  'upstream-gets-concurrent',
];

const ratio = (a: Spread | undefined, b: Spread | undefined): string =>
  a === undefined || b === undefined || b.median === 0 ? '—' : `${(a.median / b.median).toFixed(2)}×`;

/**
 * The summary of the runs: medians and min–max per mirror kind, the ratios the issue sets
 * targets for (cold / direct, warm / plain, concurrent cold / direct), and Berth / registry:2.
 */
export function summarizeMirror(reports: readonly MirrorReport[]): string {
  const kinds = [...new Set(reports.map((report) => report.mirror))];
  const byKind = new Map(kinds.map((kind) => [kind, reports.filter((report) => report.mirror === kind)]));
  const lines: string[] = [];
  const cell = (s: Spread | undefined): string =>
    s === undefined ? '—' : s.min === s.max ? `${s.median}` : `${s.median} (${s.min}–${s.max})`;
  lines.push(
    `metric | ${kinds.map((kind) => `${kind} mirror, median (min–max) of ${byKind.get(kind)!.length} runs`).join(' | ')}`,
  );
  for (const name of MIRROR_METRICS) {
    const unit = reports[0]?.metrics.find((m) => m.name === name)?.unit ?? '';
    lines.push(
      `${name} [${unit}] | ${kinds.map((kind) => cell(spread(byKind.get(kind)!, name))).join(' | ')}`,
    );
  }
  lines.push('');
  for (const kind of kinds) {
    const of = (name: string) => spread(byKind.get(kind)!, name);
    lines.push(
      `${kind}: cold/direct ${ratio(of('cold-get'), of('direct-get'))}, warm/plain ${ratio(of('warm-get'), of('plain-get'))}, ` +
        `concurrent cold/direct ${ratio(of('cold-concurrent'), of('direct-concurrent'))}, ` +
        `concurrent warm/plain ${ratio(of('warm-concurrent'), of('plain-concurrent'))}, ` +
        `upstream GETs per cold pull ${of('upstream-gets-cold')?.max ?? '—'}, per ${reports[0]?.params.clients ?? '?'} concurrent cold pulls ${of('upstream-gets-concurrent')?.max ?? '—'}`,
    );
  }
  if (byKind.has('berth') && byKind.has('registry2')) {
    const pairs = ['cold-get', 'warm-get', 'cold-concurrent', 'warm-concurrent'].map(
      (name) =>
        `${name} ${ratio(spread(byKind.get('berth')!, name), spread(byKind.get('registry2')!, name))}`,
    );
    lines.push(`Berth / registry:2 as the mirror: ${pairs.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
