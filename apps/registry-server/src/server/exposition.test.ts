import { describe, expect, it } from 'vitest';
import { HistogramFamily, renderLabels, ValueFamily } from './exposition.ts';

describe('exposition', () => {
  it('escapes label values as the text format requires', () => {
    expect(renderLabels({})).toBe('');
    expect(renderLabels({ a: 'x', b: 'say "hi"\\\n' })).toBe('{a="x",b="say \\"hi\\"\\\\\\n"}');
  });

  it('renders cumulative buckets, +Inf, sum and count; nothing for a family without series', () => {
    const histogram = new HistogramFamily('h_seconds', 'A histogram.', [0.1, 1]);
    const empty = new ValueFamily('c_total', 'Unused.', 'counter');
    const series = histogram.series({ handler: 'blob' });
    for (const value of [0.05, 0.1, 0.5, 3]) series.observe(value);
    const out: string[] = [];
    histogram.render(out);
    empty.render(out);
    expect(out).toEqual([
      '# HELP h_seconds A histogram.',
      '# TYPE h_seconds histogram',
      'h_seconds_bucket{handler="blob",le="0.1"} 2',
      'h_seconds_bucket{handler="blob",le="1"} 3',
      'h_seconds_bucket{handler="blob",le="+Inf"} 4',
      'h_seconds_sum{handler="blob"} 3.65',
      'h_seconds_count{handler="blob"} 4',
    ]);
    expect(histogram.series({ handler: 'blob' })).toBe(series);
  });
});
