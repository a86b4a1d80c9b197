/**
 * Prometheus metrics (`http.debug.prometheus`), with registry:2's names and labels so that its
 * dashboards and alerts keep working:
 *
 * - `registry_http_*` per route (`handler`: `base`, `catalog`, `tags`, `manifest`, `blob`,
 *   `blob_upload`, `blob_upload_chunk`, and Berth's `referrers`), as registry:2's instrumented
 *   handlers (docker/go-metrics) export them, with the same histogram buckets;
 * - `registry_storage_action_seconds{driver,action}`: every storage driver call, timed until its
 *   promise settles (registry:2's `base` driver wrapper; `driver` is registry:2's driver name);
 * - `registry_proxy_{requests,hits,misses}_total{type}` and `registry_proxy_pulled_bytes_total`
 *   of the pull-through cache, read from it at scrape time;
 * - `registry_storage_cache_{requests,hits,errors}_total` of the blob descriptor cache, read
 *   from its counters at scrape time;
 * - `berth_repository_bytes_total{direction,repository}`: bytes pushed and pulled per
 *   repository, for the first {@link MAX_REPOSITORY_LABELS} repositories this process saw (the
 *   rest under `repository="_other"`, so that the series stay bounded);
 * - the process's metrics (`process_*`, `nodejs_*`), read when scraped (`prom-client`'s default
 *   collectors watch every garbage collection: 15 % more CPU per manifest GET, measured), and
 *   `berth_build_info{version}`.
 *
 * Everything belongs to one server: its own `prom-client` {@link Registry} (never the global
 * one) and the request path's families (`exposition.ts`), so two servers in one process (tests)
 * keep separate counts. Nothing is cached between scrapes: every value is either counted by this
 * process (each replica exports its own) or read from its source when scraped.
 */

import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Mirror } from '@berth/proxy';
import type { FileInfo, FileWriter, StorageDriver } from '@berth/storage-driver';
import { Counter, Gauge, Registry } from 'prom-client';
import type { AccessEntry } from '../log/logger.ts';
import { HistogramFamily, type HistogramSeries, type Value, ValueFamily } from './exposition.ts';
import type { RequestObserver } from './requests.ts';

/** The route of a request, as registry:2's `handler` label names it. */
export type HandlerName =
  | 'base'
  | 'catalog'
  | 'tags'
  | 'manifest'
  | 'blob'
  | 'blob_upload'
  | 'blob_upload_chunk'
  | 'referrers';

/** The OCI routes, most specific first (an upload path also ends like a blob path). */
const ROUTES: readonly (readonly [RegExp, HandlerName])[] = [
  [/^\/v2\/?$/, 'base'],
  [/^\/v2\/_catalog$/, 'catalog'],
  [/^\/v2\/.+\/tags\/list$/, 'tags'],
  [/^\/v2\/.+\/manifests\/[^/]+$/, 'manifest'],
  [/^\/v2\/.+\/blobs\/uploads\/?$/, 'blob_upload'],
  [/^\/v2\/.+\/blobs\/uploads\/[^/]+$/, 'blob_upload_chunk'],
  [/^\/v2\/.+\/blobs\/[^/]+$/, 'blob'],
  [/^\/v2\/.+\/referrers\/[^/]+$/, 'referrers'],
];

/**
 * The handler of a request path (without the query, with `http.prefix` already removed), or
 * `undefined` for anything that is not an OCI route (not counted, as in registry:2).
 */
export function handlerOf(path: string): HandlerName | undefined {
  for (const [pattern, handler] of ROUTES) if (pattern.test(path)) return handler;
  return undefined;
}

/** Repositories that get a label of their own in `berth_repository_bytes_total`. */
export const MAX_REPOSITORY_LABELS = 200;

/** The repository of a path that has one (manifest, blob, upload, tags, referrers). */
export function repositoryOf(path: string): string | undefined {
  const match = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(path);
  return match?.[1];
}

/** registry:2's `registry_http_request_duration_seconds` buckets. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60];
/** `registry_storage_action_seconds`: the Prometheus client's default buckets, as registry:2's. */
const STORAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** registry:2's size buckets: 1 KiB to 2 GiB, doubling (22 of them). */
const SIZE_BUCKETS = Array.from({ length: 22 }, (_, i) => 1024 * 2 ** i);

/** The `driver` label: registry:2's name for the driver where it differs from the config key. */
const REGISTRY2_DRIVER_NAMES: Readonly<Record<string, string>> = { s3: 's3aws' };

/** registry:2's `action` label per driver method. */
const ACTIONS = {
  getContent: 'GetContent',
  putContent: 'PutContent',
  reader: 'Reader',
  writer: 'Writer',
  stat: 'Stat',
  list: 'List',
  move: 'Move',
  delete: 'Delete',
  redirectURL: 'RedirectURL',
  walk: 'Walk',
} as const;

