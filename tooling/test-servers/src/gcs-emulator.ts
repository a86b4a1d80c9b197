/**
 * A Google Cloud Storage JSON API on 127.0.0.1 for tests: the GCS layer of firebase-tools'
 * storage emulator, run without its Firebase rules runtime (which needs Java).
 *
 * The parent side ({@link startGcsEmulator}) spawns this same file with Node in a child process
 * (`node gcs-emulator.ts serve …`), waits for it to answer and stops it by PID. The child side
 * (the `serve` branch at the bottom) loads firebase-tools from the `firebase-tools` dev dependency
 * of `@berth/storage-driver-gcs`, which is pinned to an exact version because these are its
 * internals, not a published API.
 *
 * What the emulator does and does not do (checked with `@google-cloud/storage` 8.4 against
 * firebase-tools 15.34.2): simple, multipart and single-request resumable uploads (at most
 * 130 MB per request, unless `maxRequestBytes` raises that limit), ranged reads, metadata, deletes, copy/rewrite, listings with prefix and
 * delimiter. It has no compose (501), accepts only the first chunk of a resumable upload,
 * ignores `ifGenerationMatch`, pages the objects of a delimiter listing but returns every
 * prefix on every page, cannot create buckets through the API (it creates one implicitly on the
 * first request naming it, so any bucket name works), and checks no signatures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type RunningServer, startProcessServer } from './process.ts';

/** The project id the emulator reports (any `demo-*` id keeps firebase-tools offline). */
export const GCS_EMULATOR_PROJECT = 'demo-berth';

/** Options of {@link startGcsEmulator}. */
export interface GcsEmulatorOptions {
  /** Default: a free port. The emulator always binds 127.0.0.1 here. */
  port?: number;
  /**
   * A bucket to make exist before the emulator is reported ready (the emulator creates a bucket
   * when a request first names it). Default: none.
   */
  bucket?: string;
  /** Default 20 s. */
  startTimeoutMs?: number;
  /**
   * Raise the emulator's limit on one request's body (firebase-tools hard-codes 130 MB in its
   * body parsers; Google takes up to 5 TiB in one upload) to this many bytes, e.g. for a
   * benchmark that stores a 512 MiB object in one upload. Default: the emulator's own limit.
   */
  maxRequestBytes?: number;
}

/** Environment variable that carries {@link GcsEmulatorOptions.maxRequestBytes} to the child. */
const MAX_REQUEST_BYTES_ENV = 'BERTH_GCS_EMULATOR_MAX_REQUEST_BYTES';

/** A running GCS emulator. */
export interface GcsEmulatorServer extends RunningServer {
  /** The API endpoint for `@google-cloud/storage`'s `apiEndpoint`, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** The project id it reports. */
  readonly projectId: string;
}

/** The directory of the `firebase-tools` dev dependency of `@berth/storage-driver-gcs`. */
export function firebaseToolsDir(): string {
  const require = createRequire(
    new URL('../../../packages/storage-driver-gcs/package.json', import.meta.url),
  );
  try {
    return dirname(require.resolve('firebase-tools/package.json'));
  } catch (error) {
    throw new Error(
      'firebase-tools is not installed: it is a dev dependency of packages/storage-driver-gcs (run pnpm install)',
      { cause: error },
    );
  }
}

/**
 * Starts the GCS emulator on 127.0.0.1 in a child process (its data in a fresh temp dir, removed
 * on stop) and waits, bounded, until it answers. Stop it with `stop()` (by PID).
 *
 * @example
 * ```ts
 * const gcs = await startGcsEmulator({ bucket: 'berth-test' });
 * try { new Storage({ apiEndpoint: gcs.endpoint, projectId: gcs.projectId }) … } finally { await gcs.stop(); }
 * ```
 */
