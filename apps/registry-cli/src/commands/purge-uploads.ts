import { purgeUploads } from '@berth/registry-core';
import { formatDuration } from '@berth/registry-server';
import { configAndRest, durationOption, parseCommandArgs } from '../args.ts';
import { ExitCode } from '../errors.ts';
import { json, plural } from '../format.ts';
import type { Io } from '../io.ts';
import { openStorage } from '../storage.ts';
import type { Command } from './command.ts';

const HELP = `Usage: berth purge-uploads [CONFIG] [--older-than 168h] [--dry-run] [--json]

Deletes the upload sessions (in every repository) started longer ago than
--older-than: what the server's storage.maintenance.uploadpurging does
periodically, as a command. An upload's age comes from its startedat file
(from the directory's modification time when that is missing).

Options:
  --older-than DURATION  purge uploads started longer ago than this (Go duration;
                         default: storage.maintenance.uploadpurging.age of
                         CONFIG, 168h when unset)
  --dry-run              list what would be purged; delete nothing
  --quiet                print only the summary line
  --json                 print the result as JSON on stdout
  -h, --help             show this help`;

/** `berth purge-uploads`. */
export const purgeUploadsCommand: Command = {
  name: 'purge-uploads',
  summary: 'delete abandoned upload sessions (maintenance.uploadpurging)',
  help: HELP,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, {
      'older-than': { type: 'string' },
      'dry-run': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return ExitCode.ok;
    }
    const { config } = configAndRest(positionals, io, []);
    const given =
      values['older-than'] === undefined
        ? undefined
        : durationOption('older-than', String(values['older-than']));
    const quiet = values.quiet === true;
    const { loaded, driver } = await openStorage(config, io, quiet);
    const olderThanMs = given ?? loaded.config.storage.maintenance.uploadPurging.ageMs;
    const dryRun = values['dry-run'] === true;
    const started = Date.now();
    const purged = await purgeUploads(driver, { olderThanMs, dryRun, now: started });

    if (values.json === true) {
      io.stdout.write(json({ dryRun, olderThanMs, purged }));
      return ExitCode.ok;
    }
    if (!quiet)
      for (const upload of purged) io.stdout.write(`${dryRun ? 'would purge' : 'purged'} ${upload}\n`);
    const what = plural(purged.length, 'upload');
    io.stdout.write(
      dryRun
        ? `Dry run: would purge ${what} started more than ${formatDuration(olderThanMs)} ago; nothing was deleted.\n`
        : `Purged ${what} started more than ${formatDuration(olderThanMs)} ago.\n`,
    );
    return ExitCode.ok;
  },
};
