import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CommandOptions, type CommandResult, runCommand } from './command.ts';
import { freePort, type ProcessServerSpec, type RunningServer, startProcessServer } from './process.ts';
import { which } from './tools.ts';

/**
 * A registry served from a filesystem root with a config both registry:2 and Berth read
 * (registry:2's `config.yml` schema).
 */
export interface FilesystemServerOptions {
  /** `storage.filesystem.rootdirectory`; created if missing. */
  rootDirectory: string;
  /** Default: a free port. The server always binds 127.0.0.1. */
  port?: number;
  /** `storage.delete.enabled`; default true. */
  deleteEnabled?: boolean;
  /** `http.secret`; default a fixed test secret, so uploads survive a swap of servers. */
  secret?: string;
  /** More top-level YAML, appended verbatim (must not repeat `version`, `storage`, `http`). */
  extraYaml?: string;
  /** Default 20 s. */
  startTimeoutMs?: number;
  /** Extra environment (e.g. `REGISTRY_*` overrides). */
  env?: NodeJS.ProcessEnv;
}

/** A server started on a config file of your own; `http.addr` is overridden with `REGISTRY_HTTP_ADDR`. */
export interface ConfigFileServerOptions {
  configFile: string;
  port?: number;
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export type ServerOptions = FilesystemServerOptions | ConfigFileServerOptions;

/** The `config.yml` for {@link FilesystemServerOptions} (strings are JSON-quoted, which YAML reads). */
export function filesystemConfigYaml(options: FilesystemServerOptions & { port: number }): string {
  const q = (value: string): string => JSON.stringify(value);
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(resolve(options.rootDirectory))}`,
    '  delete:',
    `    enabled: ${options.deleteEnabled ?? true}`,
    'http:',
    `  addr: ${q(`127.0.0.1:${options.port}`)}`,
    `  secret: ${q(options.secret ?? 'berth-e2e-test-secret')}`,
    options.extraYaml ?? '',
  ].join('\n');
}

interface PreparedConfig {
  configFile: string;
  port: number;
  env: NodeJS.ProcessEnv;
  startTimeoutMs: number | undefined;
  /** Removes the config written for the server, if any. */
  cleanup: () => void;
}

async function prepareConfig(name: string, options: ServerOptions): Promise<PreparedConfig> {
  const port = options.port ?? (await freePort());
  if ('configFile' in options) {
    return {
      configFile: resolve(options.configFile),
      port,
      env: { ...process.env, ...options.env, REGISTRY_HTTP_ADDR: `127.0.0.1:${port}` },
      startTimeoutMs: options.startTimeoutMs,
      cleanup: () => {},
    };
  }
  mkdirSync(options.rootDirectory, { recursive: true });
  const configDir = mkdtempSync(join(tmpdir(), `berth-e2e-${name}-config-`));
  const configFile = join(configDir, 'config.yml');
  writeFileSync(configFile, filesystemConfigYaml({ ...options, port }));
  return {
    configFile,
    port,
    env: { ...process.env, ...options.env },
    startTimeoutMs: options.startTimeoutMs,
    cleanup: () => rmSync(configDir, { recursive: true, force: true }),
  };
}

/**
 * Starts registry:2 (Debian's `docker-registry`, distribution 2.8.2; `$DOCKER_REGISTRY_BIN`
 * overrides the binary) with `docker-registry serve config.yml` on 127.0.0.1.
 *
 * @example
 * ```ts
 * const registry = await startRegistry2({ rootDirectory: dir });
 * try { … registry.url … } finally { await registry.stop(); }
 * ```
 */
export async function startRegistry2(options: ServerOptions): Promise<RunningServer> {
  const binary = process.env.DOCKER_REGISTRY_BIN ?? 'docker-registry';
  const command = which(binary);
  if (command === undefined) {
    throw new Error(
      `${binary} not found on PATH (apt-get install -y --no-install-recommends docker-registry)`,
    );
  }
  return start('registry2', options, (configFile) => ({
    name: 'registry:2',
    command,
    args: ['serve', configFile],
  }));
}

/** `apps/registry-server/src/main.ts` of this repository, found relative to this file. */
export const berthEntryPoint: string = fileURLToPath(
  new URL('../../../apps/registry-server/src/main.ts', import.meta.url),
);

/** `apps/registry-cli/src/main.ts` of this repository (the `berth` command), found relative to this file. */
export const berthCliEntryPoint: string = fileURLToPath(
  new URL('../../../apps/registry-cli/src/main.ts', import.meta.url),
);

/**
 * Runs the `berth` command from source (`node --conditions=@berth/source
 * apps/registry-cli/src/main.ts …args`) with the Node running the tests, to completion; never
 * rejects for a non-zero exit.
 *
 * @example
 * ```ts
 * const gc = await runBerthCli(['gc', configFile, '--json']);
 * expect(gc.code, gc.stderr).toBe(0);
 * ```
 */
export function runBerthCli(args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  return runCommand(process.execPath, ['--conditions=@berth/source', berthCliEntryPoint, ...args], options);
}

/**
 * Starts Berth from source: `node --conditions=@berth/source apps/registry-server/src/main.ts
 * config.yml` with the Node running the tests, on 127.0.0.1.
 */
export async function startBerth(options: ServerOptions): Promise<RunningServer> {
  return start('berth', options, (configFile) => ({
    name: 'Berth',
    command: process.execPath,
    args: ['--conditions=@berth/source', berthEntryPoint, configFile],
  }));
}

/**
 * Starts the server; when the port was picked here and another process took it between
 * {@link freePort} and the server's bind, tries again with a new port (three attempts).
 */
async function start(
  name: string,
  options: ServerOptions,
  spec: (configFile: string) => Pick<ProcessServerSpec, 'name' | 'command' | 'args'>,
): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    const config = await prepareConfig(name, options);
    let server: RunningServer;
    try {
      server = await startProcessServer({
        ...spec(config.configFile),
        env: config.env,
        port: config.port,
        configFile: config.configFile,
        ...(config.startTimeoutMs === undefined ? {} : { startTimeoutMs: config.startTimeoutMs }),
      });
    } catch (error) {
      config.cleanup();
      const portTaken = /EADDRINUSE|address already in use/i.test(String(error));
      if (portTaken && options.port === undefined && attempt < 3) continue;
      throw error;
    }
    return {
      ...server,
      stop: async (timeoutMs?: number) => {
        await server.stop(timeoutMs);
        config.cleanup();
      },
    };
  }
}
