/**
 * Go's `time.ParseDuration`, which registry:2 uses for every duration in `config.yml`
 * (`http.draintimeout`, `storage.maintenance.uploadpurging.age`, `health.storagedriver.interval`…).
 *
 * A duration is an optional sign and a sequence of decimal numbers, each with an optional
 * fraction and a unit: `300ms`, `1.5h`, `2h45m`, `168h`, `-1.5h`. Units: `ns`, `us` (or `µs`,
 * `μs`), `ms`, `s`, `m`, `h`. `0` alone needs no unit.
 */

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Thrown by {@link parseDuration}; the message starts with `invalid duration "<text>"`. */
export class DurationError extends Error {
  override readonly name: 'DurationError' = 'DurationError';
}

/**
 * Parses a Go duration string into milliseconds (fractional below 1 ms).
 * @throws {DurationError} e.g. `invalid duration "5x" (unknown unit "x"; …)`.
 *
 * @example
 * ```ts
 * parseDuration('2h45m'); // 9900000
 * parseDuration('300ms'); // 300
 * ```
 */
export function parseDuration(text: string): number {
  const fail = (why: string): never => {
    throw new DurationError(`invalid duration ${JSON.stringify(text)} (${why})`);
  };
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') fail('expected a number and a unit such as "30s"');
  let totalNs = 0;
  while (rest !== '') {
    const match = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = match?.[1] ?? '';
    const fraction = match?.[2];
    if (whole === '' && (fraction === undefined || fraction === '')) {
      fail('expected a number and a unit such as "30s"');
    }
    rest = rest.slice(match![0].length);
    const unitMatch = /^[^\d.]+/.exec(rest);
    if (!unitMatch) fail('missing unit; use ns, us, ms, s, m or h');
    const unit = unitMatch![0];
    const scale = UNIT_NS[unit];
    if (scale === undefined) fail(`unknown unit ${JSON.stringify(unit)}; use ns, us, ms, s, m or h`);
    rest = rest.slice(unit.length);
    totalNs += Number(`${whole === '' ? '0' : whole}.${fraction ?? ''}0`) * scale!;
  }
  if (!Number.isFinite(totalNs) || totalNs > 2 ** 63) fail('too large');
  return (sign * totalNs) / 1e6;
}

/** Formats milliseconds the way Go prints a `time.Duration` (`1h30m0s`, `300ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const negative = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${Number(rest.toFixed(6))}ms`;
  } else {
    const hours = Math.floor(rest / 3_600_000);
    rest -= hours * 3_600_000;
    const minutes = Math.floor(rest / 60_000);
    rest -= minutes * 60_000;
    const seconds = Number((rest / 1000).toFixed(9));
    out =
      hours > 0 ? `${hours}h${minutes}m${seconds}s` : minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
  }
  return negative ? `-${out}` : out;
}
