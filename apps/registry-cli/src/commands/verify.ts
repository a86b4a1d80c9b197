import { createHash } from 'node:crypto';
import { type Digest, parseDigest } from '@berth/digest';
import {
  DEFAULT_GC_CONCURRENCY,
  ManifestRefsCache,
  mapLimit,
  pathFor,
  readLink,
  scanBlobs,
  scanQuarantine,
  scanRepositories,
} from '@berth/registry-core';
import type { StorageDriver } from '@berth/storage-driver';
import { configAndRest, parseCommandArgs } from '../args.ts';
import { ExitCode } from '../errors.ts';
import { formatBytes, json, plural } from '../format.ts';
import { createProgress, type Io } from '../io.ts';
import { openStorage } from '../storage.ts';
import type { Command } from './command.ts';

const HELP = `Usage: berth verify [CONFIG] [--json]

Scrubs the registry: re-hashes every blob and checks every link.
  - blob data whose content does not hash to its digest: corrupt
  - _layers links, manifest revision links, tag links: each must hold the digest
    its path names (else corrupt), and what it points at must exist (else missing)
  - every manifest revision: its content must exist and parse; its config and
    layers must exist and be linked into the repository; an index's children
    must be revisions of the repository
Exits 3 when anything is corrupt or missing (each named on stdout), 0 when not.

Options:
  --json       print the result as JSON on stdout
  -h, --help   show this help`;

/** What `verify` can find wrong. */
export type ProblemKind =
  | 'corrupt-blob'
  | 'corrupt-link'
  | 'corrupt-manifest'
  | 'missing-blob'
  | 'missing-link'
  | 'missing-manifest';

/** One thing found wrong. */
export interface Problem {
  readonly kind: ProblemKind;
  /** The digest concerned. */
  readonly digest?: string;
  readonly repository?: string;
  /** The storage path concerned (a blob's data, a link). */
  readonly path?: string;
  /** Who needs the missing thing, or what is wrong with the corrupt one. */
  readonly detail: string;
}

/** The result of {@link verifyRegistry}. */
export interface VerifyReport {
  readonly repositories: number;
  readonly blobs: { readonly checked: number; readonly bytes: number };
  readonly links: { readonly layers: number; readonly revisions: number; readonly tags: number };
  readonly problems: Problem[];
}

async function hashFile(
  driver: StorageDriver,
  path: string,
  algorithm: string,
  onBytes: (n: number) => void,
) {
  const hash = createHash(algorithm);
  let size = 0;
  const stream = await driver.reader(path);
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.byteLength;
    onBytes(chunk.byteLength);
  }
  return { digest: `${algorithm}:${hash.digest('hex')}`, size };
}

