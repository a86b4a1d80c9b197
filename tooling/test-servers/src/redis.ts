/**
 * Throw-away Redis servers on 127.0.0.1 for tests of the Redis cache: one node, a master with a
 * Sentinel, or a three-master Cluster. Each server runs in the foreground as a child of the test
 * process (`daemonize no`), from a config file in its own temp dir, on free ports, and is
 * stopped by PID, never by name. Needs Debian's `redis-server` (and `redis-tools` for the
 * cluster, which is created with `redis-cli --cluster create`). Nothing is persisted
 * (`save ""`, `appendonly no`), so a restarted node comes back empty.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { keepAtExit, killAtExit, removeAtExit } from './exit-cleanup.ts';
import { freePort, OutputTail } from './process.ts';
import { which } from './tools.ts';

/** The executables the Redis servers need: `redis-server`, and `redis-cli` for a cluster. */
export const REDIS_TOOLS: readonly string[] = ['redis-server', 'redis-cli'];

/** The tools of {@link REDIS_TOOLS} that are not on `PATH`. */
export function redisMissingTools(): string[] {
  return REDIS_TOOLS.filter((tool) => which(tool) === undefined);
}

/** A reply of {@link redisCommand}: RESP2 simple strings and bulk strings are strings. */
export type RedisReply = string | number | null | RedisReplyError | RedisReply[];

/** An error reply (`-ERR …`), returned rather than thrown by {@link redisCommand}. */
export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError';
}

/** Options of {@link redisCommand}. */
export interface RedisCommandOptions {
  /** Sent as `AUTH [username] password` first. */
  password?: string;
  username?: string;
  /** For connecting and the whole exchange. @default 2000 */
  timeoutMs?: number;
}

/**
 * Sends one command to the Redis server at `address` (`host:port`) over a fresh connection and
 * resolves with its reply; an error reply resolves as a {@link RedisReplyError}. Rejects when the
 * server cannot be reached or does not answer in time. For readiness checks and raw assertions in
 * tests; a real client (ioredis) is the thing under test.
 */
export function redisCommand(
  address: string,
  args: readonly (string | number)[],
  options: RedisCommandOptions = {},
): Promise<RedisReply> {
  const { host, port } = splitAddress(address);
  const timeoutMs = options.timeoutMs ?? 2_000;
  const commands: (string | number)[][] = [];
  if (options.password !== undefined) {
    commands.push(
      options.username === undefined
        ? ['AUTH', options.password]
        : ['AUTH', options.username, options.password],
    );
  }
  commands.push([...args]);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const parser = new RespParser();
    const replies: RedisReply[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${address}: no answer to ${String(args[0])} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | undefined, reply?: RedisReply): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply ?? null);
    };
    socket.once('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const reply of parser.push(chunk)) replies.push(reply);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (replies.length < commands.length) return;
      const auth = commands.length > 1 ? replies[0] : undefined;
      if (auth instanceof RedisReplyError)
        finish(new Error(`redis ${address}: AUTH failed: ${auth.message}`));
      else finish(undefined, replies[commands.length - 1]);
    });
    socket.once('error', (error) => finish(new Error(`redis ${address}: ${error.message}`)));
    socket.once('close', () => finish(new Error(`redis ${address}: connection closed before a reply`)));
  });
}

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) throw new Error(`not a host:port address: ${address}`);
  return { host: address.slice(0, colon), port };
}

function encodeCommand(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const text = String(arg);
    out += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
  }
  return out;
}

/** An incremental RESP2 parser: feed it chunks, get the complete replies so far. */
class RespParser {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RedisReply[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: RedisReply[] = [];
    for (;;) {
      const parsed = this.#parse(0);
      if (parsed === undefined) break;
      out.push(parsed.value);
      this.#buffer = this.#buffer.subarray(parsed.end);
    }
    return out;
  }

