import { describe, expect, it } from 'vitest';
import { planCompose } from './compose-plan.ts';

const names = (count: number) => Array.from({ length: count }, (_, i) => `p${i}`);
const tmp = (round: number, index: number) => `c${round}-${index}`;

/** Replays a plan on strings: the result must be the sources, concatenated in order. */
function replay(sources: string[], rounds: ReturnType<typeof planCompose>, maxSources = 32): string {
  const objects = new Map(sources.map((name) => [name, `${name};`]));
  for (const steps of rounds) {
    for (const step of steps) {
      expect(step.sources.length).toBeGreaterThanOrEqual(1);
      expect(step.sources.length).toBeLessThanOrEqual(maxSources);
      objects.set(step.destination, step.sources.map((name) => objects.get(name)!).join(''));
    }
  }
  return objects.get('target')!;
}

describe('planCompose', () => {
  it('composes up to 32 sources in one request', () => {
    expect(planCompose(['a', 'b'], 'target', tmp)).toEqual([
      [{ sources: ['a', 'b'], destination: 'target' }],
    ]);
    expect(planCompose(names(32), 'target', tmp)).toHaveLength(1);
  });

  it('goes through intermediate objects for more, keeping the order, with few requests', () => {
    for (const [count, requests, rounds] of [
      [33, 2, 2],
      [40, 2, 2],
      [64, 3, 2],
      [103, 4, 2],
      [1025, 34, 3],
      [5000, 163, 3],
    ] as const) {
      const plan = planCompose(names(count), 'target', tmp);
      expect(plan.flat().length, `requests for ${count}`).toBe(requests);
      expect(plan.length, `rounds for ${count}`).toBe(rounds);
      expect(replay(names(count), plan)).toBe(
        names(count)
          .map((name) => `${name};`)
          .join(''),
      );
      expect(plan.at(-1)).toHaveLength(1);
      expect(plan.at(-1)![0]!.destination).toBe('target');
      const intermediates = plan
        .flat()
        .map((step) => step.destination)
        .slice(0, -1);
      expect(new Set(intermediates).size).toBe(intermediates.length);
    }
  });

  it('works with a smaller limit', () => {
    const plan = planCompose(names(10), 'target', tmp, 3);
    expect(replay(names(10), plan, 3)).toBe(
      names(10)
        .map((name) => `${name};`)
        .join(''),
    );
  });

  it('rejects nothing to compose', () => {
    expect(() => planCompose([], 'target', tmp)).toThrow(RangeError);
  });
});
