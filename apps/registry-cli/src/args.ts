/** Command-line parsing with `node:util` `parseArgs`, turning its errors into usage errors. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseDuration } from '@berth/registry-server';
import { usage } from './errors.ts';
import type { Io } from './io.ts';

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
 * The CONFIG positional and at most `extra` more. CONFIG is optional, as for the server: without
 * it, `REGISTRY_CONFIGURATION_PATH`, else the embedded default (`./data`). When a command takes
 * more positionals, a first one that is neither a `*.yml`/`*.yaml` name nor an existing file is
 * the next positional, not CONFIG (`berth du team/app` lists that repository with the default).
 * @returns `config` undefined for "whatever the server would use without an argument".
 * @throws {CliError} `USAGE`
 */
export function configAndRest(
  positionals: readonly string[],
  io: Pick<Io, 'cwd'>,
  extra: readonly string[],
): { config: string | undefined; rest: (string | undefined)[] } {
  let config: string | undefined = positionals[0];
  let rest = positionals.slice(1);
  if (config !== undefined && extra.length > 0 && !looksLikeConfig(config, io.cwd)) {
    config = undefined;
    rest = [...positionals];
  }
  if (rest.length > extra.length) {
    throw usage(
      `unexpected argument ${JSON.stringify(rest[extra.length])}` +
        ` (expected [CONFIG]${extra.map((e) => ` [${e}]`).join('')})`,
    );
  }
  return { config, rest: extra.map((_, i) => rest[i]) };
}

function looksLikeConfig(arg: string, cwd: string): boolean {
  if (/\.ya?ml$/i.test(arg)) return true;
  try {
    return statSync(resolve(cwd, arg)).isFile();
  } catch {
    return false;
  }
}