/** What one finished request reports. */
export interface RequestObservation {
  readonly handler: HandlerName;
  readonly method: string;
  readonly status: number;
  /** The request's `Content-Length` (0 without one). */
  readonly requestBytes: number;
  /**
   * The body's bytes: its `Content-Length`, or for a chunked body what the connection received
   * while the request ran.
   */
  readonly receivedBytes: number;
  /** The repository of the path, when it names one. */
  readonly repository: string | undefined;
  /** Response body bytes written. */
  readonly responseBytes: number;
  readonly seconds: number;
}

/** Options of {@link createServerMetrics}. */
export interface ServerMetricsOptions {
  /** Berth's version, for `berth_build_info`. */
  readonly version: string;
  /** Node process metrics (`process_*`, `nodejs_*`). @default true */
  readonly processMetrics?: boolean;
}

/** The server's metrics; see the module comment. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** A request of `handler` started (the in-flight gauge). */
  requestStarted(handler: HandlerName): void;
  /** A request of `handler` ended. */
  requestEnded(observation: RequestObservation): void;
  /** `driver` with every call timed into `registry_storage_action_seconds`. */
  instrumentDriver(driver: StorageDriver): StorageDriver;
  /** Exports the pull-through cache's counters (read from `mirror.stats` at each scrape). */
  addMirror(mirror: Mirror): void;
  /** Exports the blob descriptor cache's counters (read at each scrape). */
  addBlobDescriptorCache(stats: () => { hits: number; misses: number; errors: number }): void;
  /** The exposition text and its content type. */
  scrape(): Promise<{ body: string; contentType: string }>;
}

