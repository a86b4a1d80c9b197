import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, type RunningServer, startProcessServer } from './process.ts';

/** azurite's fixed development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
/** The key of {@link AZURITE_ACCOUNT_NAME} (public, the same in every azurite). */
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /** Default: a free port. azurite always binds 127.0.0.1 here. */
  port?: number;
  /** Do not print one access-log line per request (less work under load). Default false. */
  silent?: boolean;
  /** Default 20 s. */
  startTimeoutMs?: number;
}

/** A running azurite blob service. */
export interface AzuriteServer extends RunningServer {
  /** The blob service endpoint, `http://127.0.0.1:<port>/devstoreaccount1` (path-style, as azurite wants it). */
  readonly blobEndpoint: string;
  readonly accountName: string;
  readonly accountKey: string;
  /** A connection string for the SDKs. */
  readonly connectionString: string;
}

/**
 * The azurite blob server's entry point, resolved from the `azurite` dev dependency of
 * `@berth/storage-driver-azure`, so nothing else has to be installed.
 */
export function azuriteBlobEntryPoint(): string {
  const require = createRequire(
    new URL('../../../packages/storage-driver-azure/package.json', import.meta.url),
  );
  let manifest: string;
  try {
    manifest = require.resolve('azurite/package.json');
  } catch (error) {
    throw new Error(
      'azurite is not installed: it is a dev dependency of packages/storage-driver-azure (run pnpm install)',
      { cause: error },
    );
  }
  return join(dirname(manifest), 'dist', 'src', 'blob', 'main.js');
}

/**
 * Starts azurite's blob service (`azurite-blob`) on 127.0.0.1 with in-memory persistence, with
 * the Node running the tests, and waits (bounded) until it answers. Stop it with `stop()` (by PID).
 *
 * @example
 * ```ts
 * const azurite = await startAzurite();
 * try { … azurite.connectionString … } finally { await azurite.stop(); }
 * ```
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteServer> {
  const entryPoint = azuriteBlobEntryPoint();
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    let server: RunningServer;
    try {
      server = await startProcessServer({
        name: 'azurite',
        command: process.execPath,
        args: [
          entryPoint,
          '--blobHost',
          '127.0.0.1',
          '--blobPort',
          String(port),
          '--inMemoryPersistence',
          // The SDK speaks a newer API version than azurite 3.35 knows.
          '--skipApiVersionCheck',
          '--disableTelemetry',
          ...(options.silent ? ['--silent'] : []),
        ],
        port,
        configFile: '',
        // Any answer (403 without credentials) means it is listening.
        readyPath: `/${AZURITE_ACCOUNT_NAME}?comp=list`,
        ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
      });
    } catch (error) {
      const portTaken = /EADDRINUSE|address already in use/i.test(String(error));
      if (portTaken && options.port === undefined && attempt < 3) continue;
      throw error;
    }
    const blobEndpoint = `${server.url}/${AZURITE_ACCOUNT_NAME}`;
    return {
      ...server,
      blobEndpoint,
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: AZURITE_ACCOUNT_KEY,
      connectionString:
        `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
        `AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
    };
  }
}
