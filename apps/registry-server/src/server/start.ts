/**
 * Config → storage driver → registry → HTTP(S) server, and back down again.
 *
 * Requests pass, outermost first: the request tracker (request id, access log, drain
 * bookkeeping) → `/debug/health` → the built-in token issuer (`berth.auth.issuer.path`, which
 * needs no storage) → `GET /` (200, registry:2's `alive` handler, outside the health gate) →
 * the health gate (503 while a check fails, as registry:2's `health.Handler`) → the registry
 * app, whose
 * middleware runs before every `/v2/` endpoint: containerd's `?ns=` (a pull-through cache
 * only, so access control sees the mirrored repository's name), then access control (`auth`).
 *
 * With `proxy` (or `berth.proxy.upstreams`) the app serves the mirror's registry, which wraps the
 * local one (see `proxy.ts`).
 */
import { randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { access, lstat, mkdir, open, stat, unlink } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { type Mirror, namespaceMiddleware } from '@berth/proxy';
import { createRegistry, createRegistryApp, type Registry, RegistryError } from '@berth/registry-core';
import type { StorageDriver } from '@berth/storage-driver';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { formatDuration } from '../config/duration.ts';
import { splitHostPort } from '../config/schema.ts';
import type { BerthConfig } from '../config/types.ts';
import { driverEntry, middlewareEntry } from '../drivers.ts';
import { createLogger, type Logger, type LogSink } from '../log/logger.ts';
import { createAccessControl } from './auth.ts';
import { openBlobDescriptorCache, openChangeFeed, SHARED_READ_CACHE_TTL_MS } from './blob-cache.ts';
import { StartupError } from './errors.ts';
import {
  configuredChecks,
  HealthMonitor,
  healthResponse,
  type PeriodicCheck,
  storageDriverCheck,
  unavailableResponse,
} from './health.ts';
import { createServerMetrics, metricsObserver } from './metrics.ts';
import {
  badRequestResponse,
  handleProtocolErrors,
  hostHeaderProblem,
  isRequestError,
  MAX_HEADER_BYTES,
  sendBadRequest,
} from './protocol.ts';
import { type OpenedMirror, openMirror } from './proxy.ts';
import { scheduleUploadPurging, type UploadPurger } from './purge.ts';
import { type RequestObserver, RequestTracker, requestIdOf } from './requests.ts';
import { enforceClientAuth, httpsOptions } from './tls.ts';

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** The logger; default one made from `config.log` writing to `logSink`. */
  readonly logger?: Logger;
  /** Where the default logger writes. @default buffered stdout */
  readonly logSink?: LogSink;
  /** Wait before the first upload purge; default random, as registry:2 (see `purge.ts`). */
  readonly purgeInitialDelayMs?: number;
  /** Warnings from loading the configuration, logged once the logger exists. */
  readonly warnings?: readonly string[];
  /** Health checks besides the configured ones (`health.storagedriver`). */
  readonly healthChecks?: readonly PeriodicCheck[];
}

