import type { Io } from '../io.ts';

/** One `berth` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for `berth --help`. */
  readonly summary: string;
  /** The full `berth <name> --help` text. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves the exit status. */
  run(args: readonly string[], io: Io): Promise<number>;
}
