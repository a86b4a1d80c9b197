/**
 * A throw-away one-node Ceph cluster with an S3 gateway, for tests of the S3 storage driver:
 * one monitor, one OSD on `memstore` (data in RAM, nothing on disk but logs and the monitor's
 * small store), and `radosgw` — all bound to 127.0.0.1 on free ports, in a temp dir, run in the
 * foreground as children of the test process and stopped by PID (radosgw, then the OSD, then the
 * monitor). Needs Debian's `radosgw`, `ceph-mon` and `ceph-osd` (which bring `ceph`,
 * `monmaptool` and `radosgw-admin`). Ready in about 15 s; about 250 MB of RAM plus the data.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { keepAtExit, killAtExit, removeAtExit } from './exit-cleanup.ts';
import { freePort, OutputTail, waitForHttp } from './process.ts';
import { which } from './tools.ts';

const run = promisify(execFile);

/** Options of {@link startRadosgw}. */
export interface RadosgwOptions {
  /** Access key of the S3 user that is created. @default 'BERTHTESTACCESSKEY' */
  accessKey?: string;
  /** Secret key of that user. @default 'berth-test-secret-key' */
  secretKey?: string;
  /** Buckets to create once the gateway is up. @default [] */
  buckets?: readonly string[];
  /** Capacity of the in-memory OSD; writes fail when it is nearly full. @default 4 GiB */
  memstoreBytes?: number;
  /** How long startup may take before it is abandoned. @default 90 s */
  startTimeoutMs?: number;
}

