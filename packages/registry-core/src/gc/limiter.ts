/**
 * A concurrency limiter: `limit(fn)` runs `fn` once fewer than `concurrency` calls started
 * through the same limiter are still running, and resolves with its result.
 */
export type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;

/** Creates a {@link Limiter} allowing `concurrency` (at least 1) calls at once. */
export function createLimiter(concurrency: number): Limiter {
  const max = Math.max(1, Math.floor(concurrency));
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    active--;
    const next = waiting.shift();
    if (next !== undefined) {
      active++;
      next();
    }
  };
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const start = (): Promise<T> => {
      let result: Promise<T>;
      try {
        result = fn();
      } catch (err) {
        result = Promise.reject(err);
      }
      return result.finally(release);
    };
    if (active < max) {
      active++;
      return start();
    }
    return new Promise<void>((resolve) => waiting.push(resolve)).then(start);
  };
}
