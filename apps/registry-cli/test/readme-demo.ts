/**
 * Produces the example output in the README (not part of the test suite):
 *
 *   node --conditions=@berth/source apps/registry-cli/test/readme-demo.ts
 *
 * Starts Berth on a temp dir, pushes with skopeo a multi-platform index (tagged in two
 * repositories), an SBOM referring to it, two images sharing a layer (one then deleted) and an
 * image left untagged, ages all of it two hours, uploads one blob with no manifest, then runs
 * each command and prints what it printed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skopeo, startBerth, writeOciLayout } from '@berth/test-servers';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const work = join('/tmp', `berth-readme-${process.pid}`);
const root = join(work, 'root');
const linux = (architecture: string) => ({ os: 'linux', architecture });
const layout = await writeOciLayout(join(work, 'src'), {
  indexes: {
    multi: {
      images: [
        { platform: linux('amd64'), layers: [{ size: 3 << 20, seed: 'amd64', format: 'tar+gzip' }] },
        { platform: linux('arm64'), layers: [{ size: 2 << 20, seed: 'arm64', format: 'tar+gzip' }] },
      ],
    },
  },
  images: {
    a: {
      platform: linux('amd64'),
      layers: [
        { size: 5 << 20, seed: 'base' },
        { size: 300_000, seed: 'a' },
      ],
    },
    b: {
      platform: linux('amd64'),
      layers: [
        { size: 5 << 20, seed: 'base' },
        { size: 1 << 20, seed: 'b' },
      ],
    },
    old: { platform: linux('amd64'), layers: [{ size: 700_000, seed: 'old' }] },
  },
  artifacts: {
    sbom: {
      artifactType: 'application/spdx+json',
      subject: 'multi',
      blobs: [{ mediaType: 'application/spdx+json', content: '{"spdxVersion":"SPDX-2.3"}' }],
    },
  },
});
const server = await startBerth({ rootDirectory: root });
const copy = (from: string, to: string, all = false) =>
  skopeo([
    'copy',
    ...(all ? ['--all'] : []),
    '--preserve-digests',
    '--dest-tls-verify=false',
    '--src-tls-verify=false',
    '--quiet',
    from,
    to,
  ]);
const d = (ref: string) => `docker://${server.host}/${ref}`;
const o = (ref: string) => `oci:${layout.dir}:${ref}`;
try {
  await copy(o('multi'), d('library/app:1.0'), true);
  await copy(o('multi'), d('mirror/app:1.0'), true);
  await copy(o('sbom'), d(`library/app@${layout.artifacts.sbom!.descriptor.digest}`));
  await copy(o('a'), d('tools/builder:a'));
  await copy(o('b'), d('tools/builder:b'));
  await fetch(`${server.url}/v2/tools/builder/manifests/${layout.images.b!.descriptor.digest}`, {
    method: 'DELETE',
  });
  await copy(o('old'), d('tools/builder:latest'));
  await copy(o('a'), d('tools/builder:latest'));
  const then = new Date(Date.now() - 2 * 3600_000);
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) await utimes(join(e.parentPath, e.name), then, then);
  }
  // A blob just uploaded, its manifest not pushed yet.
  const post = await fetch(`${server.url}/v2/tools/builder/blobs/uploads/`, { method: 'POST' });
  const data = randomBytes(200_000);
  const { createHash } = await import('node:crypto');
  const url = new URL(post.headers.get('location')!, server.url);
  url.searchParams.set('digest', `sha256:${createHash('sha256').update(data).digest('hex')}`);
  await fetch(url, { method: 'PUT', body: data });

  // An upload abandoned long ago.
  const abandoned = await fetch(`${server.url}/v2/tools/builder/blobs/uploads/`, { method: 'POST' });
  const uuid = new URL(abandoned.headers.get('location')!, server.url).pathname.split('/').pop()!;
  await writeFile(
    join(root, 'docker/registry/v2/repositories/tools/builder/_uploads', uuid, 'startedat'),
    '2024-01-01T00:00:00Z',
  );

  const config = join(work, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n  delete:\n    enabled: true\nhttp:\n  addr: :5000\n`,
  );
  const berth = (...args: string[]) => {
    const run = spawnSync(process.execPath, ['--conditions=@berth/source', MAIN, ...args], {
      encoding: 'utf8',
    });
    console.log(`$ berth ${args.join(' ').replace(config, 'config.yml')}`);
    process.stdout.write(run.stdout);
    process.stdout.write(run.stderr);
    console.log(`[exit ${run.status}]\n`);
  };
  berth('catalog', config);
  berth('catalog', config, 'library/app');
  berth('catalog', config, 'tools/builder');
  berth('catalog', config, 'tools/builder', '--json');
  berth('du', config);
  berth('gc', config, '--dry-run');
  berth('gc', config);
  berth('gc', config, '--delete-untagged', '--quiet');
  berth('verify', config);
  // Damage: flip a byte of one layer, delete another.
  const hex = (digest: string) => digest.slice(7);
  const file = (digest: string) =>
    join(root, 'docker/registry/v2/blobs/sha256', hex(digest).slice(0, 2), hex(digest), 'data');
  const { readFile } = await import('node:fs/promises');
  const flip = layout.indexes.multi!.manifests[1]!.layers[0]!.digest;
  const bytes = await readFile(file(flip));
  bytes[100]! ^= 1;
  await writeFile(file(flip), bytes);
  await rm(file(layout.images.a!.config.digest));
  berth('verify', config);
  berth('purge-uploads', config, '--dry-run');
  berth('purge-uploads', config);
  berth('gc', config, '--frobnicate');
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