/** A started server. */
export interface RunningServer {
  /** The bound address: `host:port` (IPv6 in brackets) or the unix socket path. */
  readonly address: string;
  /** The bound port (`undefined` for a unix socket). */
  readonly port: number | undefined;
  /** `http(s)://host:port` to reach the server (an unspecified host becomes `localhost`). */
  readonly url: string;
  /** The bound address of the `http.debug.addr` listener, when configured. */
  readonly debugAddress: string | undefined;
  /** The registry the server serves: the mirror's when a pull-through cache is configured. */
  readonly registry: Registry;
  /** The pull-through cache, when `proxy.remoteurl` or `berth.proxy.upstreams` is configured. */
  readonly mirror: Mirror | undefined;
  readonly logger: Logger;
  /** Requests whose response has not finished. */
  readonly inFlight: number;
  /** Failures counted since the start (see {@link ErrorCounts}). */
  readonly errors: Readonly<ErrorCounts>;
  /**
   * Logs (at error level, with the stack) and counts an exception that escaped every guard, an
   * `uncaughtException` or `unhandledRejection` of the process. The server keeps serving: each
   * request's state lives in storage, written atomically, so one request's bug must not cut off
   * every other client (registry:2's Go server likewise recovers a panicking handler), and the
   * bug stays visible in the log every time it happens.
   */
  reportEscaped(kind: 'uncaught exception' | 'unhandled rejection', error: unknown): void;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `drainTimeoutMs`
   * (default `http.draintimeout`; 0 closes them at once), then closes every connection and stops
   * the background jobs. Idempotent.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

/** Failures a server counts. */
export interface ErrorCounts {
  /** Requests answered `500` because of an error that is not the client's. */
  readonly internal: number;
  /** Exceptions that escaped every guard ({@link RunningServer.reportEscaped}). */
  readonly escaped: number;
}

/**
 * Starts the registry described by `config`.
 * @throws {StartupError} when a certificate cannot be read, the address cannot be bound, or
 * `storage.filesystem.rootdirectory` cannot be used.
 *
 * @example
 * ```ts
 * const { config, warnings } = await loadConfig({ path: 'config.yml' });
 * const server = await startServer(config, { warnings });
 * process.once('SIGTERM', () => void server.close());
 * ```
 */
export async function startServer(
  config: BerthConfig,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const logger =
    options.logger ??
    createLogger({
      level: config.log.level,
      formatter: config.log.formatter,
      fields: config.log.fields,
      accessLogDisabled: config.log.accessLog.disabled,
      ...(options.logSink === undefined ? {} : { sink: options.logSink }),
    });
  for (const warning of options.warnings ?? []) logger.warn(`configuration: ${warning}`);

  const metrics = config.http.metrics.enabled ? createServerMetrics({ version: berthVersion() }) : undefined;
  const storageDriver = await createDriver(config, logger);
  const driver = metrics === undefined ? storageDriver : metrics.instrumentDriver(storageDriver);
  const descriptorCache = openBlobDescriptorCache(config, logger);
  const changeFeed = openChangeFeed(config, descriptorCache);
  // Both wait (at most 1 s) for Redis, at the same time.
  await Promise.all([descriptorCache?.ready(), changeFeed?.ready()]);
  if (changeFeed !== undefined) {
    logger.info('storage change feed: redis; in-process read caches on', {
      ttl: formatDuration(SHARED_READ_CACHE_TTL_MS),
    });
  }
  const local = createRegistry(
    {
      driver,
      ...(changeFeed === undefined ? {} : { changes: changeFeed.feed }),
      ...(descriptorCache === undefined ? {} : { blobDescriptorCache: descriptorCache.cache }),
      deleteEnabled: config.storage.deleteEnabled,
      redirect: config.storage.redirect,
      validation: {
        disabled: config.validation.disabled,
        urls: { allow: config.validation.urls.allow, deny: config.validation.urls.deny },
        indexes: {
          platforms: config.validation.indexes.platforms,
          platformList: config.validation.indexes.platformList,
        },
      },
    },
    changeFeed === undefined ? {} : { readCacheTtlMs: SHARED_READ_CACHE_TTL_MS },
  );
  let proxy: OpenedMirror | undefined;
  if (config.proxy !== undefined) {
    try {
      proxy = await openMirror(config.proxy, {
        registry: local,
        logger,
        ...(descriptorCache === undefined ? {} : { blobDescriptorCache: descriptorCache.cache }),
        ...(changeFeed === undefined ? {} : { changes: changeFeed.feed }),
      });
    } catch (error) {
      await changeFeed?.close();
      await descriptorCache?.close();
      throw error;
    }
  }
  const registry = proxy?.mirror.registry ?? local;

  let secret = config.http.secret;
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64url');
    logger.warn(
      'no http.secret configured: generated a random one. Uploads cannot be continued by another ' +
        'replica behind a load balancer, nor after a restart; set http.secret (or REGISTRY_HTTP_SECRET) ' +
        'to the same value on every replica',
    );
  }
  if (config.storage.maintenance.readOnly) logger.info('read-only mode: writes are answered 405');
  if (!config.storage.redirect) logger.info('backend redirection disabled');

  const counts = { internal: 0, escaped: 0 };
  const accessControl = await createAccessControl(config, logger, { tls: config.http.tls !== undefined });
  const issuer = accessControl.issuer;
  const middleware = [
    ...(proxy === undefined ? [] : [namespaceMiddleware(proxy.mirror)]),
    ...(accessControl.middleware === undefined ? [] : [accessControl.middleware]),
  ];

  const app = createRegistryApp({
    registry,
    ...(middleware.length === 0 ? {} : { middleware }),
    secret,
    prefix: config.http.prefix,
    ...(config.http.host === undefined ? {} : { host: config.http.host }),
    relativeUrls: config.http.relativeUrls,
    headers: config.http.headers,
    readOnly: config.storage.maintenance.readOnly,
    catalogMaxEntries: config.catalogMaxEntries,
    tagsMaxTags: config.tagsMaxTags,
    onError(err, c) {
      const incoming = c.env?.incoming;
      // A client that went away mid-request is not a server error: its access line (499) says it.
      if (incoming !== undefined && clientWentAway(incoming)) return;
      counts.internal += 1;
      logger.error('internal server error', {
        err,
        requestId: requestIdOf(incoming),
        method: c.req.method,
        // Without the query: an upload's signed `_state` never reaches the logs.
        path: requestPath(incoming?.url ?? c.req.path),
      });
    },
  });

