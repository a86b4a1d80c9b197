import { describe, expect, it } from 'vitest';
import {
  countBlobRequests,
  MIRROR_PARAMS,
  type MirrorReport,
  median,
  runMirrorScenario,
  summarizeMirror,
} from './mirror.ts';

const DIGEST = `sha256:${'b7'.repeat(32)}`;

describe('countBlobRequests', () => {
  it("counts registry:2's access-log lines by method and blob, ignoring uploads and other blobs", () => {
    const log = [
      '127.0.0.1 - - [08/Dec/2026:00:42:51 +0000] "POST /v2/a/b/blobs/uploads/ HTTP/1.1" 202 0 "" ""',
      `127.0.0.1 - - [08/Dec/2026:00:42:51 +0000] "PUT /v2/a/b/blobs/uploads/e947?_state=x&digest=${DIGEST} HTTP/1.1" 201 0 "" ""`,
      `127.0.0.1 - - [08/Dec/2026:00:42:53 +0000] "GET /v2/a/b/blobs/${DIGEST} HTTP/1.1" 200 536870912 "" "Go-http-client/1.1"`,
      `127.0.0.1 - - [08/Dec/2026:00:42:54 +0000] "HEAD /v2/a/b/blobs/${DIGEST} HTTP/1.1" 200 0 "" ""`,
      `127.0.0.1 - - [08/Dec/2026:00:42:55 +0000] "GET /v2/other/blobs/${DIGEST} HTTP/1.1" 200 536870912 "" ""`,
      `127.0.0.1 - - [08/Dec/2026:00:42:56 +0000] "GET /v2/a/b/blobs/sha256:${'00'.repeat(32)} HTTP/1.1" 200 1 "" ""`,
    ].join('\n');
    expect(countBlobRequests(log, 'GET', DIGEST)).toBe(2);
    expect(countBlobRequests(log, 'HEAD', DIGEST)).toBe(1);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow();
  });
});

describe('summarizeMirror', () => {
  const report = (
    mirror: 'berth' | 'registry2',
    run: number,
    values: Record<string, number>,
  ): MirrorReport => ({
    tool: 'berth-bench-mirror',
    mirror,
    run,
    startedAt: '2026-12-08T00:00:00.000Z',
    params: MIRROR_PARAMS.full,
    upstream: 'registry:2',
    metrics: Object.entries(values).map(([name, value]) => ({
      name,
      value,
      unit: name.startsWith('upstream') ? 'requests' : 'MB/s',
      better: name.startsWith('upstream') ? 'lower' : 'higher',
    })),
    mirrorServer: { cpuSeconds: {}, peakRssMiB: null },
  });

  it('gives medians over runs, the ratios with targets, and Berth against registry:2', () => {
    const summary = summarizeMirror([
      report('registry2', 1, { 'direct-get': 700, 'cold-get': 400, 'upstream-gets-concurrent': 17 }),
      report('berth', 1, { 'direct-get': 700, 'cold-get': 600, 'upstream-gets-concurrent': 1 }),
      report('registry2', 2, { 'direct-get': 800, 'cold-get': 500, 'upstream-gets-concurrent': 16 }),
      report('berth', 2, { 'direct-get': 800, 'cold-get': 700, 'upstream-gets-concurrent': 1 }),
    ]);
    expect(summary).toContain('cold-get [MB/s] | 450 (400–500) | 650 (600–700)');
    expect(summary).toContain('berth: cold/direct 0.87×');
    expect(summary).toContain('registry2: cold/direct 0.60×');
    expect(summary).toContain('per 16 concurrent cold pulls 17');
    expect(summary).toContain('Berth / registry:2 as the mirror: cold-get 1.44×');
  });
});

describe('runMirrorScenario (quick sizes, real registry:2 upstream)', () => {
  it('Berth as the mirror: every pull verified, one upstream GET per miss, even for 16 clients at once', async () => {
    const report = await runMirrorScenario(
      'berth',
      1,
      MIRROR_PARAMS.quick,
      () => {},
      () => {},
    );
    const value = (name: string) => report.metrics.find((metric) => metric.name === name)?.value;
    for (const name of [
      'direct-get',
      'cold-get',
      'warm-get',
      'plain-get',
      'cold-concurrent',
      'warm-concurrent',
    ])
      expect(value(name)).toBeGreaterThan(0);
    expect(value('upstream-gets-cold')).toBe(1);
    expect(value('upstream-gets-concurrent')).toBe(1);
  }, 120_000);
});
