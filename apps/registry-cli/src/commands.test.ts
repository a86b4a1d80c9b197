import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@berth/digest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  berth,
  bytes,
  type Image,
  pushBlob,
  pushImage,
  pushIndex,
  type TempRegistry,
  tempRegistry,
} from './test-support.ts';

const HOUR = 60 * 60 * 1000;

function blobFile(reg: TempRegistry, digest: Digest): string {
  const hex = digest.slice('sha256:'.length);
  return join(reg.root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

describe('berth commands on a filesystem registry', () => {
  let reg: TempRegistry;
  let amd64: Image;
  let arm64: Image;
  let index: Digest;
  let shared: Image;
  let dropped: Image;
  let orphan: Digest;

  beforeEach(async () => {
    reg = await tempRegistry();
    const registry = reg.registry();
    const app = registry.repository('app');
    amd64 = await pushImage(app, 'amd64');
    arm64 = await pushImage(app, 'arm64', { architecture: 'arm64' });
    index = await pushIndex(app, [amd64, arm64], ['v1']);
    const base = bytes('base layer '.repeat(1000));
    const tools = registry.repository('tools');
    shared = await pushImage(tools, 'kept', { tags: ['kept'], layers: [base, bytes('kept')] });
    dropped = await pushImage(tools, 'dropped', { tags: ['dropped'], layers: [base, bytes('dropped')] });
    await tools.manifests.delete(dropped.digest);
    orphan = await pushBlob(tools, bytes('an orphan blob'));
    await reg.age(2 * HOUR);
  });
  afterEach(async () => {
    await reg.remove();
  });

  it('catalog lists repositories, and a repository tags with digest, media type, platforms and size', async () => {
    const all = await berth(['catalog', reg.config]);
    expect(all).toEqual({ code: 0, stdout: 'app\ntools\n', stderr: '' });
    expect(JSON.parse((await berth(['catalog', reg.config, '--json'])).stdout)).toEqual({
      repositories: ['app', 'tools'],
    });

    const app = JSON.parse((await berth(['catalog', reg.config, 'app', '--json'])).stdout);
    expect(app.repository).toBe('app');
    expect(app.tags).toEqual([
      {
        tag: 'v1',
        digest: index,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: ['linux/amd64', 'linux/arm64'],
        size: expect.any(Number),
      },
    ]);
    const text = await berth(['catalog', reg.config, 'app']);
    expect(text.stdout).toMatch(/^TAG +DIGEST +MEDIA TYPE +PLATFORMS +SIZE\n/);
    expect(text.stdout).toContain(
      `v1   ${index}  application/vnd.oci.image.index.v1+json  linux/amd64,linux/arm64`,
    );

    const tools = JSON.parse((await berth(['catalog', reg.config, 'tools', '--json'])).stdout);
    expect(tools.tags).toEqual([
      {
        tag: 'kept',
        digest: shared.digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        platforms: ['linux/amd64'],
        size: shared.size + (await configSize(reg, shared.config)) + 11000 + 4,
      },
    ]);

    const unknown = await berth(['catalog', reg.config, 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('berth catalog: repository "nope" not found\n');
  });

  it('du reports bytes per repository, unique and shared', async () => {
    const result = JSON.parse((await berth(['du', reg.config, '--json'])).stdout);
    const tools = result.repositories.find((r: { repository: string }) => r.repository === 'tools');
    // The dropped image's blobs are still linked into tools (until gc) and count for it.
    expect(tools).toMatchObject({ repository: 'tools', sharedBytes: 0 });
    expect(tools.uniqueBytes).toBe(tools.bytes);
    expect(result.total.unreferencedBlobs).toBe(1); // the dropped manifest itself
    const text = await berth(['du', reg.config, 'app']);
    expect(text.stdout).toMatch(/^REPOSITORY +BLOBS +SIZE +UNIQUE +SHARED\napp +7 /);
    expect(text.stdout).toMatch(/\nTotal: \d+ blobs, .* stored; 1 blob \(.*\) used by no repository\.\n$/);
  });

  it('gc --dry-run reports, gc deletes, gc --delete-untagged deletes untagged manifests too', async () => {
    const before = await berth(['verify', reg.config]);
    expect(before.code).toBe(0);

    const dry = await berth(['gc', reg.config, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would delete blob ${orphan} (14 B)`);
    expect(dry.stdout).toContain(`would delete blob ${dropped.digest}`);
    expect(dry.stdout).toMatch(
      /Dry run: would delete 0 manifests, 4 blobs, 3 layer links and reclaim .* nothing was deleted/,
    );
    expect(await readFile(blobFile(reg, orphan), 'utf8')).toBe('an orphan blob');

    const run = JSON.parse((await berth(['gc', reg.config, '--json', '--settle', '0s'])).stdout);
    expect(run.deleted.blobs.map((b: { digest: string }) => b.digest).sort()).toEqual(
      [orphan, dropped.digest, dropped.config, dropped.layers[1]].sort(),
    );
    expect(run.bytesReclaimed).toBeGreaterThan(0);
    await expect(readFile(blobFile(reg, orphan))).rejects.toThrow();

    // The arm64 child becomes untagged garbage once the index is retagged to amd64 only.
    const app = reg.registry().repository('app');
    await pushIndex(app, [amd64], ['v1']);
    await reg.age(2 * HOUR);
    const untagged = await berth(['gc', reg.config, '--delete-untagged', '--settle', '0s', '--quiet']);
    expect(untagged.code).toBe(0);
    expect(untagged.stdout).toMatch(/^Deleted 2 manifests, \d+ blobs, \d+ layer links; reclaimed/);
    expect(untagged.stdout.split('\n')).toHaveLength(2);
    expect((await berth(['verify', reg.config])).code).toBe(0);
    // The arm64 child is gone from the repository; amd64 is still served.
    await expect(reg.registry().repository('app').manifests.get(arm64.digest)).rejects.toThrow();
    await expect(reg.registry().repository('app').manifests.get(amd64.digest)).resolves.toBeDefined();
  });

  it('gc keeps a blob uploaded seconds ago (grace window) and says so', async () => {
    const fresh = await pushBlob(reg.registry().repository('tools'), bytes('just uploaded'));
    const result = await berth(['gc', reg.config, '--settle', '0s']);
    expect(result.stdout).toContain(
      'kept 1 unreferenced blob (13 B) written or linked inside the grace window (1h0m0s)',
    );
    expect(await readFile(blobFile(reg, fresh), 'utf8')).toBe('just uploaded');
    const strict = await berth(['gc', reg.config, '--grace', '0s', '--settle', '0s', '--json']);
    expect(JSON.parse(strict.stdout).deleted.blobs.map((b: { digest: string }) => b.digest)).toContain(fresh);
  });

  it('verify detects a flipped byte in a blob and a missing blob file, naming them, exit 3', async () => {
    const flipped = amd64.layers[0]!;
    const file = blobFile(reg, flipped);
    const content = await readFile(file);
    content[7]! ^= 0x01;
    await writeFile(file, content);
    const gone = arm64.config;
    await rm(blobFile(reg, gone));

    const result = await berth(['verify', reg.config]);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(
      new RegExp(`corrupt blob ${flipped} \\(.*/data\\): content hashes to sha256:[0-9a-f]{64}`),
    );
    expect(result.stdout).toContain(
      `missing blob ${gone}: needed by app (_layers link), app@${arm64.digest}`,
    );
    expect(result.stdout).toMatch(/: 1 corrupt, 1 missing\.\n$/);

    const asJson = await berth(['verify', reg.config, '--json']);
    expect(asJson.code).toBe(3);
    const report = JSON.parse(asJson.stdout);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'corrupt-blob', digest: flipped }),
        expect.objectContaining({ kind: 'missing-blob', digest: gone }),
      ]),
    );
  });

  it('verify reports a corrupt link and a tag pointing at a missing revision', async () => {
    const hex = shared.layers[1]!.slice('sha256:'.length);
    const link = join(reg.root, 'docker/registry/v2/repositories/tools/_layers/sha256', hex, 'link');
    await writeFile(link, 'garbage');
    const revision = join(
      reg.root,
      'docker/registry/v2/repositories/app/_manifests/revisions/sha256',
      index.slice('sha256:'.length),
      'link',
    );
    await rm(revision);
    const result = await berth(['verify', reg.config]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`corrupt link tools ${shared.layers[1]}`);
    expect(result.stdout).toContain(`missing manifest app ${index}: tag v1 points at it`);
  });

  it('purge-uploads purges old uploads (dry run first) and keeps recent ones', async () => {
    const repo = reg.registry().repository('tools');
    const old = await repo.uploads.create();
    await writeFile(
      join(reg.root, 'docker/registry/v2/repositories/tools/_uploads', old.uuid, 'startedat'),
      '2020-01-01T00:00:00Z',
    );
    const recent = await repo.uploads.create();
    const dry = await berth(['purge-uploads', reg.config, '--dry-run']);
    expect(dry.stdout).toBe(
      `would purge tools/${old.uuid}\nDry run: would purge 1 upload started more than 168h0m0s ago; nothing was deleted.\n`,
    );
    const result = JSON.parse((await berth(['purge-uploads', reg.config, '--json'])).stdout);
    expect(result).toEqual({ dryRun: false, olderThanMs: 168 * HOUR, purged: [`tools/${old.uuid}`] });
    const none = await berth(['purge-uploads', reg.config, '--older-than', '1h']);
    expect(none.stdout).toBe('Purged 0 uploads started more than 1h0m0s ago.\n');
    await recent.cancel();
  });
});

async function configSize(reg: TempRegistry, digest: Digest): Promise<number> {
  return (await readFile(blobFile(reg, digest))).byteLength;
}
