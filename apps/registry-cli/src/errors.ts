/** Errors the commands report without a stack trace, each with its exit status. */

/** Exit statuses of `berth`. */
export const ExitCode = {
  /** Success (for `verify`: nothing corrupt or missing). */
  ok: 0,
  /** The command failed: unreadable or invalid configuration, storage error, interrupted run. */
  failure: 1,
  /** Bad command line: unknown command or option, missing or invalid argument. */
  usage: 2,
  /** `verify` found corrupt or missing content. */
  problems: 3,
} as const;

/** The string codes of {@link CliError}. */
export type CliErrorCode = 'USAGE' | 'CONFIG' | 'STORAGE' | 'NOT_FOUND' | 'INTERRUPTED';

/** A failure reported as one line (`berth <command>: <message>`) and an exit status. */
export class CliError extends Error {
  override readonly name: 'CliError' = 'CliError';
  readonly code: CliErrorCode;
  /** The process exit status. */
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.exitCode = code === 'USAGE' ? ExitCode.usage : ExitCode.failure;
  }
}

/** True for a {@link CliError} (checked by `code`, not `instanceof`). */
export function isCliError(err: unknown): err is CliError {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    err instanceof Error &&
    (code === 'USAGE' ||
      code === 'CONFIG' ||
      code === 'STORAGE' ||
      code === 'NOT_FOUND' ||
      code === 'INTERRUPTED') &&
    typeof (err as { exitCode?: unknown }).exitCode === 'number'
  );
}

/** A usage error: the message names the problem. */
export function usage(message: string): CliError {
  return new CliError('USAGE', message);
}
