// The measurements behind the figures in README.md. Not a test; run from the package directory:
//   node --conditions=@berth/source test/bench.ts [seconds per scenario, default 3]
// 1. bcrypt cost per comparison at cost 10 and 12 (bcryptjs, on the main thread and in the pool).
//    The load generator runs in the same process as the server, so the req/s figures are a lower
//    bound on what the server alone would do.
// 2. An HTTP server (node:http + the registry app + htpasswd auth, cost 10) under load:
//    valid cached credentials; bad passwords (throttling off = the raw bcrypt bound); a
//    bad-password flood from one client (throttling on); and the latency of valid requests while
//    a flood of bad passwords with rotating user names runs — with bcrypt in the worker pool, and
//    for contrast with bcrypt on the event loop.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAuthMiddleware,
  createBasicAccessController,
  createRegistryApp,
  type Registry,
} from '@berth/registry-core';
import bcrypt from 'bcryptjs';
import { BcryptPool } from '../src/bcrypt-pool.ts';
import { type HtpasswdOptions, openHtpasswd } from '../src/htpasswd.ts';

const seconds = Number(process.argv[2] ?? '3');

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${availableParallelism()}, Node ${process.version}`);

// 1. bcrypt per comparison.
for (const cost of [10, 12]) {
  const hash = bcrypt.hashSync('secret', cost);
  bcrypt.compareSync('warm', hash);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    bcrypt.compareSync('secret', hash);
    times.push(performance.now() - start);
  }
  const pool = new BcryptPool({ size: 1 });
  await pool.compare('warm', hash);
  const pooled: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    await pool.compare('secret', hash);
    pooled.push(performance.now() - start);
  }
  await pool.close();
  console.log(
    `bcrypt cost ${cost}: ${round(percentile(times, 50))} ms per comparison on the main thread, ` +
      `${round(percentile(pooled, 50))} ms through the worker pool (median of 5)`,
  );
}

// 2. The server.
const dir = await mkdtemp(join(tmpdir(), 'berth-htpasswd-bench-'));
const path = join(dir, 'htpasswd');
await writeFile(path, `ci:${bcrypt.hashSync('ci-password', 10)}\n`);

/** bcrypt on the event loop, for contrast (what not to do). */
class MainThreadPool extends BcryptPool {
  override compare(password: string, hash: string): Promise<boolean> {
    return Promise.resolve(bcrypt.compareSync(password, hash));
  }
}

async function startServer(
  options: Partial<HtpasswdOptions>,
  auth = true,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const htpasswd = await openHtpasswd({ path, ...options });
  const app = createRegistryApp({
    registry: {} as Registry, // GET /v2/ never touches it
    secret: 'bench',
    middleware: auth
      ? [createAuthMiddleware(createBasicAccessController({ realm: 'bench', verifier: htpasswd }))]
      : [],
  });
  const server = createServer(async (req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string') headers.set(name, value);
    const response = await app.fetch(new Request(`http://localhost${req.url}`, { headers }), {
      incoming: req,
      outgoing: res,
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await htpasswd.close();
    },
  };
}

interface LoadResult {
  requests: number;
  perSecond: number;
  statuses: Record<number, number>;
  latencies: number[];
}

/** `concurrency` clients sending GET /v2/ with `auth(i)` for `durationMs`. */
async function load(
  url: string,
  concurrency: number,
  durationMs: number,
  auth: (i: number) => string,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: Record<number, number> = {};
  const latencies: number[] = [];
  let n = 0;
  const end = performance.now() + durationMs;
  const one = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const start = performance.now();
      const req = request(`${url}/v2/`, { agent, headers: { Authorization: auth(i) } }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - start);
          statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await one(n++);
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();
  return {
    requests: latencies.length,
    perSecond: Math.round(latencies.length / (elapsed / 1000)),
    statuses,
    latencies,
  };
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const describe = (r: LoadResult): string =>
  `${String(r.perSecond).padStart(6)} req/s, p50 ${round(percentile(r.latencies, 50))} ms, p99 ${round(percentile(r.latencies, 99))} ms, statuses ${JSON.stringify(r.statuses)}`;

try {
  const durationMs = seconds * 1000;
  {
    const s = await startServer({}, false);
    console.log(
      `baseline: no auth, 16 clients:                                ${describe(await load(s.url, 16, durationMs, () => ''))}`,
    );
    await s.close();
  }
  {
    const s = await startServer({});
    console.log(
      `valid credentials (cached after the first), 16 clients:      ${describe(await load(s.url, 16, durationMs, () => basic('ci', 'ci-password')))}`,
    );
    await s.close();
  }
  {
    const s = await startServer({ throttle: false });
    console.log(
      `bad passwords, throttling off (raw bcrypt bound), 16 clients: ${describe(await load(s.url, 16, durationMs, (i) => basic('ci', `wrong-${i}`)))}`,
    );
    await s.close();
  }
  {
    const s = await startServer({});
    console.log(
      `bad passwords from one client, throttling on, 16 clients:    ${describe(await load(s.url, 16, durationMs, (i) => basic('ci', `wrong-${i}`)))}`,
    );
    await s.close();
  }
  for (const [label, pool] of [
    ['worker pool', undefined],
    ['bcrypt on the event loop', new MainThreadPool({ size: 1 })],
  ] as const) {
    const s = await startServer(pool === undefined ? {} : { pool });
    // The CI job logged in before the flood started: its credentials are cached.
    await load(s.url, 1, 200, () => basic('ci', 'ci-password'));
    const flood = load(s.url, 32, durationMs, (i) => basic(`attacker-${i}`, `guess-${i}`));
    const valid = await load(s.url, 4, durationMs, () => basic('ci', 'ci-password'));
    const attack = await flood;
    console.log(`valid requests during a rotating-user flood (${label}): ${describe(valid)}`);
    console.log(`  the flood itself: ${describe(attack)}`);
    await s.close();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
