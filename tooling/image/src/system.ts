/**
 * The system layer: what the `node` binary needs from a Linux root filesystem and nothing else —
 * the shared libraries of Debian's libc6, libgcc-s1 and libstdc++6 (no gconv modules, no
 * debugging helpers' data), their copyright files, Debian's CA bundle, a `berth` user, `/tmp`,
 * the data directory, and a dpkg status entry per package so image scanners see the versions.
 */
import { posix } from 'node:path';
import { type DebianPackage, type LoadPackageOptions, loadPackage } from './debian.ts';
import { readElfDynamicInfo } from './elf.ts';
import type { FileContent } from './tar.ts';
import { LayerTree } from './tree.ts';

/** The unprivileged user the server runs as (distroless' `nonroot` uid, so scanners know it). */
export const USER = { name: 'berth', uid: 65532, gid: 65532, home: '/home/berth' } as const;

/** The storage root of the shipped config, a volume owned by {@link USER}. */
export const DATA_DIR = '/var/lib/registry';

/** Debian packages the system layer is made of (more are added when their docs link to one). */
export const SYSTEM_PACKAGES: readonly string[] = ['libc6', 'libgcc-s1', 'libstdc++6', 'ca-certificates'];

/** Shared objects directly under a library directory (`lib/x86_64-linux-gnu/libc.so.6`), not gconv modules. */
const SHARED_LIBRARY = /^(?:lib|lib64|usr\/lib)(?:\/[^/]+)?\/[^/]+\.so(?:\.[0-9]+)*$/;

export interface SystemLayer {
  tree: LayerTree;
  packages: DebianPackage[];
}

/** Loads the packages (see `debian.ts`) and assembles the layer. */
export async function buildSystemLayer(options: LoadPackageOptions = {}): Promise<SystemLayer> {
  const packages = await Promise.all(SYSTEM_PACKAGES.map((name) => loadPackage(name, options)));
  // libgcc-s1 and libstdc++6 keep their copyright in gcc-N-base (their doc dir is a link to it).
  for (let i = 0; i < packages.length; i++) {
    for (const file of packages[i]!.files) {
      const doc = /^usr\/share\/doc\/([^/]+)$/.exec(file.path);
      if (file.type !== 'symlink' || !doc || file.target.includes('/')) continue;
      if (!packages.some((known) => known.name === file.target)) {
        packages.push(await loadPackage(file.target, options));
      }
    }
  }
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const tree = new LayerTree();
  const certificates: Array<{ path: string; content: FileContent }> = [];
  for (const pkg of packages) {
    for (const file of pkg.files) {
      if (SHARED_LIBRARY.test(file.path) || file.path === `usr/share/doc/${pkg.name}/copyright`) {
        if (file.type === 'symlink') tree.symlink(file.path, file.target);
        else tree.file(file.path, file.content, file.size, file.mode & 0o111 ? 0o755 : 0o644);
      } else if (file.path === `usr/share/doc/${pkg.name}` && file.type === 'symlink') {
        tree.symlink(file.path, file.target);
      } else if (file.path.startsWith('usr/share/ca-certificates/') && file.path.endsWith('.crt')) {
        certificates.push(file);
      }
    }
    tree.text(`var/lib/dpkg/status.d/${pkg.name}`, pkg.control);
  }
  if (certificates.length === 0) throw new Error('ca-certificates has no certificates');
  // What update-ca-certificates would write for the default selection: every certificate, in
  // order of its path, each ending with a newline.
  certificates.sort((a, b) => (a.path < b.path ? -1 : 1));
  const bundle = Buffer.concat(
    certificates.map(({ content }) => {
      if (!('bytes' in content)) throw new Error('certificates are read into memory');
      const text = Buffer.from(content.bytes);
      return text.at(-1) === 0x0a ? text : Buffer.concat([text, Buffer.from('\n')]);
    }),
  );
  tree.file('etc/ssl/certs/ca-certificates.crt', { bytes: bundle }, bundle.length);

  tree.text(
    'etc/passwd',
    `root:x:0:0:root:/root:/sbin/nologin\n${USER.name}:x:${USER.uid}:${USER.gid}:Berth registry:${USER.home}:/sbin/nologin\n`,
  );
  tree.text('etc/group', `root:x:0:\n${USER.name}:x:${USER.gid}:\n`);
  tree.text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
  tree.directory('tmp', 0o1777);
  tree.directory(USER.home.slice(1));
  tree.directory(DATA_DIR.slice(1), 0o755, { uid: USER.uid, gid: USER.gid });
  return { tree, packages };
}

/**
 * Checks that `binary` (and every library it pulls in) finds its interpreter and each `DT_NEEDED`
 * library in the layer, as the dynamic loader would in its default directories; throws naming
 * what is missing. Returns the libraries it resolved, in the order they were found.
 */
export async function checkLibraries(tree: LayerTree, binary: FileContent, name: string): Promise<string[]> {
  // The loader's default search path: the multiarch directories, then the plain ones.
  const libraryDirs = ['lib', 'usr/lib', 'lib64', 'usr/lib64'];
  for (const entry of tree.entries()) {
    if (entry.type === 'directory' && /^(?:usr\/)?lib\/[^/]+-linux-gnu$/.test(entry.path))
      libraryDirs.unshift(entry.path);
  }
  const resolved: string[] = [];
  const queue: Array<{ who: string; content: FileContent }> = [{ who: name, content: binary }];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const { who, content } = queue.shift()!;
    const info = await readElfDynamicInfo(content);
    if (info === undefined) throw new Error(`${who} is not a 64-bit little-endian ELF file`);
    const wanted: Array<{ path: string; why: string }> = [];
    if (info.interpreter !== undefined) wanted.push({ path: info.interpreter.slice(1), why: 'interpreter' });
    for (const needed of info.needed) {
      const found = libraryDirs
        .map((dir) => `${dir}/${needed}`)
        .find((path) => follow(tree, path) !== undefined);
      if (found === undefined) {
        throw new Error(
          `${who} needs ${needed}, which none of the system layer's packages provides: add its Debian package to SYSTEM_PACKAGES`,
        );
      }
      wanted.push({ path: found, why: needed });
    }
    for (const { path, why } of wanted) {
      const file = follow(tree, path);
      if (file === undefined) throw new Error(`${who}: its ${why} /${path} is not in the system layer`);
      if (seen.has(file.path)) continue;
      seen.add(file.path);
      resolved.push(`/${path}`);
      queue.push({ who: `/${path}`, content: file.content });
    }
  }
  return resolved;
}

/** The regular file `path` names inside the layer, following symlinks (absolute ones from the layer's root). */
function follow(tree: LayerTree, path: string): { path: string; content: FileContent } | undefined {
  let current = path;
  for (let hops = 0; hops < 16; hops++) {
    const entry = tree.get(current);
    if (entry === undefined) return undefined;
    if (entry.type === 'file') return { path: entry.path, content: entry.content };
    if (entry.type !== 'symlink') return undefined;
    current = entry.target.startsWith('/')
      ? posix.normalize(entry.target).slice(1)
      : posix.normalize(posix.join(posix.dirname(entry.path), entry.target));
    if (current === '' || current.startsWith('..')) return undefined;
  }
  return undefined;
}
