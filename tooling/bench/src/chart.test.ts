import { describe, expect, it } from 'vitest';
import { bars, median, renderSvg } from './chart.ts';

const report = (rate: number, p50: number) => ({
  tool: 'registry-bench',
  scenarios: [
    {
      name: 'manifest-get',
      ok: true,
      metrics: [{ name: 'rate', value: rate, unit: 'req/s', better: 'higher' }],
    },
    { name: 'catalog', ok: true, metrics: [{ name: 'walk-p50', value: p50, unit: 'ms', better: 'lower' }] },
  ],
});

describe('benchmark chart', () => {
  it('takes medians and orients ratios so that > 1 means B is better', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const result = bars(
      [report(1000, 20), report(2000, 10), report(1500, 30)],
      [report(6000, 5), report(3000, 4)],
    );
    expect(result.map((b) => b.key)).toEqual(['manifest-get/rate', 'catalog/walk-p50']);
    expect(result[0]?.ratio).toBe(3); // 4500 / 1500
    expect(result[0]?.low).toBe(2);
    expect(result[0]?.high).toBe(4);
    expect(result[1]?.ratio).toBeCloseTo(20 / 4.5); // latency: A / B
  });

  it('renders a self-contained SVG with one bar per metric', () => {
    const svg = renderSvg(bars([report(1000, 20)], [report(5000, 10)]));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('manifest-get/rate');
    expect(svg).toContain('5.00×');
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});
