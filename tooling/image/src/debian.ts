/**
 * Debian packages for the system layer, pinned to the versions installed on the build machine.
 *
 * Preferred: the package itself, `apt-get download <name>=<installed version>` (apt checks it
 * against the signed archive index), kept in the cache, read with `dpkg-deb --fsys-tarfile`.
 * When apt cannot get that version any more (the archive moved on, or its lists are older than
 * the machine), the files of the installed package are used instead, each regular file checked
 * against dpkg's own md5sums for that package; what no md5sum covers (conffiles) is left out.
 * Both give the same bytes for the same version.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { output, run } from './exec.ts';
import { type FileContent, readTar } from './tar.ts';
import { normalize } from './tree.ts';

/** A regular file or symlink of a package (directories are left to the layer). */
export interface DebianFile {
  /** Layer path (`lib/x86_64-linux-gnu/libc.so.6`). */
  path: string;
  type: 'file' | 'symlink';
  /** Permission bits as packaged. */
  mode: number;
  size: number;
  content: FileContent;
  target: string;
}

export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  /** How the files were obtained. */
  origin: 'apt-get download' | 'installed files';
  /** The package's control paragraph (the fields of {@link CONTROL_FORMAT}), for `var/lib/dpkg/status.d`. */
  control: string;
  files: DebianFile[];
}

/** A `--showformat` for dpkg-query and dpkg-deb: `${Field}` for each field, joined by `separator`. */
function showFormat(fields: readonly string[], separator: string, labelled = false): string {
  const shown = fields.map((field) => (labelled ? `${field}: \${${field}}` : `\${${field}}`)).join(separator);
  return `--showformat=${shown}${labelled ? '\\n' : ''}`;
}

/** The control fields kept, in this order; `dpkg-deb` and `dpkg-query` print them identically. */
const CONTROL_FORMAT = showFormat(
  [
    'Package',
    'Source',
    'Version',
    'Architecture',
    'Maintainer',
    'Installed-Size',
    'Depends',
    'Section',
    'Priority',
    'Multi-Arch',
    'Homepage',
    'Description',
  ],
  '\\n',
  true,
);

function cleanControl(text: string): string {
  const lines = text.split('\n').filter((line) => !/^[A-Za-z-]+: ?$/.test(line) && line !== '');
  return `${lines.join('\n')}\n`;
}

export interface LoadPackageOptions {
  /** Where downloaded `.deb` files are kept; without it they are downloaded to a temp dir. */
  cacheDir?: string;
  /** Skip apt and use the installed files. */
  installedOnly?: boolean;
  log?: (line: string) => void;
}

/** The installed version and architecture of `name`; throws when it is not installed. */
export async function installedPackage(name: string): Promise<{ version: string; architecture: string }> {
  let text: string;
  try {
    text = await output('dpkg-query', [
      '--show',
      showFormat(['Version', 'Architecture', 'db:Status-Status'], '\\t'),
      name,
    ]);
  } catch (error) {
    throw new Error(
      `the image's system layer is built from the Debian packages installed here, and ${name} is not ` +
        `(a Debian or Ubuntu build machine with dpkg and apt is needed): ${error instanceof Error ? error.message : error}`,
    );
  }
  const [version, architecture, status] = text.split('\t');
  if (!version || !architecture || status !== 'installed')
    throw new Error(`${name} is not installed (${text})`);
  return { version, architecture };
}

/** Loads package `name` at its installed version (see the module comment for how). */
export async function loadPackage(name: string, options: LoadPackageOptions = {}): Promise<DebianPackage> {
  const { version, architecture } = await installedPackage(name);
  const log = options.log ?? (() => {});
  if (!options.installedOnly) {
    const deb = await fetchDeb(name, version, architecture, options.cacheDir).catch((error: unknown) => {
      log(
        `  ${name}=${version}: apt-get download failed, using the installed files checked against dpkg's md5sums ` +
          `(${firstLine(error)})`,
      );
      return undefined;
    });
    if (deb !== undefined) return readDeb(name, version, architecture, deb);
  }
  return readInstalled(name, version, architecture);
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (
    text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-1)[0] ?? text
  );
}