/** Creates the metrics of one server (see the module comment). */
export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) registerProcessMetrics(registry);
  new Gauge({
    name: 'berth_build_info',
    help: 'Always 1; the version of the Berth server as a label.',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version: options.version }, 1);

  // The request path's metrics: plain numbers, rendered at scrape time (`exposition.ts`).
  const inFlight = new ValueFamily(
    'registry_http_in_flight_requests',
    'The in-flight HTTP requests',
    'gauge',
  );
  const requests = new ValueFamily(
    'registry_http_requests_total',
    'Total number of HTTP requests made.',
    'counter',
  );
  const duration = new HistogramFamily(
    'registry_http_request_duration_seconds',
    'The HTTP request latencies in seconds.',
    DURATION_BUCKETS,
  );
  const requestSize = new HistogramFamily(
    'registry_http_request_size_bytes',
    'The HTTP request sizes in bytes.',
    SIZE_BUCKETS,
  );
  const responseSize = new HistogramFamily(
    'registry_http_response_size_bytes',
    'The HTTP response sizes in bytes.',
    SIZE_BUCKETS,
  );
  const storageAction = new HistogramFamily(
    'registry_storage_action_seconds',
    'The number of seconds that the storage action takes',
    STORAGE_BUCKETS,
  );
  const repositoryBytes = new ValueFamily(
    'berth_repository_bytes_total',
    `Bytes pushed (received in uploads and manifest PUTs) and pulled (blob and manifest GET bodies) per repository; the first ${MAX_REPOSITORY_LABELS} repositories seen by this process, then _other.`,
    'counter',
  );
  const families = [inFlight, requests, duration, requestSize, responseSize, storageAction, repositoryBytes];
  const labelled = new Set<string>();
  const repositoryLabel = (name: string): string => {
    if (labelled.has(name)) return name;
    if (labelled.size >= MAX_REPOSITORY_LABELS) return '_other';
    labelled.add(name);
    return name;
  };

  const caches: (() => { hits: number; misses: number; errors: number })[] = [];
  const cacheCounter = (
    name: string,
    help: string,
    read: (s: { hits: number; misses: number; errors: number }) => number,
  ) => scrapedCounter(registry, name, help, () => caches.reduce((sum, stats) => sum + read(stats()), 0));
  cacheCounter(
    'registry_storage_cache_requests_total',
    'The number of cache request received',
    (s) => s.hits + s.misses,
  );
  cacheCounter('registry_storage_cache_hits_total', 'The number of cache request hits', (s) => s.hits);
  cacheCounter('registry_storage_cache_errors_total', 'The number of cache request errors', (s) => s.errors);

  // Series per label set, so that a request costs one map lookup per family.
  const children = new Map<string, { requests: Value; duration: HistogramSeries }>();
  const perHandler = new Map<
    HandlerName,
    { inFlight: Value; requestSize: HistogramSeries; responseSize: HistogramSeries }
  >();
  const handlerChildren = (handler: HandlerName) => {
    let child = perHandler.get(handler);
    if (child === undefined) {
      child = {
        inFlight: inFlight.series({ handler }),
        requestSize: requestSize.series({ handler }),
        responseSize: responseSize.series({ handler }),
      };
      perHandler.set(handler, child);
    }
    return child;
  };
  const bytesSeries = new Map<string, Value>();
  const bytesOf = (direction: 'push' | 'pull', repository: string): Value => {
    const key = `${direction} ${repository}`;
    let series = bytesSeries.get(key);
    if (series === undefined) {
      series = repositoryBytes.series({ direction, repository: repositoryLabel(repository) });
      bytesSeries.set(key, series);
    }
    return series;
  };

  const mirrors: Mirror[] = [];
  const proxyCounter = (
    name: string,
    help: string,
    read: (stats: Mirror['stats']) => Record<string, number>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['type'],
      registers: [registry],
      collect() {
        this.reset();
        for (const mirror of mirrors) {
          for (const [type, value] of Object.entries(read(mirror.stats))) this.inc({ type }, value);
        }
      },
    });
  proxyCounter(
    'registry_proxy_requests_total',
    'The number of total incoming proxy request received',
    (s) => ({
      blob: s.blobHits + s.blobMisses,
      manifest: s.manifestHits + s.manifestFetches,
    }),
  );
  proxyCounter('registry_proxy_hits_total', 'The number of total proxy request hits', (s) => ({
    blob: s.blobHits,
    manifest: s.manifestHits,
  }));
  proxyCounter('registry_proxy_misses_total', 'The number of total proxy request misses', (s) => ({
    blob: s.blobMisses,
    manifest: s.manifestFetches,
  }));
  proxyCounter(
    'registry_proxy_pulled_bytes_total',
    'The size of total bytes pulled from the upstream',
    (s) => ({
      blob: s.blobBytesPulled,
      manifest: s.manifestBytesPulled,
    }),
  );

  return {
    registry,
    requestStarted(handler) {
      handlerChildren(handler).inFlight.inc();
    },
    requestEnded(o) {
      const key = `${o.handler} ${o.status} ${o.method}`;
      let child = children.get(key);
      if (child === undefined) {
        const method = o.method.toLowerCase();
        child = {
          requests: requests.series({ handler: o.handler, code: String(o.status), method }),
          duration: duration.series({ handler: o.handler, method }),
        };
        children.set(key, child);
      }
      child.requests.inc();
      child.duration.observe(o.seconds);
      const handler = handlerChildren(o.handler);
      handler.inFlight.dec();
      handler.requestSize.observe(o.requestBytes);
      handler.responseSize.observe(o.responseBytes);
      if (o.repository !== undefined && o.status < 400) {
        const pushed =
          o.handler === 'blob_upload' ||
          o.handler === 'blob_upload_chunk' ||
          (o.handler === 'manifest' && o.method === 'PUT');
        const pulled = (o.handler === 'blob' || o.handler === 'manifest') && o.method === 'GET';
        if (pushed && o.receivedBytes > 0) bytesOf('push', o.repository).inc(o.receivedBytes);
        else if (pulled && o.responseBytes > 0) bytesOf('pull', o.repository).inc(o.responseBytes);
      }
    },
    instrumentDriver(driver) {
      return timedDriver(driver, storageAction);
    },
    addMirror(mirror) {
      mirrors.push(mirror);
    },
    addBlobDescriptorCache(stats) {
      caches.push(stats);
    },
    async scrape() {
      const out = [await registry.metrics()];
      for (const family of families) family.render(out);
      return { body: `${out.join('\n')}\n`, contentType: registry.contentType };
    },
  };
}

/** `driver` with each call observed into `histogram` (labels: driver, action). */
function timedDriver(driver: StorageDriver, histogram: HistogramFamily): StorageDriver {
  const name = REGISTRY2_DRIVER_NAMES[driver.name] ?? driver.name;
  const timers = {} as Record<keyof typeof ACTIONS, { observe(value: number): void }>;
  for (const [method, action] of Object.entries(ACTIONS) as [keyof typeof ACTIONS, string][])
    timers[method] = histogram.series({ driver: name, action });
  // The caller gets the driver's own promise; the timer settles beside it.
  const timed = <T>(action: keyof typeof ACTIONS, call: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const done = (): void => timers[action].observe((performance.now() - start) / 1000);
    const promise = call();
    promise.then(done, done);
    return promise;
  };
  return {
    name: driver.name,
    getContent: (path, options) => timed('getContent', () => driver.getContent(path, options)),
    putContent: (path, content, options) =>
      timed('putContent', () => driver.putContent(path, content, options)),
    reader: (path, options): Promise<Readable> => timed('reader', () => driver.reader(path, options)),
    writer: (path, options): Promise<FileWriter> => timed('writer', () => driver.writer(path, options)),
    stat: (path, options) => timed('stat', () => driver.stat(path, options)),
    list: (path, options) => timed('list', () => driver.list(path, options)),
    move: (source, destination, options) => timed('move', () => driver.move(source, destination, options)),
    delete: (path, options) => timed('delete', () => driver.delete(path, options)),
    redirectURL: (path, options) => timed('redirectURL', () => driver.redirectURL(path, options)),
    async *walk(path, options): AsyncGenerator<FileInfo> {
      const start = performance.now();
      try {
        yield* driver.walk(path, options);
      } finally {
        timers.walk.observe((performance.now() - start) / 1000);
      }
    },
  };
}

