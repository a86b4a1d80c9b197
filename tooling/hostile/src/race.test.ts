/**
 * Races: two Berth processes on ONE filesystem root with the same `http.secret` (so an upload
 * started on one continues on the other), plus the same races on a single process. Each
 * scenario fires two conflicting requests at once, seeded and repeated, then checks that at
 * most one won, that the loser got a proper refusal, that the registry's state matches the
 * winner exactly, that nothing was left in `_uploads/` or the fs driver's pending area, and
 * that every blob on disk hashes to its path. Last, `berth gc` runs again and again while
 * pushers push tagged images to both processes; every image still tagged must pull in full.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesystemConfigYaml } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berthCliMissing, type CliRun, runBerthCli } from './berth-cli.ts';
import { ACCEPT_MANIFESTS, locationPath, RegistryClient, withQuery } from './client.ts';
import { hashFile, rehashBlobs, uploadLeftovers, v2Dir } from './disk.ts';
import { type Outcome, type RawRequest, type RawResponse, send } from './http.ts';
import { judge, judgeCounts, statusOf } from './judge.ts';
import {
  type Blob,
  blobOf,
  configBlob,
  errorCode,
  imageManifest,
  type ManifestBytes,
  sha256,
} from './oci.ts';
import { describeOutcome, printFigures, Violations, writeReport } from './report.ts';
import { hashSeed, Rng } from './rng.ts';
import { HostileServer } from './server.ts';
import { bound, hostileSettings } from './settings.ts';

const settings = hostileSettings();
const ROUNDS = bound('BERTH_HOSTILE_RACE_ROUNDS', 20, settings);
const GC_SECONDS = bound('BERTH_HOSTILE_GC_SECONDS', 10, settings, 3);
const GC_PUSHERS = 4;
const SECRET = 'berth-hostile-race-secret';
const OCTET: [string, string][] = [['Content-Type', 'application/octet-stream']];
const cliMissing = berthCliMissing();

const counts = judgeCounts();
const figures = {
  pairs: 0,
  wrong: 0,
  crashes: 0,
  lost: 0,
  leftovers: 0,
  gcRuns: 0,
  gcPushes: 0,
  gcRefusals: 0,
};
const allViolations = new Violations();
/** Per scenario, how often each pair of statuses came back (`202+416`), to show the races happen. */
const tallies = new Map<string, Map<string, number>>();

let work: string;
let root: string;
let serverA: HostileServer;
let serverB: HostileServer;

/** The context of one round. */
interface Round {
  readonly label: string;
  readonly rng: Rng;
  /** The servers the two racing requests go to (the same one in single-process rounds). */
  readonly x: HostileServer;
  readonly y: HostileServer;
  readonly v: Violations;
  /** Sends and applies the general rules. */
  send(server: HostileServer, request: RawRequest): Promise<Outcome>;
  /** Fires two requests at once. */
  pair(a: [HostileServer, RawRequest], b: [HostileServer, RawRequest]): Promise<[Outcome, Outcome]>;
  wrong(what: string, expected: string, actual: string, signature?: string): void;
  lost(what: string, expected: string, actual: string, signature?: string): void;
  leftover(what: string, found: readonly string[], signature?: string): void;
}

/** Runs `rounds` rounds of a scenario, every third one on a single process. */
async function scenario(name: string, body: (round: Round, i: number) => Promise<void>): Promise<Violations> {
  const v = new Violations();
  for (let i = 0; i < ROUNDS; i++) {
    const rng = new Rng(settings.seed ^ hashSeed(`race:${name}:${i}`));
    const cross = i % 3 !== 2;
    const first = rng.chance(0.5) ? serverA : serverB;
    const x = first;
    const y = cross ? (first === serverA ? serverB : serverA) : first;
    const label = `${name} round ${i + 1} (${cross ? `${x.options.label}+${y.options.label}` : `${x.options.label} only`})`;
    /** Counts a finding of the round in `figures[figure]` and records it. */
    const record = (
      figure: 'wrong' | 'lost' | 'leftovers',
      kind: string,
      what: string,
      expected: string,
      actual: string,
      signature: string | undefined,
    ): void => {
      figures[figure]++;
      v.add(
        kind,
        `${label}: ${what}`,
        expected,
        actual,
        signature === undefined ? undefined : `${name}: ${signature}`,
      );
    };
    const round: Round = {
      label,
      rng,
      x,
      y,
      v,
      send: async (server, request) => {
        const outcome = await send(server.endpoint, request, { timeoutMs: 30_000 });
        judge(v, counts, label, request, outcome);
        return outcome;
      },
      pair: async ([sa, ra], [sb, rb]) => {
        figures.pairs++;
        const outcomes = await Promise.all([
          send(sa.endpoint, ra, { timeoutMs: 30_000 }),
          send(sb.endpoint, rb, { timeoutMs: 30_000 }),
        ]);
        const tally = tallies.get(name) ?? new Map<string, number>();
        tallies.set(name, tally);
        const key = [statusOf(outcomes[0]), statusOf(outcomes[1])].sort().join('+');
        tally.set(key, (tally.get(key) ?? 0) + 1);
        judge(v, counts, `${label} [racing, to ${sa.options.label}]`, ra, outcomes[0]);
        judge(v, counts, `${label} [racing, to ${sb.options.label}]`, rb, outcomes[1]);
        return outcomes;
      },
      wrong: (what, expected, actual, signature) =>
        record('wrong', 'wrong-answer', what, expected, actual, signature),
      lost: (what, expected, actual, signature) =>
        record('lost', 'data-lost', what, expected, actual, signature),
      leftover: (what, found, signature) =>
        record('leftovers', 'leftover', what, 'nothing left behind', found.join('\n'), signature),
    };
    try {
      await body(round, i);
    } catch (error) {
      v.add(
        'setup-failed',
        label,
        'the round’s own (non-racing) requests to work',
        error instanceof Error ? error.message : String(error),
        `${name}: setup`,
      );
    }
    await checkServers(v, label);
  }
  for (const server of [serverA, serverB]) server.pollLogs();
  allViolations.list.push(...v.list);
  return v;
}

