/** Command-line parsing with `node:util` `parseArgs`, turning its errors into usage errors. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseDuration } from '@berth/registry-server';
import { usage } from './errors.ts';

/** The `options` of a `parseArgs` config. */
export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Parsed options and positionals. */
export interface ParsedArgs {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

/**
 * Parses `args` strictly against `options` (plus `--help`/`-h`). Unknown options, missing
 * option values and similar mistakes become usage errors naming the option.
 * @throws {CliError} `USAGE`
 */
export function parseCommandArgs(args: readonly string[], options: OptionSpecs): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      // Node's messages name the option; drop its advice about `--` for positionals.
      const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
      throw usage(message.charAt(0).toLowerCase() + message.slice(1));
    }
    throw err;
  }
}

/**
 * A non-negative Go duration (`1h`, `90m`, `30s`, `0s`) given to option `--<name>`.
 * @throws {CliError} `USAGE` naming the option.
 */
export function durationOption(name: string, value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw usage(`--${name}: ${(err as Error).message}`);
  }
  if (ms < 0) throw usage(`--${name}: must not be negative, got ${JSON.stringify(value)}`);
  return ms;
}

/**
 * The CONFIG positional (or `REGISTRY_CONFIGURATION_PATH`), and at most `extra` more.
 * @throws {CliError} `USAGE`
 */
export function configAndRest(
  positionals: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  extra: readonly string[],
): { config: string; rest: (string | undefined)[] } {
  const [first, ...rest] = positionals;
  const config = first ?? env.REGISTRY_CONFIGURATION_PATH;
  if (config === undefined || config === '') {
    throw usage('missing CONFIG: the registry configuration file (config.yml), as given to the server');
  }
  if (rest.length > extra.length) {
    throw usage(
      `unexpected argument ${JSON.stringify(rest[extra.length])}` +
        (extra.length === 0 ? '' : ` (expected CONFIG ${extra.map((e) => `[${e}]`).join(' ')})`),
    );
  }
  return { config, rest: extra.map((_, i) => rest[i]) };
}
