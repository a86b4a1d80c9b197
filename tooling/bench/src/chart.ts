#!/usr/bin/env node
/**
 * `pnpm bench:chart --a registry2-*.json --b berth-*.json [--out docs/benchmarks.svg]`: an SVG bar
 * chart (no dependencies) of B against A per scenario, from registry-bench JSON reports. Each
 * bar is the ratio of medians, oriented so that > 1 means B is better (B/A for rates, A/B for
 * latencies, as the harness's `compare`), on a log scale, with the min–max of the per-run
 * ratios as a whisker and the ±10 % tie band shaded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One metric of one scenario over several runs. */
interface Series {
  readonly key: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly values: number[];
}

interface ReportLike {
  readonly tool: string;
  readonly scenarios: readonly {
    readonly name: string;
    readonly ok: boolean;
    readonly metrics: readonly { name: string; value: number; unit: string; better: string | null }[];
  }[];
}

/** The metrics the chart shows: the headline figure of each scenario. */
export const CHART_METRICS: readonly string[] = [
  'push-big/monolithic',
  'push-big/chunked',
  'pull-big/get',
  'pull-big/ranged',
  'push-small/rate',
  'manifest-push/rate',
  'manifest-get/rate',
  'blob-head/rate',
  'tags-list/rate',
  'catalog/walk-p50',
  'concurrent-pull/aggregate',
];

function collect(reports: readonly ReportLike[]): Map<string, Series> {
  const series = new Map<string, Series>();
  for (const report of reports) {
    for (const scenario of report.scenarios) {
      if (!scenario.ok) continue;
      for (const m of scenario.metrics) {
        if (m.better !== 'higher' && m.better !== 'lower') continue;
        const key = `${scenario.name}/${m.name}`;
        let s = series.get(key);
        if (s === undefined) {
          s = { key, unit: m.unit, better: m.better, values: [] };
          series.set(key, s);
        }
        s.values.push(m.value);
      }
    }
  }
  return series;
}

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  const sorted = [...values].filter(Number.isFinite).sort((x, y) => x - y);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One bar of the chart. */
export interface Bar {
  readonly key: string;
  readonly a: number;
  readonly b: number;
  readonly unit: string;
  /** > 1: B is better. */
  readonly ratio: number;
  /** Ratios of B's worst and best runs against A's median. */
  readonly low: number;
  readonly high: number;
}

/** The bars for `metrics`, from A's and B's reports. Metrics missing on either side are left out. */
export function bars(
  a: readonly ReportLike[],
  b: readonly ReportLike[],
  metrics: readonly string[] = CHART_METRICS,
): Bar[] {
  const sa = collect(a);
  const sb = collect(b);
  const out: Bar[] = [];
  for (const key of metrics) {
    const ea = sa.get(key);
    const eb = sb.get(key);
    if (ea === undefined || eb === undefined || eb.values.length === 0) continue;
    const ma = median(ea.values);
    const mb = median(eb.values);
    const orient = (vb: number) => (ea.better === 'higher' ? vb / ma : ma / vb);
    const each = eb.values.map(orient);
    out.push({
      key,
      a: ma,
      b: mb,
      unit: ea.unit,
      ratio: orient(mb),
      low: Math.min(...each),
      high: Math.max(...each),
    });
  }
  return out;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The SVG document: one horizontal bar per metric, log-scaled ratio, 1× line and tie band. */
export function renderSvg(
  data: readonly Bar[],
  labels: { a: string; b: string; title?: string } = { a: 'registry:2', b: 'Berth' },
): string {
  const row = 26;
  const left = 200;
  const plot = 440;
  const right = 170;
  const top = 54;
  const width = left + plot + right;
  const height = top + data.length * row + 40;
  const finite = data.flatMap((d) => [d.ratio, d.low, d.high]).filter((x) => Number.isFinite(x) && x > 0);
  const lo = Math.min(0.25, ...finite.map((x) => x / 1.2));
  const hi = Math.max(8, ...finite.map((x) => x * 1.2));
  const x = (ratio: number) => left + (Math.log(ratio / lo) / Math.log(hi / lo)) * plot;
  const title = labels.title ?? `${labels.b} vs ${labels.a}, ratio of medians (> 1: ${labels.b} better)`;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${x(1 / 1.1).toFixed(1)}" y="${top - 10}" width="${(x(1.1) - x(1 / 1.1)).toFixed(1)}" height="${data.length * row + 10}" fill="#eee"/>`,
  );
  for (const tick of [0.25, 0.5, 1, 2, 4, 8, 16, 32].filter((t) => t >= lo && t <= hi)) {
    const tx = x(tick).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${top - 10}" x2="${tx}" y2="${top + data.length * row}" stroke="${tick === 1 ? '#333' : '#ccc'}"/>`,
      `<text x="${tx}" y="${top + data.length * row + 16}" text-anchor="middle" fill="#555">${tick}×</text>`,
    );
  }
  data.forEach((d, i) => {
    const y = top + i * row;
    const x0 = x(1);
    const x1 = x(d.ratio);
    const color = d.ratio >= 1.1 ? '#2a7de1' : d.ratio <= 1 / 1.1 ? '#d9534f' : '#999';
    parts.push(
      `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${escapeXml(d.key)}</text>`,
      `<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 2}" width="${Math.abs(x1 - x0).toFixed(1)}" height="${row - 10}" fill="${color}"/>`,
      `<line x1="${x(d.low).toFixed(1)}" y1="${y + 8}" x2="${x(d.high).toFixed(1)}" y2="${y + 8}" stroke="#000" stroke-width="1"/>`,
      `<text x="${left + plot + 8}" y="${y + 13}">${d.ratio.toFixed(2)}×  (${fmt(d.b)} vs ${fmt(d.a)} ${escapeXml(d.unit)})</text>`,
    );
  });
  parts.push(
    `<text x="${left}" y="${height - 6}" fill="#555">Bars: ${escapeXml(labels.b)} median / ${escapeXml(labels.a)} median (latencies inverted); whisker: ${escapeXml(labels.b)}'s min–max run; grey band: ±10 % tie.</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function read(file: string): ReportLike {
  const report = JSON.parse(readFileSync(file, 'utf8')) as ReportLike;
  if (report.tool !== 'registry-bench') throw new Error(`${file} is not a registry-bench JSON report`);
  return report;
}

function main(argv: readonly string[]): void {
  const a: string[] = [];
  const b: string[] = [];
  let out = 'docs/benchmarks.svg';
  let side: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--a') side = a;
    else if (arg === '--b') side = b;
    else if (arg === '--out') out = argv[++i] ?? out;
    else if (arg === '--') continue;
    else if (side !== undefined) side.push(arg);
    else throw new Error(`unexpected argument ${arg}`);
  }
  if (a.length === 0 || b.length === 0) {
    process.stderr.write(
      'usage: pnpm bench:chart --a registry2-1.json … --b berth-1.json … [--out docs/benchmarks.svg]\n',
    );
    process.exit(2);
  }
  writeFileSync(out, renderSvg(bars(a.map(read), b.map(read))));
  process.stdout.write(`wrote ${out}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2));
}
