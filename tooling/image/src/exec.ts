import { type CommandOptions, type CommandResult, runChecked } from '@berth/test-servers';

/** Options of {@link run}: the working directory, environment and timeout (5 minutes). */
export type RunOptions = CommandOptions;

/**
 * Runs `command args` without a shell; resolves with its output when it exits 0, rejects with
 * the command line, status and the end of its stderr otherwise.
 */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  return runChecked(command, args, options);
}

/** `run`, returning trimmed stdout text. */
export async function output(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  return (await run(command, args, options)).stdout.toString().trim();
}
