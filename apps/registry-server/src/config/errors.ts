/**
 * A configuration that cannot be used. `issues` lists every problem found, each starting with
 * the full key path (`storage.filesystem.rootdirectory: must be a string`); the message lists
 * them all. The server prints it and exits non-zero, without a stack trace.
 */
export class ConfigError extends Error {
  override readonly name: 'ConfigError' = 'ConfigError';
  readonly code: 'CONFIG_INVALID' = 'CONFIG_INVALID';
  /** The file the configuration came from, or `undefined` for the embedded default. */
  readonly source: string | undefined;
  readonly issues: readonly string[];

  constructor(issues: readonly string[], source?: string) {
    const where = source === undefined ? 'the embedded default configuration' : source;
    super(
      issues.length === 1
        ? `invalid configuration (${where}): ${issues[0]}`
        : `invalid configuration (${where}):\n${issues.map((issue) => `  - ${issue}`).join('\n')}`,
    );
    this.source = source;
    this.issues = issues;
  }
}

/** True when `err` is a {@link ConfigError} (tested by `code`, not `instanceof`). */
export function isConfigError(err: unknown): err is ConfigError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { code?: unknown }).code === 'CONFIG_INVALID' &&
    Array.isArray((err as { issues?: unknown }).issues)
  );
}
