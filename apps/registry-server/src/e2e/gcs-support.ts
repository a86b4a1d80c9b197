/**
 * Berth on firebase-tools' GCS emulator for the end-to-end tests: one emulator per test file,
 * Berth processes started on a bucket of it with a registry:2-style `storage.gcs` section (plus
 * Berth's `endpoint`).
 *
 * Two settings are forced by the emulator, not by Berth:
 * - `chunksize: 64 MiB`. The emulator has no compose (501), and a write of more than one chunk
 *   stored in more than one part is composed at commit; with 64 MiB chunks every upload of these
 *   tests (the largest is 50 MiB) is one part, committed with a copy or one upload.
 * - `storage.redirect.disable: true`. Signed URLs would be handed out (and the emulator would
 *   serve them), but it checks no signatures, so a redirect test here would prove nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GcsEmulatorServer, type RunningServer, startBerth } from '@berth/test-servers';

/** The chunk size the e2e tests run with (see above). */
export const E2E_GCS_CHUNK_SIZE: number = 64 * 1024 * 1024;

/** A fresh bucket name (the emulator creates it on first use). */
export function gcsBucket(label: string): string {
  return `berth-e2e-${label}-${randomBytes(4).toString('hex')}`;
}

/** The `config.yml` of a Berth storing in `bucket` of the emulator. */
export function gcsConfigYaml(emulator: GcsEmulatorServer, bucket: string, extraYaml = ''): string {
  const q = (value: string): string => JSON.stringify(value);
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  gcs:',
    `    bucket: ${q(bucket)}`,
    `    endpoint: ${q(emulator.endpoint)}`,
    '    rootdirectory: /registry',
    `    chunksize: ${E2E_GCS_CHUNK_SIZE}`,
    '  redirect:',
    '    disable: true',
    '  delete:',
    '    enabled: true',
    'http:',
    // Overridden with REGISTRY_HTTP_ADDR by startBerth.
    '  addr: 127.0.0.1:5000',
    // The same secret on every replica, so an upload started on one continues on another.
    '  secret: berth-e2e-gcs-secret',
    extraYaml,
  ].join('\n');
}

/** Starts Berth from source on `bucket` of the emulator; `stop()` also removes its config. */
export async function startBerthOnGcsEmulator(
  emulator: GcsEmulatorServer,
  bucket: string,
  extraYaml?: string,
): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-gcs-config-'));
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, gcsConfigYaml(emulator, bucket, extraYaml));
  let server: RunningServer;
  try {
    server = await startBerth({ configFile });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...server,
    stop: async (timeoutMs?: number) => {
      await server.stop(timeoutMs);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A `fetch` that does not follow redirects, with a timeout. */
export function fetchManual(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
}
