/**
 * What the suites check on disk, below a storage root in registry:2's layout
 * (`docker/registry/v2/…`) and Berth's shadow tree (`#berth/pending`, `#berth/tmp`, see
 * `@berth/storage-driver-fs`): blob data re-hashed against its path, link files, upload
 * leftovers, pending writes, and anything that escaped the root.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** `<root>/docker/registry/v2`. */
export function v2Dir(root: string): string {
  return join(root, 'docker', 'registry', 'v2');
}

/** `<root>/#berth/pending`: where the fs driver keeps pending (uncommitted) writes. */
export function pendingDir(root: string): string {
  return join(root, '#berth', 'pending');
}

/** `<root>/#berth/tmp`: the fs driver's temporary files. */
export function tmpDir(root: string): string {
  return join(root, '#berth', 'tmp');
}

/** One entry found by {@link walk}. */
export interface Entry {
  readonly path: string;
  readonly kind: 'file' | 'dir' | 'symlink' | 'other';
  readonly size: number;
}

/**
 * Every entry below `dir` (not following symlinks); `[]` when `dir` does not exist. A directory
 * for which `prune` returns true is listed but not entered.
 */
export async function walk(dir: string, prune: (path: string) => boolean = () => false): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (path: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(path);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const name of names.sort()) {
      const child = join(path, name);
      let info: Awaited<ReturnType<typeof lstat>>;
      try {
        info = await lstat(child);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      const kind = info.isSymbolicLink()
        ? 'symlink'
        : info.isDirectory()
          ? 'dir'
          : info.isFile()
            ? 'file'
            : 'other';
      out.push({ path: child, kind, size: Number(info.size) });
      if (kind === 'dir' && !prune(child)) await visit(child);
    }
  };
  await visit(dir);
  return out;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The hex digest of a file's content. */
