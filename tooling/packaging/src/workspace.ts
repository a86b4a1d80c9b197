import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeFailure, type RunResult, run, userEnv } from './exec.ts';

/** The repository root (this file is `tooling/packaging/src/workspace.ts`). */
export const REPO_ROOT: string = resolve(import.meta.dirname, '../../..');

/** A package under `packages/` that is published (not `private`). */
export interface PublishablePackage {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the package directory. */
  readonly dir: string;
  /** `packages/<folder>`, for messages. */
  readonly relativeDir: string;
}

/** Every publishable package under `packages/`, sorted by name. */
export function publishablePackages(root: string = REPO_ROOT): PublishablePackage[] {
  const packagesDir = join(root, 'packages');
  const found: PublishablePackage[] = [];
  for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
    const manifestPath = join(packagesDir, entry.name, 'package.json');
    if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      name: string;
      version: string;
      private?: boolean;
    };
    if (manifest.private === true) continue;
    found.push({
      name: manifest.name,
      version: manifest.version,
      dir: join(packagesDir, entry.name),
      relativeDir: `packages/${entry.name}`,
    });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** The version range the workspace's server uses for a third-party dependency (one source of truth). */
export function workspaceRange(dependency: string, root: string = REPO_ROOT): string {
  const manifest = JSON.parse(readFileSync(join(root, 'apps/registry-server/package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const range = manifest.dependencies?.[dependency];
  if (range === undefined) throw new Error(`apps/registry-server does not depend on ${dependency}`);
  return range;
}

/** `pnpm build` (turbo: every package's `tsc -p tsconfig.build.json` into `dist/`, cached). */
export async function buildPackages(root: string = REPO_ROOT): Promise<RunResult> {
  const result = await run('pnpm', ['run', 'build'], { cwd: root, timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(describeFailure('pnpm build', result));
  return result;
}

/** turbo's `Cached: N cached, M total` line from a build's output, for the timings. */
export function turboCacheLine(build: RunResult): string {
  return /Cached:\s+(.+)/.exec(build.stdout)?.[1]?.trim() ?? 'no turbo summary';
}

/**
 * `pnpm pack` of every package into `destination`, in one recursive pnpm run. pnpm rewrites
 * `workspace:^` to the packed versions (`^0.0.0`), as `pnpm publish` does. Returns the tarball
 * path of each package name.
 */
export async function packPackages(
  packages: readonly PublishablePackage[],
  destination: string,
  root: string = REPO_ROOT,
): Promise<{ tarballs: Map<string, string>; result: RunResult }> {
  const filters = packages.flatMap((pkg) => ['--filter', pkg.name]);
  const result = await run('pnpm', ['--recursive', ...filters, 'pack', '--pack-destination', destination], {
    cwd: root,
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(describeFailure('pnpm pack', result));
  const files = new Set((await readdir(destination)).filter((file) => file.endsWith('.tgz')));
  const tarballs = new Map<string, string>();
  for (const pkg of packages) {
    // pnpm's (and npm's) tarball name: the scope's `@` dropped, `/` turned into `-`.
    const file = `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`;
    if (!files.has(file)) throw new Error(`pnpm pack left no ${file} for ${pkg.name} in ${destination}`);
    tarballs.set(pkg.name, join(destination, file));
  }
  return { tarballs, result };
}

/**
 * Why the check must be skipped, or `undefined` when npm reaches its registry (`npm ping`).
 * The check installs the tarballs' third-party dependencies from the registry, so without it
 * there is nothing to run; under CI (`process.env.CI` set) that is an error, not a skip.
 */
export function npmRegistrySkipReason(): string | undefined {
  const ping = spawnSync('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=20000'], {
    cwd: tmpdir(),
    env: userEnv(),
    encoding: 'utf8',
    timeout: 45_000,
  });
  let reason: string | undefined;
  if (ping.error && (ping.error as NodeJS.ErrnoException).code === 'ENOENT') {
    reason = 'npm is not on PATH, so it cannot reach its registry';
  } else if (ping.error || ping.status !== 0) {
    const output = `${ping.stdout ?? ''}\n${ping.stderr ?? ''}`;
    const registry = /PING (\S+)/.exec(output)?.[1] ?? 'its registry';
    const cause =
      ping.error?.message ??
      output
        .split('\n')
        .find((line) => /npm error (code|.*(request to|reason))/.test(line))
        ?.replace(/^npm error\s+/, '') ??
      `npm ping exited with ${ping.status}`;
    reason = `npm cannot reach ${registry} (${cause})`;
  }
  if (reason !== undefined && process.env.CI) {
    throw new Error(`CI is set, so the packaging check may not be skipped, but ${reason}`);
  }
  return reason;
}
