/**
 * Every published package installs from its tarball and works outside the workspace: one
 * `pnpm build`, one `pnpm pack` of every package, one `npm install` of all tarballs into an
 * empty project, then plain node imports each package and runs registry-core's README example;
 * publint and attw check the same tarballs. README.md beside this file says more.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type ImportOutcome,
  importAll,
  installedDistURL,
  installProject,
  runReadmeExample,
} from './consumer.ts';
import { seconds } from './exec.ts';
import { ATTW_PROFILE, type AttwResult, attwTarball, type PublintResult, publintTarball } from './lint.ts';
import { kib, readTarball, type Tarball, tarballProblems } from './tarball.ts';
import {
  buildPackages,
  npmRegistrySkipReason,
  packPackages,
  publishablePackages,
  REPO_ROOT,
  turboCacheLine,
  workspaceRange,
} from './workspace.ts';

const packages = publishablePackages();
const names = packages.map((pkg) => pkg.name);

describe('LICENSE', () => {
  const root = readFileSync(join(REPO_ROOT, 'LICENSE'), 'utf8');

  test('the repository root holds the Apache License 2.0, which every package declares', () => {
    expect(root).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(root).toContain('END OF TERMS AND CONDITIONS');
    for (const pkg of packages) {
      const manifest = JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) as {
        license?: string;
      };
      expect(manifest.license, pkg.name).toBe('Apache-2.0');
    }
  });

  // npm and pnpm always pack a LICENSE from the package directory, so each package keeps a copy;
  // this keeps the copies equal to the root file (a new package: `cp LICENSE packages/<name>/`).
  test.each(packages.map((pkg) => [pkg.relativeDir, pkg] as const))(
    '%s/LICENSE is the root LICENSE',
    (_, pkg) => {
      let copy: string | undefined;
      try {
        copy = readFileSync(join(pkg.dir, 'LICENSE'), 'utf8');
      } catch {
        copy = undefined;
      }
      expect(copy, `${pkg.relativeDir}/LICENSE is missing or differs: cp LICENSE ${pkg.relativeDir}/`).toBe(
        root,
      );
    },
  );
});

const skip = npmRegistrySkipReason();

describe.skipIf(skip)(
  `published packages, installed from their tarballs${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let work = '';
    let project = '';
    const timings: [string, number][] = [];
    const tarballs = new Map<string, Tarball>();
    const publints = new Map<string, PublintResult>();
    const attws = new Map<string, AttwResult>();
    let imports: Record<string, ImportOutcome> = {};

    beforeAll(async () => {
      const started = performance.now();
      work = await mkdtemp(join(tmpdir(), 'berth-packaging-'));
      const packDir = join(work, 'tarballs');
      project = join(work, 'consumer');
      await Promise.all([mkdir(packDir), mkdir(project)]);

      const build = await buildPackages();
      timings.push([`pnpm build (turbo ${turboCacheLine(build)})`, build.ms]);

      const packed = await packPackages(packages, packDir);
      timings.push([`pnpm pack of ${packages.length} packages`, packed.result.ms]);
      for (const [name, path] of packed.tarballs) tarballs.set(name, await readTarball(path));

      // The install is mostly network and disk, the linters mostly CPU: run them side by side.
      const hono = `@hono/node-server@${workspaceRange('@hono/node-server')}`;
      const installing = installProject(project, [...packed.tarballs.values(), hono]).then((result) => {
        timings.push([
          `npm install of ${packed.tarballs.size} tarballs + ${hono}${result.retriedOnline ? ' (cache-first attempt failed, repeated online)' : ''}`,
          result.ms,
        ]);
      });
      const linting = (async () => {
        const lintStarted = performance.now();
        for (const [name, path] of packed.tarballs) publints.set(name, await publintTarball(path));
        timings.push(['publint of every tarball', performance.now() - lintStarted]);
        const attwStarted = performance.now();
        const queue = [...packed.tarballs];
        const worker = async () => {
          for (let next = queue.shift(); next; next = queue.shift())
            attws.set(next[0], await attwTarball(next[1]));
        };
        await Promise.all([worker(), worker()]);
        timings.push([
          `attw --profile ${ATTW_PROFILE} of every tarball (2 at a time)`,
          performance.now() - attwStarted,
        ]);
      })();
      await Promise.all([installing, linting]);

      const imported = await importAll(project, names);
      imports = imported.outcomes;
      timings.push(['plain-node import of every package', imported.result.ms]);
      timings.push(['setup in all', performance.now() - started]);
    }, 8 * 60_000);

    afterAll(async () => {
      const lines = timings.map(([what, ms]) => `  ${seconds(ms).padStart(8)}  ${what}`);
      const rows = names.map((name) => {
        const tarball = tarballs.get(name);
        const attw = attws.get(name);
        return `  ${name.padEnd(34)} ${tarball ? kib(tarball.bytes).padStart(10) : '?'.padStart(10)} ${String(tarball?.files.length ?? '?').padStart(5)} files  publint ${publints.get(name)?.messages.length ?? '?'}  attw ${attw?.problems.length ?? '?'} (ignored by profile: ${attw?.ignored.join(', ') || 'none'})`;
      });
      console.log(['packaging timings:', ...lines, 'tarballs:', ...rows].join('\n'));
      if (work !== '' && !process.env.BERTH_PACKAGING_KEEP) await rm(work, { recursive: true, force: true });
      else if (work !== '') console.log(`kept ${work} (BERTH_PACKAGING_KEEP is set)`);
    });

    test.each(names)('%s: the tarball holds LICENSE, README.md, dist/ with types, and no tests', (name) => {
      const tarball = tarballs.get(name);
      expect(tarball, `no tarball for ${name}`).toBeDefined();
      expect(tarballProblems(tarball!)).toEqual([]);
      const published = new Set(names);
      for (const [dependency, range] of Object.entries(tarball!.manifest.dependencies ?? {})) {
        if (dependency.startsWith('@berth/')) {
          expect(published.has(dependency), `${name} depends on ${dependency}, which is not published`).toBe(
            true,
          );
          expect(range, `${name} → ${dependency}`).toBe(
            `^${packages.find((pkg) => pkg.name === dependency)?.version}`,
          );
        }
      }
    });

    test.each(names)('%s: plain node imports it from its installed dist/', (name) => {
      const outcome = imports[name];
      expect(outcome, `${name} was not imported`).toBeDefined();
      if (!outcome!.ok) expect.fail(`plain node could not import ${name}:\n${outcome!.error}`);
      expect(outcome!.resolved.startsWith(`${installedDistURL(project, name)}/`), outcome!.resolved).toBe(
        true,
      );
      expect(outcome!.version).toBe(tarballs.get(name)?.manifest.version);
      expect(outcome!.exportNames.length).toBeGreaterThan(0);
    });

    test('the registry-core README example serves the fs driver and round-trips a blob and a manifest', async () => {
      const { result } = await runReadmeExample(project);
      expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(0);
      const digest = /pushed and pulled team\/app:1\.0 (sha256:[0-9a-f]{64})/.exec(result.stdout)?.[1];
      expect(digest, result.stdout).toBeDefined();
      // The example's `./data` is registry:2's layout on disk, written by the fs driver.
      const tagLink = join(
        project,
        'data/docker/registry/v2/repositories/team/app/_manifests/tags/1.0/current/link',
      );
      expect(await readFile(tagLink, 'utf8')).toBe(digest);
      const hex = digest!.slice('sha256:'.length);
      const manifest = await readFile(
        join(project, 'data/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'),
      );
      expect(JSON.parse(manifest.toString('utf8'))).toMatchObject({ schemaVersion: 2 });
      console.log(`README example: ${seconds(result.ms)}, ${result.stdout.trim()}`);
    }, 90_000);

    test.each(names)('%s: publint finds nothing (strict, suggestions included)', (name) => {
      expect(publints.get(name)?.messages).toEqual([]);
    });

    test.each(names)(`%s: attw finds nothing under the ${ATTW_PROFILE} profile`, (name) => {
      const attw = attws.get(name);
      expect(attw, `attw did not run for ${name}`).toBeDefined();
      expect(attw!.problems).toEqual([]);
      expect(attw!.exitCode).toBe(0);
    });
  },
);
