/** The most source objects one GCS compose request takes. */
export const MAX_COMPOSE_SOURCES = 32;

/** One compose request: concatenate `sources` (object names, in order) into `destination`. */
export interface ComposeStep {
  readonly sources: readonly string[];
  readonly destination: string;
}

/**
 * The compose requests that concatenate `sources` into `destination`, in rounds: while there are
 * more than `maxSources` objects, runs of `maxSources` from the start become intermediate
 * objects (named by `intermediate(round, index)`) until the rest fits one request. The steps of
 * one round are independent (they can run in parallel); rounds must run in order. The last step
 * writes `destination`. A request turns up to `maxSources` objects into one, so `n` sources take
 * about `(n - 1) / (maxSources - 1)` requests (3 for 64 parts, 34 for 1025).
 *
 * @example
 * ```ts
 * planCompose(parts, 'blob', (round, i) => `tmp/c${round}-${i}`); // [[step, …], …, [final]]
 * ```
 * @throws {RangeError} for no sources or `maxSources` below 2.
 */
export function planCompose(
  sources: readonly string[],
  destination: string,
  intermediate: (round: number, index: number) => string,
  maxSources: number = MAX_COMPOSE_SOURCES,
): ComposeStep[][] {
  if (sources.length === 0) throw new RangeError('nothing to compose');
  if (maxSources < 2) throw new RangeError('maxSources must be at least 2');
  const rounds: ComposeStep[][] = [];
  let current = [...sources];
  while (current.length > maxSources) {
    const round = rounds.length + 1;
    const steps: ComposeStep[] = [];
    const next: string[] = [];
    let index = 0;
    while (index < current.length) {
      // Stop grouping as soon as what is left fits the next round's requests.
      if (next.length + (current.length - index) <= maxSources) {
        next.push(...current.slice(index));
        break;
      }
      const group = current.slice(index, index + maxSources);
      index += group.length;
      if (group.length === 1) {
        next.push(group[0]!);
        continue;
      }
      const name = intermediate(round, steps.length);
      steps.push({ sources: group, destination: name });
      next.push(name);
    }
    rounds.push(steps);
    current = next;
  }
  rounds.push([{ sources: current, destination }]);
  return rounds;
}
