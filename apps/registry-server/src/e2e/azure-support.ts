/**
 * Berth on azurite for the end-to-end tests: one azurite per test file, Berth processes started
 * on a container of it with a registry:2-style `storage.azure` section.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AzuriteServer, type RunningServer, startBerth } from '@berth/test-servers';

/** A fresh container name. */
export function azureContainer(label: string): string {
  return `berth-e2e-${label}-${randomBytes(4).toString('hex')}`;
}

/** The `config.yml` of a Berth storing in `container` of `azurite` (shared-key auth, SAS redirects). */
export function azureConfigYaml(azurite: AzuriteServer, container: string, extraYaml = ''): string {
  const q = (value: string): string => JSON.stringify(value);
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  azure:',
    `    accountname: ${q(azurite.accountName)}`,
    `    accountkey: ${q(azurite.accountKey)}`,
    `    container: ${q(container)}`,
    `    serviceurl: ${q(azurite.blobEndpoint)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    // Overridden with REGISTRY_HTTP_ADDR by startBerth.
    '  addr: 127.0.0.1:5000',
    // The same secret on every replica, so an upload started on one continues on another.
    '  secret: berth-e2e-azure-secret',
    extraYaml,
  ].join('\n');
}

/** Starts Berth from source on `container` of `azurite`; `stop()` also removes its config. */
export async function startBerthOnAzurite(
  azurite: AzuriteServer,
  container: string,
  extraYaml?: string,
): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-azure-config-'));
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, azureConfigYaml(azurite, container, extraYaml));
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