  const checks: PeriodicCheck[] = [...(options.healthChecks ?? []), ...configuredChecks(config.health)];
  if (config.health.storageDriver.enabled) {
    checks.push(storageDriverCheck(config.storage.driver.name, driver, config.health.storageDriver));
  }
  const health = new HealthMonitor(checks, logger);

  const fetch = (request: Request, env: HttpBindings): Response | Promise<Response> => {
    const target = env.incoming.url ?? '/';
    if (target === '/debug/health' || target.startsWith('/debug/health?')) return healthResponse(health);
    if (issuer !== undefined && requestPath(target) === issuer.path) {
      return issuer.handle(request, env.incoming.socket.remoteAddress);
    }
    // `GET /` is the liveness probe: alive while checks fail (registry:2 answers it outside
    // its health gate), so that a drained node is taken out of rotation, not restarted.
    if (target === '/' || target.startsWith('/?')) return aliveResponse();
    if (!health.healthy) return unavailableResponse();
    return app.fetch(request, env);
  };
  // The request whose `Request` is being built: `@hono/node-server` reports a target it cannot
  // turn into a URL synchronously, from inside the listener call below, so this names it.
  let building: IncomingMessage | undefined;
  const onListenerError = (error: unknown): Response => {
    if (isRequestError(error)) return badRequestResponse(building?.url, error.message);
    counts.internal += 1;
    logger.error('internal server error', { err: error });
    return internalErrorResponse();
  };
  const adapter = getRequestListener(fetch as Parameters<typeof getRequestListener>[0], {
    errorHandler: onListenerError,
    // HTTP/1.0 requests may come without `Host` (Go's server accepts them too).
    hostname: 'localhost',
  });
  const listener = (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Node's own check (`requireHostHeader`) answers a bare 400 without the envelope, and
    // lets a duplicate `Host` through.
    const hostProblem = hostHeaderProblem(req);
    if (hostProblem !== undefined) {
      sendBadRequest(res, req.url, hostProblem);
      return Promise.resolve();
    }
    building = req;
    try {
      return adapter(req, res);
    } finally {
      building = undefined;
    }
  };

  const tracker = new RequestTracker(
    logger,
    metrics === undefined
      ? undefined
      : (metricsObserver(metrics, config.http.prefix) as RequestObserver<unknown>),
  );
  if (metrics !== undefined && proxy !== undefined) metrics.addMirror(proxy.mirror);
  if (metrics !== undefined && descriptorCache !== undefined)
    metrics.addBlobDescriptorCache(() => descriptorCache.stats());
  const serverOptions = {
    // registry:2 (Go) has no read timeout: a large blob may take long to upload.
    requestTimeout: 0,
    keepAlive: true,
    keepAliveTimeout: 65_000,
    headersTimeout: 66_000,
    maxHeaderSize: MAX_HEADER_BYTES,
    // Checked in `listener`, to answer with the envelope.
    requireHostHeader: false,
  };
  const tls = config.http.tls;
  let server: HttpServer;
  if (tls !== undefined) {
    const https = createHttpsServer(
      { ...serverOptions, ...(await httpsOptions(tls)) },
      tracker.wrap(listener),
    );
    enforceClientAuth(https, tls);
    logger.info('restricting TLS version', { minimum: tls.minimumTls });
    server = https as unknown as HttpServer;
  } else {
    server = createHttpServer(serverOptions, tracker.wrap(listener));
  }
  handleProtocolErrors(server, logger);

  let bound: Bound;
  try {
    bound = await listen(server, config.http.net, config.http.addr, 'http.addr');
  } catch (error) {
    await accessControl.close();
    await proxy?.close(0);
    await changeFeed?.close();
    await descriptorCache?.close();
    throw error;
  }
  const scheme = tls === undefined ? 'http' : 'https';
  logger.info('listening', {
    addr: bound.address,
    tls: tls !== undefined,
    prefix: config.http.prefix === '' ? undefined : config.http.prefix,
  });

