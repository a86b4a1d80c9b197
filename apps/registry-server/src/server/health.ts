/**
 * Periodic health checks, as registry:2's `health` package runs them: each check runs at start
 * and then every `interval`; it fails after `threshold` consecutive failures and recovers on the
 * first success. While any check fails, `/debug/health` answers 503 with the failing checks and
 * every other request is answered `503 UNAVAILABLE`.
 */
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { isStorageDriverError, type StorageDriver } from '@berth/storage-driver';
import { splitHostPort } from '../config/address.ts';
import type { HealthConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';

/** One periodic check. */
export interface PeriodicCheck {
  /** Reported in `/debug/health` (registry:2: `storagedriver_<driver>`). */
  readonly name: string;
  readonly intervalMs: number;
  /** Consecutive failures before the check fails. */
  readonly threshold: number;
  /** Resolves when healthy; rejects with the reason otherwise. */
  run(signal: AbortSignal): Promise<void>;
}

/** Runs checks and knows which fail. */
export class HealthMonitor {
  readonly #checks: readonly PeriodicCheck[];
  readonly #logger: Logger;
  readonly #failures = new Map<string, number>();
  readonly #failing = new Map<string, string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #abort = new AbortController();

  constructor(checks: readonly PeriodicCheck[], logger: Logger) {
    this.#checks = checks;
    this.#logger = logger;
  }

  /** True while no check fails. */
  get healthy(): boolean {
    return this.#failing.size === 0;
  }

  /** Failing checks: name → last error (registry:2's `/debug/health` body). */
  status(): Record<string, string> {
    return Object.fromEntries(this.#failing);
  }

  /** Starts every check (the first run is immediate); timers do not keep the process alive. */
  start(): void {
    for (const check of this.#checks) void this.#run(check);
  }

  /** Stops all checks. */
  stop(): void {
    this.#abort.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /** Runs every check once, now (for tests and the first report). */
  async runOnce(): Promise<void> {
    await Promise.all(this.#checks.map((check) => this.#evaluate(check)));
  }

  async #run(check: PeriodicCheck): Promise<void> {
    if (this.#abort.signal.aborted) return;
    await this.#evaluate(check);
    if (this.#abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#run(check);
    }, check.intervalMs);
    timer.unref();
    this.#timers.add(timer);
  }

  async #evaluate(check: PeriodicCheck): Promise<void> {
    let error: string | undefined;
    const timeout = AbortSignal.timeout(Math.max(check.intervalMs, 1000));
    const signal = AbortSignal.any([timeout, this.#abort.signal]);
    try {
      await Promise.race([
        check.run(signal),
        new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error(`timed out`)), { once: true });
        }),
      ]);
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      error = err instanceof Error ? err.message : String(err);
    }
    if (error === undefined) {
      this.#failures.delete(check.name);
      if (this.#failing.delete(check.name))
        this.#logger.info('health check recovered', { check: check.name });
      return;
    }
    const failures = (this.#failures.get(check.name) ?? 0) + 1;
    this.#failures.set(check.name, failures);
    if (failures >= check.threshold) {
      if (!this.#failing.has(check.name)) {
        this.#logger.error('health check failing', { check: check.name, error, failures });
      }
      this.#failing.set(check.name, error);
    } else {
      this.#logger.warn('health check failed', {
        check: check.name,
        error,
        failures,
        threshold: check.threshold,
      });
    }
  }
}

/** registry:2's storage driver check: `stat('/')`, where "not found" still means the backend answers. */
export function storageDriverCheck(
  driverName: string,
  driver: StorageDriver,
  options: { intervalMs: number; threshold: number },
): PeriodicCheck {
  return {
    name: `storagedriver_${driverName}`,
    intervalMs: options.intervalMs,
    threshold: options.threshold,
    async run(signal: AbortSignal): Promise<void> {
      try {
        await driver.stat('/', { signal });
      } catch (error) {
        if (isStorageDriverError(error, 'PATH_NOT_FOUND')) return;
        throw error;
      }
    },
  };
}

/**
 * registry:2's file check (`health.file[]`), named after the file: it fails while the file
 * exists, so `touch /etc/registry/drain` takes a node out of its load balancer's rotation.
 * Anything else (missing, unreadable directory) is healthy, as in registry:2.
 */
export function fileCheck(config: HealthConfig['files'][number]): PeriodicCheck {
  return {
    name: config.file,
    intervalMs: config.intervalMs,
    threshold: config.threshold,
    async run(): Promise<void> {
      const exists = await stat(config.file).then(
        () => true,
        () => false,
      );
      if (exists) throw new Error('file exists');
    },
  };
}

/**
 * registry:2's HTTP check (`health.http[]`), named after its URI: a `HEAD` with the configured
 * headers that must answer `statusCode` within `timeout`.
 */
export function httpCheck(config: HealthConfig['http'][number]): PeriodicCheck {
  const headers = new Headers();
  for (const [name, values] of Object.entries(config.headers))
    for (const value of values) headers.append(name, value);
  return {
    name: config.uri,
    intervalMs: config.intervalMs,
    threshold: config.threshold,
    async run(signal: AbortSignal): Promise<void> {
      let response: Response;
      try {
        response = await fetch(config.uri, {
          method: 'HEAD',
          headers,
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new Error(
          `HEAD ${config.uri} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        );
      }
      await response.body?.cancel();
      if (response.status !== config.statusCode)
        throw new Error(`HEAD ${config.uri} answered ${response.status}, expected ${config.statusCode}`);
    },
  };
}

/** registry:2's TCP check (`health.tcp[]`), named after its address: a connection must open within `timeout`. */
export function tcpCheck(config: HealthConfig['tcp'][number]): PeriodicCheck {
  const parsed = splitHostPort(config.addr);
  return {
    name: config.addr,
    intervalMs: config.intervalMs,
    threshold: config.threshold,
    run(signal: AbortSignal): Promise<void> {
      if (typeof parsed === 'string') return Promise.reject(new Error(parsed));
      return new Promise((resolve, reject) => {
        const socket = connect({ host: parsed.host || '127.0.0.1', port: parsed.port });
        const fail = (why: string): void => {
          socket.destroy();
          reject(new Error(`connection to ${config.addr} failed: ${why}`));
        };
        const timer = setTimeout(() => fail('timed out'), config.timeoutMs);
        timer.unref();
        const abort = (): void => fail('aborted');
        signal.addEventListener('abort', abort, { once: true });
        socket.once('connect', () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', abort);
          socket.destroy();
          resolve();
        });
        socket.once('error', (error: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', abort);
          fail(error.code ?? error.message);
        });
      });
    },
  };
}

/** The checks `health.file`, `health.http` and `health.tcp` configure, in that order. */
export function configuredChecks(config: HealthConfig): PeriodicCheck[] {
  return [...config.files.map(fileCheck), ...config.http.map(httpCheck), ...config.tcp.map(tcpCheck)];
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' } as const;

/** The `/debug/health` response: `{}` and 200, or the failing checks and 503. */
export function healthResponse(monitor: HealthMonitor | undefined): Response {
  const failing = monitor?.status() ?? {};
  const healthy = Object.keys(failing).length === 0;
  return new Response(JSON.stringify(failing), { status: healthy ? 200 : 503, headers: JSON_HEADERS });
}

/** What every other request gets while a check fails (registry:2's `health.Handler`). */
export function unavailableResponse(): Response {
  const body = JSON.stringify({
    errors: [
      {
        code: 'UNAVAILABLE',
        message: 'service unavailable',
        detail: 'health check failed: please see /debug/health',
      },
    ],
  });
  return new Response(body, { status: 503, headers: { 'Content-Type': 'application/json' } });
}
