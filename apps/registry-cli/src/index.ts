/**
 * `@berth/registry-cli`: the `berth` command (garbage collection, catalog, disk usage, verify,
 * upload purging), callable in-process with {@link run}.
 */
export { COMMANDS, run, version } from './cli.ts';
export { allRepositories, listTags, type TagInfo } from './commands/catalog.ts';
export type { Command } from './commands/command.ts';
export { type DiskUsage, diskUsage, type RepositoryUsage } from './commands/du.ts';
export { gcSummary } from './commands/gc.ts';
export { type Problem, type ProblemKind, type VerifyReport, verifyRegistry } from './commands/verify.ts';
export { CliError, type CliErrorCode, ExitCode, isCliError } from './errors.ts';
export { createProgress, type Io, type Progress, processIo, type TextSink } from './io.ts';