export async function hashFile(path: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A blob whose data does not hash to the digest its path names. */
export interface BlobMismatch {
  readonly path: string;
  readonly actual: string;
}

/** What {@link rehashBlobs} found. */
export interface RehashResult {
  readonly checked: number;
  readonly bytes: number;
  readonly mismatches: BlobMismatch[];
}

/**
 * Re-hashes every `blobs/<alg>/<xx>/<hex>/data` against `<hex>` (and checks `<xx>` is its
 * prefix). Files in odd places under `blobs/` count as mismatches too.
 */
export async function rehashBlobs(root: string): Promise<RehashResult> {
  const blobs = join(v2Dir(root), 'blobs');
  let checked = 0;
  let bytes = 0;
  const mismatches: BlobMismatch[] = [];
  for (const entry of await walk(blobs)) {
    if (entry.kind === 'dir') continue;
    const parts = relative(blobs, entry.path).split(sep);
    const [algorithm, prefix, hex, name] = parts;
    const known = algorithm === 'sha256' || algorithm === 'sha512';
    if (parts.length !== 4 || name !== 'data' || !known || entry.kind !== 'file') {
      mismatches.push({ path: entry.path, actual: `unexpected ${entry.kind} in blobs/` });
      continue;
    }
    checked++;
    bytes += entry.size;
    const actual = await hashFile(entry.path, algorithm);
    if (actual !== hex || prefix !== hex!.slice(0, 2))
      mismatches.push({ path: entry.path, actual: `${algorithm}:${actual}` });
  }
  return { checked, bytes, mismatches };
}

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** What {@link checkLinks} found. */
export interface LinkCheck {
  readonly checked: number;
  /** Link files that are not a digest, or not the digest their path names. */
  readonly torn: { readonly path: string; readonly content: string }[];
}

/**
 * Reads every `link` file under `repositories/`: each must hold a digest, and the digest its
 * path names where it names one (`_layers/<alg>/<hex>/link`, `revisions/<alg>/<hex>/link`,
 * `index/<alg>/<hex>/link`).
 */
export async function checkLinks(root: string): Promise<LinkCheck> {
  const repositories = join(v2Dir(root), 'repositories');
  let checked = 0;
  const torn: { path: string; content: string }[] = [];
  for (const entry of await walk(repositories)) {
    if (entry.kind !== 'file' || !entry.path.endsWith(`${sep}link`)) continue;
    if (entry.path.includes(`${sep}_uploads${sep}`)) continue;
    checked++;
    let content: string;
    try {
      content = (await readFile(entry.path, 'utf8')).trim();
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    const parts = entry.path.split(sep);
    const hex = parts[parts.length - 2]!;
    const algorithm = parts[parts.length - 3]!;
    const named = /^[a-f0-9]{64,128}$/.test(hex) && (algorithm === 'sha256' || algorithm === 'sha512');
    if (!DIGEST.test(content) || (named && content !== `${algorithm}:${hex}`)) {
      torn.push({ path: relative(root, entry.path), content: content.slice(0, 200) });
    }
  }
  return { checked, torn };
}

/**
 * What an upload left behind: anything under `repositories/<repo>/_uploads/<uuid>`, its pending
 * writes under `#berth/pending`, and pending writes of the blob path of `digests`.
 */
export async function uploadLeftovers(
  root: string,
  repo: string,
  uuid: string,
  digests: readonly string[] = [],
): Promise<string[]> {
  const uploads = join('docker', 'registry', 'v2', 'repositories', ...repo.split('/'), '_uploads');
  const found: string[] = [];
  const visible = join(root, uploads, uuid);
  if (await exists(visible)) {
    const inside = await walk(visible);
    found.push(
      inside.length === 0
        ? relative(root, visible)
        : `${relative(root, visible)} (${describeEntries(root, inside)})`,
    );
  }
  const pendingUploads = join(pendingDir(root), uploads);
  for (const entry of await walk(join(pendingUploads, uuid))) {
    if (entry.kind !== 'dir') found.push(relative(root, entry.path));
  }
  for (const name of await names(pendingUploads)) {
    if (name.startsWith(`${uuid}#`)) found.push(relative(root, join(pendingUploads, name)));
  }
  for (const digest of digests) {
    const [algorithm, hex] = digest.split(':');
    if (algorithm === undefined || hex === undefined) continue;
    const blobDir = join(pendingDir(root), 'docker', 'registry', 'v2', 'blobs', algorithm, hex.slice(0, 2));
    for (const entry of await walk(join(blobDir, hex))) {
      if (entry.kind !== 'dir') found.push(relative(root, entry.path));
    }
    for (const name of await names(blobDir)) {
      if (name.startsWith(`${hex}#`)) found.push(relative(root, join(blobDir, name)));
    }
  }
  return found;
}

function describeEntries(root: string, entries: readonly Entry[]): string {
  const files = entries.filter((entry) => entry.kind !== 'dir');
  const shown = files.slice(0, 4).map((entry) => `${relative(root, entry.path)} ${entry.size} B`);
  return files.length === 0
    ? 'empty directories'
    : `${files.length} file(s): ${shown.join(', ')}${files.length > 4 ? ', …' : ''}`;
}

/** The names in a directory; `[]` when it does not exist. */
export async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/** Entries below `root` whose real path is outside it (symlinks pointing out, or worse). */
export async function escapedEntries(root: string): Promise<string[]> {
  const real = await realpath(root);
  const out: string[] = [];
  for (const entry of await walk(root)) {
    let resolved: string;
    try {
      resolved = await realpath(entry.path);
    } catch {
      if (entry.kind === 'symlink')
        out.push(`${entry.path} -> ${await readlink(entry.path).catch(() => '?')} (dangling)`);
      continue;
    }
    if (resolved !== real && !resolved.startsWith(real + sep)) out.push(`${entry.path} -> ${resolved}`);
  }
  return out;
}

/**
 * A fingerprint of every entry below `dir` except those `skip` names (relative paths, not
 * entered either): kind, size and, for files, a content hash. Compare two with {@link diffSnapshots}.
 */
export async function snapshot(
  dir: string,
  skip: (rel: string) => boolean = () => false,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await walk(dir, (path) => skip(relative(dir, path)))) {
    const rel = relative(dir, entry.path);
    if (skip(rel)) continue;
    let print: string = entry.kind;
    if (entry.kind === 'file') print = `file ${entry.size} ${await hashFile(entry.path, 'sha256')}`;
    else if (entry.kind === 'symlink') print = `symlink -> ${await readlink(entry.path)}`;
    out.set(rel, print);
  }
  return out;
}

/** What differs between two {@link snapshot}s, one line per entry. */
export function diffSnapshots(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string[] {
  const out: string[] = [];
  for (const [rel, print] of after) {
    const old = before.get(rel);
    if (old === undefined) out.push(`new: ${rel} (${print})`);
    else if (old !== print) out.push(`changed: ${rel} (${old} → ${print})`);
  }
  for (const rel of before.keys()) if (!after.has(rel)) out.push(`removed: ${rel}`);
  return out;
}
