/**
 * Times `berth gc` on a large registry on the filesystem driver (not part of the test suite).
 *
 *   node --conditions=@berth/source apps/registry-cli/test/gc-bench.ts [--repos 1000] [--tags 5] [--keep] [--generate-only]
 *
 * Writes the registry:2 layout directly on disk (fast): REPOS repositories × TAGS tags, each tag
 * an OCI image (config, a base layer shared by every image, one unique layer), plus in each
 * repository one untagged image (garbage for --delete-untagged) and, every tenth repository, an
 * orphan blob (garbage for gc). Everything is dated two hours back (outside the grace window).
 * Then runs the real CLI: `gc --dry-run`, `gc`, `gc --delete-untagged` (with `--settle 0s`: the
 * default 10 s settle is a fixed wait, added to any run that deletes something), `du`.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    repos: { type: 'string', default: '1000' },
    tags: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    'generate-only': { type: 'boolean', default: false },
  },
});
const REPOS = Number(values.repos);
const TAGS = Number(values.tags);
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const then = new Date(Date.now() - 2 * 60 * 60 * 1000);

const dir = await mkdtemp(join(tmpdir(), 'berth-gc-bench-'));
const root = join(dir, 'root');
const v2 = join(root, 'docker/registry/v2');
const config = join(dir, 'config.yml');
await writeFile(config, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${root}\n`);

const sha = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
let files = 0;
const made = new Set<string>();
async function put(path: string, content: Uint8Array | string): Promise<void> {
  const parent = dirname(path);
  if (!made.has(parent)) {
    await mkdir(parent, { recursive: true });
    made.add(parent);
  }
  await writeFile(path, content);
  await utimes(path, then, then);
  files++;
}
const blob = async (content: Uint8Array | string): Promise<{ digest: string; size: number }> => {
  const hex = sha(content);
  await put(join(v2, 'blobs/sha256', hex.slice(0, 2), hex, 'data'), content);
  return {
    digest: `sha256:${hex}`,
    size: typeof content === 'string' ? Buffer.byteLength(content) : content.length,
  };
};
const link = (path: string, digest: string) => put(path, digest);

const started = Date.now();
const base = await blob(randomBytes(64 * 1024));
let bytes = 64 * 1024;

async function image(repo: string, seed: string, tag: string | undefined): Promise<void> {
  const layer = await blob(randomBytes(2048));
  const cfg = await blob(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  bytes += layer.size + cfg.size;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: [base, layer].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  });
  const m = await blob(manifest);
  bytes += m.size;
  const r = join(v2, 'repositories', repo);
  for (const d of [base.digest, layer.digest, cfg.digest]) {
    await link(join(r, '_layers/sha256', d.slice(7), 'link'), d);
  }
  await link(join(r, '_manifests/revisions/sha256', m.digest.slice(7), 'link'), m.digest);
  if (tag !== undefined) {
    await link(join(r, '_manifests/tags', tag, 'index/sha256', m.digest.slice(7), 'link'), m.digest);
    await link(join(r, '_manifests/tags', tag, 'current/link'), m.digest);
  }
}

const queue = Array.from({ length: REPOS }, (_, i) => i);
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const repo = `bench/repo-${String(i).padStart(4, '0')}`;
      for (let t = 0; t < TAGS; t++) await image(repo, `${repo}:${t}`, `v${t}`);
      await image(repo, `${repo}:untagged`, undefined);
      if (i % 10 === 0) {
        const orphan = await blob(randomBytes(4096));
        await link(
          join(v2, 'repositories', repo, '_layers/sha256', orphan.digest.slice(7), 'link'),
          orphan.digest,
        );
      }
    }
  }),
);
console.log(
  `generated ${REPOS} repositories × ${TAGS} tags (+1 untagged image each): ${files} files, ` +
    `${(bytes / 1024 / 1024).toFixed(1)} MiB, in ${((Date.now() - started) / 1000).toFixed(1)}s (${root})`,
);

function berth(...args: string[]): void {
  const t0 = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--conditions=@berth/source', MAIN, ...args], {
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (run.status !== 0) throw new Error(`berth ${args.join(' ')}: exit ${run.status}\n${run.stderr}`);
  let detail = '';
  if (args.includes('--json') && args[0] === 'gc') {
    const r = JSON.parse(run.stdout);
    detail =
      `gc itself ${(r.durationMs / 1000).toFixed(2)}s; ${r.repositories} repos, ${r.manifests.revisions} revisions, ` +
      `${r.blobs.count} blobs; deleted ${r.deleted.manifests.length} manifests, ${r.deleted.blobs.length} blobs, ` +
      `${r.deleted.layerLinks.length} layer links, ${r.bytesReclaimed} bytes`;
  }
  console.log(
    `berth ${args.filter((a) => a !== config).join(' ')}: ${wall.toFixed(2)}s wall${detail ? ` (${detail})` : ''}`,
  );
}

if (values['generate-only']) {
  console.log(`config: ${config}`);
  process.exit(0);
}
berth('gc', config, '--dry-run', '--json');
berth('gc', config, '--dry-run', '--delete-untagged', '--json');
berth('gc', config, '--settle', '0s', '--json');
berth('gc', config, '--delete-untagged', '--settle', '0s', '--json');
berth('gc', config, '--json', '--settle', '0s');
berth('du', config, '--json');
if (!values.keep) await rm(dir, { recursive: true, force: true });