  #parse(start: number): { value: RedisReply; end: number } | undefined {
    const lineEnd = this.#buffer.indexOf('\r\n', start);
    if (lineEnd < 0) return undefined;
    const type = String.fromCharCode(this.#buffer[start]!);
    const line = this.#buffer.toString('utf8', start + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
      case '+':
        return { value: line, end: next };
      case '-':
        return { value: new RedisReplyError(line), end: next };
      case ':':
        return { value: Number(line), end: next };
      case '$': {
        const length = Number(line);
        if (length < 0) return { value: null, end: next };
        if (this.#buffer.length < next + length + 2) return undefined;
        return { value: this.#buffer.toString('utf8', next, next + length), end: next + length + 2 };
      }
      case '*': {
        const count = Number(line);
        if (count < 0) return { value: null, end: next };
        const items: RedisReply[] = [];
        let at = next;
        for (let i = 0; i < count; i++) {
          const item = this.#parse(at);
          if (item === undefined) return undefined;
          items.push(item.value);
          at = item.end;
        }
        return { value: items, end: at };
      }
      default:
        throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
    }
  }
}

function assertTools(tools: readonly string[]): void {
  const missing = tools.filter((tool) => which(tool) === undefined);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not found on PATH (apt-get install -y --no-install-recommends redis-server redis-tools)`,
    );
  }
}

/** One `redis-server` process: its config file, its PID while it runs, its output. */
class RedisProcess {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  readonly configFile: string;
  readonly #args: readonly string[];
  readonly #tail: OutputTail;
  #child: ChildProcess | undefined;

  constructor(
    name: string,
    port: number,
    dir: string,
    configFile: string,
    args: readonly string[],
    tail: OutputTail,
  ) {
    this.name = name;
    this.port = port;
    this.dir = dir;
    this.configFile = configFile;
    this.#args = args;
    this.#tail = tail;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The PID of the running process, or 0 while it is stopped. */
  get pid(): number {
    const child = this.#child;
    return child?.pid !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : 0;
  }

  /** Spawns the server and waits (bounded) until it answers PING. */
  async start(timeoutMs: number): Promise<void> {
    if (this.pid !== 0) return;
    const child = spawn('redis-server', [this.configFile, ...this.#args], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = `[${this.name}] `;
    const push = (chunk: Buffer): void =>
      this.#tail.push(
        chunk
          .toString()
          .split('\n')
          .map((line) => (line === '' ? line : prefix + line))
          .join('\n'),
      );
    child.stdout?.on('data', push);
    child.stderr?.on('data', push);
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve(signal ? `killed by ${signal}` : `exited with code ${code}`);
      });
      child.once('error', (error) => resolve(`failed to start: ${error.message}`));
    });
    killAtExit(child);
    this.#child = child;
    let gone: string | undefined;
    void exited.then((how) => {
      gone = how;
    });
    const deadline = Date.now() + timeoutMs;
    let last = 'no attempt made';
    for (;;) {
      if (gone !== undefined) throw new Error(`${this.name} (${this.configFile}) ${gone}`);
      try {
        const reply = await redisCommand(this.address, ['PING'], { timeoutMs: 1_000 });
        // NOAUTH also means it is up; LOADING does not.
        if (reply === 'PONG' || (reply instanceof RedisReplyError && reply.message.startsWith('NOAUTH')))
          return;
        last = reply instanceof Error ? reply.message : String(reply);
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() >= deadline) {
        await this.stop();
        throw new Error(`${this.name} on ${this.address} not ready after ${timeoutMs} ms (last: ${last})`);
      }
      await sleep(25);
    }
  }

  /** SIGTERM by PID (SIGKILL after `timeoutMs`); resolves once the process has exited. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.#child;
    if (
      child === undefined ||
      child.pid === undefined ||
      child.exitCode !== null ||
      child.signalCode !== null
    )
      return;
    const pid = child.pid;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signal(pid, 'SIGTERM');
    const cancel = new AbortController();
    const timer = sleep(timeoutMs, 'timeout' as const, { signal: cancel.signal }).catch(
      () => 'cancelled' as const,
    );
    const outcome = await Promise.race([exited.then(() => 'exited' as const), timer]);
    cancel.abort();
    if (outcome === 'timeout') {
      signal(pid, 'SIGKILL');
      await exited;
    }
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Config lines every server here gets. */
function baseConfig(port: number, dir: string): string[] {
  return [
    `port ${port}`,
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${dir}`,
    'logfile ""',
    'save ""',
    'appendonly no',
    'loglevel warning',
  ];
}

/** Access control of a server from {@link startRedis}. */
export interface RedisAuthOptions {
  /** `requirepass`: the password of the `default` user. Default: none (no AUTH needed). */
  requirepass?: string;
  /** An ACL user with every permission (`user NAME on >PASSWORD ~* &* +@all`). Default: none. */
  user?: { readonly name: string; readonly password: string };
}

function authConfig(options: RedisAuthOptions): string[] {
  const lines: string[] = [];
  if (options.requirepass !== undefined) lines.push(`requirepass ${options.requirepass}`);
  if (options.user !== undefined)
    lines.push(`user ${options.user.name} on >${options.user.password} ~* &* +@all`);
  return lines;
}

