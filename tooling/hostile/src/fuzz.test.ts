/**
 * The fuzzer: seeded, sequential requests against one real Berth process on the fs driver
 * (delete enabled, access log on), once without auth and once with htpasswd auth. Every
 * response must be below 500, and every 4xx on a `/v2/` endpoint (but HEAD) must carry the OCI
 * error envelope (401s also a challenge). Inputs that must be refused must be, inputs that
 * must work must work, and what is served must be what was stored. Afterwards: the process is
 * alive and answers, seeded and pushed content is intact, nothing was written outside the
 * storage root, and the server logged no error.
 */
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { htpasswdLine } from '@berth/auth-htpasswd';
import { afterAll, describe, expect, it } from 'vitest';
import { withQuery } from './client.ts';
import { diffSnapshots, escapedEntries, names, snapshot, walk } from './disk.ts';
import { type FuzzCase, type FuzzRunner, nextCase } from './fuzz-cases.ts';
import { FuzzWorld } from './fuzz-world.ts';
import { type Outcome, type RawRequest, send } from './http.ts';
import { envelopeProblem, isApiTarget, sha256 } from './oci.ts';
import { describeOutcome, describeRequest, printFigures, Violations, writeReport } from './report.ts';
import { hashSeed, Rng } from './rng.ts';
import { HostileServer } from './server.ts';
import { bound, hostileSettings } from './settings.ts';

const settings = hostileSettings();
const REQUESTS = bound('BERTH_HOSTILE_FUZZ_REQUESTS', 2_500, settings, 10);
/** Restarts after crashes before a run gives up (every crash is already a failure). */
const MAX_CRASHES = 10;
const PASSWORD = 'hostile-fuzz-password';
/** `BERTH_HOSTILE_TRACE=<file>`: every request of the fuzzer, one line each, with what came back. */
const TRACE = process.env.BERTH_HOSTILE_TRACE;

interface ModeFigures {
  readonly mode: string;
  inputs: number;
  checks: number;
  wrong: number;
  envelopes: number;
  fiveHundreds: number;
  noResponse: number;
  crashes: number;
  lost: number;
  logProblems: number;
  escapes: number;
  seconds: number;
  /** `200 ×812, 400 ×301, …` */
  statuses: string;
  tally: Record<string, number>;
}

const totals: ModeFigures[] = [];