async function fetchDeb(
  name: string,
  version: string,
  architecture: string,
  cacheDir: string | undefined,
): Promise<string> {
  // apt-get download's file name: the version with `:` escaped.
  const fileName = `${name}_${version.replaceAll(':', '%3a')}_${architecture}.deb`;
  const dir = cacheDir ?? (await mkdtemp(join(process.env.TMPDIR ?? '/tmp', 'berth-image-debs-')));
  await mkdir(dir, { recursive: true });
  const file = join(dir, fileName);
  const found = await lstat(file).catch(() => undefined);
  if (found?.isFile()) {
    await checkDeb(file, name, version, architecture);
    return file;
  }
  const work = await mkdtemp(join(dir, '.download-'));
  try {
    // As root, apt drops to its `_apt` user to download, which cannot write here; it would warn
    // and download as root anyway.
    await run(
      'apt-get',
      ['download', '-q', '-o', 'APT::Sandbox::User=root', `${name}:${architecture}=${version}`],
      {
        cwd: work,
        timeoutMs: 120_000,
      },
    );
    const files = (await readdir(work)).filter((entry) => entry.endsWith('.deb'));
    if (files.length !== 1)
      throw new Error(`apt-get download ${name}=${version} left ${files.join(', ') || 'nothing'}`);
    await checkDeb(join(work, files[0]!), name, version, architecture);
    await rename(join(work, files[0]!), file);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return file;
}

async function checkDeb(file: string, name: string, version: string, architecture: string): Promise<void> {
  const fields = await output('dpkg-deb', [
    '--show',
    showFormat(['Package', 'Version', 'Architecture'], '\\t'),
    file,
  ]);
  if (fields !== `${name}\t${version}\t${architecture}`) {
    throw new Error(
      `${file} is ${fields.replaceAll('\t', ' ')}, expected ${name} ${version} ${architecture}`,
    );
  }
}

async function readDeb(
  name: string,
  version: string,
  architecture: string,
  file: string,
): Promise<DebianPackage> {
  const control = cleanControl(await output('dpkg-deb', ['--show', CONTROL_FORMAT, file]));
  const files: DebianFile[] = [];
  const child = spawn('dpkg-deb', ['--fsys-tarfile', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  await readTar(child.stdout, async (header, content) => {
    if (header.type === 'directory') return;
    if (header.type !== 'file' && header.type !== 'symlink') {
      throw new Error(`${file}: ${header.path} is a ${header.type} entry, which the image does not take`);
    }
    const path = normalize(header.path);
    if (header.type === 'symlink') {
      files.push(symlinkFile(path, header.target ?? ''));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(Buffer.from(chunk));
    const bytes = Buffer.concat(chunks);
    files.push({ path, type: 'file', mode: header.mode, size: bytes.length, content: { bytes }, target: '' });
  });
  const code = await exited;
  if (code !== 0)
    throw new Error(`dpkg-deb --fsys-tarfile ${file} exited with ${code}: ${Buffer.concat(stderr)}`);
  return { name, version, architecture, origin: 'apt-get download', control, files };
}

/** A package's symbolic link `path` → `target`. */
function symlinkFile(path: string, target: string): DebianFile {
  return { path, type: 'symlink', mode: 0o777, size: 0, content: { bytes: new Uint8Array() }, target };
}

async function readInstalled(name: string, version: string, architecture: string): Promise<DebianPackage> {
  const control = cleanControl(await output('dpkg-query', ['--show', CONTROL_FORMAT, name]));
  const sumsPath = await output('dpkg-query', ['--control-path', name, 'md5sums']);
  const sums = new Map<string, string>();
  for (const line of (await readFile(sumsPath, 'utf8')).split('\n')) {
    const match = /^([0-9a-f]{32}) {2}(.+)$/.exec(line);
    if (match) sums.set(normalize(match[2]!), match[1]!);
  }
  const files: DebianFile[] = [];
  const listing = (await output('dpkg-query', ['--listfiles', name]))
    .split('\n')
    .filter((listed) => listed !== '' && listed !== '/.');
  const parents = new Set(listing.map((listed) => listed.slice(0, listed.lastIndexOf('/'))));
  for (const listed of listing) {
    const path = normalize(listed);
    const info = await lstat(listed).catch(() => undefined);
    if (info === undefined) continue;
    if (info.isSymbolicLink()) {
      // A directory of the package may be a symlink on a merged-/usr machine (`/lib`): one with
      // listed paths below it was a directory in the package, not a link.
      if (parents.has(listed)) continue;
      const target = await readlink(listed);
      files.push(symlinkFile(path, target));
      continue;
    }
    if (info.isDirectory() || !info.isFile()) continue;
    const expected = sums.get(path);
    if (expected === undefined) continue; // conffiles: may be edited locally
    const bytes = await readFile(listed);
    const actual = createHash('md5').update(bytes).digest('hex');
    if (actual !== expected)
      throw new Error(`${listed} differs from the file ${name} ${version} installed (md5sums)`);
    files.push({
      path,
      type: 'file',
      mode: info.mode & 0o7777,
      size: bytes.length,
      content: { bytes },
      target: '',
    });
  }
  return { name, version, architecture, origin: 'installed files', control, files };
}