/** Re-hashes every blob and checks every link; see the command's help. */
export async function verifyRegistry(
  driver: StorageDriver,
  onProgress?: (text: string, force?: boolean) => void,
  signal?: AbortSignal,
): Promise<VerifyReport> {
  const concurrency = DEFAULT_GC_CONCURRENCY;
  const walk = {
    onProgress: (phase: string, done: number) => onProgress?.(`verify: ${phase}… ${done}`),
    ...(signal === undefined ? {} : { signal }),
  };
  const problems: Problem[] = [];
  const blobs = await scanBlobs(driver, walk);
  const quarantine = await scanQuarantine(driver, walk);

  // Blobs: re-hash, a few at a time (reading is the cost).
  let totalBytes = 0;
  for (const blob of blobs.values()) totalBytes += blob.size;
  let hashed = 0;
  await mapLimit([...blobs.keys()], 4, async (digest) => {
    signal?.throwIfAborted();
    const { algorithm, encoded } = parseDigest(digest);
    const path = pathFor({ kind: 'blobData', algorithm, encoded });
    try {
      const actual = await hashFile(driver, path, algorithm, (n) => {
        hashed += n;
        onProgress?.(`verify: hashing blobs… ${formatBytes(hashed)} of ${formatBytes(totalBytes)}`);
      });
      if (actual.digest !== digest) {
        problems.push({ kind: 'corrupt-blob', digest, path, detail: `content hashes to ${actual.digest}` });
      }
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'PATH_NOT_FOUND') throw err;
      problems.push({ kind: 'missing-blob', digest, path, detail: 'data disappeared during the check' });
    }
  });

  // Links.
  const repos = await scanRepositories(driver, { concurrency, ...walk });
  const cache = new ManifestRefsCache(driver, concurrency);
  const missing = new Map<string, { path?: string; neededBy: string[] }>();
  const needBlob = (digest: string, by: string): void => {
    if (blobs.has(digest as Digest)) return;
    let entry = missing.get(digest);
    if (entry === undefined) {
      entry = { neededBy: [] };
      missing.set(digest, entry);
    }
    if (!entry.neededBy.includes(by)) entry.neededBy.push(by);
  };
  let layerLinks = 0;
  let revisionLinks = 0;
  let tagLinks = 0;
  for (const repo of [...repos.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const name = repo.name;
    const checkLink = async (path: string, digest: Digest): Promise<boolean> => {
      const content = await readLink(driver, path);
      if (content === digest) return true;
      problems.push({
        kind: 'corrupt-link',
        repository: name,
        path,
        digest,
        detail: content === undefined ? 'does not hold a digest' : `holds ${content}`,
      });
      return false;
    };
    await mapLimit([...repo.layers.keys()], concurrency, async (digest) => {
      layerLinks++;
      const { algorithm, encoded } = parseDigest(digest);
      if (await checkLink(pathFor({ kind: 'layerLink', name, algorithm, encoded }), digest)) {
        needBlob(digest, `${name} (_layers link)`);
      }
    });
    await mapLimit([...repo.revisions.keys()], concurrency, async (digest) => {
      revisionLinks++;
      const { algorithm, encoded } = parseDigest(digest);
      await checkLink(pathFor({ kind: 'manifestRevisionLink', name, algorithm, encoded }), digest);
      const refs = await cache.load(digest);
      const at = `${name}@${digest}`;
      if (refs.status === 'missing') {
        needBlob(digest, `${name} (manifest revision)`);
        return;
      }
      if (refs.status === 'unreadable') {
        problems.push({ kind: 'corrupt-manifest', repository: name, digest, detail: 'content is not JSON' });
        return;
      }
      for (const blob of refs.blobs) {
        if (refs.external.includes(blob)) continue;
        needBlob(blob, at);
        if (blobs.has(blob) && !repo.layers.has(blob)) {
          problems.push({
            kind: 'missing-link',
            repository: name,
            digest: blob,
            detail: `needed by ${at} but not linked into ${name} (pulls answer BLOB_UNKNOWN)`,
          });
        }
      }
      for (const child of refs.children) {
        if (refs.status === 'ok' && !repo.revisions.has(child)) {
          problems.push({
            kind: 'missing-manifest',
            repository: name,
            digest: child,
            detail: `index child of ${at} is not a manifest revision of ${name}`,
          });
        }
      }
    });
    for (const [tag, link] of repo.tags) {
      tagLinks++;
      const path = pathFor({ kind: 'tagCurrentLink', name, tag });
      if (link.digest === undefined) {
        problems.push({
          kind: 'corrupt-link',
          repository: name,
          path,
          detail: `tag ${tag}: does not hold a digest`,
        });
      } else if (!repo.revisions.has(link.digest)) {
        problems.push({
          kind: 'missing-manifest',
          repository: name,
          digest: link.digest,
          detail: `tag ${tag} points at it but it is not a manifest revision of ${name}`,
        });
      }
    }
  }
  for (const [digest, entry] of missing) {
    const set = quarantine.has(digest as Digest)
      ? '; it is in GC quarantine (an interrupted "berth gc"): run "berth gc" to put it back'
      : '';
    problems.push({ kind: 'missing-blob', digest, detail: `needed by ${entry.neededBy.join(', ')}${set}` });
  }
  return {
    repositories: repos.size,
    blobs: { checked: blobs.size, bytes: totalBytes },
    links: { layers: layerLinks, revisions: revisionLinks, tags: tagLinks },
    problems,
  };
}

const LABEL: Readonly<Record<ProblemKind, string>> = {
  'corrupt-blob': 'corrupt blob',
  'corrupt-link': 'corrupt link',
  'corrupt-manifest': 'corrupt manifest',
  'missing-blob': 'missing blob',
  'missing-link': 'missing layer link',
  'missing-manifest': 'missing manifest',
};

/** `berth verify`. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 're-hash every blob and check every link; exit 3 on corrupt or missing content',
  help: HELP,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return ExitCode.ok;
    }
    const { config } = configAndRest(positionals, io, []);
    const asJson = values.json === true;
    const { driver } = await openStorage(config, io, false);
    const progress = createProgress(io, !asJson);
    let report: VerifyReport;
    try {
      report = await verifyRegistry(driver, (text, force) => progress.update(text, force), io.signal);
    } finally {
      progress.done();
    }
    const status = report.problems.length === 0 ? ExitCode.ok : ExitCode.problems;
    if (asJson) {
      io.stdout.write(json({ ok: status === ExitCode.ok, ...report }));
      return status;
    }
    for (const p of report.problems) {
      const what = [p.repository, p.digest].filter((x) => x !== undefined).join(' ');
      const where = p.path === undefined ? '' : ` (${p.path})`;
      io.stdout.write(`${LABEL[p.kind]} ${what}${where}: ${p.detail}\n`);
    }
    const corrupt = report.problems.filter((p) => p.kind.startsWith('corrupt')).length;
    const missingCount = report.problems.length - corrupt;
    const l = report.links;
    io.stdout.write(
      `Checked ${plural(report.blobs.checked, 'blob')} (${formatBytes(report.blobs.bytes)}) and ` +
        `${plural(l.layers + l.revisions + l.tags, 'link')} in ${plural(report.repositories, 'repository', 'repositories')}: ` +
        (status === ExitCode.ok ? 'no problems.\n' : `${corrupt} corrupt, ${missingCount} missing.\n`),
    );
    return status;
  },
};
