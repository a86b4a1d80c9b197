/**
 * A project outside the workspace that installs the tarballs the way a user would: `npm
 * install` of every tarball (and the README's extra dependency) in an empty directory, then
 * plain `node` — no `@berth/source` condition, no TypeScript — imports each package and runs
 * the registry-core README example.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeFailure, type RunResult, run, userEnv } from './exec.ts';

/** `package.json` of the empty project. */
const PROJECT_MANIFEST = {
  name: 'berth-packaging-consumer',
  version: '0.0.0',
  private: true,
  type: 'module',
};

export interface InstallResult extends RunResult {
  /** True when the first, cache-first attempt failed and the install was repeated online. */
  readonly retriedOnline: boolean;
}

/**
 * Installs `specs` (tarball paths and registry specs) into a new project at `dir`, all in one
 * `npm install`. npm's own cache (`~/.npm`, or whatever the user configured) is reused, and
 * `--prefer-offline` skips revalidating cached package metadata. A cached packument can be
 * older than a range a package now needs (npm then fails with ETARGET rather than refetching),
 * so a failed cache-first install is repeated once online before it counts as a failure.
 */
export async function installProject(dir: string, specs: readonly string[]): Promise<InstallResult> {
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(PROJECT_MANIFEST, null, 2)}\n`);
  const base = ['install', '--no-audit', '--no-fund', '--loglevel=error', '--fetch-retries=2'];
  const attempt = (extra: readonly string[]) =>
    run('npm', [...base, ...extra, ...specs], { cwd: dir, env: userEnv(), timeoutMs: 300_000 });
  const first = await attempt(['--prefer-offline']);
  if (first.code === 0) return { ...first, retriedOnline: false };
  const second = await attempt([]);
  if (second.code !== 0) throw new Error(describeFailure('npm install', second));
  return { ...second, ms: first.ms + second.ms, retriedOnline: true };
}

/** What plain node made of one package: its exports, or why it could not import it. */
export type ImportOutcome =
  | {
      readonly ok: true;
      readonly exportNames: readonly string[];
      readonly resolved: string;
      readonly version: string;
    }
  | { readonly ok: false; readonly error: string };

/**
 * The script the consumer runs: imports each package and its `./package.json` export, and
 * reports where node resolved it. Plain JavaScript, so node runs it without type stripping.
 */
const IMPORT_SCRIPT = `
const names = JSON.parse(process.argv[2]);
const outcomes = {};
for (const name of names) {
  try {
    const module = await import(name);
    const manifest = await import(name + '/package.json', { with: { type: 'json' } });
    outcomes[name] = {
      ok: true,
      exportNames: Object.keys(module).sort(),
      resolved: import.meta.resolve(name),
      version: manifest.default.version,
    };
  } catch (error) {
    outcomes[name] = { ok: false, error: String(error && error.stack ? error.stack : error) };
  }
}
process.stdout.write(JSON.stringify(outcomes));
`;

/** Imports every package in `names` from the project at `dir` with plain node, in one process. */
export async function importAll(
  dir: string,
  names: readonly string[],
): Promise<{ outcomes: Record<string, ImportOutcome>; result: RunResult }> {
  const script = join(dir, 'import-all.mjs');
  await writeFile(script, IMPORT_SCRIPT);
  const result = await run(process.execPath, [script, JSON.stringify(names)], {
    cwd: dir,
    env: userEnv(),
    timeoutMs: 60_000,
  });
  if (result.code !== 0) throw new Error(describeFailure('node import-all.mjs', result));
  return { outcomes: JSON.parse(result.stdout) as Record<string, ImportOutcome>, result };
}

/** Where a package's entry point must resolve in the project: its installed `dist/`. */
export function installedDistURL(dir: string, name: string): string {
  return pathToFileURL(join(dir, 'node_modules', name, 'dist')).href;
}

/**
 * The runnable example of a README: the first ```js block after its `## Example` heading.
 * @throws {Error} when the README has no such block
 */
export function readmeExample(readme: string): string {
  const match = /^## Example\s*$[\s\S]*?^```js\n([\s\S]*?)^```\s*$/m.exec(readme);
  if (match?.[1] === undefined) throw new Error('the README has no ```js block under "## Example"');
  return match[1];
}

/**
 * Writes the README example of the installed `@berth/registry-core` (the README npm users
 * read) to `example.mjs` and runs it with plain node on a free port, in the project directory
 * (so its `./data` lands there).
 */
export async function runReadmeExample(dir: string): Promise<{ source: string; result: RunResult }> {
  const readme = await readFile(join(dir, 'node_modules/@berth/registry-core/README.md'), 'utf8');
  const source = readmeExample(readme);
  await writeFile(join(dir, 'example.mjs'), source);
  const result = await run(process.execPath, ['example.mjs'], {
    cwd: dir,
    env: userEnv({ PORT: '0' }),
    timeoutMs: 60_000,
  });
  return { source, result };
}
