// The throughput figures in README.md: ../shared/bench (`push-big`, `pull-big`, 512 MiB) against
// Berth — and, for comparison, registry:2 (Debian's docker-registry 2.8.2) — storing in a fresh
// Ceph radosgw per run, runs alternating. Not a test; run from the package directory with
//   node --conditions=@berth/source test/bench-radosgw.ts [runs=3] [targets=berth,registry2] [redirect|noredirect]
// BERTH_BENCH points at registry-bench.mjs (default: ../shared/bench beside the repository);
// S3_EXTRA adds lines to the storage.s3 section (e.g. 'multipartcopythresholdsize: 5368709120').
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRadosgw } from '../../../tooling/test-servers/src/radosgw.ts';
import { startBerth, startRegistry2 } from '../../../tooling/test-servers/src/servers.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bench = process.env.BERTH_BENCH ?? resolve(repo, '../shared/bench/registry-bench.mjs');
const [runsArg = '3', targetsArg = 'berth,registry2', redirectArg = 'redirect'] = process.argv.slice(2);
const targets = targetsArg.split(',') as ('berth' | 'registry2')[];
const redirect = redirectArg !== 'noredirect';

function configYaml(endpoint: string, accessKey: string, secretKey: string, bucket: string): string {
  return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  s3:
    accesskey: ${accessKey}
    secretkey: ${secretKey}
    region: us-east-1
    regionendpoint: ${endpoint}
    secure: false
    v4auth: true
    bucket: ${bucket}
    rootdirectory: /registry
${(process.env.S3_EXTRA ?? '')
  .split(';')
  .filter((line) => line.trim() !== '')
  .map((line) => `    ${line.trim()}\n`)
  .join('')}  delete:
    enabled: true
  redirect:
    disable: ${!redirect}
http:
  addr: 127.0.0.1:5000
  secret: bench-secret
`;
}

const out = await mkdtemp(join(tmpdir(), 'berth-bench-s3-'));
const files: Record<string, string[]> = {};
try {
  for (let i = 1; i <= Number(runsArg); i++) {
    for (const target of targets) {
      const rgw = await startRadosgw({ buckets: ['bench'], memstoreBytes: 8 * 1024 * 1024 * 1024 });
      const configFile = join(out, `${target}.yml`);
      await writeFile(configFile, configYaml(rgw.endpoint, rgw.accessKey, rgw.secretKey, 'bench'));
      // registry:2's AWS SDK refuses to start when AWS_CA_BUNDLE is set (as it is on some machines).
      const server =
        target === 'berth'
          ? await startBerth({ configFile })
          : await startRegistry2({ configFile, env: { AWS_CA_BUNDLE: '' } });
      const json = join(out, `${target}-${i}.json`);
      try {
        const { stdout } = await run(
          process.execPath,
          [
            bench,
            '--url',
            server.url,
            '--scenarios',
            'push-big,pull-big',
            '--pid',
            String(server.pid),
            '--json',
            json,
          ],
          { maxBuffer: 16 * 1024 * 1024 },
        );
        console.log(`--- ${target}, run ${i} (redirects ${redirect ? 'on' : 'off'})\n${stdout}`);
        files[target] = [...(files[target] ?? []), json];
      } catch (error) {
        console.log(`--- ${target}, run ${i} failed: ${(error as { stdout?: string }).stdout ?? error}`);
      } finally {
        await server.stop();
        await rgw.stop();
      }
    }
  }
  for (const [target, jsons] of Object.entries(files)) {
    const { stdout } = await run(process.execPath, [bench, 'summarize', ...jsons]);
    console.log(`=== ${target} on radosgw (redirects ${redirect ? 'on' : 'off'})\n${stdout}`);
  }
} finally {
  await rm(out, { recursive: true, force: true });
}
