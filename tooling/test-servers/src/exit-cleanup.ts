import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Children still running and temp dirs not yet removed, killed (SIGKILL, by PID) and removed if
 * the test process exits without stopping them. One hook for every server kind.
 */
const running = new Set<ChildProcess>();
const dirs = new Set<string>();
let hookInstalled = false;

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.once('exit', () => {
    for (const child of running) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Kills `child` at process exit unless it has exited by then (it is forgotten when it exits). */
export function killAtExit(child: ChildProcess): void {
  installHook();
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Removes `dir` at process exit unless {@link keepAtExit} was called for it. */
export function removeAtExit(dir: string): void {
  installHook();
  dirs.add(dir);
}

/** Forgets `dir` (it was removed already). */
export function keepAtExit(dir: string): void {
  dirs.delete(dir);
}
