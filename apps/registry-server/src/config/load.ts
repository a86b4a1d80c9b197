import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { applyEnvOverrides, EnvOverrideError, normalizeShorthands } from './env.ts';
import { ConfigError } from './errors.ts';
import { isRawMap, parseYaml, type RawConfig, YamlSyntaxError } from './raw.ts';
import { validateConfig } from './schema.ts';
import type { BerthConfig } from './types.ts';

/**
 * The configuration used when none is given: registry:2's container default
 * (`/etc/distribution/config.yml`) with the data under `./data` of the working directory and no
 * blob descriptor cache. `REGISTRY_*` variables override it like a file.
 */
export const DEFAULT_CONFIG_YAML: string = `# Berth's embedded default configuration (used when no config file is given).
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: ./data
  delete:
    enabled: false
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

/** A validated configuration and what was noticed on the way. */
export interface LoadedConfig {
  readonly config: BerthConfig;
  /** Unknown keys, unsupported sections, ignored variables: log them at start. */
  readonly warnings: readonly string[];
  /** The absolute path of the file, or `undefined` for the embedded default. */
  readonly source: string | undefined;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The config file; default `env.REGISTRY_CONFIGURATION_PATH`, else the embedded default. */
  readonly path?: string | undefined;
  /** Where `REGISTRY_*` overrides come from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** What a relative `path` is resolved against. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Reads the configuration file (or the embedded default), applies `REGISTRY_*` overrides and
 * validates it, loading the configured storage driver's package to check its parameters.
 * @throws {ConfigError} listing every problem, each naming its key.
 *
 * @example
 * ```ts
 * const { config, warnings } = await loadConfig({ path: 'config.yml' });
 * ```
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const given = options.path || env.REGISTRY_CONFIGURATION_PATH || undefined;
  if (given === undefined) return parseConfig(DEFAULT_CONFIG_YAML, { env });
  const path = resolve(options.cwd ?? process.cwd(), given);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new ConfigError([`cannot read configuration file: ${why}`], path);
  }
  return parseConfig(text, { env, source: path });
}

/**
 * Parses and validates configuration text (see {@link loadConfig}).
 * @throws {ConfigError}
 */
export async function parseConfig(
  text: string,
  options: { env?: Readonly<Record<string, string | undefined>>; source?: string | undefined } = {},
): Promise<LoadedConfig> {
  const source = options.source;
  const raw: RawConfig = { root: {}, texts: new Map(), origins: new Map() };
  let parsed: unknown;
  try {
    parsed = parseYaml(text, raw.texts);
  } catch (error) {
    if (error instanceof YamlSyntaxError)
      throw new ConfigError([`YAML syntax error: ${error.message}`], source);
    throw error;
  }
  if (parsed === null || parsed === undefined) parsed = {};
  if (!isRawMap(parsed)) throw new ConfigError(['the configuration must be a YAML mapping'], source);
  raw.root = parsed;
  normalizeShorthands(raw);

  const warnings: string[] = [];
  try {
    applyEnvOverrides(raw, options.env ?? process.env, (message) => warnings.push(message));
  } catch (error) {
    if (error instanceof EnvOverrideError) throw new ConfigError([error.message], source);
    throw error;
  }
  const result = await validateConfig(raw);
  if (result.config === undefined) throw new ConfigError(result.errors, source);
  return { config: result.config, warnings: [...warnings, ...result.warnings], source };
}
