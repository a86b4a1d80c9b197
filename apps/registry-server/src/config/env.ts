/**
 * `REGISTRY_*` environment overrides, applied the way registry:2's `configuration/parser.go`
 * applies them:
 *
 * - `REGISTRY_<SECTION>_<KEY>…`: upper case, one `_` per nesting level; matched against the
 *   existing keys case-insensitively, new keys created in lower case. A numeric segment indexes a
 *   list (`REGISTRY_HTTP_TLS_CLIENTCAS_0`); the index may be at most the list's length (that
 *   appends).
 * - The value is parsed as YAML (`true` is a boolean, `[a, b]` a list, `{k: v}` a mapping).
 * - Variables are applied in lexical order of their names, so `REGISTRY_STORAGE=filesystem`
 *   comes before `REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/data`.
 * - `REGISTRY_STORAGE=<driver>` selects another driver with no parameters. registry:2 replaces
 *   the whole `storage` section (dropping `delete`, `maintenance`, …); Berth replaces only the
 *   driver key and keeps the other `storage` keys, which is what the variable is used for.
 *   A value that is a mapping replaces the whole section, as in registry:2.
 * - Setting a parameter of a driver the file does not use (`REGISTRY_STORAGE_FILESYSTEM_…` with
 *   `storage: inmemory`) adds a second driver; validation then fails and names the variable,
 *   as registry:2 fails (it panics) on two drivers.
 *
 * - `REGISTRY_REDIS_OPTIONS_<KEY>…` is `REGISTRY_REDIS_<KEY>…`: registry v3 keeps go-redis'
 *   options in an inline `Options` field, so its parser only accepts that spelling
 *   (distribution/distribution#4486), while its documentation shows the other one.
 *
 * Keys with an `_` in their name (azure's `max_retries`) are matched greedily against existing
 * and known keys.
 */
import { isRawMap, parseYaml, pathKey, type RawConfig, type RawMap, YamlSyntaxError } from './raw.ts';

/** The `storage` keys that are not a driver. */
export const STORAGE_OPTION_KEYS: ReadonlySet<string> = new Set([
  'delete',
  'redirect',
  'cache',
  'maintenance',
  'tag',
]);

/** Top-level sections an environment variable may address. */
const TOP_LEVEL: ReadonlySet<string> = new Set([
  'log',
  'loglevel',
  'storage',
  'auth',
  'middleware',
  'reporting',
  'http',
  'notifications',
  'redis',
  'health',
  'catalog',
  'tags',
  'proxy',
  'validation',
  'policy',
  'compatibility',
  'berth',
]);

/** Variables with the prefix that are not configuration. */
const NOT_CONFIGURATION: ReadonlySet<string> = new Set(['REGISTRY_CONFIGURATION_PATH']);

/** Keys that contain `_` (created with it, not split into levels). */
const UNDERSCORE_KEYS: readonly string[] = ['max_retries', 'retry_delay'];

/**
 * Applies the `REGISTRY_*` variables of `env` to `raw` in place.
 * @param warn - called for variables that are ignored.
 * @returns the names of the variables applied.
 */
export function applyEnvOverrides(
  raw: RawConfig,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): string[] {
  const names = Object.keys(env)
    .filter((name) => name.startsWith('REGISTRY_') && env[name] !== undefined && !NOT_CONFIGURATION.has(name))
    .sort();
  const applied: string[] = [];
  for (const name of names) {
    let segments = name.slice('REGISTRY_'.length).split('_');
    if (segments.length > 2 && segments[0] === 'REDIS' && segments[1] === 'OPTIONS') {
      segments = ['REDIS', ...segments.slice(2)];
    }
    if (segments.some((segment) => segment === '')) {
      warn(`ignoring environment variable ${name}: empty path segment`);
      continue;
    }
    const top = segments[0]!.toLowerCase();
    if (top === 'version') {
      warn(`ignoring environment variable ${name}: the configuration version comes from the file`);
      continue;
    }
    if (!TOP_LEVEL.has(top)) {
      warn(`ignoring unrecognized environment variable ${name}`);
      continue;
    }
    try {
      setPath(raw, segments, env[name]!, name);
      applied.push(name);
    } catch (error) {
      if (error instanceof EnvOverrideError) throw new EnvOverrideError(`${name}: ${error.message}`);
      throw error;
    }
  }
  return applied;
}