/** The generator part of a label (`#12 name/uppercase` → `name/uppercase`). */
function gen(label: string): string {
  return label.replace(/^#\d+ /, '');
}

const EXPECTED: Record<FuzzCase['expect'], string> = {
  reject: 'a 4xx (the input is invalid or names nothing that exists)',
  success: 'a 2xx (a valid request)',
  any: 'any status below 500',
};

async function runMode(authMode: boolean): Promise<{ figures: ModeFigures; violations: Violations }> {
  const mode = authMode ? 'htpasswd auth' : 'no auth';
  const started = performance.now();
  const rng = new Rng(settings.seed ^ hashSeed(`fuzz:${mode}`));
  const work = await mkdtemp(join(tmpdir(), 'berth-hostile-fuzz-'));
  const jail = join(work, 'jail');
  const root = join(jail, 'root');
  const sibling = join(jail, 'sibling');
  await mkdir(join(sibling, 'nested'), { recursive: true });
  await writeFile(join(sibling, 'canary.txt'), 'must not change\n');
  await writeFile(join(sibling, 'nested', 'data.bin'), rng.bytes(4096));
  const htpasswd = join(work, 'htpasswd');
  await writeFile(htpasswd, `${await htpasswdLine('fuzz', PASSWORD, 4)}\n`);
  const markerDirs = [
    ...new Set([jail, work, tmpdir(), process.cwd(), parse(work).root, dirname(process.cwd())]),
  ];
  const isStorageRoot = (rel: string): boolean => rel === join('jail', 'root');
  const workBefore = await snapshot(work, isStorageRoot);

  const violations = new Violations();
  const figures: ModeFigures = {
    mode,
    inputs: 0,
    checks: 0,
    wrong: 0,
    envelopes: 0,
    fiveHundreds: 0,
    noResponse: 0,
    crashes: 0,
    lost: 0,
    logProblems: 0,
    escapes: 0,
    seconds: 0,
    statuses: '',
    tally: {},
  };
  const server = await HostileServer.start({
    label: `fuzz (${mode})`,
    rootDirectory: root,
    secret: 'berth-hostile-fuzz-secret',
    ...(authMode
      ? { extraYaml: `auth:\n  htpasswd:\n    realm: Berth hostile\n    path: ${JSON.stringify(htpasswd)}\n` }
      : {}),
  });
  const authorization = authMode ? `Basic ${Buffer.from(`fuzz:${PASSWORD}`).toString('base64')}` : undefined;
  const world = new FuzzWorld(rng, authorization);
  const client = world.client(server);

  /** Sends one request and applies the rules every response must follow. */
  const exec = async (request: RawRequest, label: string): Promise<Outcome> => {
    const outcome = await send(server.endpoint, request, { timeoutMs: 20_000 });
    const what = `${label}: ${describeRequest(request)}`;
    if (TRACE) appendFileSync(TRACE, `[${mode}] ${what} → ${describeOutcome(outcome)}\n`);
    if (outcome.kind === 'error') {
      const death = await server.ensureAlive(`after ${label}`);
      if (death !== undefined) {
        figures.crashes++;
        violations.add(
          'crash',
          what,
          'a response, and the server still running',
          `${outcome.error}; the server ${death.how}; its last output:\n${death.logTail}`,
        );
      } else {
        figures.noResponse++;
        violations.add(
          'no-response',
          what,
          'a response (any status)',
          describeOutcome(outcome),
          `${gen(label)} ${outcome.error}`,
        );
      }
      return outcome;
    }
    const response = outcome.response;
    const oddVersion = request.version !== undefined && !/^HTTP\/1\.[01]$/.test(request.version);
    if (response.status === 0) {
      violations.add(
        'not-http',
        what,
        'an HTTP response',
        `bytes that are not one: ${describeOutcome(outcome)}`,
      );
    } else if (response.status >= 500 && !(response.status === 505 && oddVersion)) {
      figures.fiveHundreds++;
      violations.add(
        '5xx',
        what,
        'a status below 500',
        describeOutcome(outcome),
        `${gen(label)} ${response.status}`,
      );
    }
    if (isApiTarget(request.target) && request.method.toUpperCase() !== 'HEAD') {
      if (response.status >= 400 && response.status < 500) {
        const problem = envelopeProblem(response);
        if (problem !== undefined) {
          figures.envelopes++;
          violations.add(
            'no-envelope',
            what,
            'the OCI error envelope {"errors":[{"code","message"}]} as application/json',
            `${describeOutcome(outcome)}: ${problem}`,
            `${gen(label)} ${request.method} ${response.status} ${problem}`,
          );
        }
      }
    }
    if (response.status === 401 && isApiTarget(request.target) && !response.headers.has('www-authenticate')) {
      figures.envelopes++;
      violations.add(
        'no-challenge',
        what,
        '401 with a WWW-Authenticate challenge',
        describeOutcome(outcome),
        gen(label),
      );
    }
    return outcome;
  };

  let current = 'seeding';
  /** Responses by status, and by generator, method and status (for the report). */
  const statuses = new Map<number, number>();
  const tally = new Map<string, number>();
  const runner: FuzzRunner = {
    world,
    server,
    authMode,
    get current() {
      return current;
    },
    check: async (request) => {
      figures.checks++;
      return exec(request, 'check');
    },
    wrong: (what, expected, actual, signature) => {
      figures.wrong++;
      violations.add('wrong-answer', what, expected, actual, signature);
    },
    lost: (what, expected, actual) => {
      figures.lost++;
      violations.add('data-lost', what, expected, actual);
    },
  };

  try {
    await world.seed(server);
    for (let i = 1; i <= REQUESTS && figures.crashes < MAX_CRASHES; i++) {
      const input = await nextCase(runner);
      figures.inputs++;
      const label = `#${i} ${input.gen}`;
      current = label;
      const outcome = await exec(input.request, label);
      const status = outcome.kind === 'response' ? outcome.response.status : 0;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const tallyKey = `${input.gen} ${input.request.method.length > 12 ? 'LONG' : input.request.method} → ${status}`;
      tally.set(tallyKey, (tally.get(tallyKey) ?? 0) + 1);
      if (outcome.kind === 'response') {
        const status = outcome.response.status;
        const wrongStatus =
          (input.expect === 'reject' && status > 0 && status < 400) ||
          (input.expect === 'success' && status > 0 && (status < 200 || status >= 300));
        const problem = wrongStatus ? `got ${status}` : input.check?.(outcome.response);
        if (problem !== undefined) {
          runner.wrong(
            `${label}: ${describeRequest(input.request)}`,
            wrongStatus ? EXPECTED[input.expect] : 'a correct answer',
            `${describeOutcome(outcome)}: ${problem}`,
            `${input.gen} ${input.request.method} ${status}${wrongStatus ? '' : ` ${problem.slice(0, 40)}`}`,
          );
        }
      }
      await input.after?.(outcome);
      if (i % 20 === 0) server.pollLogs();
    }
    if (figures.crashes >= MAX_CRASHES) {
      violations.add(
        'crash',
        `${figures.crashes} crashes`,
        'none',
        `gave up after ${figures.inputs} of ${REQUESTS} inputs`,
      );
    }
    await finalChecks(server, world, client, runner, violations, figures, authMode);
  } finally {
    await server.stop();
    for (const problem of server.problems) {
      figures.logProblems++;
      violations.add(
        'log-problem',
        `server output (${problem.server})`,
        'no uncaught exception, no error-level log line',
        problem.line,
      );
    }
    // Nothing outside the root, and no marker name anywhere, after the server has stopped.
    for (const escaped of await escapedEntries(root)) {
      figures.escapes++;
      violations.add('escape', 'storage root', 'every entry inside the root', escaped);
    }
    for (const change of diffSnapshots(workBefore, await snapshot(work, isStorageRoot))) {
      figures.escapes++;
      violations.add(
        'escape',
        `around the storage root (${work})`,
        'nothing created or changed there',
        change,
      );
    }
    for (const dir of markerDirs) {
      for (const name of await names(dir)) {
        if (!name.includes(world.escapeMarker)) continue;
        figures.escapes++;
        violations.add(
          'escape',
          `directory ${dir}`,
          `no entry named after a path-escape attempt (${world.escapeMarker}-N)`,
          join(dir, name),
        );
      }
    }
    for (const entry of await walk(root)) {
      if (!entry.path.includes(world.escapeMarker)) continue;
      figures.escapes++;
      violations.add(
        'escape',
        'storage root',
        `no entry named after a path-escape attempt (${world.escapeMarker}-N)`,
        entry.path,
      );
    }
    await rm(work, { recursive: true, force: true, maxRetries: 3 });
    figures.seconds = Math.round((performance.now() - started) / 100) / 10;
    figures.statuses = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status || 'none'} ×${n}`)
      .join(', ');
    figures.tally = Object.fromEntries([...tally].sort(([a], [b]) => a.localeCompare(b)));
    totals.push(figures);
  }
  return { figures, violations };
}

/** After the inputs: the server answers, and everything stored is still there. */
async function finalChecks(
  server: HostileServer,
  world: FuzzWorld,
  client: ReturnType<FuzzWorld['client']>,
  runner: FuzzRunner,
  violations: Violations,
  figures: ModeFigures,
  authMode: boolean,
): Promise<void> {
  const base = await send(server.endpoint, { method: 'GET', target: '/v2/' });
  const expectedBase = authMode ? 401 : 200;
  if (base.kind !== 'response' || base.response.status !== expectedBase || !server.pidAlive()) {
    violations.add(
      'crash',
      'GET /v2/ after the run',
      `${expectedBase} from the same process`,
      describeOutcome(base),
    );
  }
  // Open uploads complete with the bytes the server accepted.
  for (const upload of [...world.uploads]) {
    const bytes = world.bytesOf(upload);
    const digest = sha256(bytes);
    const target = withQuery(upload.location, 'digest', digest);
    const done = await runner.check({ method: 'PUT', target, headers: client.headers() });
    if (done.kind !== 'response' || done.response.status !== 201) {
      runner.lost(
        `completing upload ${upload.uuid} (PUT ${target})`,
        `201: the ${bytes.length} accepted bytes hash to ${digest}`,
        describeOutcome(done),
      );
      continue;
    }
    world.completed.push({ repo: upload.repo, blob: { digest, bytes } });
  }
  for (const { repo, blob } of world.completed) {
    for (const problem of await client.verifyBlob(repo, blob.digest))
      runner.lost(`blob completed by the fuzzer in ${repo}`, 'served back intact', problem);
  }
  for (const [tag, digest] of world.playTags) {
    const got = await runner.check({
      method: 'GET',
      target: `/v2/${world.playRepo}/manifests/${tag}`,
      headers: client.headers([['Accept', '*/*']]),
    });
    const actual =
      got.kind === 'response' && got.response.status === 200 ? sha256(got.response.body) : undefined;
    if (digest !== null && actual !== digest) {
      runner.lost(
        `tag ${world.playRepo}:${tag}`,
        `the manifest last pushed to it (${digest})`,
        describeOutcome(got),
      );
    }
  }
  for (const image of world.protectedImages) {
    for (const problem of await client.verifyPull(image.repo, image.tag, {
      digest: image.manifest.digest,
      bytes: image.manifest.bytes,
    })) {
      runner.lost(`seeded image ${image.repo}:${image.tag}`, 'unchanged and complete', problem);
    }
  }
  const index = world.protectedIndex!;
  for (const problem of await client.verifyPull(world.protectedRepo, index.tag, {
    digest: index.manifest.digest,
    bytes: index.manifest.bytes,
  })) {
    runner.lost(`seeded index ${world.protectedRepo}:${index.tag}`, 'unchanged and complete', problem);
  }
  const tags = await runner.check({
    method: 'GET',
    target: `/v2/${world.protectedRepo}/tags/list`,
    headers: client.headers(),
  });
  const listed =
    tags.kind === 'response' && tags.response.status === 200
      ? tags.response.body.toString()
      : describeOutcome(tags);
  if (!listed.includes(JSON.stringify(world.protectedTags))) {
    runner.lost(
      `GET /v2/${world.protectedRepo}/tags/list`,
      `tags ${JSON.stringify(world.protectedTags)}`,
      listed.slice(0, 300),
    );
  }
  figures.lost = violations.count('data-lost');
}

describe(`fuzzer: ${REQUESTS} seeded requests per mode against a real Berth (seed ${settings.seed})`, () => {
  afterAll(() => {
    const sum = (key: keyof Omit<ModeFigures, 'mode' | 'statuses' | 'tally'>): number =>
      totals.reduce((total, f) => total + f[key], 0);
    printFigures('fuzz', [
      ['seed', settings.seed],
      ['modes', totals.map((f) => `${f.mode} (${f.seconds} s)`).join(', ')],
      ['inputs tried', sum('inputs')],
      ['follow-up checks', sum('checks')],
      ['wrong answers', sum('wrong')],
      ['error responses without the OCI envelope or challenge', sum('envelopes')],
      ['5xx', sum('fiveHundreds')],
      ['no response', sum('noResponse')],
      ['crashes (server exits)', sum('crashes')],
      ['data lost', sum('lost')],
      ['server log problems', sum('logProblems')],
      ['entries outside the storage root', sum('escapes')],
    ]);
  });

  for (const authMode of [false, true]) {
    const mode = authMode ? 'with htpasswd auth' : 'without auth';
    it(`${mode}: no 5xx, proper error envelopes, right answers, nothing lost or escaped`, async () => {
      const { figures, violations } = await runMode(authMode);
      printFigures(`fuzz ${figures.mode}`, [
        ['inputs tried', figures.inputs],
        ['wrong answers', figures.wrong],
        ['error responses without the OCI envelope or challenge', figures.envelopes],
        ['5xx', figures.fiveHundreds],
        ['crashes (server exits)', figures.crashes],
        ['data lost', figures.lost],
        ['responses by status (0: none)', figures.statuses],
        ['seconds', figures.seconds],
      ]);
      const report = writeReport(`fuzz-${authMode ? 'auth' : 'open'}`, {
        settings,
        violations: violations.list,
        extra: { inputs: figures.tally },
      });
      const title = `fuzz ${mode} (BERTH_HOSTILE_SEED=${settings.seed}, ${figures.inputs} inputs${report ? `, report ${report}` : ''})`;
      expect(violations.count(), violations.format(title)).toBe(0);
    }, 240_000);
  }
});