  let debug: { server: HttpServer; address: string } | undefined;
  if (config.http.debugAddr !== undefined) {
    const debugServer = createHttpServer(
      serverOptions,
      getRequestListener(async (request: Request) => {
        const path = new URL(request.url).pathname;
        if (path === '/debug/health') return healthResponse(health);
        if (metrics !== undefined && path === config.http.metrics.path) {
          const { body, contentType } = await metrics.scrape();
          return new Response(request.method === 'HEAD' ? null : body, {
            headers: { 'Content-Type': contentType },
          });
        }
        return new Response('404 page not found\n', {
          status: 404,
          headers: { 'Content-Type': 'text/plain' },
        });
      }),
    );
    handleProtocolErrors(debugServer, logger);
    try {
      const debugBound = await listen(debugServer, 'tcp', config.http.debugAddr, 'http.debug.addr');
      debug = { server: debugServer, address: debugBound.address };
      logger.info('debug server listening', {
        addr: debugBound.address,
        ...(metrics === undefined ? {} : { metrics: config.http.metrics.path }),
      });
    } catch (error) {
      server.closeAllConnections();
      server.close();
      await accessControl.close();
      await proxy?.close(0);
      await changeFeed?.close();
      await descriptorCache?.close();
      throw error;
    }
  }

  health.start();
  proxy?.start();
  const purger: UploadPurger | undefined = scheduleUploadPurging(
    local,
    config.storage.maintenance.uploadPurging,
    logger,
    options.purgeInitialDelayMs === undefined ? {} : { initialDelayMs: options.purgeInitialDelayMs },
  );

  let closing: Promise<void> | undefined;
  const close = (closeOptions: { drainTimeoutMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      const drainTimeoutMs = closeOptions.drainTimeoutMs ?? config.http.drainTimeoutMs;
      purger?.stop();
      health.stop();
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      if (debug !== undefined) {
        debug.server.closeAllConnections();
        debug.server.close();
      }
      const inFlight = tracker.inFlight;
      if (inFlight > 0 && drainTimeoutMs > 0) {
        logger.info('stopping server gracefully: draining connections', {
          inFlight,
          drainTimeout: formatDuration(drainTimeoutMs),
        });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          tracker.drain().then(() => false),
          new Promise<boolean>((done) => {
            timer = setTimeout(() => done(true), drainTimeoutMs);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          logger.warn('drain timeout: closing the remaining connections', { inFlight: tracker.inFlight });
        }
      } else if (inFlight > 0) {
        logger.info('stopping server: closing connections (http.draintimeout is 0)', { inFlight });
      }
      server.closeAllConnections();
      await closed;
      // The TTL state written once more; fills still running get the drain timeout to finish.
      await proxy?.close(drainTimeoutMs);
      await accessControl.close();
      await changeFeed?.close();
      await descriptorCache?.close();
      if (config.http.net === 'unix') await unlink(config.http.addr).catch(() => {});
      logger.info('server stopped');
      logger.flush();
    })();
    return closing;
  };

  return {
    address: bound.address,
    port: bound.port,
    url:
      bound.port === undefined
        ? `${scheme}+unix://${bound.address}`
        : `${scheme}://${urlHost(bound)}:${bound.port}`,
    debugAddress: debug?.address,
    registry,
    mirror: proxy?.mirror,
    logger,
    get inFlight(): number {
      return tracker.inFlight;
    },
    errors: counts,
    reportEscaped(kind, error) {
      counts.escaped += 1;
      const err = error instanceof Error ? error : new Error(String(error));
      try {
        logger.error(`${kind} (a bug; the server keeps serving)`, { err });
        logger.flush();
      } catch {
        process.stderr.write(`berth-registry: ${kind}: ${err.stack ?? err.message}\n`);
      }
    },
    close,
  };
}

async function createDriver(config: BerthConfig, logger: Logger): Promise<StorageDriver> {
  const { name, options } = config.storage.driver;
  const entry = driverEntry(name);
  if (entry === undefined || !entry.available)
    throw new StartupError(`storage.${name}: driver not available`);
  const root = (options as { rootdirectory?: unknown }).rootdirectory;
  if (name === 'filesystem' && typeof root === 'string') {
    await prepareFilesystemRoot(root, (options as { fsync?: unknown }).fsync !== false);
  }
  const factory = await entry.load();
  let driver = await factory.create(options);
  logger.info('storage driver ready', {
    driver: name,
    ...(typeof root === 'string' ? { rootdirectory: resolve(root) } : {}),
    delete: config.storage.deleteEnabled,
  });
  // registry:2 wraps the driver in each `middleware.storage` entry, in order.
  for (const [i, middleware] of config.middleware.storage.entries()) {
    const known = middlewareEntry(middleware.name);
    if (known === undefined || !known.available)
      throw new StartupError(`middleware.storage[${i}].name: ${middleware.name} not available`);
    driver = await (await known.load()).wrap(driver, middleware.options);
    const baseUrl = (middleware.options as { baseUrl?: unknown }).baseUrl;
    logger.info('storage middleware applied', {
      middleware: middleware.name,
      ...(typeof baseUrl === 'string' ? { baseurl: baseUrl } : {}),
    });
  }
  return driver;
}

