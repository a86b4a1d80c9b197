/**
 * Crash recovery: 20 concurrent pushers push images (blobs of 1 KB–2 MB, monolithic PUTs,
 * chunked PATCH+PUT and single POSTs, then a manifest PUT with a tag) while the Berth process
 * is killed with SIGKILL at a seeded moment; then it is restarted on the same root. After each
 * restart: the server started cleanly, every blob file re-hashes to its path, every link file
 * holds the digest its path names, every image whose manifest PUT was acknowledged (201) pulls
 * in full by tag and by digest, and every tag `tags/list` shows pulls in full. Several
 * seeded rounds on the same root, so later rounds also recover from earlier rounds' debris.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locationPath, RegistryClient, withQuery } from './client.ts';
import { checkLinks, rehashBlobs } from './disk.ts';
import { type Outcome, type RawRequest, type RawResponse, send } from './http.ts';
import { judge, judgeCounts, statusOf } from './judge.ts';
import { type Blob, blobOf, configBlob, imageManifest, type ManifestBytes } from './oci.ts';
import { describeOutcome, printFigures, Violations, writeReport } from './report.ts';
import { hashSeed, Rng } from './rng.ts';
import { HostileServer } from './server.ts';
import { bound, hostileSettings } from './settings.ts';

const settings = hostileSettings();
const ROUNDS = bound('BERTH_HOSTILE_CRASH_ROUNDS', 5, settings);
/** Not scaled: the number of pushers is part of what is being tested. */
const PUSHERS = bound('BERTH_HOSTILE_CRASH_PUSHERS', 20, { ...settings, scale: 1 });
const KILL_MIN_MS = 50;
const KILL_MAX_MS = 1_500;
/**
 * The kill moment counts from when this many manifest PUTs were acknowledged in the round
 * (or {@link WARMUP_MAX_MS} passed), so that every round has acknowledged images to lose.
 */
const WARMUP_ACKS = 10;
const WARMUP_MAX_MS = 8_000;
const OCTET: [string, string][] = [['Content-Type', 'application/octet-stream']];

/** An image whose manifest PUT got 201 before the kill. */
interface Acked {
  readonly round: number;
  readonly repo: string;
  readonly tag: string;
  readonly manifest: ManifestBytes;
}

const counts = judgeCounts();
const figures = {
  rounds: 0,
  killMoments: [] as number[],
  imagesAcked: 0,
  blobsAcked: 0,
  rehashed: 0,
  mismatches: 0,
  linksChecked: 0,
  tornLinks: 0,
  imagesLost: 0,
  blobsLost: 0,
  visibleBroken: 0,
  restarts: 0,
  cleanRestarts: 0,
  restartMs: [] as number[],
  wrong: 0,
  distinctBlobs: 0,
};

let work: string;
let root: string;
let server: HostileServer;
const violations = new Violations();

/** Records something acknowledged or stored that is lost or damaged, counted in `figures[figure]`. */
function dataLost(
  figure: 'imagesLost' | 'blobsLost' | 'mismatches' | 'tornLinks',
  what: string,
  expected: string,
  actual: string,
  signature: string,
): void {
  figures[figure]++;
  violations.add('data-lost', what, expected, actual, signature);
}

