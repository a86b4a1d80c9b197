/**
 * Counters, gauges and histograms for the request path, rendered in the Prometheus text format
 * at scrape time. A request updates plain numbers of a series it already holds (no label
 * hashing, no validation per call: `prom-client`'s labelled metrics cost microseconds per
 * request, which the request path cannot afford); `prom-client` keeps the rest (process metrics,
 * counters read from elsewhere at scrape time).
 */

/** `{a="x",b="y"}` for `labels`, with Prometheus's escapes; `''` for none. */
export function renderLabels(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(
    ([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** `labels` (rendered by {@link renderLabels}) with one more label appended. */
const withLabel = (labels: string, name: string, value: string): string =>
  labels === '' ? `{${name}="${value}"}` : `${labels.slice(0, -1)},${name}="${value}"}`;

/** One metric name and its series. */
abstract class Family<S> {
  readonly #series = new Map<string, S>();
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  constructor(name: string, help: string, type: 'counter' | 'gauge' | 'histogram') {
    this.name = name;
    this.help = help;
    this.type = type;
  }

  /** The series of `labels`, created (at zero) on first use. Keep it: lookups cost a render. */
  series(labels: Readonly<Record<string, string>> = {}): S {
    const key = renderLabels(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = this.create();
      this.#series.set(key, series);
    }
    return series;
  }

  protected abstract create(): S;
  protected abstract lines(labels: string, series: S, out: string[]): void;

  /** Appends this family's exposition lines to `out` (nothing while it has no series). */
  render(out: string[]): void {
    if (this.#series.size === 0) return;
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const [labels, series] of this.#series) this.lines(labels, series, out);
  }
}

/** A counter's or a gauge's value. */
export class Value {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

/** A family of counters (`type` `counter`) or gauges (`gauge`). */
export class ValueFamily extends Family<Value> {
  constructor(name: string, help: string, type: 'counter' | 'gauge') {
    super(name, help, type);
  }
  protected create(): Value {
    return new Value();
  }
  protected lines(labels: string, series: Value, out: string[]): void {
    out.push(`${this.name}${labels} ${series.value}`);
  }
}

/** One histogram series: a count per bucket (not cumulative until rendered), the sum and count. */
export class HistogramSeries {
  readonly #bounds: readonly number[];
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Array<number>(bounds.length).fill(0);
  }
  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly bounds: readonly number[];
  constructor(name: string, help: string, bounds: readonly number[]) {
    super(name, help, 'histogram');
    this.bounds = bounds;
  }
  protected create(): HistogramSeries {
    return new HistogramSeries(this.bounds);
  }
  protected lines(labels: string, series: HistogramSeries, out: string[]): void {
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += series.counts[i] as number;
      out.push(`${this.name}_bucket${withLabel(labels, 'le', String(bound))} ${cumulative}`);
    });
    out.push(`${this.name}_bucket${withLabel(labels, 'le', '+Inf')} ${series.count}`);
    out.push(`${this.name}_sum${labels} ${series.sum}`, `${this.name}_count${labels} ${series.count}`);
  }
}
