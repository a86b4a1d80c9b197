#!/usr/bin/env node
/**
 * The `berth` executable: runs the CLI on the process's arguments and exits with its status.
 * Ctrl-C aborts the running command (GC stops at the next safe point; run it again to finish).
 */
import { invocationDirectory } from '@berth/registry-server';
import { run } from './cli.ts';
import { processIo } from './io.ts';

// Relative paths (the config file, `./data`, a relative rootdirectory) resolve exactly as the
// server resolves them: against the directory the user ran the command in.
const cwd = invocationDirectory(process.env, process.cwd(), ['berth']);
if (cwd !== process.cwd()) process.chdir(cwd);

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  if (interrupts > 1) process.exit(130);
  controller.abort();
});

process.exitCode = await run(process.argv.slice(2), processIo(controller.signal));