/** One pusher: images one after another until the server dies under it. */
async function pusher(
  round: number,
  p: number,
  rng: Rng,
  killed: () => boolean,
  acked: Acked[],
  ackedBlobs: { repo: string; digest: string }[],
): Promise<void> {
  const repo = `crash/p${p}`;
  const label = `round ${round} pusher ${p}`;
  /** Sends; `undefined` once the server is gone (expected after the kill, a violation before). */
  const step = async (request: RawRequest): Promise<RawResponse | undefined> => {
    const outcome: Outcome = await send(server.endpoint, request, { timeoutMs: 30_000 });
    if (outcome.kind === 'error' && killed()) return undefined;
    judge(violations, counts, label, request, outcome);
    return outcome.kind === 'response' ? outcome.response : undefined;
  };
  const unexpected = (request: RawRequest, response: RawResponse, expected: string): void => {
    if (killed()) return;
    figures.wrong++;
    violations.add(
      'wrong-answer',
      `${label}: ${request.method} ${request.target}`,
      expected,
      describeOutcome({ kind: 'response', response, ms: 0 }),
      `${request.method} ${response.status}`,
    );
  };
  /** Pushes one blob in `mode`; true on 201. */
  const pushBlob = async (
    blob: Blob,
    mode: 'monolithic' | 'chunked' | 'post',
  ): Promise<boolean | undefined> => {
    if (mode === 'post') {
      const request: RawRequest = {
        method: 'POST',
        target: `/v2/${repo}/blobs/uploads/?digest=${blob.digest}`,
        headers: OCTET,
        body: blob.bytes,
      };
      const response = await step(request);
      if (response === undefined) return undefined;
      if (response.status !== 201) unexpected(request, response, '201');
      return response.status === 201;
    }
    const start: RawRequest = { method: 'POST', target: `/v2/${repo}/blobs/uploads/` };
    const started = await step(start);
    if (started === undefined) return undefined;
    if (started.status !== 202) {
      unexpected(start, started, '202');
      return false;
    }
    let location = locationPath(started.headers.get('location') ?? '');
    let final: Buffer | undefined = blob.bytes;
    if (mode === 'chunked') {
      const size = rng.pick([32 * 1024, 256 * 1024, 1024 * 1024]);
      // The last chunk goes with the PUT half of the time.
      const end = rng.chance(0.5) ? blob.bytes.length : Math.max(0, blob.bytes.length - size);
      for (let offset = 0; offset < end; offset += size) {
        const chunk = blob.bytes.subarray(offset, Math.min(end, offset + size));
        const request: RawRequest = {
          method: 'PATCH',
          target: location,
          headers: [...OCTET, ['Content-Range', `${offset}-${offset + chunk.length - 1}`]],
          body: chunk,
        };
        const response = await step(request);
        if (response === undefined) return undefined;
        if (response.status !== 202) {
          unexpected(request, response, '202');
          return false;
        }
        location = locationPath(response.headers.get('location') ?? '');
      }
      final = end < blob.bytes.length ? blob.bytes.subarray(end) : undefined;
    }
    const headers: [string, string][] = final === undefined ? [] : [...OCTET];
    if (final !== undefined && mode === 'chunked')
      headers.push(['Content-Range', `${blob.bytes.length - final.length}-${blob.bytes.length - 1}`]);
    const request: RawRequest = {
      method: 'PUT',
      target: withQuery(location, 'digest', blob.digest),
      headers,
      ...(final === undefined ? {} : { body: final }),
    };
    const response = await step(request);
    if (response === undefined) return undefined;
    if (response.status !== 201) unexpected(request, response, '201');
    return response.status === 201;
  };
  for (let n = 0; ; n++) {
    const tag = `r${round}-${n}`;
    const config = configBlob(`crash-${round}-${p}-${n}-${rng.hex(8)}`);
    const layers = Array.from({ length: rng.int(1, 3) }, () =>
      blobOf(rng.bytes(rng.logInt(1024, 2 * 1024 * 1024))),
    );
    for (const blob of [config, ...layers]) {
      const ok = await pushBlob(blob, rng.pick(['monolithic', 'chunked', 'post'] as const));
      if (ok === undefined || !ok) return;
      ackedBlobs.push({ repo, digest: blob.digest });
    }
    const manifest = imageManifest(config, layers);
    const request: RawRequest = {
      method: 'PUT',
      target: `/v2/${repo}/manifests/${tag}`,
      headers: [['Content-Type', manifest.mediaType]],
      body: manifest.bytes,
    };
    const response = await step(request);
    if (response === undefined) return;
    if (response.status !== 201) {
      unexpected(request, response, '201');
      return;
    }
    acked.push({ round, repo, tag, manifest });
  }
}

