/** `berth`: dispatch to a command, global `--help` and `--version`, errors → exit status. */
import { readFileSync } from 'node:fs';
import { catalogCommand } from './commands/catalog.ts';
import type { Command } from './commands/command.ts';
import { duCommand } from './commands/du.ts';
import { gcCommand } from './commands/gc.ts';
import { purgeUploadsCommand } from './commands/purge-uploads.ts';
import { verifyCommand } from './commands/verify.ts';
import { ExitCode, isCliError } from './errors.ts';
import type { Io } from './io.ts';

/** Every command, in help order. */
export const COMMANDS: readonly Command[] = [
  gcCommand,
  catalogCommand,
  duCommand,
  verifyCommand,
  purgeUploadsCommand,
];

/** The CLI's version (from its package.json). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: berth COMMAND [CONFIG] [ARGS] [OPTIONS]

Operator tools for a Berth (or registry:2) registry. Every command reads the
registry's config.yml (with REGISTRY_* overrides) and works on any storage
driver; without CONFIG, what the server uses without one (REGISTRY_CONFIGURATION_PATH,
else the embedded default: ./data). --json prints machine-readable output.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help      show this help (berth COMMAND --help: that command's)
  -V, --version   print the version

Exit status: 0 success; 1 failure (configuration, storage, interrupted);
2 bad command line; 3 "verify" found corrupt or missing content.`;
}

/**
 * Runs `berth` with `argv` (without the node and script paths) and resolves its exit status.
 * Never rejects: errors are printed to stderr as one line.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (first === undefined) {
      io.stderr.write(`${mainHelp()}\n`);
      return ExitCode.usage;
    }
    io.stdout.write(`${topic?.help ?? mainHelp()}\n`);
    return ExitCode.ok;
  }
  if (first === '-V' || first === '--version') {
    io.stdout.write(`berth ${version()}\n`);
    return ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (command === undefined) {
    const hint = first.startsWith('-')
      ? `unknown option ${JSON.stringify(first)}`
      : `unknown command ${JSON.stringify(first)}`;
    io.stderr.write(`berth: ${hint}\nRun "berth --help" for the list of commands.\n`);
    return ExitCode.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (isCliError(err)) {
      io.stderr.write(`berth ${command.name}: ${err.message}\n`);
      if (err.exitCode === ExitCode.usage) io.stderr.write(`Run "berth ${command.name} --help" for usage.\n`);
      return err.exitCode;
    }
    if (io.signal?.aborted) {
      io.stderr.write(
        `berth ${command.name}: interrupted${command.name === 'gc' ? '; run "berth gc" again to finish (nothing live is lost)' : ''}\n`,
      );
      return ExitCode.failure;
    }
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`berth ${command.name}: ${typeof code === 'string' ? `${code}: ` : ''}${message}\n`);
    if (io.env.BERTH_DEBUG) io.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return ExitCode.failure;
  }
}
