/**
 * Many upstreams in one registry (prefixes, Docker Hub's `library/`, containerd's `?ns=`),
 * next to local repositories; the freshness window across a restart; chained mirrors; a
 * mirror that starts with its upstream down.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInMemoryDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MountTable } from './routes.ts';
import { OCI_MANIFEST, type PushedImage, pushImage } from './test-support/push.ts';
import {
  type MirrorServer,
  startMirror,
  startUpstreamRegistry,
  type UpstreamServer,
} from './test-support/servers.ts';

describe('mount table', () => {
  it('maps prefixes, adds library/ to one-component names where asked, and rejects overlaps', () => {
    const table = new MountTable([
      { prefix: 'dockerhub', library: true, namespaces: ['docker.io'] },
      { prefix: 'ghcr/', namespaces: ['ghcr.io'] },
    ]);
    expect(table.match('dockerhub/alpine')?.remoteName).toBe('library/alpine');
    expect(table.match('dockerhub/bitnami/redis')?.remoteName).toBe('bitnami/redis');
    expect(table.match('ghcr/owner/tool')).toMatchObject({
      remoteName: 'owner/tool',
      mount: { prefix: 'ghcr' },
    });
    expect(table.match('dockerhubx/alpine')).toBeUndefined();
    expect(table.match('team/app')).toBeUndefined();
    expect(table.withNamespace('library/alpine', 'Docker.IO')).toBe('dockerhub/library/alpine');
    expect(table.withNamespace('library/alpine', 'evil.example.com')).toBeUndefined();
    expect(() => new MountTable([{ prefix: 'a' }, { prefix: 'a/b' }])).toThrow(/overlaps/);
    expect(() => new MountTable([{ prefix: '' }, { prefix: 'b' }])).toThrow(/cannot be combined/);
    expect(() => new MountTable([{ prefix: 'Bad Prefix' }])).toThrow(/not a repository name prefix/);
  });
});

describe('two upstreams and a local repository in one registry', () => {
  let spool: string;
  let hub: UpstreamServer;
  let ghcr: UpstreamServer;
  let mirror: MirrorServer;
  let alpine: PushedImage;
  let tool: PushedImage;

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'berth-mounts-'));
    [hub, ghcr] = await Promise.all([startUpstreamRegistry(), startUpstreamRegistry()]);
    alpine = await pushImage(hub.url, 'library/alpine', '3');
    tool = await pushImage(ghcr.url, 'owner/tool', 'v1');
    mirror = await startMirror(
      [
        { prefix: 'dockerhub', url: hub.url, library: true, namespaces: ['docker.io'] },
        { prefix: 'ghcr', url: ghcr.url, namespaces: ['ghcr.io'] },
      ],
      { spoolDirectory: spool },
    );
  });
  afterAll(async () => {
    await mirror?.close();
    await Promise.all([hub?.close(), ghcr?.close()]);
    await rm(spool, { recursive: true, force: true });
  });

  it('serves each prefix from its upstream', async () => {
    const a = await fetch(`${mirror.url}/v2/dockerhub/alpine/manifests/3`);
    expect(a.headers.get('docker-content-digest')).toBe(alpine.manifestDigest);
    expect(hub.count('HEAD', '/v2/library/alpine/manifests/3')).toBe(1);
    const t = await fetch(`${mirror.url}/v2/ghcr/owner/tool/manifests/v1`);
    expect(t.headers.get('docker-content-digest')).toBe(tool.manifestDigest);
    expect(ghcr.count('HEAD', '/v2/owner/tool/manifests/v1')).toBe(1);
    const layer = await fetch(`${mirror.url}/v2/ghcr/owner/tool/blobs/${tool.layerDigest}`);
    expect(new Uint8Array(await layer.arrayBuffer())).toEqual(tool.layer);
    expect(hub.requests.some((r) => r.path.includes('owner/tool'))).toBe(false);
  });

  it('accepts pushes to local repositories, and refuses them under a prefix', async () => {
    const local = await pushImage(mirror.url, 'team/app', 'latest');
    const pulled = await fetch(`${mirror.url}/v2/team/app/manifests/latest`);
    expect(pulled.headers.get('docker-content-digest')).toBe(local.manifestDigest);
    const refused = await fetch(`${mirror.url}/v2/dockerhub/alpine/blobs/uploads/`, { method: 'POST' });
    expect(refused.status).toBe(405);
    expect(hub.requests.some((r) => r.path.includes('team/app'))).toBe(false);
  });

  it('maps containerd ?ns= to the configured upstream and answers OCI-Namespace; other hosts are ignored', async () => {
    const viaNs = await fetch(`${mirror.url}/v2/library/alpine/manifests/3?ns=docker.io`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(viaNs.status).toBe(200);
    expect(viaNs.headers.get('oci-namespace')).toBe('docker.io');
    expect(viaNs.headers.get('docker-content-digest')).toBe(alpine.manifestDigest);

    const elsewhere = await fetch(`${mirror.url}/v2/library/alpine/manifests/3?ns=evil.example.com`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('oci-namespace')).toBeNull();
  });
});

describe('freshness window, restart, offline start and chained mirrors', () => {
  let spool: string;
  let upstream: UpstreamServer;
  let image: PushedImage;

  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'berth-fresh-'));
    upstream = await startUpstreamRegistry();
    image = await pushImage(upstream.url, 'library/app', 'v1');
  });
  afterAll(async () => {
    await upstream?.close();
    await rm(spool, { recursive: true, force: true });
  });

  it('within the freshness window a tag is served without asking the upstream, also after a restart', async () => {
    const driver = createInMemoryDriver();
    const mounts = [{ prefix: '', url: upstream.url, freshnessMs: 60_000 }];
    const first = await startMirror(mounts, { driver, spoolDirectory: spool });
    expect((await fetch(`${first.url}/v2/library/app/manifests/v1`)).status).toBe(200);
    upstream.requests.length = 0;
    expect((await fetch(`${first.url}/v2/library/app/manifests/v1`)).status).toBe(200);
    expect(upstream.requests).toEqual([]);
    await first.close();

    const restarted = await startMirror(mounts, { driver, spoolDirectory: spool });
    expect((await fetch(`${restarted.url}/v2/library/app/manifests/v1`)).status).toBe(200);
    expect(upstream.requests).toEqual([]);
    await restarted.close();

    // Outside the window (none configured) the upstream is asked again.
    const strict = await startMirror([{ prefix: '', url: upstream.url }], { driver, spoolDirectory: spool });
    expect((await fetch(`${strict.url}/v2/library/app/manifests/v1`)).status).toBe(200);
    expect(upstream.count('HEAD', '/manifests/v1')).toBe(1);
    await strict.close();
  });

  it('starts with its upstream unreachable and serves what it has cached', async () => {
    const driver = createInMemoryDriver();
    const online = await startMirror([{ prefix: '', url: upstream.url }], { driver, spoolDirectory: spool });
    const manifest = await fetch(`${online.url}/v2/library/app/manifests/v1`);
    expect(manifest.status).toBe(200);
    await (await fetch(`${online.url}/v2/library/app/blobs/${image.layerDigest}`)).arrayBuffer();
    await online.mirror.settled();
    await online.close();

    // Port 9 on loopback: nothing listens there.
    const offline = await startMirror([{ prefix: '', url: 'http://127.0.0.1:9' }], {
      driver,
      spoolDirectory: spool,
    });
    const tag = await fetch(`${offline.url}/v2/library/app/manifests/v1`);
    expect(tag.status).toBe(200);
    expect(tag.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    const layer = await fetch(`${offline.url}/v2/library/app/blobs/${image.layerDigest}`);
    expect(new Uint8Array(await layer.arrayBuffer())).toEqual(image.layer);
    const missing = await fetch(`${offline.url}/v2/library/app/manifests/v2`);
    expect(missing.status).toBe(503);
    const body = (await missing.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]).toMatchObject({ code: 'UNAVAILABLE' });
    expect(body.errors[0]?.message).toContain('127.0.0.1:9');
    await offline.close();
  });

  it('chains: a mirror of a mirror of the upstream', async () => {
    const inner = await startMirror([{ prefix: '', url: upstream.url }], { spoolDirectory: spool });
    const outer = await startMirror([{ prefix: 'cache', url: inner.url }], { spoolDirectory: spool });
    const manifest = await fetch(`${outer.url}/v2/cache/library/app/manifests/v1`);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    const layer = await fetch(`${outer.url}/v2/cache/library/app/blobs/${image.layerDigest}`);
    expect(new Uint8Array(await layer.arrayBuffer())).toEqual(image.layer);
    await outer.mirror.settled();
    await inner.mirror.settled();
    expect((await inner.local.repository('library/app').blobs.stat(image.layerDigest as never)).size).toBe(
      image.layer.length,
    );
    expect(
      (await outer.local.repository('cache/library/app').blobs.stat(image.layerDigest as never)).size,
    ).toBe(image.layer.length);
    await outer.close();
    await inner.close();
  });
});
