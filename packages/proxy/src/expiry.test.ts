/**
 * The cache's TTL with a real upstream and the registry's own garbage collector: expiry
 * unlinks, never deletes what another repository still uses; a hit pushes expiry back; the
 * state file is registry:2's shape, merged between replicas, rebuilt when corrupt.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Digest, digestOf } from '@berth/digest';
import { garbageCollect } from '@berth/registry-core';
import { createInMemoryDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheExpiry } from './expiry.ts';
import { type PushedImage, pushImage } from './test-support/push.ts';
import {
  type MirrorServer,
  startMirror,
  startUpstreamRegistry,
  type UpstreamServer,
} from './test-support/servers.ts';

const HOUR = 60 * 60 * 1000;
const STATE = '/scheduler-state.json';

async function pull(base: string, name: string, image: PushedImage, tag: string): Promise<void> {
  const manifest = await fetch(`${base}/v2/${name}/manifests/${tag}`);
  expect(manifest.status).toBe(200);
  const { config, layers } = (await manifest.json()) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  for (const digest of [config.digest, ...layers.map((l) => l.digest)]) {
    const blob = await fetch(`${base}/v2/${name}/blobs/${digest}`);
    expect(blob.status).toBe(200);
    await blob.arrayBuffer();
  }
  expect(layers[0]?.digest).toBe(image.layerDigest);
}

async function readState(
  mirror: MirrorServer,
): Promise<Record<string, { Key: string; ExpiryData: string; EntryType: number }>> {
  return JSON.parse(Buffer.from(await mirror.driver.getContent(STATE)).toString('utf8'));
}

describe('mirror TTL', () => {
  let spool: string;
  let upstream: UpstreamServer;
  let mirror: MirrorServer;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let image: PushedImage;

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'berth-expiry-'));
    upstream = await startUpstreamRegistry();
    image = await pushImage(upstream.url, 'library/app', 'v1');
    mirror = await startMirror([{ prefix: 'hub', url: upstream.url, ttlMs: HOUR }], {
      spoolDirectory: spool,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await mirror?.close();
    await upstream?.close();
    await rm(spool, { recursive: true, force: true });
  });

  it('writes registry:2 scheduler-state.json entries for what it cached', async () => {
    await pull(mirror.url, 'hub/library/app', image, 'v1');
    await mirror.mirror.settled();
    await mirror.expiry.flush();
    const state = await readState(mirror);
    const manifestKey = `hub/library/app@${image.manifestDigest}`;
    const layerKey = `hub/library/app@${image.layerDigest}`;
    expect(state[manifestKey]).toEqual({
      Key: manifestKey,
      ExpiryData: new Date(clock + HOUR).toISOString(),
      EntryType: 1,
    });
    expect(state[layerKey]).toMatchObject({ Key: layerKey, EntryType: 0 });
    expect(Object.keys(state)).toHaveLength(3);
  });

  it('a hit pushes the expiry back, and a blob lives as long as a cached manifest that uses it', async () => {
    clock += HOUR / 2;
    await (await fetch(`${mirror.url}/v2/hub/library/app/manifests/${image.manifestDigest}`)).arrayBuffer();
    clock += HOUR * 0.75; // 1 h 15 min after the fill, 45 min after the hit
    // The blobs were last used at the fill: due, but the manifest (touched later) needs them.
    expect(mirror.expiry.entries().filter((e) => e.kind === 'blob' && e.expiresAt <= clock)).toHaveLength(2);
    expect(await mirror.expiry.runOnce()).toEqual([]);
    const state = await readState(mirror);
    const manifestExpiry = Date.parse(state[`hub/library/app@${image.manifestDigest}`]!.ExpiryData);
    expect(manifestExpiry).toBe(clock + HOUR / 4);
    expect(Date.parse(state[`hub/library/app@${image.layerDigest}`]!.ExpiryData)).toBe(manifestExpiry);
    await mirror.local.repository('hub/library/app').blobs.stat(image.layerDigest as Digest);
  });

  it('expiry unlinks (with deletes disabled); gc then reclaims only what nothing else references', async () => {
    // A team's image built on the cached one: same layer and config, pushed to a local repository.
    const team = mirror.local.repository('team/app');
    const source = upstream.registry.repository('library/app');
    const manifest = JSON.parse(Buffer.from(image.manifest).toString('utf8')) as {
      config: { digest: Digest };
    };
    for (const digest of [image.layerDigest as Digest, manifest.config.digest]) {
      const upload = await team.uploads.create();
      await upload.append(await source.blobs.open(digest));
      await upload.complete(digest);
    }
    await team.manifests.put(image.manifest, { tags: ['latest'] });

    // An image only the cache holds.
    const other = await pushImage(upstream.url, 'library/app', 'v2');
    await pull(mirror.url, 'hub/library/app', other, 'v2');
    await mirror.mirror.settled();

    clock += 2 * HOUR;
    const expired = await mirror.expiry.runOnce();
    expect(expired.map((e) => e.kind).sort()).toEqual([
      'blob',
      'blob',
      'blob',
      'blob',
      'manifest',
      'manifest',
    ]);
    const cached = mirror.local.repository('hub/library/app');
    await expect(cached.manifests.get(image.manifestDigest as Digest)).rejects.toMatchObject({
      code: 'MANIFEST_UNKNOWN',
    });
    await expect(cached.tags.resolve('v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    expect(await readState(mirror)).toEqual({});

    await sleep(5);
    const report = await garbageCollect({ driver: mirror.driver, graceMs: 0, settleMs: 0 });
    const deleted = report.deleted.blobs.map((b) => b.digest);
    // registry:2 deletes the layer here (distribution/distribution#2367): the team's image
    // uses it. Only the cache's own tag and revision links went; every blob is still needed.
    expect(deleted).not.toContain(image.layerDigest);
    expect(deleted).toEqual(expect.arrayContaining([other.layerDigest, other.manifestDigest]));
    expect(report.blobs.marked).toBeGreaterThanOrEqual(3);
    const kept = await mirror.local.repository('team/app').blobs.open(image.layerDigest as Digest);
    const chunks: Buffer[] = [];
    for await (const chunk of kept) chunks.push(chunk as Buffer);
    expect(digestOf(Buffer.concat(chunks))).toBe(image.layerDigest);

    // The next pull fills the cache again.
    await pull(mirror.url, 'hub/library/app', image, 'v1');
  });
});

describe('TTL state file', () => {
  it('replicas sharing the storage merge their entries instead of overwriting them', async () => {
    const driver = createInMemoryDriver();
    const expire = async () => {};
    const a = createCacheExpiry({ driver, expire });
    const b = createCacheExpiry({ driver, expire });
    const d1 = digestOf(new Uint8Array([1]));
    const d2 = digestOf(new Uint8Array([2]));
    await Promise.all([a.load(), b.load()]);
    a.touch('blob', 'x/a', d1, HOUR);
    b.touch('manifest', 'x/b', d2, HOUR);
    await a.flush();
    await b.flush();
    const state = JSON.parse(Buffer.from(await driver.getContent(STATE)).toString('utf8'));
    expect(Object.keys(state).sort()).toEqual([`x/a@${d1}`, `x/b@${d2}`]);
    // What one replica expired does not come back from the other's flush.
    const expiredByA = createCacheExpiry({ driver, expire, now: () => Date.now() + 2 * HOUR });
    expect((await expiredByA.runOnce()).length).toBe(2);
    b.touch('manifest', 'x/c', d2, HOUR);
    await b.flush();
    const after = JSON.parse(Buffer.from(await driver.getContent(STATE)).toString('utf8'));
    expect(Object.keys(after)).toEqual([`x/c@${d2}`]);
  });

  it('a truncated or corrupt file is a warning and a rebuild, never a crash', async () => {
    const driver = createInMemoryDriver();
    const warnings: string[] = [];
    const logger = { warn: (message: string) => warnings.push(message), info: () => {} };
    await driver.putContent(STATE, Buffer.from('{"x/a@sha256:ab'));
    const expiry = createCacheExpiry({ driver, expire: async () => {}, logger });
    await expiry.load();
    expect(warnings).toEqual(['proxy: the TTL state file is not JSON: rebuilding it']);
    expiry.touch('blob', 'x/a', digestOf(new Uint8Array([3])), HOUR);
    await expiry.flush();
    expect(
      Object.keys(JSON.parse(Buffer.from(await driver.getContent(STATE)).toString('utf8'))),
    ).toHaveLength(1);

    const before = warnings.length;
    await driver.putContent(STATE, Buffer.from(JSON.stringify({ bad: { Key: 1 }, 'x/b@nope': {} })));
    await createCacheExpiry({ driver, expire: async () => {}, logger }).load();
    expect(warnings.slice(before)).toEqual(['proxy: skipped unreadable TTL state entries']);
  });
});
