/**
 * Where the user ran the command. A package-manager script (`pnpm start`, `pnpm berth …`) runs
 * in the package's directory, not the user's, and says where it was invoked in `INIT_CWD`; the
 * server and the CLI both move there first, so that relative paths — the config file, the
 * `./data` of the embedded default, a relative `rootdirectory` — mean the same thing to both and
 * what the user typed. Run directly (`./berth`, `node …`), the working directory is already the
 * user's.
 */

/**
 * The directory to resolve relative paths against: `INIT_CWD` when running as one of `scripts`
 * (the root package.json's script names that run this command: `start` for the server, `berth`
 * for the CLI), else `cwd`. Only those: a process some other script starts (a test run, say)
 * keeps the working directory it was given.
 */
export function invocationDirectory(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  scripts: readonly string[],
): string {
  const initCwd = env.INIT_CWD;
  const event = env.npm_lifecycle_event;
  return event !== undefined && scripts.includes(event) && initCwd !== undefined && initCwd !== ''
    ? initCwd
    : cwd;
}