export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulatorServer> {
  const toolsDir = firebaseToolsDir();
  const self = fileURLToPath(import.meta.url);
  const readyPath =
    options.bucket === undefined
      ? '/internal/ready'
      : `/b/${encodeURIComponent(options.bucket)}/o?maxResults=1`;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    // firebase-tools keeps object bytes below os.tmpdir(); one directory per emulator, so two
    // emulators never share (and one's shutdown never deletes) the other's data.
    const data = await mkdtemp(join(tmpdir(), 'berth-gcs-emulator-'));
    let server: RunningServer;
    try {
      server = await startProcessServer({
        name: 'gcs-emulator',
        command: process.execPath,
        args: [self, 'serve', String(port), toolsDir, GCS_EMULATOR_PROJECT],
        env: {
          ...process.env,
          TMPDIR: data,
          STORAGE_EMULATOR_DEBUG: '',
          [MAX_REQUEST_BYTES_ENV]:
            options.maxRequestBytes === undefined ? '' : String(Math.floor(options.maxRequestBytes)),
        },
        port,
        configFile: '',
        readyPath,
        ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
      });
    } catch (error) {
      await rm(data, { recursive: true, force: true });
      const portTaken = /EADDRINUSE|address already in use/i.test(String(error));
      if (portTaken && options.port === undefined && attempt < 3) continue;
      throw error;
    }
    return {
      ...server,
      endpoint: server.url,
      projectId: GCS_EMULATOR_PROJECT,
      stop: async (timeoutMs?: number) => {
        await server.stop(timeoutMs);
        await rm(data, { recursive: true, force: true });
      },
    };
  }
}

/** The child side: serve the emulator's GCS API on 127.0.0.1:`port` until SIGTERM. */
async function serve(port: number, toolsDir: string, projectId: string): Promise<void> {
  const require = createRequire(join(toolsDir, 'package.json'));
  const { StorageEmulator } = require('firebase-tools/lib/emulator/storage/index.js') as {
    StorageEmulator: new (args: Record<string, unknown>) => { args: { projectId: string } };
  };
  const { createApp } = require('firebase-tools/lib/emulator/storage/server.js') as {
    createApp: (
      projectId: string,
      emulator: unknown,
    ) => Promise<(req: IncomingMessage, res: ServerResponse) => void>;
  };
  const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry.js') as {
    EmulatorRegistry: { set(name: string, instance: unknown): void };
  };
  const maxRequestBytes = Number(process.env[MAX_REQUEST_BYTES_ENV] || 0);
  if (maxRequestBytes > 0) raiseBodyLimit(toolsDir, maxRequestBytes);
  const host = '127.0.0.1';
  // No rules files: the GCS API layer uses the admin storage layer, which allows everything.
  const emulator = new StorageEmulator({ projectId, host, port, rules: [], auto_download: false });
  // The Location of a resumable upload session is built from the registry's entry.
  EmulatorRegistry.set('storage', emulator);
  const app = await createApp(projectId, emulator);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/internal/ready') {
      res.writeHead(200).end('ready');
      return;
    }
    // The SDK sends JSON API calls to /storage/v1/b/…; the emulator registers some of them
    // (copy, rewrite, metadata updates) only without that prefix.
    if (url.startsWith('/storage/v1/b/')) req.url = url.slice('/storage/v1'.length);
    if (req.method === 'HEAD') withHeadContentLength(res);
    app(req, res);
  });
  server.listen(port, host, () => {
    process.stdout.write(`GCS emulator (firebase-tools storage emulator) on http://${host}:${port}\n`);
  });
  const shutdown = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1_000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/**
 * Makes every `bodyParser.raw(…)` of firebase-tools' storage emulator use `limit` instead of its
 * hard-coded 130 MB (object uploads are parsed with `raw`; JSON metadata keeps its limit). Must
 * run before the emulator's app is created: some parsers are built then, the others per request.
 */
function raiseBodyLimit(toolsDir: string, limit: number): void {
  // The body-parser the emulator's routes load (resolved from their own directory).
  const require = createRequire(join(toolsDir, 'lib', 'emulator', 'storage', 'apis', 'gcloud.js'));
  const bodyParser = require('body-parser') as { raw: (options?: Record<string, unknown>) => unknown };
  const raw = bodyParser.raw;
  Object.defineProperty(bodyParser, 'raw', {
    configurable: true,
    enumerable: true,
    writable: true,
    value: (options: Record<string, unknown> = {}) => raw({ ...options, limit }),
  });
}

/**
 * The emulator answers HEAD of an object by ending the response with the object's bytes (Node
 * drops them) without a Content-Length; Google sends the object's length. Set it from those bytes.
 */
function withHeadContentLength(res: ServerResponse): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    const [body] = args;
    if (
      !res.headersSent &&
      !res.hasHeader('content-length') &&
      (typeof body === 'string' || body instanceof Uint8Array)
    ) {
      res.setHeader('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    }
    return end(...args);
  }) as ServerResponse['end'];
}

if (import.meta.main && process.argv[2] === 'serve') {
  const [port, toolsDir, projectId] = process.argv.slice(3);
  if (port === undefined || toolsDir === undefined || projectId === undefined) {
    throw new Error('usage: node gcs-emulator.ts serve <port> <firebase-tools dir> <project id>');
  }
  await serve(Number(port), toolsDir, projectId);
}