/** A running radosgw, from {@link startRadosgw}. */
export interface RunningRadosgw {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly endpoint: string;
  /** The region to sign requests for (radosgw accepts any; this is the one to use). */
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** PIDs of the three daemons. */
  readonly pids: { readonly mon: number; readonly osd: number; readonly rgw: number };
  /** The temp dir holding the cluster's config, logs and monitor store. */
  readonly dir: string;
  /** Creates a bucket (`PUT /<bucket>`, SigV4-signed); an existing bucket of ours is fine. */
  createBucket(bucket: string): Promise<void>;
  /** The last lines the daemons wrote to stdout/stderr. */
  logs(lines?: number): string;
  /**
   * radosgw's access log so far: one `beast:` line per request with the client address, the
   * user, the request line (a presigned request shows `X-Amz-Signature` in its query), the
   * status, the response size and the user agent.
   */
  accessLog(): Promise<string[]>;
  /** Runs `radosgw-admin` on this cluster (e.g. `['bucket', 'list', '--bucket=b']`) and returns its stdout. */
  admin(args: readonly string[]): Promise<string>;
  /** Stops radosgw, the OSD and the monitor (in that order) by PID and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const CEPH_TOOLS = ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph', 'monmaptool', 'radosgw-admin'];

/** Why radosgw cannot be started here (a tool is missing), or `undefined`. */
export function radosgwMissingTools(): string[] {
  return CEPH_TOOLS.filter((tool) => which(tool) === undefined);
}

function cephConf(
  dir: string,
  fsid: string,
  monPort: number,
  rgwPort: number,
  memstoreBytes: number,
): string {
  return `[global]
fsid = ${fsid}
mon host = [v1:127.0.0.1:${monPort}]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
paxos propose interval = 0.05
paxos min wait = 0.01
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
osd op num shards = 1
osd op num threads per shard = 2
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
mon data = ${dir}/mon/$name
osd data = ${dir}/osd0
keyring = ${dir}/keyring
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw data = ${dir}/rgw
rgw thread pool size = 64
rgw dynamic resharding = false
rgw override bucket index max shards = 1
`;
}

/**
 * Starts a one-node Ceph cluster and radosgw on 127.0.0.1, creates an S3 user (and `buckets`),
 * and returns once the gateway answers. Always `stop()` it (`afterAll` / `finally`).
 *
 * @example
 * ```ts
 * const rgw = await startRadosgw({ buckets: ['registry'] });
 * try {
 *   // rgw.endpoint, rgw.accessKey, rgw.secretKey, rgw.region
 * } finally {
 *   await rgw.stop();
 * }
 * ```
 * @throws {Error} naming the Debian packages to install when a Ceph tool is missing, or with the
 *   daemons' last log lines when the cluster does not come up in time.
 */
export async function startRadosgw(options: RadosgwOptions = {}): Promise<RunningRadosgw> {
  const missing = radosgwMissingTools();
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not found on PATH (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd)`,
    );
  }
  const accessKey = options.accessKey ?? 'BERTHTESTACCESSKEY';
  const secretKey = options.secretKey ?? 'berth-test-secret-key';
  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  const dir = await mkdtemp(join(tmpdir(), 'berth-rgw-'));
  removeAtExit(dir);
  const tail = new OutputTail(100);
  const children: { name: string; child: ChildProcess }[] = [];
  const [monPort, rgwPort] = await Promise.all([freePort(), freePort()]);
  const conf = join(dir, 'ceph.conf');
  const C = ['-c', conf];

  const left = (): number => {
    const ms = deadline - Date.now();
    if (ms <= 0) throw new Error('radosgw did not come up in time');
    return ms;
  };
  const tool = async (command: string, args: string[]): Promise<string> => {
    const { stdout } = await run(command, args, { timeout: Math.min(left(), 30_000), encoding: 'utf8' });
    return stdout;
  };
  /** Retries a CLI call that needs the monitor until it answers (it starts asynchronously). */
  const toolWhenUp = async (command: string, args: string[]): Promise<string> => {
    for (;;) {
      try {
        return await tool(command, args);
      } catch (error) {
        if (Date.now() + 200 >= deadline) throw error;
        await sleep(200);
      }
    }
  };
  const daemon = (name: string, command: string, args: string[]): ChildProcess => {
    const child = spawn(command, [...C, '-f', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
    killAtExit(child);
    children.push({ name, child });
    return child;
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // radosgw first (it holds RADOS clients), then the OSD, then the monitor.
      for (const { child } of [...children].reverse()) await stopChild(child);
      await rm(dir, { recursive: true, force: true });
      keepAtExit(dir);
    })();
    return stopping;
  };

  try {
    await Promise.all(['mon', 'osd0', 'run', 'log', 'rgw'].map((sub) => mkdir(join(dir, sub))));
    await writeFile(join(dir, 'keyring'), '');
    const fsid = randomUUID();
    await writeFile(
      conf,
      cephConf(dir, fsid, monPort, rgwPort, options.memstoreBytes ?? 4 * 1024 * 1024 * 1024),
    );
    const monmap = join(dir, 'monmap');
    await tool('monmaptool', [
      '--create',
      '--addv',
      'a',
      `[v1:127.0.0.1:${monPort}]`,
      '--fsid',
      fsid,
      monmap,
    ]);
    await tool('ceph-mon', [...C, '--mkfs', '-i', 'a', '--monmap', monmap]);
    daemon('ceph-mon', 'ceph-mon', ['-i', 'a']);
    const osdUuid = randomUUID();
    const osdId = (await toolWhenUp('ceph', [...C, 'osd', 'create', osdUuid])).trim();
    await tool('ceph-osd', [...C, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    // Place the OSD in the CRUSH map ourselves (creating the host bucket), so it need not
    // update its own location at start. Retried like the first call: on a loaded machine the
    // monitor can still refuse commands here ("problem getting command descriptions from
    // mon"); the command is idempotent.
    await toolWhenUp('ceph', [
      ...C,
      'osd',
      'crush',
      'add',
      `osd.${osdId}`,
      '1.0',
      'root=default',
      'host=localhost',
    ]);
    daemon('ceph-osd', 'ceph-osd', ['-i', osdId]);
    daemon('radosgw', 'radosgw', ['-n', 'client.rgw']);
    const exited = Promise.race(
      children.map(
        ({ name, child }) =>
          new Promise<never>((_, reject) => {
            child.once('exit', (code, signal) =>
              reject(new Error(`${name} exited (${signal ?? `code ${code}`})`)),
            );
          }),
      ),
    );
    exited.catch(() => {});
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitForHttp(`${endpoint}/`, left(), {
      abandon: exited,
      intervalMs: 200,
      ready: (response) => response.status === 200,
    });
    await toolWhenUp('radosgw-admin', [
      ...C,
      'user',
      'create',
      '--uid=berth-test',
      '--display-name=berth test',
      `--access-key=${accessKey}`,
      `--secret-key=${secretKey}`,
    ]);
    const pid = (name: string): number => children.find((c) => c.name === name)?.child.pid ?? 0;
    const server: RunningRadosgw = {
      endpoint,
      region: REGION,
      accessKey,
      secretKey,
      dir,
      pids: { mon: pid('ceph-mon'), osd: pid('ceph-osd'), rgw: pid('radosgw') },
      createBucket: (bucket) => createBucket(endpoint, accessKey, secretKey, bucket),
      logs: (lines) => tail.text(lines),
      accessLog: async () =>
        (await readFile(join(dir, 'log', 'client.rgw.log'), 'utf8'))
          .split('\n')
          .filter((line) => line.includes(' beast: ')),
      admin: async (args) =>
        (await run('radosgw-admin', [...C, ...args], { timeout: 30_000, encoding: 'utf8' })).stdout,
      stop,
    };
    for (const bucket of options.buckets ?? []) await server.createBucket(bucket);
    return server;
  } catch (error) {
    const logs = tail.text(40);
    await stop();
    throw new Error(
      `radosgw (in ${dir}) did not start: ${error instanceof Error ? error.message : String(error)}` +
        (logs === '' ? '' : `\n--- last output ---\n${logs}`),
      { cause: error },
    );
  }
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(child.pid!, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  signal('SIGTERM');
  const cancel = new AbortController();
  const timer = sleep(10_000, 'timeout' as const, { signal: cancel.signal }).catch(
    () => 'cancelled' as const,
  );
  const outcome = await Promise.race([exited.then(() => 'exited' as const), timer]);
  cancel.abort();
  if (outcome === 'timeout') {
    signal('SIGKILL');
    await exited;
  }
}

const sha256Hex = (data: string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** `PUT /<bucket>` signed with AWS Signature Version 4 (path-style, empty body). */
async function createBucket(endpoint: string, accessKey: string, secretKey: string, bucket: string) {
  const url = new URL(`/${encodeURIComponent(bucket)}`, endpoint);
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256Hex('');
  const canonicalHeaders = `host:${url.host}\nx-amz-content-sha256:${payloadHash}\nx-amz-date:${amzDate}\n`;
  const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
  const canonicalRequest = ['PUT', url.pathname, '', canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${REGION}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, day), REGION), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  const response = await fetch(url, {
    method: 'PUT',
    headers: {
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
  });
  const body = await response.text();
  if (response.status === 200) return;
  if (response.status === 409 && body.includes('BucketAlreadyOwnedByYou')) return;
  throw new Error(`creating bucket ${bucket} on ${endpoint}: HTTP ${response.status} ${body}`);
}