const ROOT_KEY = 'storage.filesystem.rootdirectory';

/** A short reason for a failed filesystem call. */
function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    case 'ENOSPC':
      return 'no space left on device';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Makes sure the filesystem driver can store anything before the server serves: a missing root
 * is created (with `mkdir -p`, as the driver's first write would, its new entries made durable
 * when `fsync` is on), while a root that is a file, lies below a file or cannot be written to
 * stops the start naming the key. Otherwise the server would start and answer the first push
 * with a 500.
 * @throws {StartupError}
 */
async function prepareFilesystemRoot(root: string, fsync: boolean): Promise<void> {
  const path = resolve(root);
  let created: string | undefined;
  try {
    created = await mkdir(path, { recursive: true });
  } catch (error) {
    const found = await stat(path).catch(() => undefined);
    if (found !== undefined && !found.isDirectory()) {
      throw new StartupError(`${ROOT_KEY}: ${path} exists and is not a directory`);
    }
    throw new StartupError(`${ROOT_KEY}: cannot create ${path}: ${fsReason(error)}`);
  }
  if (!(await stat(path)).isDirectory()) {
    throw new StartupError(`${ROOT_KEY}: ${path} exists and is not a directory`);
  }
  try {
    await access(path, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new StartupError(`${ROOT_KEY}: ${path} is not writable: ${fsReason(error)}`);
  }
  if (created !== undefined && fsync) {
    // Each new directory is an entry in its parent: sync the parents, from the root's up to
    // that of the first directory created.
    for (let dir = path; ; dir = dirname(dir)) {
      const handle = await open(dirname(dir), 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (dir === created || dirname(dir) === dir) break;
    }
  }
}

/**
 * True when the client closed the connection before its request body was read whole: the
 * error that ended the request is the aborted body (or what it caused), not a server fault.
 */
function clientWentAway(incoming: IncomingMessage): boolean {
  return !incoming.complete && (incoming.destroyed || incoming.socket?.destroyed !== false);
}

/** The path of a request target, without the query. */
function requestPath(target: string): string {
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

/** `500 UNKNOWN` in the OCI envelope, for a failure outside the registry app. */
function internalErrorResponse(): Response {
  const body = JSON.stringify(new RegistryError('UNKNOWN').toJSON());
  return new Response(body, {
    status: 500,
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) },
  });
}

function aliveResponse(): Response {
  return new Response(null, { status: 200, headers: { 'Cache-Control': 'no-cache' } });
}

interface Bound {
  readonly address: string;
  readonly host: string;
  readonly port: number | undefined;
}

function urlHost(bound: Bound): string {
  if (bound.host === '::' || bound.host === '0.0.0.0' || bound.host === '') return 'localhost';
  return bound.host.includes(':') ? `[${bound.host}]` : bound.host;
}

/** Listens on a Go-style address; errors name the config key. @throws {StartupError} */
async function listen(server: HttpServer, net: 'tcp' | 'unix', addr: string, key: string): Promise<Bound> {
  let target: { port: number; host?: string } | { path: string };
  if (net === 'unix') {
    await removeStaleSocket(addr, key);
    target = { path: addr };
  } else {
    const parsed = splitHostPort(addr);
    if (typeof parsed === 'string') throw new StartupError(`${key}: ${parsed}`);
    target = parsed.host === '' ? { port: parsed.port } : { port: parsed.port, host: parsed.host };
  }
  await new Promise<void>((resolveListen, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'address already in use'
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
              ? 'address not available on this machine'
              : error.message;
      reject(new StartupError(`${key}: cannot listen on ${addr}: ${why}`));
    };
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
  const info = server.address();
  if (info === null || typeof info === 'string') return { address: addr, host: addr, port: undefined };
  const { address, port } = info as AddressInfo;
  return {
    address: address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`,
    host: address,
    port,
  };
}

/** registry:2 removes a leftover socket file before listening on a unix socket. */
async function removeStaleSocket(path: string, key: string): Promise<void> {
  try {
    const stats = await lstat(path);
    if (!stats.isSocket()) throw new StartupError(`${key}: ${path} exists and is not a socket`);
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The server's version (its package's), for `berth_build_info`; `unknown` when unreadable. */
function berthVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
