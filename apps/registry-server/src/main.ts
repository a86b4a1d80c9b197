#!/usr/bin/env node
/**
 * `berth-registry [serve] [config.yml]`: loads the configuration (argument, else
 * `REGISTRY_CONFIGURATION_PATH`, else the embedded default), starts the server and stops it
 * gracefully on SIGTERM/SIGINT (a second signal exits at once).
 *
 * Run through `pnpm start`, the working directory is where `pnpm` was invoked (`INIT_CWD`), so
 * relative paths (the config file, `./data` of the default) mean what the user typed — exactly
 * as for the `berth` CLI (see `config/invocation.ts`).
 */
import { isConfigError } from './config/errors.ts';
import { invocationDirectory } from './config/invocation.ts';
import { loadConfig } from './config/load.ts';
import { createLogger, createStdoutSink, type Logger } from './log/logger.ts';
import { isStartupError } from './server/errors.ts';
import { startServer } from './server/start.ts';

const USAGE = `usage: berth-registry [serve] [config.yml]

Serves an OCI Distribution registry configured like registry:2 (config.yml schema and
REGISTRY_* environment overrides). Without a config file: the embedded default
(:5000, filesystem storage under ./data).
`;

/**
 * Node's process warnings (a library's deprecations, the `MaxListenersExceededWarning` an SDK
 * can cause on each of its streams, …) become log lines at warn level, one per kind (the code,
 * else the name): Node would print each to stderr, outside the structured log, and some recur on
 * every request. Node's own printer is removed (a `warning` listener alone does not silence it),
 * so nothing reaches stderr. Warnings raised before the logger exists wait for it; if the process
 * ends first, they go to stderr after all.
 */
function routeProcessWarnings(): (logger: Logger) => void {
  const seen = new Set<string>();
  const pending: Error[] = [];
  let target: Logger | undefined;
  const log = (logger: Logger, warning: Error): void => {
    const code = (warning as { code?: unknown }).code;
    const detail = (warning as { detail?: unknown }).detail;
    logger.warn(`process warning: ${warning.message}`, {
      warning: warning.name,
      ...(typeof code === 'string' ? { code } : {}),
      ...(typeof detail === 'string' ? { detail } : {}),
      note: 'logged once per kind',
    });
  };
  for (const listener of process.listeners('warning')) process.off('warning', listener);
  process.on('warning', (warning) => {
    const code = (warning as { code?: unknown }).code;
    const kind = typeof code === 'string' ? code : warning.name;
    if (seen.has(kind)) return;
    seen.add(kind);
    if (target === undefined) pending.push(warning);
    else log(target, warning);
  });
  process.once('exit', () => {
    if (target !== undefined) return;
    for (const warning of pending.splice(0)) {
      process.stderr.write(`berth-registry: ${warning.name}: ${warning.message}\n`);
    }
  });
  return (logger) => {
    target = logger;
    for (const warning of pending.splice(0)) log(logger, warning);
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const logWarningsTo = routeProcessWarnings();
  let args = argv.filter((arg) => arg !== '--');
  if (args[0] === 'serve') args = args.slice(1);
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.length > 1) fail(`too many arguments\n${USAGE}`, 2);

  const cwd = invocationDirectory(process.env, process.cwd(), ['start']);
  if (cwd !== process.cwd()) process.chdir(cwd);

  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig({ path: args[0] });
  } catch (error) {
    if (isConfigError(error)) fail(`berth-registry: ${error.message}`, 1);
    throw error;
  }

  const { config } = loaded;
  const sink = createStdoutSink();
  process.once('exit', () => sink.flush());
  const logger = createLogger({
    level: config.log.level,
    formatter: config.log.formatter,
    fields: config.log.fields,
    accessLogDisabled: config.log.accessLog.disabled,
    sink,
  });
  logger.info('starting berth registry', { config: loaded.source ?? 'embedded default', cwd: process.cwd() });
  logWarningsTo(logger);
  // An exception that escapes every guard is a bug. Before the server serves, it ends the
  // process: nothing runs yet that could be kept. Once it serves, the server logs and counts it
  // and keeps serving (see `RunningServer.reportEscaped`).
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const escaped = (kind: 'uncaught exception' | 'unhandled rejection') => (error: unknown) => {
    if (server !== undefined) {
      server.reportEscaped(kind, error);
      return;
    }
    logger.error(kind, { err: error instanceof Error ? error : new Error(String(error)) });
    logger.flush();
    process.exit(1);
  };
  process.on('uncaughtException', escaped('uncaught exception'));
  process.on('unhandledRejection', escaped('unhandled rejection'));

  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer(config, { logger, warnings: loaded.warnings });
  } catch (error) {
    if (isStartupError(error)) {
      logger.error(error.message);
      logger.flush();
      fail(`berth-registry: ${error.message}`, 1);
    }
    throw error;
  }
  server = running;

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn('second signal: exiting now', { signal });
      logger.flush();
      process.exit(1);
    }
    logger.info('shutting down', { signal });
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { err: error });
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function fail(message: string, code: number): never {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(code);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `berth-registry: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