/** Options of {@link startRedis}. */
export interface RedisOptions extends RedisAuthOptions {
  /** More `redis.conf` lines, e.g. `maxmemory-policy allkeys-lru`. */
  extraConfig?: readonly string[];
  /** How long startup may take. @default 10 s */
  startTimeoutMs?: number;
}

/** A running single Redis node, from {@link startRedis}. */
export interface RunningRedis {
  /** `['127.0.0.1:<port>']`. */
  readonly addresses: readonly string[];
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly port: number;
  /** The server's PID, or 0 while it is {@link RunningRedis.kill | killed}. */
  readonly pid: number;
  /** The temp dir holding its config. */
  readonly dir: string;
  /** What clients need for AUTH, as configured. */
  readonly requirepass: string | undefined;
  readonly user: { readonly name: string; readonly password: string } | undefined;
  /** Sends one command (with AUTH as configured, preferring the ACL user). */
  command(args: readonly (string | number)[]): Promise<RedisReply>;
  /** The last lines the server wrote. */
  logs(lines?: number): string;
  /** Stops the server by PID but keeps its port and dir, to simulate an outage. */
  kill(): Promise<void>;
  /** Starts it again on the same port (with no data: nothing is persisted). */
  restart(): Promise<void>;
  /** Stops the server by PID and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

function authFor(options: RedisAuthOptions): RedisCommandOptions {
  if (options.user !== undefined) return { username: options.user.name, password: options.user.password };
  if (options.requirepass !== undefined) return { password: options.requirepass };
  return {};
}

/**
 * Starts one Redis node on 127.0.0.1 on a free port and returns once it answers PING.
 * Always `stop()` it (`afterAll` / `finally`).
 *
 * @example
 * ```ts
 * const redis = await startRedis({ requirepass: 'secret' });
 * try {
 *   // new Redis({ host: '127.0.0.1', port: redis.port, password: 'secret' })
 * } finally {
 *   await redis.stop();
 * }
 * ```
 * @throws {Error} naming the Debian packages when `redis-server` is missing, or with the
 *   server's last output when it does not come up in time.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RunningRedis> {
  assertTools(['redis-server']);
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), 'berth-redis-'));
  removeAtExit(dir);
  const tail = new OutputTail(100);
  const port = await freePort();
  const configFile = join(dir, 'redis.conf');
  await writeFile(
    configFile,
    `${[...baseConfig(port, dir), ...authConfig(options), ...(options.extraConfig ?? [])].join('\n')}\n`,
  );
  const node = new RedisProcess('redis', port, dir, configFile, [], tail);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
      keepAtExit(dir);
    })();
    return stopping;
  };
  try {
    await node.start(timeoutMs);
  } catch (error) {
    const logs = tail.text(40);
    await stop();
    throw new Error(
      `redis-server did not start: ${error instanceof Error ? error.message : String(error)}` +
        (logs === '' ? '' : `\n--- last output ---\n${logs}`),
      { cause: error },
    );
  }
  const auth = authFor(options);
  return {
    addresses: [node.address],
    address: node.address,
    port,
    get pid() {
      return node.pid;
    },
    dir,
    requirepass: options.requirepass,
    user: options.user,
    command: (args) => redisCommand(node.address, args, auth),
    logs: (lines) => tail.text(lines),
    kill: () => node.stop(),
    restart: () => node.start(timeoutMs),
    stop,
  };
}

/** Options of {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** The name the Sentinel monitors the master under. @default 'berth' */
  masterName?: string;
  /** The master's `requirepass` (the Sentinel gets it as `auth-pass`). Default: none. */
  requirepass?: string;
  /** How long startup may take. @default 20 s */
  startTimeoutMs?: number;
}