/** Both servers alive (else: a crash, recorded, and a restart). */
async function checkServers(v: Violations, label: string): Promise<void> {
  for (const server of [serverA, serverB]) {
    const death = await server.ensureAlive(`after ${label}`);
    if (death !== undefined) {
      figures.crashes++;
      v.add(
        'crash',
        `${label}: server ${server.options.label}`,
        'both servers keep running',
        `${death.how}; its last output:\n${death.logTail}`,
        `crash ${label.split(' round')[0]}`,
      );
    }
    server.pollLogs();
  }
}

/** Polls `find` until it finds nothing (for up to ~1.5 s: work after the response may still be finishing). */
async function settled(find: () => Promise<string[]>): Promise<string[]> {
  let found = await find();
  for (let i = 0; i < 15 && found.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    found = await find();
  }
  return found;
}

/** The upload id in a location. */
function uuidOf(location: string): string {
  return /\/blobs\/uploads\/([^/?]+)/.exec(location)?.[1] ?? '';
}

/** The bytes of one upload race: 300 kB to 1 MB of seeded noise. */
function uploadBytes(rng: Rng): Buffer {
  return rng.bytes(rng.int(300_000, 1_000_000));
}

/** A PATCH of `body` at the start of the upload, with `Content-Range: 0-<n-1>` when `withRange`. */
function patchAtStart(location: string, body: Buffer, withRange: boolean): RawRequest {
  return {
    method: 'PATCH',
    target: location,
    headers: [
      ...OCTET,
      ...(withRange ? ([['Content-Range', `0-${body.length - 1}`]] as [string, string][]) : []),
    ],
    body,
  };
}

/** The PUT that completes the upload at `location` with `body`, claiming `digest`. */
function completion(
  location: string,
  digest: string,
  body: Buffer,
  headers: readonly [string, string][] = OCTET,
): RawRequest {
  return { method: 'PUT', target: withQuery(location, 'digest', digest), headers, body };
}

/** Where a (202) response sends the upload next: its `Location`, else `location`. */
function nextLocation(outcome: Outcome, location: string): string {
  return outcome.kind === 'response'
    ? locationPath(outcome.response.headers.get('location') ?? location)
    : location;
}

/** A refusal a racing loser may get: 416, or 404 BLOB_UPLOAD_UNKNOWN (or 400 DIGEST_INVALID when its digest was wrong). */
function properLoss(outcome: Outcome, digestWrong = false): boolean {
  if (outcome.kind !== 'response') return false;
  const { status } = outcome.response;
  const code = errorCode(outcome.response);
  return (
    status === 416 ||
    (status === 404 && code === 'BLOB_UPLOAD_UNKNOWN') ||
    (digestWrong && status === 400 && code === 'DIGEST_INVALID')
  );
}

/** One of the two requests of an upload race. */
interface Racer {
  readonly server: HostileServer;
  readonly request: RawRequest;
  /** The status that means it won: 202 for a PATCH, 201 for a PUT, 204 for a DELETE. */
  readonly wins: number;
  /** It in a violation, `the losing <loser>`; default: its method. */
  readonly loser?: string;
  /** Its digest is not that of its bytes, so 400 DIGEST_INVALID is a proper refusal too. */
  readonly digestWrong?: boolean;
}

/** What came back to a {@link Racer}. */
interface Raced {
  readonly outcome: Outcome;
  readonly won: boolean;
}

/**
 * Fires two requests on one upload at once ({@link Round.pair}) and checks that at most one of
 * them won and that a loser got a proper refusal ({@link properLoss}). `both` is the violation
 * when both won: what raced, what was expected and its signature. Returns what came back to
 * each, in the order given.
 */
