/** Opening the storage a `config.yml` describes, exactly as the server does. */
import { isConfigError, type LoadedConfig, loadConfig, STORAGE_DRIVERS } from '@berth/registry-server';
import type { StorageDriver } from '@berth/storage-driver';
import { CliError } from './errors.ts';
import type { Io } from './io.ts';

/** A configuration and the storage driver it configures. */
export interface OpenedStorage {
  readonly loaded: LoadedConfig;
  readonly driver: StorageDriver;
}

/**
 * Loads `configPath` — or, when `undefined`, what the server loads without an argument
 * (`REGISTRY_CONFIGURATION_PATH`, else the embedded default) — with `REGISTRY_*` overrides from
 * `io.env`, prints its warnings to stderr unless `quiet`, and creates the configured storage
 * driver.
 * @throws {CliError} `CONFIG` with the message naming the offending key, `STORAGE` when the
 * driver cannot be created.
 */
export async function openStorage(
  configPath: string | undefined,
  io: Io,
  quiet: boolean,
): Promise<OpenedStorage> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({ path: configPath, env: io.env, cwd: io.cwd });
  } catch (err) {
    if (isConfigError(err)) throw new CliError('CONFIG', err.message, { cause: err });
    throw err;
  }
  if (!quiet) for (const warning of loaded.warnings) io.stderr.write(`berth: configuration: ${warning}\n`);
  const { name, options } = loaded.config.storage.driver;
  const entry = Object.hasOwn(STORAGE_DRIVERS, name) ? STORAGE_DRIVERS[name] : undefined;
  if (entry === undefined || !entry.available) {
    const reason = entry !== undefined && !entry.available ? `: ${entry.reason}` : '';
    throw new CliError('CONFIG', `storage.${name}: driver not available${reason}`);
  }
  try {
    const factory = await entry.load();
    return { loaded, driver: await factory.create(options) };
  } catch (err) {
    throw new CliError('STORAGE', `storage.${name}: ${(err as Error).message}`, { cause: err });
  }
}