/** What the observer keeps of a request between its start and its end. */
interface ObservedRequest {
  readonly handler: HandlerName;
  readonly path: string;
  /** The connection, remembered at the start (Node may detach it from the request later). */
  readonly socket: Socket;
  readonly bytesRead: number;
}

/**
 * The request tracker's observer feeding `metrics`: each request to an OCI route (below
 * `prefix`, `http.prefix`) is in flight from its arrival until its response closed.
 */
export function metricsObserver(metrics: ServerMetrics, prefix: string): RequestObserver<ObservedRequest> {
  return {
    start(req: IncomingMessage): ObservedRequest | undefined {
      let path = req.url ?? '/';
      const query = path.indexOf('?');
      if (query >= 0) path = path.slice(0, query);
      if (prefix !== '') {
        if (!path.startsWith(prefix)) return undefined;
        path = path.slice(prefix.length) || '/';
      }
      const handler = handlerOf(path);
      if (handler === undefined) return undefined;
      metrics.requestStarted(handler);
      return { handler, path, socket: req.socket, bytesRead: req.socket.bytesRead };
    },
    end({ handler, path, socket, bytesRead }: ObservedRequest, entry: AccessEntry, req: IncomingMessage) {
      const header = Number(req.headers['content-length']);
      const length = Number.isSafeInteger(header) && header > 0 ? header : 0;
      metrics.requestEnded({
        handler,
        repository: repositoryOf(path),
        // A chunked body has no length: what the connection received meanwhile (its first
        // bytes may have arrived with the headers, before the request started).
        receivedBytes: length > 0 ? length : Math.max(0, socket.bytesRead - bytesRead),
        method: entry.method,
        status: entry.status,
        requestBytes: length,
        responseBytes: entry.bytes,
        seconds: entry.durationMs / 1000,
      });
    },
  };
}

/** A counter of `registry` whose value is read from its source (`read`) when scraped. */
function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/**
 * The process metrics Prometheus's Node clients export, under their usual names, each read from
 * the process when scraped: nothing runs between scrapes.
 */
function registerProcessMetrics(registry: Registry): void {
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });
  const counter = (name: string, help: string, read: () => number) =>
    scrapedCounter(registry, name, help, read);
  counter(
    'process_cpu_user_seconds_total',
    'Total user CPU time spent in seconds.',
    () => process.cpuUsage().user / 1e6,
  );
  counter(
    'process_cpu_system_seconds_total',
    'Total system CPU time spent in seconds.',
    () => process.cpuUsage().system / 1e6,
  );
  counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  });
  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  gauge(
    'process_start_time_seconds',
    'Start time of the process since unix epoch in seconds.',
    () => startTime,
  );
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  gauge('process_open_fds', 'Number of open file descriptors.', () => {
    try {
      return readdirSync('/proc/self/fd').length;
    } catch {
      return undefined; // not Linux
    }
  });
  const maxFds = (() => {
    try {
      const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
      return match === null ? undefined : Number(match[1]);
    } catch {
      return undefined;
    }
  })();
  gauge('process_max_fds', 'Maximum number of open file descriptors.', () => maxFds);
  gauge(
    'nodejs_heap_size_total_bytes',
    'Process heap size from Node.js in bytes.',
    () => process.memoryUsage().heapTotal,
  );
  gauge(
    'nodejs_heap_size_used_bytes',
    'Process heap size used from Node.js in bytes.',
    () => process.memoryUsage().heapUsed,
  );
  gauge(
    'nodejs_external_memory_bytes',
    'Node.js external memory size in bytes.',
    () => process.memoryUsage().external,
  );
  // One sample when scraped (the time until a `setImmediate` runs), as prom-client's
  // `nodejs_eventloop_lag_seconds`: a continuous `monitorEventLoopDelay` histogram costs about
  // 10 % of a manifest GET's rate, measured.
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers: [registry],
    async collect() {
      const start = process.hrtime.bigint();
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.set(Number(process.hrtime.bigint() - start) / 1e9);
    },
  });
  new Gauge({
    name: 'nodejs_version_info',
    help: 'Node.js version info.',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version: process.version }, 1);
}
