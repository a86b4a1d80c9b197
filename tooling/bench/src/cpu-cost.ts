/**
 * Per-request CPU cost of a server: the CPU time (user + system, from `/proc/<pid>/stat`) the
 * server process spends on a counted batch of identical requests, divided by their number.
 * Comparing it with the cost of a trivial `node:http` handler measured the same way, by the
 * same client, in the same run, gives a ratio that is far less sensitive to the machine (its
 * speed, its other load) than a throughput or an absolute time.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

/**
 * CPU seconds (user + system) of process `pid` so far, from `/proc/<pid>/stat` (fields 14 and
 * 15, in clock ticks; Linux reports them in USER_HZ, which is 100 on every architecture).
 * @throws when `/proc` is unavailable (not Linux) or the process is gone.
 */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (utime + stime) / 100;
}

/** What to request, and how often. */
export interface LoadSpec {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Requests in the measured batch. */
  readonly requests: number;
  /** Requests in flight (keep-alive connections). */
  readonly concurrency: number;
  /** Unmeasured requests first (JIT warm-up, connections). @default requests / 5 */
  readonly warmup?: number;
  /** Throws on a wrong response; default: status 200 required. */
  readonly check?: (status: number, body: Buffer) => void;
}

/** The outcome of {@link measureCpuPerRequest}. */
export interface CpuCost {
  readonly requests: number;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  /** Server CPU microseconds per request. */
  readonly microsPerRequest: number;
}

/** Sends `count` GETs, `concurrency` at a time, over `agent`'s keep-alive connections. */
async function load(spec: LoadSpec, agent: Agent, count: number): Promise<void> {
  const target = new URL(spec.url);
  const check =
    spec.check ??
    ((status: number) => {
      if (status !== 200) throw new Error(`GET ${spec.url}: HTTP ${status}`);
    });
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          headers: spec.headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () => {
            try {
              check(res.statusCode ?? 0, Buffer.concat(chunks));
              resolve();
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      req.once('error', reject);
      req.end();
    });
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, count) }, worker));
}

/**
 * Measures the CPU time server `pid` spends per request of `spec` (after an unmeasured warm-up).
 *
 * @example
 * ```ts
 * const cost = await measureCpuPerRequest(pid, { url: `${url}/v2/a/manifests/v1`, requests: 10_000, concurrency: 64 });
 * cost.microsPerRequest; // e.g. 180
 * ```
 */
export async function measureCpuPerRequest(pid: number, spec: LoadSpec): Promise<CpuCost> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  try {
    await load(spec, agent, spec.warmup ?? Math.ceil(spec.requests / 5));
    const cpu0 = processCpuSeconds(pid);
    const t0 = performance.now();
    await load(spec, agent, spec.requests);
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpuSeconds = processCpuSeconds(pid) - cpu0;
    return {
      requests: spec.requests,
      cpuSeconds,
      wallSeconds,
      microsPerRequest: (cpuSeconds / spec.requests) * 1e6,
    };
  } finally {
    agent.destroy();
  }
}

/** A trivial server started by {@link startTrivialServer}. */
export interface TrivialServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The trivial server: one `node:http` handler answering every request with fixed bytes and headers. */
const TRIVIAL_SERVER = `
const http = require('node:http');
const { body, headers } = JSON.parse(process.env.TRIVIAL_RESPONSE);
const bytes = Buffer.from(body, 'base64');
const server = http.createServer((req, res) => {
  res.writeHead(200, { ...headers, 'content-length': bytes.length });
  res.end(req.method === 'HEAD' ? undefined : bytes);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Starts the trivial handler in a child Node process (as a registry would run), answering with
 * `body` and `headers`, on a free 127.0.0.1 port.
 */
export function startTrivialServer(
  body: Uint8Array,
  headers: Readonly<Record<string, string>>,
): Promise<TrivialServer> {
  const child = spawn(process.execPath, ['-e', TRIVIAL_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      TRIVIAL_RESPONSE: JSON.stringify({ body: Buffer.from(body).toString('base64'), headers }),
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error('trivial server did not start within 10 s')), 10_000);
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`trivial server exited with ${code}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (settled || !out.includes('\n') || line === undefined || child.pid === undefined) return;
      settled = true;
      clearTimeout(timer);
      const pid = child.pid;
      resolve({
        url: `http://127.0.0.1:${line.trim()}`,
        pid,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            process.kill(pid, 'SIGTERM');
            await exited;
          }
        },
      });
    });
  });
}

/** A manifest pushed by {@link pushTestImage}. */
export interface PushedManifest {
  /** `/v2/<repo>/manifests/<tag>` */
  readonly path: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function pushBlob(base: string, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const post = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const location = post.headers.get('location');
  if (post.status !== 202 || location === null) throw new Error(`POST upload: HTTP ${post.status}`);
  const put = new URL(location, base);
  put.searchParams.set('digest', digest);
  const res = await fetch(put, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (res.status !== 201) throw new Error(`PUT blob: HTTP ${res.status} ${await res.text()}`);
  return digest;
}

/** Pushes a small OCI image (config, one 4 KiB layer, manifest tagged `tag`) to `repo`. */
export async function pushTestImage(base: string, repo: string, tag: string): Promise<PushedManifest> {
  const config = new TextEncoder().encode(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const layer = randomBytes(4096);
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: await pushBlob(base, repo, config),
      size: config.byteLength,
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: await pushBlob(base, repo, layer),
        size: layer.byteLength,
      },
    ],
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const path = `/v2/${repo}/manifests/${tag}`;
  const res = await fetch(`${base}${path}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': mediaType },
  });
  if (res.status !== 201) throw new Error(`PUT manifest: HTTP ${res.status} ${await res.text()}`);
  return { path, digest: sha256(bytes), mediaType, bytes };
}