async function race(
  round: Round,
  racers: readonly [Racer, Racer],
  both: { readonly what: string; readonly expected: string; readonly signature: string },
): Promise<[Raced, Raced]> {
  const [a, b] = racers;
  const [oa, ob] = await round.pair([a.server, a.request], [b.server, b.request]);
  const raced: [Raced, Raced] = [
    { outcome: oa, won: statusOf(oa) === a.wins },
    { outcome: ob, won: statusOf(ob) === b.wins },
  ];
  if (raced[0].won && raced[1].won) {
    round.wrong(
      both.what,
      both.expected,
      `${a.request.method} ${describeOutcome(oa)} / ${b.request.method} ${describeOutcome(ob)}`,
      both.signature,
    );
  }
  for (const [{ request, loser, digestWrong = false }, { outcome, won }] of [
    [a, raced[0]],
    [b, raced[1]],
  ] as const) {
    if (won || properLoss(outcome, digestWrong)) continue;
    round.wrong(
      `the losing ${loser ?? request.method}`,
      `416, or 404 BLOB_UPLOAD_UNKNOWN${digestWrong ? ', or 400 DIGEST_INVALID' : ''}`,
      describeOutcome(outcome),
      `${request.method} loser got ${statusOf(outcome)}`,
    );
  }
  return raced;
}

/**
 * Ends an upload after a race: when `over` (a request that ends it won), checks on `server`
 * that it is gone, else cancels it with a DELETE.
 */
async function endUpload(
  round: Round,
  server: HostileServer,
  location: string,
  over: boolean,
  why: string,
): Promise<void> {
  if (over) await checkUploadState(round, server, location, undefined, why);
  else await round.send(serverA, { method: 'DELETE', target: location });
}