/** An environment variable that cannot be applied (a list index out of range). */
export class EnvOverrideError extends Error {
  override readonly name: 'EnvOverrideError' = 'EnvOverrideError';
}

type Container = RawMap | unknown[];

function setPath(raw: RawConfig, segments: readonly string[], text: string, variable: string): void {
  const path: string[] = [];
  let container: Container = raw.root;
  let i = 0;
  for (;;) {
    const { key, consumed } = resolveKey(container, segments, i);
    const last = i + consumed === segments.length;
    if (Array.isArray(container)) {
      const index = Number(key);
      if (!/^\d+$/.test(key)) throw new EnvOverrideError(`non-numeric list index ${key}`);
      if (index > container.length) {
        throw new EnvOverrideError(`undefined index ${key} (the list has ${container.length} entries)`);
      }
    }
    path.push(key);
    if (last) {
      assign(raw, container, key, path, text, variable);
      return;
    }
    const current: unknown = (container as Record<string, unknown>)[key];
    let next: Container;
    if (Array.isArray(current) || isRawMap(current)) {
      next = current;
    } else {
      next = /^\d+$/.test(segments[i + consumed]!) ? [] : {};
      setChild(container, key, next);
      raw.origins.set(pathKey(path), variable);
    }
    container = next;
    i += consumed;
  }
}

/** The key segments `from…` name in `container`: an existing key (case-insensitive, longest match), else a new one. */
function resolveKey(
  container: Container,
  segments: readonly string[],
  from: number,
): { key: string; consumed: number } {
  if (Array.isArray(container)) return { key: segments[from]!, consumed: 1 };
  const existing = Object.keys(container);
  for (let end = segments.length; end > from; end--) {
    const candidate = segments.slice(from, end).join('_');
    const match = existing.find((key) => key.toUpperCase() === candidate);
    if (match !== undefined) return { key: match, consumed: end - from };
    const known = UNDERSCORE_KEYS.find((key) => key.toUpperCase() === candidate);
    if (known !== undefined && end - from > 1) return { key: known, consumed: end - from };
  }
  return { key: segments[from]!.toLowerCase(), consumed: 1 };
}

function setChild(container: Container, key: string, value: unknown): void {
  if (Array.isArray(container)) {
    const index = Number(key);
    if (index === container.length) container.push(value);
    else container[index] = value;
  } else {
    container[key] = value;
  }
}

function assign(
  raw: RawConfig,
  container: Container,
  key: string,
  path: readonly string[],
  text: string,
  variable: string,
): void {
  let value: unknown;
  try {
    value = parseYaml(text, raw.texts, path);
  } catch (error) {
    if (!(error instanceof YamlSyntaxError)) throw error;
    value = text;
  }
  // A string field takes the variable's text verbatim when YAML made something else of it.
  raw.texts.set(pathKey(path), text);
  raw.origins.set(pathKey(path), variable);

  if (path.length === 1 && (key === 'storage' || key === 'auth') && !Array.isArray(container)) {
    if (typeof value === 'string' || value === null) {
      const name = (value ?? '').trim();
      if (key === 'auth') {
        container.auth = name === '' ? null : { [name]: {} };
      } else {
        const storage: RawMap = isRawMap(container.storage) ? container.storage : {};
        for (const existing of Object.keys(storage)) {
          if (!STORAGE_OPTION_KEYS.has(existing)) delete storage[existing];
        }
        if (name !== '') {
          storage[name] = {};
          raw.origins.set(pathKey(['storage', name]), variable);
        }
        container.storage = storage;
      }
      return;
    }
  }
  setChild(container, key, value);
}

/**
 * registry:2 accepts `storage: inmemory` and `auth: silly` (a driver or type without
 * parameters); this turns them into mappings so overrides and validation see one shape.
 */
export function normalizeShorthands(raw: RawConfig): void {
  for (const section of ['storage', 'auth'] as const) {
    const value = raw.root[section];
    if (typeof value === 'string' && value.trim() !== '') raw.root[section] = { [value.trim()]: {} };
  }
}
