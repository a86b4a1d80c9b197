/**
 * Violations (what a suite found, each with the request that found it, what was expected and
 * what came back) and figures (the counts printed for the release notes, one line each).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildHead, excerpt, type Outcome, type RawRequest, showTarget } from './http.ts';

/** One thing that went wrong. */
export interface Violation {
  /** A short class: `5xx`, `no-envelope`, `wrong-answer`, `no-response`, `crash`, `data-lost`, … */
  readonly kind: string;
  /** The request (or the scenario) that showed it. */
  readonly what: string;
  /**
   * Violations with the same signature are one finding: the message shows the first and
   * counts the rest. Default: the kind and `what`.
   */
  readonly signature?: string;
  readonly expected: string;
  readonly actual: string;
}

/** Headers worth showing in a one-line request summary. */
const SHOWN_HEADERS = new Set([
  'range',
  'content-range',
  'content-length',
  'content-type',
  'authorization',
  'transfer-encoding',
  'if-range',
  'host',
  'accept',
]);

/** `METHOD "target" [headers] body N B "…"`, for failure messages. */
export function describeRequest(request: RawRequest): string {
  if (request.head !== undefined) {
    const body =
      request.body === undefined ? '' : ` + body ${request.body.byteLength} B ${excerpt(request.body, 80)}`;
    return `raw head ${showTarget(request.head, 240)}${body}`;
  }
  const headers = (request.headers ?? [])
    .filter(
      ([name]) => SHOWN_HEADERS.has(name.toLowerCase()) || name.length > 40 || /[^\x21-\x7e]/.test(name),
    )
    .map(([name, value]) => `${showTarget(name, 40)}: ${showTarget(value, 80)}`);
  const extras = [
    request.version === undefined ? '' : ` ${request.version}`,
    request.noHost ? ' (no Host)' : '',
    headers.length === 0 ? '' : ` [${headers.join('; ')}]`,
    request.body === undefined ? '' : ` body ${request.body.byteLength} B ${excerpt(request.body, 80)}`,
  ];
  return `${request.method} ${showTarget(request.target)}${extras.join('')}`;
}

/** `STATUS [Content-Type] body "…"`, or the error, for failure messages. */
export function describeOutcome(outcome: Outcome): string {
  if (outcome.kind === 'error') return `no response: ${outcome.error} (after ${Math.round(outcome.ms)} ms)`;
  const { status, headers, body } = outcome.response;
  const type = headers.get('content-type');
  return `${status}${type === undefined ? '' : ` (${type})`} body ${excerpt(body)}`;
}

/** The violations of one run. */
export class Violations {
  readonly list: Violation[] = [];

  add(kind: string, what: string, expected: string, actual: string, signature?: string): void {
    this.list.push({ kind, what, expected, actual, ...(signature === undefined ? {} : { signature }) });
  }

  /** How many there are (of `kind`, or of every kind). */
  count(...kinds: string[]): number {
    return kinds.length === 0 ? this.list.length : this.list.filter((v) => kinds.includes(v.kind)).length;
  }

  /**
   * A failure message: a title, then per kind the count and its findings (violations with the
   * same signature shown once, with how often they happened), the first `perKind` of them, each
   * with its request, what was expected and what came back.
   */
  format(title: string, perKind = 30): string {
    if (this.list.length === 0) return `${title}: no violations`;
    const byKind = new Map<string, Map<string, Violation[]>>();
    for (const v of this.list) {
      const findings = byKind.get(v.kind) ?? new Map<string, Violation[]>();
      byKind.set(v.kind, findings);
      const key = v.signature ?? v.what;
      findings.set(key, [...(findings.get(key) ?? []), v]);
    }
    const lines = [`${title}: ${this.list.length} violation(s)`];
    for (const [kind, findings] of byKind) {
      const count = [...findings.values()].reduce((n, list) => n + list.length, 0);
      lines.push(`[${kind}] ${count} (${findings.size} distinct)`);
      for (const [, list] of [...findings].slice(0, perKind)) {
        const v = list[0]!;
        lines.push(`  - ${v.what}${list.length > 1 ? `  (and ${list.length - 1} more like it)` : ''}`);
        lines.push(`      expected: ${v.expected}`);
        lines.push(`      actual:   ${v.actual.replaceAll('\n', '\n                ')}`);
      }
      if (findings.size > perKind)
        lines.push(`  … and ${findings.size - perKind} more distinct findings of this kind`);
    }
    return lines.join('\n');
  }
}

/** Prints one line per figure, prefixed with the suite, e.g. `[hostile fuzz] 5xx: 0`. */
export function printFigures(suite: string, figures: readonly (readonly [string, number | string])[]): void {
  for (const [name, value] of figures) console.log(`[hostile ${suite}] ${name}: ${value}`);
}

/**
 * When `BERTH_HOSTILE_REPORT_DIR` is set, writes every violation of a run (with full request
 * heads, to replay) to `<dir>/<name>.json`, and returns the path.
 */
export function writeReport(
  name: string,
  data: { readonly settings: unknown; readonly violations: readonly Violation[]; readonly extra?: unknown },
): string | undefined {
  const dir = process.env.BERTH_HOSTILE_REPORT_DIR;
  if (dir === undefined || dir === '') return undefined;
  const path = join(resolve(dir), `${name}.json`);
  mkdirSync(resolve(dir), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}

/** The exact head a request went out with (for reports that must be replayable). */
export function replayHead(request: RawRequest): string {
  return buildHead({ host: '127.0.0.1', port: 5000 }, request);
}
