/**
 * `storage.maintenance.uploadpurging`: deletes uploads older than `age` every `interval`.
 *
 * registry:2 waits a random 0–59 whole minutes before the first run (so replicas started
 * together do not purge at once), then runs every `interval`. Berth does the same but caps the
 * initial wait at `interval`, so a short interval (tests, development) also starts soon. Runs
 * never overlap: the next is scheduled when one ends. Timers do not keep the process alive.
 */
import type { Registry } from '@berth/registry-core';
import { formatDuration } from '../config/duration.ts';
import type { UploadPurgingConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';

/** A running schedule. */
export interface UploadPurger {
  /** When the first run is due, in ms from start. */
  readonly initialDelayMs: number;
  /** Stops scheduling; a run in progress finishes in the background. */
  stop(): void;
}

/**
 * The wait before the first run: registry:2's 0–59 whole minutes when `intervalMs` is an hour
 * or more, else a random time below `intervalMs`.
 */
export function initialPurgeDelay(intervalMs: number, random: () => number = Math.random): number {
  if (intervalMs >= 3_600_000) return Math.floor(random() * 60) * 60_000;
  return Math.floor(random() * intervalMs);
}

/** Starts purging per `config`, or returns `undefined` when it is disabled. */
export function scheduleUploadPurging(
  registry: Pick<Registry, 'purgeUploads'>,
  config: UploadPurgingConfig,
  logger: Logger,
  options: { initialDelayMs?: number } = {},
): UploadPurger | undefined {
  if (!config.enabled) {
    logger.info('upload purging disabled');
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(run, delayMs);
    timer.unref();
  };

  const run = async (): Promise<void> => {
    timer = undefined;
    const started = performance.now();
    try {
      const purged = await registry.purgeUploads({ olderThanMs: config.ageMs, dryRun: config.dryRun });
      const fields = {
        count: purged.length,
        uploads: purged.slice(0, 100),
        durationMs: Math.round(performance.now() - started),
        dryRun: config.dryRun,
      };
      if (purged.length > 0) {
        logger.info(config.dryRun ? 'upload purge (dry run): would delete' : 'upload purge: deleted', fields);
      } else {
        logger.debug('upload purge: nothing to delete', fields);
      }
    } catch (error) {
      logger.error('upload purge failed', { err: error });
    }
    logger.debug('next upload purge', { in: formatDuration(config.intervalMs) });
    schedule(config.intervalMs);
  };

  const initialDelayMs = options.initialDelayMs ?? initialPurgeDelay(config.intervalMs);
  logger.info('upload purging scheduled', {
    firstRunIn: formatDuration(initialDelayMs),
    interval: formatDuration(config.intervalMs),
    age: formatDuration(config.ageMs),
    dryRun: config.dryRun,
  });
  schedule(initialDelayMs);
  return {
    initialDelayMs,
    stop(): void {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
