import {
  DEFAULT_GC_GRACE_MS,
  DEFAULT_GC_SETTLE_MS,
  type GcProgress,
  type GcReport,
  garbageCollect,
} from '@berth/registry-core';
import {
  formatDuration,
  isStartupError,
  openBlobDescriptorCache,
  openChangeFeed,
} from '@berth/registry-server';
import { configAndRest, durationOption, parseCommandArgs } from '../args.ts';
import { CliError, ExitCode } from '../errors.ts';
import { formatBytes, formatElapsed, json, plural } from '../format.ts';
import { createProgress, type Io } from '../io.ts';
import { openStorage } from '../storage.ts';
import type { Command } from './command.ts';

const HELP = `Usage: berth gc [CONFIG] [--dry-run] [--delete-untagged] [--grace 1h] [--quiet] [--json]

Mark and sweep over every repository: deletes the blobs nothing references, the
manifests no tag reaches (with --delete-untagged), the _layers links of deleted
blobs and stale referrers-index entries. Safe to run while the registry serves
the same storage (see "GC safety" in the README).

Marked (kept): every tag's manifest; index children, recursively; manifests
whose subject is a kept manifest (signatures, SBOMs); their configs and layers.
Marking is global: a blob is kept if any repository needs it.

Options:
  --dry-run           report what would be deleted; delete nothing
  --delete-untagged   also delete manifest revisions no tag reaches (in any
                      repository); without it every revision is kept, as in
                      registry:2
  --grace DURATION    never delete content written or linked less than this long
                      before the run started (Go duration; default 1h)
  --settle DURATION   how long to wait after setting content aside before the
                      final check (default 10s; advanced)
  --quiet             print only the summary line
  --json              print the report as JSON on stdout
  -h, --help          show this help

CONFIG is the registry's config.yml (REGISTRY_* variables override it, as for
the server); any storage driver works.`;

/** Turns GC's progress events into one status line (the scans run side by side). */
function progressReporter(): (progress: GcProgress) => string {
  const counts = new Map<string, string>();
  let final = false;
  const listed = () => [...counts].map(([what, n]) => `${what} ${n}`).join(', ');
  return (progress) => {
    const count = progress.total === undefined ? `${progress.done}` : `${progress.done}/${progress.total}`;
    switch (progress.phase) {
      case 'scan repositories':
      case 'scan blobs':
      case 'scan quarantine':
      case 'read manifests':
        if (final) return `gc: final check… ${progress.phase.replace(/^(scan|read) /, '')} ${count}`;
        counts.set(progress.phase.replace(/^(scan|read) /, ''), count);
        return `gc: reading… ${listed()}`;
      case 'mark':
        return `gc: marking… ${listed()}`;
      case 'delete':
        return final ? `gc: deleting… ${count}` : `gc: setting aside… ${count}`;
      case 'settle':
        return `gc: letting in-flight pushes settle (${formatElapsed(progress.total ?? 0)})…`;
      case 'final check':
        final = true;
        return 'gc: final check…';
      case 'finish':
        return 'gc: done';
    }
  };
}

function shortList(report: GcReport): string[] {
  const verb = report.dryRun ? 'would delete' : 'deleted';
  const lines: string[] = [];
  for (const m of report.deleted.manifests) lines.push(`${verb} manifest ${m.repository}@${m.digest}`);
  for (const b of report.deleted.blobs) lines.push(`${verb} blob ${b.digest} (${formatBytes(b.size)})`);
  for (const l of report.deleted.layerLinks) lines.push(`${verb} layer link ${l.repository} → ${l.digest}`);
  for (const r of report.deleted.referrerLinks) {
    lines.push(`${verb} referrers-index entry ${r.repository}: ${r.subject} ← ${r.referrer}`);
  }
  for (const m of report.restored.manifests) {
    lines.push(`restored manifest ${m.repository}@${m.digest} (referenced again during the run)`);
  }
  for (const b of report.restored.blobs) {
    lines.push(`restored blob ${b.digest} (${formatBytes(b.size)}; referenced again during the run)`);
  }
  return lines;
}

