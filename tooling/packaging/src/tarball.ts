import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeFailure, run } from './exec.ts';

/** The packed `package.json`, as far as these checks read it. */
export interface PackedManifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly exports?: unknown;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

/** One tarball: its file list (paths inside `package/`), its `package.json` and its size. */
export interface Tarball {
  readonly path: string;
  readonly files: readonly string[];
  readonly manifest: PackedManifest;
  readonly bytes: number;
}

/** Reads a `.tgz` made by `pnpm pack` with the system `tar`. */
export async function readTarball(path: string): Promise<Tarball> {
  const cwd = dirname(path);
  const listing = await run('tar', ['-tzf', path], { cwd, timeoutMs: 30_000 });
  if (listing.code !== 0) throw new Error(describeFailure(`tar -tzf ${path}`, listing));
  const manifest = await run('tar', ['-xzOf', path, 'package/package.json'], { cwd, timeoutMs: 30_000 });
  if (manifest.code !== 0)
    throw new Error(describeFailure(`tar -xzOf ${path} package/package.json`, manifest));
  const files = listing.stdout
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''))
    .sort();
  return {
    path,
    files,
    manifest: JSON.parse(manifest.stdout) as PackedManifest,
    bytes: (await stat(path)).size,
  };
}

/** Files that must not ship: tests, test helpers, build state. */
const FORBIDDEN: readonly { readonly pattern: RegExp; readonly what: string }[] = [
  { pattern: /(^|\/)[^/]*\.test\.[^/]+$/, what: 'a test file (*.test.*)' },
  { pattern: /(^|\/)test-support(\/|\.|$)/, what: 'a test helper (test-support)' },
  { pattern: /^test\//, what: 'the test/ directory' },
  { pattern: /\.tsbuildinfo$/, what: 'TypeScript build state (*.tsbuildinfo)' },
];

/** The files an `exports` map points at (every condition but the workspace's `@berth/source`). */
export function exportTargets(exportsField: unknown): string[] {
  const targets: string[] = [];
  const visit = (value: unknown, condition: string | undefined): void => {
    if (typeof value === 'string') {
      if (condition !== '@berth/source') targets.push(value.replace(/^\.\//, ''));
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, condition);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, key.startsWith('.') ? condition : key);
    }
  };
  visit(exportsField, undefined);
  return [...new Set(targets)];
}

/**
 * What is wrong with a tarball's contents, one line each (empty when nothing is): it must hold
 * `LICENSE`, `README.md`, `package.json`, compiled `dist/**\/*.js` with `.d.ts` beside them and
 * every file its `exports` names; it must hold no tests, test helpers, `test/` or tsbuildinfo;
 * its `package.json` must have no `workspace:` ranges left and declare a license.
 */
export function tarballProblems(tarball: Pick<Tarball, 'files' | 'manifest'>): string[] {
  const problems: string[] = [];
  const files = new Set(tarball.files);
  for (const required of ['LICENSE', 'README.md', 'package.json']) {
    if (!files.has(required)) problems.push(`missing ${required}`);
  }
  const js = tarball.files.filter((file) => /^dist\/.+\.js$/.test(file));
  const dts = tarball.files.filter((file) => /^dist\/.+\.d\.ts$/.test(file));
  if (js.length === 0) problems.push('no dist/**/*.js');
  if (dts.length === 0) problems.push('no dist/**/*.d.ts');
  for (const file of js) {
    if (!files.has(file.replace(/\.js$/, '.d.ts'))) problems.push(`${file} has no .d.ts beside it`);
  }
  for (const target of exportTargets(tarball.manifest.exports)) {
    if (!files.has(target)) problems.push(`exports names ${target}, which is not in the tarball`);
  }
  for (const file of tarball.files) {
    const rule = FORBIDDEN.find(({ pattern }) => pattern.test(file));
    if (rule) problems.push(`ships ${rule.what}: ${file}`);
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
    for (const [name, range] of Object.entries(tarball.manifest[field] ?? {})) {
      if (range.startsWith('workspace:')) problems.push(`${field}.${name} is still ${range}`);
    }
  }
  if (tarball.manifest.license === undefined) problems.push('package.json has no license');
  return problems;
}

/** Bytes as KiB with one decimal. */
export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
