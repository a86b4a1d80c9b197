/**
 * The per-request CPU-cost check for manifest GET run by the CI guard (`guard.test.ts`):
 * server CPU per `GET /v2/<name>/manifests/<tag>` of Berth, divided by that of a trivial
 * `node:http` handler serving the same bytes and headers, same client, same concurrency, same
 * number of requests, alternating rounds, in the same run.
 */
import { type CpuCost, measureCpuPerRequest, type PushedManifest, startTrivialServer } from './cpu-cost.ts';

/**
 * The bound on Berth's manifest-GET CPU cost relative to the trivial handler: about 3× the
 * measured ratio. Measured on the 2-core CI machine (Node 24): 5.2–5.8 with the read cache
 * (7.5 before it); see docs/benchmarks.md. It catches a large regression (extra storage round
 * trips per request, a cache that stopped working, an O(tags) step), not noise. Lower it as
 * the ratio improves.
 */
export const MANIFEST_GET_CPU_RATIO_BOUND = 16;

/** The Accept header the harness (and containerd) sends for manifests. */
export const MANIFEST_ACCEPT: string = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Options of {@link manifestGetCpuRatio}. */
export interface CpuRatioOptions {
  /** Requests per round and server. @default 8000 */
  readonly requests?: number;
  /** @default 64, as the harness's manifest-get */
  readonly concurrency?: number;
  /** Alternating rounds (Berth, trivial, Berth, trivial, …). @default 3 */
  readonly rounds?: number;
}

/** The outcome of {@link manifestGetCpuRatio}. */
export interface CpuRatio {
  /** Total Berth CPU over total trivial CPU. */
  readonly ratio: number;
  readonly berth: readonly CpuCost[];
  readonly trivial: readonly CpuCost[];
}

const sum = (costs: readonly CpuCost[]): number => costs.reduce((total, c) => total + c.cpuSeconds, 0);

/** Measures Berth (at `berthUrl`, process `berthPid`) serving `manifest` against the trivial handler. */
export async function manifestGetCpuRatio(
  berthUrl: string,
  berthPid: number,
  manifest: PushedManifest,
  options: CpuRatioOptions = {},
): Promise<CpuRatio> {
  const expected = Buffer.from(manifest.bytes);
  const spec = {
    headers: { accept: MANIFEST_ACCEPT },
    requests: options.requests ?? 8000,
    concurrency: options.concurrency ?? 64,
    check: (status: number, body: Buffer) => {
      if (status !== 200 || !body.equals(expected)) {
        throw new Error(
          `manifest GET: HTTP ${status}, ${body.length} B (expected 200, ${expected.length} B)`,
        );
      }
    },
  };
  const trivial = await startTrivialServer(manifest.bytes, {
    'content-type': manifest.mediaType,
    'docker-content-digest': manifest.digest,
    etag: `"${manifest.digest}"`,
    'docker-distribution-api-version': 'registry/2.0',
  });
  const berthCosts: CpuCost[] = [];
  const trivialCosts: CpuCost[] = [];
  try {
    for (let round = 0; round < (options.rounds ?? 3); round++) {
      berthCosts.push(await measureCpuPerRequest(berthPid, { ...spec, url: `${berthUrl}${manifest.path}` }));
      trivialCosts.push(
        await measureCpuPerRequest(trivial.pid, { ...spec, url: `${trivial.url}${manifest.path}` }),
      );
    }
  } finally {
    await trivial.stop();
  }
  return {
    ratio: sum(berthCosts) / Math.max(sum(trivialCosts), 0.01),
    berth: berthCosts,
    trivial: trivialCosts,
  };
}

/** One line per server: µs of server CPU per request, per round. */
export function describeCpuRatio(result: CpuRatio): string {
  const line = (costs: readonly CpuCost[]) =>
    costs
      .map((c) => `${c.microsPerRequest.toFixed(0)} µs (${(c.requests / c.wallSeconds).toFixed(0)} req/s)`)
      .join(', ');
  return [
    `manifest GET server CPU per request, Berth / trivial node:http = ${result.ratio.toFixed(2)} (bound ${MANIFEST_GET_CPU_RATIO_BOUND})`,
    `  Berth:   ${line(result.berth)}`,
    `  trivial: ${line(result.trivial)}`,
  ].join('\n');
}