/** The closing summary of a run. */
export function gcSummary(report: GcReport): string {
  const d = report.deleted;
  const parts = [
    plural(d.manifests.length, 'manifest'),
    plural(d.blobs.length, 'blob'),
    plural(d.layerLinks.length, 'layer link'),
  ];
  if (d.referrerLinks.length > 0)
    parts.push(plural(d.referrerLinks.length, 'referrers-index entry', 'referrers-index entries'));
  const took = formatElapsed(report.durationMs);
  return report.dryRun
    ? `Dry run: would delete ${parts.join(', ')} and reclaim ${formatBytes(report.bytesReclaimed)} (${report.bytesReclaimed} bytes); nothing was deleted (${took}).`
    : `Deleted ${parts.join(', ')}; reclaimed ${formatBytes(report.bytesReclaimed)} (${report.bytesReclaimed} bytes) in ${took}.`;
}

/** `berth gc`. */
export const gcCommand: Command = {
  name: 'gc',
  summary: 'delete unreferenced blobs (and untagged manifests); safe while serving',
  help: HELP,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, {
      'dry-run': { type: 'boolean' },
      'delete-untagged': { type: 'boolean' },
      grace: { type: 'string' },
      settle: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return ExitCode.ok;
    }
    const { config } = configAndRest(positionals, io, []);
    const graceMs =
      values.grace === undefined ? DEFAULT_GC_GRACE_MS : durationOption('grace', String(values.grace));
    const settleMs =
      values.settle === undefined ? DEFAULT_GC_SETTLE_MS : durationOption('settle', String(values.settle));
    const quiet = values.quiet === true;
    const asJson = values.json === true;

    const { driver, loaded } = await openStorage(config, io, quiet);
    // The server's Redis cache is cleared of what GC deletes, so no replica answers "exists"
    // for a blob that is gone. An `inmemory` cache lives in each server process, out of reach.
    let descriptors: ReturnType<typeof openBlobDescriptorCache>;
    let feed: ReturnType<typeof openChangeFeed>;
    try {
      descriptors =
        loaded.config.storage.cache.blobDescriptor === 'redis'
          ? openBlobDescriptorCache(loaded.config, {
              info: () => {},
              warn: (msg) => {
                if (!quiet) io.stderr.write(`berth gc: ${msg}\n`);
              },
            })
          : undefined;
      // Serving replicas drop from their in-process read caches what GC announces it removed.
      feed = openChangeFeed(loaded.config, descriptors);
    } catch (err) {
      await descriptors?.close();
      if (isStartupError(err)) throw new CliError('CONFIG', err.message, { cause: err });
      throw err;
    }
    await Promise.all([descriptors?.ready(), feed?.ready()]);
    const progress = createProgress(io, !quiet && !asJson);
    const progressText = progressReporter();
    let report: GcReport;
    try {
      report = await garbageCollect({
        driver,
        dryRun: values['dry-run'] === true,
        deleteUntagged: values['delete-untagged'] === true,
        graceMs,
        settleMs,
        onProgress: (p) => progress.update(progressText(p), p.phase === 'settle'),
        ...(io.signal === undefined ? {} : { signal: io.signal }),
        ...(descriptors === undefined ? {} : { blobDescriptorCache: descriptors.cache }),
        ...(feed === undefined ? {} : { changes: feed.feed }),
      });
    } finally {
      progress.done();
      await feed?.close();
      await descriptors?.close();
    }

    if (asJson) {
      io.stdout.write(json(report));
      return ExitCode.ok;
    }
    if (!quiet) {
      io.stdout.write(
        `Marked ${report.manifests.kept} of ${plural(report.manifests.revisions, 'manifest revision')} in ` +
          `${plural(report.repositories, 'repository', 'repositories')}; ${report.blobs.marked} of ` +
          `${plural(report.blobs.count, 'blob')} are in use (${formatBytes(report.blobs.bytes)} stored).\n`,
      );
      for (const line of shortList(report)) io.stdout.write(`${line}\n`);
      if (report.blobs.recent > 0) {
        io.stdout.write(
          `kept ${plural(report.blobs.recent, 'unreferenced blob')} (${formatBytes(report.blobs.recentBytes)}) ` +
            `written or linked inside the grace window (${formatDuration(report.graceMs)})\n`,
        );
      }
      for (const warning of report.warnings) io.stderr.write(`berth gc: warning: ${warning}\n`);
    }
    io.stdout.write(`${gcSummary(report)}\n`);
    return ExitCode.ok;
  },
};