/** Checks the blob file of `digest` on disk hashes to its path (when it exists). */
async function checkBlobFile(round: Round, digest: string): Promise<void> {
  const hex = digest.slice('sha256:'.length);
  const path = join(v2Dir(root), 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  const actual = await hashFile(path, 'sha256').catch(() => undefined);
  if (actual !== undefined && actual !== hex)
    round.lost(`blob file ${path}`, `content hashing to ${hex}`, `hashes to ${actual}`, 'blob file corrupt');
}

/** Checks that nothing of the upload is left (visible or pending). */
async function checkLeftovers(
  round: Round,
  repo: string,
  uuid: string,
  digests: readonly string[],
): Promise<void> {
  const found = await settled(() => uploadLeftovers(root, repo, uuid, digests));
  if (found.length > 0)
    round.leftover(`upload ${uuid} in ${repo} after the race settled`, found, 'upload leftovers');
}

/** GET on the upload's location: 204 with `0-<size-1>`, or 404 when `size` is undefined (gone). */
async function checkUploadState(
  round: Round,
  server: HostileServer,
  location: string,
  size: number | undefined,
  why: string,
): Promise<void> {
  const request: RawRequest = { method: 'GET', target: location };
  const outcome = await round.send(server, request);
  if (outcome.kind !== 'response') return;
  const { status, headers } = outcome.response;
  if (size === undefined) {
    if (status !== 404 || errorCode(outcome.response) !== 'BLOB_UPLOAD_UNKNOWN') {
      round.wrong(
        `GET ${location} on ${server.options.label} ${why}`,
        '404 BLOB_UPLOAD_UNKNOWN (the upload is over)',
        describeOutcome(outcome),
        `upload state ${why}: ${status}`,
      );
    }
    return;
  }
  const range = `0-${Math.max(0, size - 1)}`;
  if (status !== 204 || headers.get('range') !== range) {
    round.wrong(
      `GET ${location} on ${server.options.label} ${why}`,
      `204 with Range ${range} (exactly the accepted ${size} bytes)`,
      `${describeOutcome(outcome)}, Range ${headers.get('range') ?? 'none'}`,
      `upload state ${why}: ${status}`,
    );
  }
}

/** Completes an upload and checks the blob is served back; returns whether it worked. */
async function completeAndVerify(
  round: Round,
  server: HostileServer,
  repo: string,
  location: string,
  bytes: Buffer,
  why: string,
): Promise<boolean> {
  const digest = sha256(bytes);
  const request: RawRequest = { method: 'PUT', target: withQuery(location, 'digest', digest) };
  const outcome = await round.send(server, request);
  if (statusOf(outcome) !== 201) {
    round.wrong(
      `completing the upload ${why} (PUT ${request.target} on ${server.options.label})`,
      `201 for the ${bytes.length} accepted bytes`,
      describeOutcome(outcome),
      `completion ${why}: ${statusOf(outcome)}`,
    );
    await round.send(server, { method: 'DELETE', target: location });
    return false;
  }
  await verifyServed(round, repo, digest, `completed ${why}`);
  return true;
}

/** The blob is served by both servers, hashing to its digest. */
async function verifyServed(round: Round, repo: string, digest: string, why: string): Promise<void> {
  for (const server of [serverA, serverB]) {
    for (const problem of await new RegistryClient(server).verifyBlob(repo, digest)) {
      round.lost(
        `blob ${why}, read from ${server.options.label}`,
        'served, hashing to its digest',
        problem,
        `blob not served (${why})`,
      );
    }
  }
  await checkBlobFile(round, digest);
}

/** GET …/blobs/<digest>: must be 404 (a refused request must not have stored it). */
async function checkAbsent(round: Round, repo: string, digest: string, why: string): Promise<void> {
  const outcome = await round.send(serverA, { method: 'HEAD', target: `/v2/${repo}/blobs/${digest}` });
  if (statusOf(outcome) !== 404) {
    round.wrong(
      `HEAD /v2/${repo}/blobs/${digest} ${why}`,
      '404: the request that carried it was refused',
      describeOutcome(outcome),
      `refused blob present (${why})`,
    );
  }
}

/** GET (or `method`) of a manifest by tag or digest, accepting every manifest type the suites push. */
function manifestRequest(repo: string, reference: string, method = 'GET'): RawRequest {
  return { method, target: `/v2/${repo}/manifests/${reference}`, headers: [['Accept', ACCEPT_MANIFESTS]] };
}

/** A race on one upload session, for {@link UPLOAD_RACES}. */
interface UploadRace {
  /** The test's name. */
  readonly title: string;
  /** The scenario's name: its rounds' seeds, labels and finding signatures, its outcome figure. */
  readonly name: string;
  readonly repo: string;
  /**
   * One round on an upload just started on `round.x` at `upload.location`: draws the bytes, races two
   * requests on the upload ({@link race}), checks what the winner left and ends the upload.
   * Returns the digests of the bytes sent (no file of the upload may be left for them).
   */
  readonly run: (
    round: Round,
    upload: { readonly repo: string; readonly location: string },
    i: number,
  ) => Promise<readonly string[]>;
}

/** The races on one upload session, each a test of {@link ROUNDS} rounds. */
const UPLOAD_RACES: readonly UploadRace[] = [
  {
    title: 'PATCH/PATCH on one upload: at most one 202, the upload holds exactly its bytes',
    name: 'PATCH/PATCH',
    repo: 'race/patch-patch',
    run: async (round, { repo, location }, i) => {
      const { rng, x, y } = round;
      const same = i % 2 === 0;
      const b1 = uploadBytes(rng);
      const b2 = same ? b1 : uploadBytes(rng);
      const withRange = rng.chance(0.5);
      const patch = (server: HostileServer, body: Buffer): Racer => ({
        server,
        request: patchAtStart(location, body, withRange),
        wins: 202,
        loser: `PATCH (${body.length} bytes) on ${location}`,
      });
      const [r1, r2] = await race(round, [patch(x, b1), patch(y, b2)], {
        what: `two concurrent PATCHes (${b1.length} and ${b2.length} bytes${same ? ', same body' : ''}) on ${location}`,
        expected: 'at most one 202',
        signature: 'both PATCHes accepted',
      });
      const winners = (
        [
          [r1, b1],
          [r2, b2],
        ] as const
      ).filter(([r]) => r.won);
      if (winners.length > 1) {
        await round.send(serverA, { method: 'DELETE', target: location });
      } else {
        const [winner, accepted = Buffer.alloc(0)] = winners[0] ?? [];
        await checkUploadState(round, serverA, location, accepted.length, 'after the race');
        await checkUploadState(round, serverB, location, accepted.length, 'after the race');
        const next = winner === undefined ? location : nextLocation(winner.outcome, location);
        const server = rng.chance(0.5) ? serverA : serverB;
        if (await completeAndVerify(round, server, repo, next, accepted, 'after PATCH/PATCH'))
          await checkUploadState(round, serverA, location, undefined, 'after completion');
      }
      return [sha256(b1), sha256(b2)];
    },
  },
  {
    title: 'PATCH/PUT on one upload: at most one success, nothing left behind',
    name: 'PATCH/PUT',
    repo: 'race/patch-put',
    run: async (round, { repo, location }) => {
      const { rng, x, y } = round;
      const body = uploadBytes(rng);
      const digest = sha256(body);
      const withRange = rng.chance(0.5);
      const patchFirst = rng.chance(0.5);
      const patch: Racer = {
        server: patchFirst ? x : y,
        request: patchAtStart(location, body, withRange),
        wins: 202,
      };
      const put: Racer = {
        server: patchFirst ? y : x,
        request: completion(location, digest, body),
        wins: 201,
      };
      const [a, b] = await race(round, patchFirst ? [patch, put] : [put, patch], {
        what: `PATCH and PUT (whole blob, ${body.length} bytes) racing on ${location}`,
        expected: 'at most one success',
        signature: 'PATCH and PUT both succeeded',
      });
      const [patched, putWon] = patchFirst ? [a, b] : [b, a];
      if (putWon.won) {
        await verifyServed(round, repo, digest, 'PUT that won the race');
        await checkUploadState(round, serverA, location, undefined, 'after the PUT won');
      } else if (patched.won) {
        await checkUploadState(round, serverB, location, body.length, 'after the PATCH won');
        const next = nextLocation(patched.outcome, location);
        await completeAndVerify(round, serverA, repo, next, body, 'after the PATCH won');
      } else {
        await checkUploadState(round, serverA, location, 0, 'after both lost');
        await round.send(serverA, { method: 'DELETE', target: location });
      }
      return [digest];
    },
  },
  {
    title: 'PUT/PUT on one upload (same digest, different digests, a wrong digest): at most one 201',
    name: 'PUT/PUT',
    repo: 'race/put-put',
    run: async (round, { repo, location }, i) => {
      const { rng, x, y } = round;
      const variant = (['same', 'different', 'wrong-digest'] as const)[i % 3]!;
      const wrongDigest = variant === 'wrong-digest';
      const b1 = uploadBytes(rng);
      const b2 = variant === 'same' ? b1 : uploadBytes(rng);
      const d1 = sha256(b1);
      const d2 = sha256(b2);
      const claimed2 = wrongDigest ? d1 : d2;
      const [r1, r2] = await race(
        round,
        [
          { server: x, request: completion(location, d1, b1), wins: 201, loser: 'PUT (right digest)' },
          {
            server: y,
            request: completion(location, claimed2, b2),
            wins: 201,
            loser: `PUT (${wrongDigest ? 'wrong' : 'right'} digest)`,
            digestWrong: wrongDigest,
          },
        ],
        {
          what: `two PUTs (${variant}) racing on ${location}`,
          expected: 'at most one 201',
          signature: `both PUTs succeeded (${variant})`,
        },
      );
      if (r2.won && wrongDigest) {
        round.lost(
          `PUT of ${b2.length} bytes with the digest of other bytes (${claimed2})`,
          '400 DIGEST_INVALID',
          describeOutcome(r2.outcome),
          'wrong digest accepted',
        );
      }
      if (r1.won) await verifyServed(round, repo, d1, 'PUT that won');
      if (r2.won && !wrongDigest) await verifyServed(round, repo, d2, 'PUT that won');
      if (variant !== 'same') {
        if (!r1.won && d1 !== (r2.won ? claimed2 : ''))
          await checkAbsent(round, repo, d1, 'after its PUT lost');
        if (!r2.won || wrongDigest) await checkAbsent(round, repo, d2, 'after its PUT lost');
      }
      await endUpload(round, serverA, location, r1.won || r2.won, 'after a PUT won');
      return [d1, d2];
    },
  },
  {
    title: 'DELETE/PUT on one upload: at most one success, nothing left behind',
    name: 'DELETE/PUT',
    repo: 'race/delete-put',
    run: async (round, { repo, location: started }, i) => {
      const { rng, x, y } = round;
      let location = started;
      const body = uploadBytes(rng);
      const digest = sha256(body);
      let rest = body;
      const headers: [string, string][] = [...OCTET];
      if (i % 2 === 1) {
        // Half the rounds race on an upload that already holds its first half.
        const half = body.subarray(0, body.length >> 1);
        const patched = await new RegistryClient(x).expect([202], 'PATCH', location, {
          headers: [...OCTET, ['Content-Range', `0-${half.length - 1}`]],
          body: half,
        });
        location = locationPath(patched.headers.get('location') ?? location);
        rest = body.subarray(half.length);
        headers.push(['Content-Range', `${half.length}-${body.length - 1}`]);
      }
      const [deleted, put] = await race(
        round,
        [
          { server: x, request: { method: 'DELETE', target: location }, wins: 204 },
          { server: y, request: completion(location, digest, rest, headers), wins: 201 },
        ],
        {
          what: `DELETE and PUT racing on ${location}`,
          expected: 'at most one success',
          signature: 'DELETE and PUT both succeeded',
        },
      );
      if (put.won) await verifyServed(round, repo, digest, 'PUT that won against a DELETE');
      else await checkAbsent(round, repo, digest, 'after the DELETE won');
      await endUpload(round, serverB, location, deleted.won || put.won, 'after the race');
      return [digest];
    },
  },
];

describe.skipIf(cliMissing !== undefined)(
  `races: two Berth processes on one root, ${ROUNDS} seeded rounds per scenario (seed ${settings.seed})${cliMissing ? ` (skipped: ${cliMissing})` : ''}`,
  () => {
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'berth-hostile-race-'));
      root = join(work, 'root');
      [serverA, serverB] = await Promise.all([
        HostileServer.start({ label: 'A', rootDirectory: root, secret: SECRET }),
        HostileServer.start({ label: 'B', rootDirectory: root, secret: SECRET }),
      ]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([serverA?.stop(), serverB?.stop()]);
      const problems = [...(serverA?.problems ?? []), ...(serverB?.problems ?? [])];
      printFigures('race', [
        ['seed', settings.seed],
        ['rounds per scenario', ROUNDS],
        ['inputs tried (racing pairs)', figures.pairs],
        ['wrong answers', figures.wrong],
        ['error responses without the OCI envelope', counts.envelopes],
        ['5xx', counts.fiveHundreds],
        ['no response', counts.noResponse],
        ['crashes (server exits)', figures.crashes],
        ['data lost', figures.lost],
        ['uploads leaving files behind', figures.leftovers],
        ['gc runs during pushes', figures.gcRuns],
        ['pushes acknowledged during gc', figures.gcPushes],
        ['pushes refused cleanly by gc (MANIFEST_BLOB_UNKNOWN, retried)', figures.gcRefusals],
        ['server log problems', problems.length],
        ...[...tallies].map(
          ([name, tally]) =>
            [
              `${name} outcomes (status pairs, 0 = no response)`,
              [...tally].map(([key, n]) => `${key} ×${n}`).join(', '),
            ] as const,
        ),
      ]);
      for (const problem of problems.slice(0, 20))
        console.log(`[hostile race] log problem (${problem.server}): ${problem.line}`);
      writeReport('race', { settings, violations: allViolations.list, extra: { problems } });
      if (work !== undefined) await rm(work, { recursive: true, force: true, maxRetries: 3 });
    }, 60_000);

    const assertClean = (name: string, v: Violations): void => {
      expect(v.count(), v.format(`race ${name} (BERTH_HOSTILE_SEED=${settings.seed})`)).toBe(0);
    };

    for (const { title, name, repo, run } of UPLOAD_RACES) {
      it(title, async () => {
        const v = await scenario(name, async (round, i) => {
          const location = await new RegistryClient(round.x).startUpload(repo);
          const digests = await run(round, { repo, location }, i);
          await checkLeftovers(round, repo, uuidOf(location), digests);
        });
        assertClean(name, v);
      }, 180_000);
    }

    it('manifest PUT/DELETE and PUT/PUT on one tag: the tag ends on a manifest that won, both servers agree', async () => {
      const repo = 'race/tags';
      const client = new RegistryClient(serverA);
      const layer = blobOf(new Rng(settings.seed ^ hashSeed('race:tags:layer')).bytes(20_000));
      const manifests: ManifestBytes[] = [];
      const pushedLayer = await client.pushBlob(repo, layer.bytes, 'monolithic');
      if (statusOf(pushedLayer) !== 201)
        throw new Error(`setup: layer push failed: ${describeOutcome(pushedLayer)}`);
      for (let k = 0; k < 6; k++) {
        const config = configBlob(`race-tags-${k}-${settings.seed}`);
        const pushed = await client.pushBlob(repo, config.bytes, 'post');
        if (statusOf(pushed) !== 201)
          throw new Error(`setup: config push failed: ${describeOutcome(pushed)}`);
        manifests.push(imageManifest(config, [layer]));
      }
      const putRequest = (tag: string, manifest: ManifestBytes): RawRequest => ({
        method: 'PUT',
        target: `/v2/${repo}/manifests/${tag}`,
        headers: [['Content-Type', manifest.mediaType]],
        body: manifest.bytes,
      });
      const v = await scenario('manifest PUT/DELETE, PUT/PUT', async (round, i) => {
        const { x, y } = round;
        const tag = `t${i}`;
        const prev = manifests[i % manifests.length]!;
        await new RegistryClient(x).expect([201], 'PUT', `/v2/${repo}/manifests/${tag}`, {
          headers: [['Content-Type', prev.mediaType]],
          body: prev.bytes,
        });
        const a = manifests[(i + 1) % manifests.length]!;
        const b = manifests[(i + 2) % manifests.length]!;
        const withDelete = i % 2 === 0;
        const second: RawRequest = withDelete
          ? { method: 'DELETE', target: `/v2/${repo}/manifests/${tag}` }
          : putRequest(tag, b);
        const [oa, ob] = await round.pair([x, putRequest(tag, a)], [y, second]);
        const allowed = new Set<string>();
        let absentAllowed = false;
        const puts: [Outcome, ManifestBytes][] = withDelete
          ? [[oa, a]]
          : [
              [oa, a],
              [ob, b],
            ];
        for (const [outcome, manifest] of puts) {
          if (statusOf(outcome) === 201) allowed.add(manifest.digest);
          else
            round.wrong(
              `PUT of a valid manifest to ${tag}, racing`,
              '201',
              describeOutcome(outcome),
              `racing manifest PUT got ${statusOf(outcome)}`,
            );
        }
        if (withDelete) {
          const status = statusOf(ob);
          if (status === 202) absentAllowed = true;
          else if (
            !(
              status === 404 &&
              ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN'].includes(
                errorCode((ob as { response: RawResponse }).response) ?? '',
              )
            )
          ) {
            round.wrong(
              `DELETE of tag ${tag}, racing a PUT`,
              '202, or 404 MANIFEST_UNKNOWN',
              describeOutcome(ob),
              `racing tag DELETE got ${status}`,
            );
          }
        }
        if (allowed.size === 0 && !absentAllowed) allowed.add(prev.digest);
        const seen: string[] = [];
        for (const server of [serverA, serverB]) {
          const got = await round.send(server, manifestRequest(repo, tag));
          if (got.kind !== 'response') continue;
          const { status, body, headers } = got.response;
          if (status === 404) {
            seen.push('absent');
            if (!absentAllowed)
              round.wrong(
                `GET tag ${tag} on ${server.options.label} after the race`,
                `one of ${[...allowed].join(', ')}`,
                describeOutcome(got),
                'tag absent without a DELETE',
              );
            continue;
          }
          const digest = sha256(body);
          seen.push(digest);
          if (status !== 200 || !allowed.has(digest) || headers.get('docker-content-digest') !== digest) {
            round.wrong(
              `GET tag ${tag} on ${server.options.label} after the race`,
              `200 with one of ${[...allowed, ...(absentAllowed ? ['(absent)'] : [])].join(', ')}`,
              `${describeOutcome(got)} hashing to ${digest}, Docker-Content-Digest ${headers.get('docker-content-digest')}`,
              'tag on a manifest that did not win',
            );
            continue;
          }
          const byDigest = await round.send(server, manifestRequest(repo, digest));
          if (
            byDigest.kind === 'response' &&
            (byDigest.response.status !== 200 || !byDigest.response.body.equals(body))
          ) {
            round.wrong(
              `GET ${repo}@${digest} on ${server.options.label}`,
              '200 with the bytes the tag serves',
              describeOutcome(byDigest),
              'by digest differs from by tag',
            );
          }
          const head = await round.send(server, manifestRequest(repo, tag, 'HEAD'));
          if (head.kind === 'response' && head.response.headers.get('docker-content-digest') !== digest) {
            round.wrong(
              `HEAD tag ${tag} on ${server.options.label}`,
              `Docker-Content-Digest ${digest}`,
              describeOutcome(head),
              'HEAD differs from GET',
            );
          }
        }
        if (seen.length === 2 && seen[0] !== seen[1]) {
          round.wrong(
            `tag ${tag} read from A and from B`,
            'the same answer',
            `A: ${seen[0]}, B: ${seen[1]}`,
            'servers disagree on a tag',
          );
        }
        const tags = await round.send(serverB, { method: 'GET', target: `/v2/${repo}/tags/list?n=1000` });
        if (tags.kind === 'response' && tags.response.status === 200 && seen.length > 0) {
          const listed = (
            (JSON.parse(tags.response.body.toString()) as { tags?: string[] }).tags ?? []
          ).includes(tag);
          if (listed !== (seen[0] !== 'absent')) {
            round.wrong(
              `tags/list after the race on ${tag}`,
              seen[0] === 'absent' ? `no ${tag}` : `${tag} listed`,
              tags.response.body.toString().slice(0, 300),
              'tags/list disagrees with GET',
            );
          }
        }
        for (const digest of allowed) {
          if (digest === prev.digest && allowed.size === 1) continue;
          const got = await round.send(serverB, manifestRequest(repo, digest));
          if (statusOf(got) !== 200)
            round.lost(
              `manifest ${digest} whose PUT got 201`,
              '200 by digest',
              describeOutcome(got),
              'acknowledged manifest missing',
            );
        }
      });
      assertClean('manifest PUT/DELETE, PUT/PUT', v);
    }, 180_000);

    it(`berth gc (--delete-untagged --grace 0s) over ${GC_SECONDS} s of pushes to both servers: every tagged image pulls in full`, async () => {
      const v = new Violations();
      const label = 'gc during pushes';
      const configFile = join(work, 'gc-config.yml');
      // For `berth gc`, which never listens: port 0 names no port anyone could collide on.
      await writeFile(configFile, filesystemConfigYaml({ rootDirectory: root, port: 0, secret: SECRET }));
      const pool: { repo: string; blob: Blob }[] = [];
      const latest = new Map<string, { digest: string; manifest: ManifestBytes }>();
      const deadline = performance.now() + GC_SECONDS * 1000;
      let pushing = true;
      const send2 = async (server: HostileServer, request: RawRequest, what: string): Promise<Outcome> => {
        const outcome = await send(server.endpoint, request, { timeoutMs: 30_000 });
        judge(v, counts, `${label} (${what}, ${server.options.label})`, request, outcome);
        return outcome;
      };
      /** Uploads a blob, the PATCHes of a chunked upload alternating between the servers. */
      const upload = async (rng: Rng, home: HostileServer, repo: string, blob: Blob): Promise<boolean> => {
        const other = home === serverA ? serverB : serverA;
        const started = await send2(
          home,
          { method: 'POST', target: `/v2/${repo}/blobs/uploads/` },
          'upload start',
        );
        if (statusOf(started) !== 202) return false;
        let location = locationPath(
          (started as { response: RawResponse }).response.headers.get('location') ?? '',
        );
        if (rng.chance(0.5)) {
          const put = await send2(
            other,
            {
              method: 'PUT',
              target: withQuery(location, 'digest', blob.digest),
              headers: OCTET,
              body: blob.bytes,
            },
            'monolithic PUT',
          );
          return statusOf(put) === 201;
        }
        const size = 64 * 1024;
        for (let offset = 0, n = 0; offset < blob.bytes.length; offset += size, n++) {
          const chunk = blob.bytes.subarray(offset, offset + size);
          const patched = await send2(
            n % 2 === 0 ? other : home,
            {
              method: 'PATCH',
              target: location,
              headers: [...OCTET, ['Content-Range', `${offset}-${offset + chunk.length - 1}`]],
              body: chunk,
            },
            'chunk',
          );
          if (statusOf(patched) !== 202) return false;
          location = locationPath(
            (patched as { response: RawResponse }).response.headers.get('location') ?? '',
          );
        }
        const done = await send2(
          home,
          { method: 'PUT', target: withQuery(location, 'digest', blob.digest) },
          'final PUT',
        );
        return statusOf(done) === 201;
      };
      const pusher = async (j: number): Promise<void> => {
        const rng = new Rng(settings.seed ^ hashSeed(`race:gc:${j}`));
        const home = j % 2 === 0 ? serverA : serverB;
        const repo = `race/gc${j}`;
        for (let k = 0; performance.now() < deadline; k++) {
          const tag = `t${k % 3}`;
          const config = configBlob(`gc-${j}-${k}-${rng.hex(6)}`);
          const layers: { repo: string; blob: Blob }[] = [];
          for (let n = rng.int(1, 3); n > 0; n--) {
            layers.push(
              pool.length > 0 && rng.chance(0.4)
                ? rng.pick(pool)
                : { repo, blob: blobOf(rng.bytes(rng.logInt(2_000, 300_000))) },
            );
          }
          const manifest = imageManifest(
            config,
            layers.map((l) => l.blob),
          );
          for (let attempt = 1; attempt <= 4; attempt++) {
            let uploaded = true;
            for (const { repo: from, blob } of [{ repo, blob: config }, ...layers]) {
              if (attempt === 1 && from !== repo && rng.chance(0.5)) {
                const mounted = await send2(
                  home,
                  { method: 'POST', target: `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}` },
                  'mount',
                );
                if (statusOf(mounted) === 201) continue;
              }
              if (attempt === 1 && rng.chance(0.5)) {
                const head = await send2(
                  home,
                  { method: 'HEAD', target: `/v2/${repo}/blobs/${blob.digest}` },
                  'blob HEAD',
                );
                if (statusOf(head) === 200) continue;
              }
              if (!(await upload(rng, home, repo, blob))) uploaded = false;
            }
            const put = await send2(
              rng.chance(0.5) ? serverA : serverB,
              {
                method: 'PUT',
                target: `/v2/${repo}/manifests/${tag}`,
                headers: [['Content-Type', manifest.mediaType]],
                body: manifest.bytes,
              },
              'manifest PUT',
            );
            if (statusOf(put) === 201) {
              figures.gcPushes++;
              latest.set(`${repo}:${tag}`, { digest: manifest.digest, manifest });
              for (const layer of layers) if (layer.repo === repo && pool.length < 200) pool.push(layer);
              break;
            }
            const code = put.kind === 'response' ? errorCode(put.response) : undefined;
            if (statusOf(put) === 400 && (code === 'MANIFEST_BLOB_UNKNOWN' || code === 'BLOB_UNKNOWN')) {
              figures.gcRefusals++;
              continue;
            }
            figures.wrong++;
            v.add(
              'wrong-answer',
              `${label}: PUT /v2/${repo}/manifests/${tag}${uploaded ? '' : ' (after a failed blob upload)'}`,
              '201, or 400 MANIFEST_BLOB_UNKNOWN while gc has a blob set aside',
              describeOutcome(put),
              'gc: manifest PUT refused',
            );
            break;
          }
        }
      };
      const runs: CliRun[] = [];
      const gc = (): Promise<CliRun> =>
        runBerthCli(['gc', configFile, '--delete-untagged', '--grace', '0s', '--settle', '1s', '--json']);
      /** gc again and again while the pushers push, then once more after the last push. */
      const collector = async (): Promise<void> => {
        while (pushing) runs.push(await gc());
        runs.push(await gc());
      };
      const gcLoop = collector();
      await Promise.all(Array.from({ length: GC_PUSHERS }, (_, j) => pusher(j)));
      pushing = false;
      await gcLoop;
      figures.gcRuns = runs.length;
      for (const run of runs) {
        if (run.code !== 0) {
          figures.wrong++;
          v.add(
            'gc-failed',
            `berth ${run.args.join(' ')}`,
            'exit status 0',
            `exit ${run.code}: ${run.stderr.slice(-1_500)}`,
            'gc exit status',
          );
        }
      }
      await checkServers(v, label);
      for (const [key, { digest, manifest }] of latest) {
        const [repo = '', tag = ''] = key.split(':');
        for (const server of [serverA, serverB]) {
          for (const problem of await new RegistryClient(server).verifyPull(repo, tag, {
            digest,
            bytes: manifest.bytes,
          })) {
            figures.lost++;
            v.add(
              'data-lost',
              `${label}: image ${key} (last 201 to this tag), pulled from ${server.options.label}`,
              'pullable in full',
              problem,
              'gc: tagged image incomplete',
            );
          }
        }
      }
      const verify = await runBerthCli(['verify', configFile]);
      if (verify.code !== 0) {
        figures.lost++;
        v.add(
          'data-lost',
          `${label}: berth verify ${configFile}`,
          'exit 0: nothing corrupt or missing',
          `exit ${verify.code}:\n${verify.stdout.slice(-2_000)}${verify.stderr.slice(-500)}`,
          'gc: verify',
        );
      }
      allViolations.list.push(...v.list);
      assertClean('gc during pushes', v);
    }, 240_000);

    it('leaves every blob on the shared root hashing to its path, and both servers clean', async () => {
      const v = new Violations();
      const rehash = await rehashBlobs(root);
      for (const mismatch of rehash.mismatches) {
        figures.lost++;
        v.add(
          'data-lost',
          `blob file ${mismatch.path}`,
          'content hashing to the digest in its path',
          mismatch.actual,
          'blob file corrupt',
        );
      }
      await checkServers(v, 'the race suite');
      for (const server of [serverA, serverB]) {
        server.pollLogs();
        for (const problem of server.problems)
          v.add(
            'log-problem',
            `server ${problem.server} output`,
            'no uncaught exception, no error-level log line',
            problem.line,
          );
      }
      allViolations.list.push(...v.list);
      console.log(
        `[hostile race] blobs re-hashed: ${rehash.checked} (${(rehash.bytes / 1048576).toFixed(1)} MiB)`,
      );
      assertClean('final state', v);
    }, 120_000);
  },
);