/** Pulls the acknowledged images in full; counts and records what is lost. */
async function verifyAcked(images: readonly Acked[], when: string): Promise<void> {
  const client = new RegistryClient(server);
  for (const image of images) {
    const problems = await client.verifyPull(image.repo, image.tag, {
      digest: image.manifest.digest,
      bytes: image.manifest.bytes,
    });
    if (problems.length === 0) continue;
    dataLost(
      'imagesLost',
      `${when}: image ${image.repo}:${image.tag} (manifest PUT acknowledged in round ${image.round})`,
      'pullable in full by tag and by digest',
      problems.join('\n'),
      `acked image lost ${when}`,
    );
  }
}

describe(`crash recovery: ${ROUNDS} seeded SIGKILLs during ${PUSHERS} concurrent pushes (seed ${settings.seed})`, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-hostile-crash-'));
    root = join(work, 'root');
    server = await HostileServer.start({
      label: 'crash',
      rootDirectory: root,
      secret: 'berth-hostile-crash-secret',
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    printFigures('crash', [
      ['seed', settings.seed],
      ['rounds', figures.rounds],
      [`kill moments (ms after ${WARMUP_ACKS} acknowledged pushes)`, figures.killMoments.join(', ')],
      ['pushes acknowledged (manifest PUT 201 before the kill)', figures.imagesAcked],
      ['blob pushes acknowledged (201)', figures.blobsAcked],
      ['blobs re-hashed (all rounds)', figures.rehashed],
      ['distinct blobs on disk at the end', figures.distinctBlobs],
      ['mismatches (blob data not hashing to its path)', figures.mismatches],
      ['link files checked (all rounds)', figures.linksChecked],
      ['torn link files', figures.tornLinks],
      ['acknowledged images lost', figures.imagesLost],
      ['acknowledged blobs lost', figures.blobsLost],
      ['listed tags that do not pull in full', figures.visibleBroken],
      ['restarts (clean / total)', `${figures.cleanRestarts} / ${figures.restarts}`],
      ['slowest restart (ms)', Math.max(0, ...figures.restartMs)],
      ['wrong answers', figures.wrong],
      ['5xx', counts.fiveHundreds],
      ['no response before the kill', counts.noResponse],
      ['crashes (server exits other than the kills)', violations.count('crash')],
    ]);
    writeReport('crash', { settings, violations: violations.list });
    if (work !== undefined) await rm(work, { recursive: true, force: true, maxRetries: 3 });
  }, 60_000);

  it('loses nothing acknowledged, corrupts nothing, and restarts cleanly every time', async () => {
    const everything: Acked[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const rng = new Rng(settings.seed ^ hashSeed(`crash:${round}`));
      const killAt = rng.int(KILL_MIN_MS, KILL_MAX_MS);
      figures.killMoments.push(killAt);
      let killed = false;
      const acked: Acked[] = [];
      const ackedBlobs: { repo: string; digest: string }[] = [];
      const pushers = Array.from({ length: PUSHERS }, (_, p) =>
        pusher(round, p, rng.fork(`pusher ${p}`), () => killed, acked, ackedBlobs),
      );
      const warmupEnd = performance.now() + WARMUP_MAX_MS;
      while (acked.length < WARMUP_ACKS && performance.now() < warmupEnd) await sleep(10);
      await sleep(killAt);
      // Before the signal: from here on, a request without a response is the kill's doing.
      killed = true;
      server.pollLogs();
      if (!server.pidAlive()) {
        violations.add(
          'crash',
          `round ${round}: before the SIGKILL`,
          'the server running until it is killed',
          `it had exited; its last output:\n${server.logTail(30)}`,
        );
      }
      await server.kill();
      await Promise.all(pushers);
      figures.rounds++;
      figures.imagesAcked += acked.length;
      figures.blobsAcked += ackedBlobs.length;
      everything.push(...acked);

      const problemsBefore = server.problems.length;
      const restartStarted = performance.now();
      figures.restarts++;
      try {
        await server.restart();
      } catch (error) {
        violations.add(
          'restart-failed',
          `round ${round}: restart after SIGKILL at ${killAt} ms`,
          'the server starts on the same root',
          error instanceof Error ? error.message : String(error),
        );
        break;
      }
      figures.restartMs.push(Math.round(performance.now() - restartStarted));
      await sleep(100);
      server.pollLogs();
      const base = await send(server.endpoint, { method: 'GET', target: '/v2/' });
      const startupProblems = server.problems.slice(problemsBefore);
      if (statusOf(base) === 200 && startupProblems.length === 0) figures.cleanRestarts++;
      else {
        violations.add(
          'restart-unclean',
          `round ${round}: restart after SIGKILL at ${killAt} ms`,
          'GET /v2/ 200 and no error in the startup output',
          `${describeOutcome(base)}\n${startupProblems.map((p) => p.line).join('\n')}`,
        );
      }

      const rehash = await rehashBlobs(root);
      figures.rehashed += rehash.checked;
      figures.distinctBlobs = rehash.checked;
      for (const mismatch of rehash.mismatches) {
        dataLost(
          'mismatches',
          `round ${round}: blob file ${mismatch.path}`,
          'content hashing to the digest in its path',
          mismatch.actual,
          'blob file corrupt',
        );
      }
      const links = await checkLinks(root);
      figures.linksChecked += links.checked;
      for (const torn of links.torn) {
        dataLost(
          'tornLinks',
          `round ${round}: link file ${torn.path}`,
          'the digest its path names',
          JSON.stringify(torn.content),
          'torn link',
        );
      }
      await verifyAcked(acked, `after round ${round}`);
      const client = new RegistryClient(server);
      for (const { repo, digest } of ackedBlobs) {
        const problems = await client.verifyBlob(repo, digest);
        if (problems.length === 0) continue;
        dataLost(
          'blobsLost',
          `round ${round}: blob ${repo}@${digest} (its upload got 201)`,
          'served, hashing to its digest',
          problems.join('\n'),
          'acked blob lost',
        );
      }
      // Whatever is visible must be whole, acknowledged or not.
      const ackedTags = new Set(everything.map((image) => `${image.repo}:${image.tag}`));
      for (let p = 0; p < PUSHERS; p++) {
        const repo = `crash/p${p}`;
        const listed = await send(server.endpoint, { method: 'GET', target: `/v2/${repo}/tags/list?n=1000` });
        if (listed.kind !== 'response' || listed.response.status !== 200) continue;
        const tags = (JSON.parse(listed.response.body.toString()) as { tags?: string[] }).tags ?? [];
        for (const tag of tags) {
          if (ackedTags.has(`${repo}:${tag}`) || !tag.startsWith(`r${round}-`)) continue;
          const problems = await client.verifyPull(repo, tag);
          if (problems.length === 0) continue;
          figures.visibleBroken++;
          violations.add(
            'inconsistent-after-crash',
            `round ${round}: tag ${repo}:${tag} listed by GET /v2/${repo}/tags/list (its manifest PUT got no answer before the kill)`,
            'every listed tag pulls in full (or is not listed)',
            problems.join('\n'),
            problems[0]?.includes('MANIFEST_UNKNOWN') ? 'listed tag unknown' : 'listed tag broken',
          );
        }
      }
    }
    await verifyAcked(everything, 'after the last round');
    server.pollLogs();
    for (const death of server.deaths) {
      violations.add(
        'crash',
        `server ${death.server}`,
        'no exit other than the SIGKILLs',
        `${death.how}\n${death.logTail}`,
      );
    }
    for (const problem of server.problems) {
      violations.add(
        'log-problem',
        `server output (${problem.server})`,
        'no uncaught exception, no error-level log line',
        problem.line,
        problem.line.slice(0, 120),
      );
    }
    expect(
      violations.count(),
      violations.format(`crash (BERTH_HOSTILE_SEED=${settings.seed}, ${figures.rounds} rounds)`),
    ).toBe(0);
  }, 240_000);
});
