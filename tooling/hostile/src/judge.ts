/**
 * The rules every response of every suite must follow, whatever the request: an answer at
 * all, a status below 500, and on `/v2/` endpoints an OCI error envelope on every 4xx with a
 * body (all but HEAD) and a challenge on every 401.
 */
import type { Outcome, RawRequest } from './http.ts';
import { envelopeProblem, isApiTarget } from './oci.ts';
import { describeOutcome, describeRequest, type Violations } from './report.ts';

/** Counts of what {@link judge} found. */
export interface JudgeCounts {
  fiveHundreds: number;
  noResponse: number;
  envelopes: number;
}

/** A fresh {@link JudgeCounts}. */
export function judgeCounts(): JudgeCounts {
  return { fiveHundreds: 0, noResponse: 0, envelopes: 0 };
}

/**
 * Records what is wrong with `outcome` whatever the request meant; returns whether it was a
 * response. `label` names the scenario (it starts the violation's description).
 */
export function judge(
  violations: Violations,
  counts: JudgeCounts,
  label: string,
  request: RawRequest,
  outcome: Outcome,
): boolean {
  const what = `${label}: ${describeRequest(request)}`;
  // Same scenario, any round: one finding.
  const family = label.replace(/ round \d+ \([^)]*\)/, '').replace(/ \[racing, to \w+\]/, ' [racing]');
  if (outcome.kind === 'error') {
    counts.noResponse++;
    violations.add(
      'no-response',
      what,
      'a response',
      describeOutcome(outcome),
      `${family} ${request.method} ${outcome.error}`,
    );
    return false;
  }
  const { status } = outcome.response;
  if (status >= 500 || status === 0) {
    counts.fiveHundreds++;
    violations.add(
      '5xx',
      what,
      'a status below 500',
      describeOutcome(outcome),
      `${family} ${request.method} ${status}`,
    );
  }
  if (
    isApiTarget(request.target) &&
    request.method.toUpperCase() !== 'HEAD' &&
    status >= 400 &&
    status < 500
  ) {
    const problem = envelopeProblem(outcome.response);
    if (problem !== undefined) {
      counts.envelopes++;
      violations.add(
        'no-envelope',
        what,
        'the OCI error envelope as application/json',
        `${describeOutcome(outcome)}: ${problem}`,
        `${family} ${request.method} ${status}`,
      );
    }
  }
  if (status === 401 && !outcome.response.headers.has('www-authenticate')) {
    counts.envelopes++;
    violations.add(
      'no-challenge',
      what,
      '401 with WWW-Authenticate',
      describeOutcome(outcome),
      `${family} 401`,
    );
  }
  return true;
}

/** The status of an outcome, or 0 when there was no response. */
export function statusOf(outcome: Outcome): number {
  return outcome.kind === 'response' ? outcome.response.status : 0;
}