/** A running master with one Sentinel, from {@link startRedisSentinel}. */
export interface RunningRedisSentinel {
  /** The Sentinel's address, `['127.0.0.1:<port>']`: what a client is given. */
  readonly addresses: readonly string[];
  /** The name the master is monitored under. */
  readonly masterName: string;
  /** The master's address (clients find it through the Sentinel). */
  readonly masterAddress: string;
  readonly requirepass: string | undefined;
  readonly pids: { readonly master: number; readonly sentinel: number };
  /** The temp dir holding both configs. */
  readonly dir: string;
  /** Sends one command to the master (with AUTH as configured). */
  command(args: readonly (string | number)[]): Promise<RedisReply>;
  logs(lines?: number): string;
  /** Stops the Sentinel and the master by PID and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis master and one Sentinel (`redis-server s.conf --sentinel`) monitoring it, both on
 * 127.0.0.1 on free ports, and returns once `SENTINEL get-master-addr-by-name` names the master.
 *
 * @example
 * ```ts
 * const sentinel = await startRedisSentinel();
 * // new Redis({ sentinels: [{ host: '127.0.0.1', port }], name: sentinel.masterName })
 * await sentinel.stop();
 * ```
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RunningRedisSentinel> {
  assertTools(['redis-server']);
  const masterName = options.masterName ?? 'berth';
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  const left = (): number => Math.max(1, deadline - Date.now());
  const dir = await mkdtemp(join(tmpdir(), 'berth-redis-sentinel-'));
  removeAtExit(dir);
  const tail = new OutputTail(100);
  const [masterPort, sentinelPort] = await Promise.all([freePort(), freePort()]);
  const masterConf = join(dir, 'master.conf');
  const sentinelConf = join(dir, 's.conf');
  await writeFile(
    masterConf,
    `${[...baseConfig(masterPort, dir), ...authConfig({ ...(options.requirepass === undefined ? {} : { requirepass: options.requirepass }) })].join('\n')}\n`,
  );
  // Sentinel rewrites its config file, so it must be a writable file of its own.
  await writeFile(
    sentinelConf,
    `${[
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      'daemonize no',
      `dir ${dir}`,
      'logfile ""',
      'loglevel warning',
      'sentinel resolve-hostnames no',
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${masterName} 5000`,
      ...(options.requirepass === undefined
        ? []
        : [`sentinel auth-pass ${masterName} ${options.requirepass}`]),
    ].join('\n')}\n`,
  );
  const master = new RedisProcess('master', masterPort, dir, masterConf, [], tail);
  const sentinel = new RedisProcess('sentinel', sentinelPort, dir, sentinelConf, ['--sentinel'], tail);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await sentinel.stop();
      await master.stop();
      await rm(dir, { recursive: true, force: true });
      keepAtExit(dir);
    })();
    return stopping;
  };
  try {
    await master.start(left());
    await sentinel.start(left());
    let last = 'no attempt made';
    for (;;) {
      const reply = await redisCommand(sentinel.address, [
        'SENTINEL',
        'get-master-addr-by-name',
        masterName,
      ]).catch((error: unknown) => new RedisReplyError(String(error)));
      if (Array.isArray(reply) && reply[0] === '127.0.0.1' && reply[1] === String(masterPort)) break;
      last = reply instanceof Error ? reply.message : JSON.stringify(reply);
      if (Date.now() >= deadline)
        throw new Error(`the Sentinel does not name master ${masterName} (last: ${last})`);
      await sleep(50);
    }
  } catch (error) {
    const logs = tail.text(40);
    await stop();
    throw new Error(
      `redis sentinel did not start: ${error instanceof Error ? error.message : String(error)}` +
        (logs === '' ? '' : `\n--- last output ---\n${logs}`),
      { cause: error },
    );
  }
  const auth = options.requirepass === undefined ? {} : { password: options.requirepass };
  return {
    addresses: [sentinel.address],
    masterName,
    masterAddress: master.address,
    requirepass: options.requirepass,
    get pids() {
      return { master: master.pid, sentinel: sentinel.pid };
    },
    dir,
    command: (args) => redisCommand(master.address, args, auth),
    logs: (lines) => tail.text(lines),
    stop,
  };
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters (no replicas); at least 3, as `redis-cli --cluster create` requires. @default 3 */
  masters?: number;
  /** How long startup may take. @default 30 s */
  startTimeoutMs?: number;
}

