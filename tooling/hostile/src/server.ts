/**
 * A Berth process under attack: started with `startBerth` (fs driver, 127.0.0.1, free port),
 * watched for problem log lines and for its death, killed with SIGKILL or restarted on the
 * same storage root. Restarts keep the same options; the port changes, so callers always ask
 * for the current {@link HostileServer.endpoint}.
 */
import { type RunningServer, startBerth } from '@berth/test-servers';
import { type Endpoint, send } from './http.ts';

/** How to start the server (every start of it uses the same). */
export interface HostileServerOptions {
  /** For messages: `A`, `B`, `fuzz`, … */
  readonly label: string;
  readonly rootDirectory: string;
  /** `http.secret`; servers sharing storage share it so uploads can move between them. */
  readonly secret: string;
  /** More top-level YAML for the config (`auth:`, `log:` is not allowed: the harness writes it). */
  readonly extraYaml?: string;
}

/** A log line that points at a server-side problem, with the server it came from. */
export interface LogProblem {
  readonly server: string;
  readonly line: string;
}

/** One time the process was found dead (or hung) and restarted. */
export interface ServerDeath {
  readonly server: string;
  readonly how: string;
  /** The last lines it wrote before it was found dead. */
  readonly logTail: string;
}

/**
 * Whether a line of the server's output is a problem: anything that is not one of its JSON log
 * lines (Node prints uncaught exceptions and warnings as plain text), or a JSON line of level
 * `error`/`fatal`, or one that mentions an uncaught exception or unhandled rejection.
 */
export function isProblemLine(line: string): boolean {
  const text = line.trim();
  if (text === '') return false;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    // The harness cuts lines at 2,000 characters: a cut log line is still a log line.
    const cut = /^\{"level":"(\w+)","time":"[^"]*","msg":"((?:[^"\\]|\\.)*)"/.exec(text);
    if (cut === null) return true;
    record = { level: cut[1], msg: cut[2] };
  }
  if (typeof record !== 'object' || record === null) return true;
  const { level, msg } = record as { level?: unknown; msg?: unknown };
  if (level === 'error' || level === 'fatal' || level === 'panic') return true;
  return typeof msg === 'string' && /uncaught|unhandled/i.test(msg);
}

/** A Berth process of a hostile suite. */
export class HostileServer {
  readonly options: HostileServerOptions;
  /** Problem lines seen so far (each once). */
  readonly problems: LogProblem[] = [];
  /** Deaths and hangs found so far (each was followed by a restart, unless stopped). */
  readonly deaths: ServerDeath[] = [];
  /** How many times the process was started (1 + restarts). */
  starts = 0;
  #server: RunningServer;
  readonly #seen = new Set<string>();

  private constructor(options: HostileServerOptions, server: RunningServer) {
    this.options = options;
    this.#server = server;
    this.starts = 1;
  }

  /** Starts a server and waits until it answers. */
  static async start(options: HostileServerOptions): Promise<HostileServer> {
    return new HostileServer(options, await launch(options));
  }

  get endpoint(): Endpoint {
    const [host = '127.0.0.1', port = '0'] = this.#server.host.split(':');
    return { host, port: Number(port) };
  }

  get url(): string {
    return this.#server.url;
  }

  get pid(): number {
    return this.#server.pid;
  }

  /** Whether the PID still exists (a signal-0 probe). */
  pidAlive(): boolean {
    try {
      process.kill(this.#server.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether it answers `GET /v2/` (any status) within `timeoutMs`. */
  async answers(timeoutMs = 3_000): Promise<boolean> {
    if (!this.pidAlive()) return false;
    const outcome = await send(this.endpoint, { method: 'GET', target: '/v2/' }, { timeoutMs });
    return outcome.kind === 'response' && outcome.response.status > 0;
  }

  /** The last `lines` lines it wrote. */
  logTail(lines = 40): string {
    return this.#server.logs(lines);
  }

  /**
   * Reads the retained output (the last 200 lines) and records problem lines not seen before.
   * Call it often enough that 200 lines do not scroll past between two calls.
   */
  pollLogs(): void {
    for (const line of this.#server.logs(200).split('\n')) {
      if (this.#seen.has(line) || !isProblemLine(line)) continue;
      this.#seen.add(line);
      this.problems.push({
        server: this.options.label,
        line: line.length > 1_500 ? `${line.slice(0, 1_500)}…` : line,
      });
    }
  }

  /**
   * Checks that the process is alive and answering; if not, records the death (with its last
   * output), makes sure it is gone, and starts it again on the same root. Returns the death
   * (also added to {@link deaths}), or `undefined` when it was alive.
   */
  async ensureAlive(context: string): Promise<ServerDeath | undefined> {
    if (await this.answers()) return undefined;
    // One more chance for a process that is only busy.
    if (this.pidAlive() && (await this.answers(5_000))) return undefined;
    this.pollLogs();
    const how = this.pidAlive() ? 'stopped answering (killed with SIGKILL)' : 'exited';
    const death: ServerDeath = {
      server: this.options.label,
      how: `${how} ${context}`,
      logTail: this.logTail(30),
    };
    this.deaths.push(death);
    await this.kill();
    await this.restart();
    return death;
  }

  /** SIGKILL by PID; resolves once the process has exited. */
  async kill(): Promise<void> {
    if (this.pidAlive()) {
      try {
        process.kill(this.#server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.#server.stop(1_000);
  }

  /** Starts a new process on the same options (after {@link kill} or a death). */
  async restart(): Promise<void> {
    this.pollLogs();
    this.#seen.clear();
    this.#server = await launch(this.options);
    this.starts++;
  }

  /** SIGTERM, then SIGKILL after 5 s; the last output is checked for problems first. */
  async stop(): Promise<void> {
    this.pollLogs();
    await this.#server.stop();
  }
}

function launch(options: HostileServerOptions): Promise<RunningServer> {
  return startBerth({
    rootDirectory: options.rootDirectory,
    secret: options.secret,
    deleteEnabled: true,
    startTimeoutMs: 30_000,
    ...(options.extraYaml === undefined ? {} : { extraYaml: options.extraYaml }),
  });
}