/** A running Redis Cluster, from {@link startRedisCluster}. */
export interface RunningRedisCluster {
  /** Every master's address: what a cluster client is given. */
  readonly addresses: readonly string[];
  /** PIDs of the masters, in the order of `addresses`. */
  readonly pids: readonly number[];
  /** The temp dir holding one sub-directory per node. */
  readonly dir: string;
  /** Sends one command to the node at `address` (no redirection is followed). */
  command(address: string, args: readonly (string | number)[]): Promise<RedisReply>;
  logs(lines?: number): string;
  /** Stops node `index` (of `addresses`) by PID, keeping its dir, to simulate a failed master. */
  killNode(index: number): Promise<void>;
  /**
   * Starts node `index` again on its port; it rejoins with its slots (from its `nodes.conf`) but
   * no data. Resolves once `CLUSTER INFO` says `cluster_state:ok` on every node.
   */
  restartNode(index: number): Promise<void>;
  /** Stops every node by PID and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` nodes (default 3, no replicas) on 127.0.0.1: each node in
 * its own dir with `cluster-enabled yes` and an explicit `cluster-port` (so the bus port is free
 * too), joined by `redis-cli --cluster create … --cluster-replicas 0` (fed `yes`). Returns once
 * `CLUSTER INFO` says `cluster_state:ok` on every node. Multi-key commands across slots fail with
 * `CROSSSLOT` there, as in production.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster();
 * // new Cluster(cluster.addresses.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })))
 * await cluster.stop();
 * ```
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RunningRedisCluster> {
  assertTools(REDIS_TOOLS);
  const count = options.masters ?? 3;
  if (count < 3) throw new Error('a Redis Cluster needs at least 3 masters');
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const left = (): number => Math.max(1, deadline - Date.now());
  const dir = await mkdtemp(join(tmpdir(), 'berth-redis-cluster-'));
  removeAtExit(dir);
  const tail = new OutputTail(150);
  const nodes: RedisProcess[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(nodes.map((node) => node.stop()));
      await rm(dir, { recursive: true, force: true });
      keepAtExit(dir);
    })();
    return stopping;
  };
  try {
    const ports = new Set<number>();
    while (ports.size < count * 2) ports.add(await freePort());
    const allPorts = [...ports];
    for (let i = 0; i < count; i++) {
      const nodeDir = join(dir, `node${i}`);
      await mkdir(nodeDir);
      const port = allPorts[i * 2]!;
      const configFile = join(nodeDir, 'redis.conf');
      await writeFile(
        configFile,
        `${[
          ...baseConfig(port, nodeDir),
          'cluster-enabled yes',
          'cluster-config-file nodes.conf',
          `cluster-port ${allPorts[i * 2 + 1]!}`,
          'cluster-node-timeout 5000',
        ].join('\n')}\n`,
      );
      nodes.push(new RedisProcess(`node${i}`, port, nodeDir, configFile, [], tail));
    }
    await Promise.all(nodes.map((node) => node.start(left())));
    await createCluster(
      nodes.map((node) => node.address),
      left(),
      tail,
    );
    await clusterOk(nodes, left());
  } catch (error) {
    const logs = tail.text(60);
    await stop();
    throw new Error(
      `redis cluster did not start: ${error instanceof Error ? error.message : String(error)}` +
        (logs === '' ? '' : `\n--- last output ---\n${logs}`),
      { cause: error },
    );
  }
  return {
    addresses: nodes.map((node) => node.address),
    get pids() {
      return nodes.map((node) => node.pid);
    },
    dir,
    command: (address, args) => redisCommand(address, args),
    logs: (lines) => tail.text(lines),
    killNode: async (index) => {
      const node = nodes[index];
      if (node === undefined) throw new Error(`no cluster node ${index}`);
      await node.stop();
    },
    restartNode: async (index) => {
      const node = nodes[index];
      if (node === undefined) throw new Error(`no cluster node ${index}`);
      await node.start(10_000);
      await clusterOk(nodes, 20_000);
    },
    stop,
  };
}

/** Waits until `CLUSTER INFO` says `cluster_state:ok` on every node. */
async function clusterOk(nodes: readonly RedisProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt made';
  for (;;) {
    const states = await Promise.all(
      nodes.map((node) =>
        redisCommand(node.address, ['CLUSTER', 'INFO']).then(
          (reply) =>
            typeof reply === 'string' ? (/cluster_state:(\w+)/.exec(reply)?.[1] ?? '?') : String(reply),
          (error: unknown) => String(error),
        ),
      ),
    );
    if (states.every((state) => state === 'ok')) return;
    last = states.join(', ');
    if (Date.now() >= deadline) throw new Error(`cluster_state is not ok on every node (last: ${last})`);
    await sleep(100);
  }
}

/** `redis-cli --cluster create <addresses> --cluster-replicas 0`, answering its prompt with `yes`. */
function createCluster(addresses: readonly string[], timeoutMs: number, tail: OutputTail): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const output = new OutputTail(60);
    const push = (chunk: Buffer): void => {
      output.push(chunk);
      tail.push(chunk);
    };
    child.stdout.on('data', push);
    child.stderr.on('data', push);
    child.stdin.end('yes\n');
    const timer = setTimeout(() => {
      if (child.pid !== undefined) signal(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-cli --cluster create: ${error.message}`));
    });
    child.once('close', (code, how) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `redis-cli --cluster create ${how ? `was killed by ${how}` : `exited with status ${code}`}:\n${output.text(20)}`,
          ),
        );
    });
  });
}
