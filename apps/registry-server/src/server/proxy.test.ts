import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Digest, digestOf, parseDigest } from '@berth/digest';
import { createRegistry, pathFor } from '@berth/registry-core';
import { createInMemoryDriver, isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/load.ts';
import type { BerthConfig } from '../config/types.ts';
import { createLogger, createMemorySink } from '../log/logger.ts';
import { OCI_MANIFEST, pushTestImage, type TestImage } from '../test-support/image.ts';
import { openMirror } from './proxy.ts';
import { type RunningServer, startServer } from './start.ts';

const BASE = 'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-secret\n';

const running: RunningServer[] = [];
let tmp: string;

async function start(
  yaml: string,
): Promise<{ server: RunningServer; sink: ReturnType<typeof createMemorySink> }> {
  const { config, warnings } = await parseConfig(yaml, { env: {} });
  expect(warnings).toEqual([]);
  const sink = createMemorySink();
  const server = await startServer(config, { logSink: sink });
  running.push(server);
  return { server, sink };
}

/** The requests `sink`'s server answered (its access lines), once they are written. */
async function accessLines(
  sink: ReturnType<typeof createMemorySink>,
  server: RunningServer,
): Promise<{ method: string; path: string }[]> {
  server.logger.flush();
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.logger.flush();
  return sink
    .records()
    .filter((r) => r.msg === 'access')
    .map((r) => ({ method: String(r.method), path: String(r.path) }));
}

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

function errorCode(body: string): string | undefined {
  return (JSON.parse(body) as { errors?: { code?: string }[] }).errors?.[0]?.code;
}

async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch (error) {
    if (isPathNotFound(error)) return false;
    throw error;
  }
}

function blobDataPath(digest: Digest): string {
  const { algorithm, encoded } = parseDigest(digest);
  return pathFor({ kind: 'blobData', algorithm, encoded });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-proxy-server-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close({ drainTimeoutMs: 0 })));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('a server configured as a pull-through cache', () => {
  let upstream: { server: RunningServer; sink: ReturnType<typeof createMemorySink> };
  let image: TestImage;

  beforeAll(async () => {
    const sink = createMemorySink();
    const { config } = await parseConfig(BASE, { env: {} });
    const server = await startServer(config, { logSink: sink });
    upstream = { server, sink };
    image = await pushTestImage(server.url, 'team/app', 'v1');
  });
  afterAll(async () => {
    await upstream?.server.close({ drainTimeoutMs: 0 });
  });

  it('proxy.remoteurl: pulls by tag and digest through the mirror, refuses pushes, answers ?ns=', async () => {
    const { server, sink } = await start(
      `${BASE}proxy:\n  remoteurl: ${upstream.server.url}\n  username: mirror\n  password: hunter2-secret\n` +
        `berth:\n  proxy:\n    spooldirectory: ${JSON.stringify(join(tmp, 'spool-a'))}\n    namespaces: [docker.io]\n`,
    );
    expect(server.mirror).toBeDefined();
    const startLine = sink.records().find((r) => r.msg === 'pull-through cache');
    expect(startLine).toMatchObject({
      level: 'info',
      mounts: [
        {
          prefix: 'every repository',
          upstream: new URL(upstream.server.url).host,
          ttl: '168h0m0s',
          namespaces: 'docker.io',
          auth: 'basic',
        },
      ],
      spoolDirectory: join(tmp, 'spool-a'),
    });
    const before = (await accessLines(upstream.sink, upstream.server)).length;

    const manifest = await fetch(`${server.url}/v2/team/app/manifests/v1`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    expect(manifest.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(await bytesOf(manifest)).toEqual(image.manifest);

    const layer = await fetch(`${server.url}/v2/team/app/blobs/${image.layerDigest}`);
    expect(layer.status).toBe(200);
    const layerBytes = await bytesOf(layer);
    expect(digestOf(layerBytes)).toBe(image.layerDigest);
    expect(layerBytes).toEqual(image.layer);
    await server.mirror?.settled();

    // Cached now: by digest, nothing is asked upstream; by tag, one HEAD.
    const pulled = (await accessLines(upstream.sink, upstream.server)).length;
    const again = await fetch(`${server.url}/v2/team/app/blobs/${image.layerDigest}`);
    expect(await bytesOf(again)).toEqual(image.layer);
    const byDigest = await fetch(`${server.url}/v2/team/app/manifests/${image.manifestDigest}`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(await bytesOf(byDigest)).toEqual(image.manifest);
    expect((await accessLines(upstream.sink, upstream.server)).length).toBe(pulled);
    const byTag = await fetch(`${server.url}/v2/team/app/manifests/v1`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(await bytesOf(byTag)).toEqual(image.manifest);
    expect((await accessLines(upstream.sink, upstream.server)).slice(pulled)).toEqual([
      { method: 'HEAD', path: '/v2/team/app/manifests/v1' },
    ]);
    expect(pulled).toBeGreaterThan(before);

    // Writes: 405 UNSUPPORTED, from the mirror's stores.
    const push = await fetch(`${server.url}/v2/x/blobs/uploads/`, { method: 'POST' });
    expect(push.status).toBe(405);
    expect(errorCode(await push.text())).toBe('UNSUPPORTED');
    const tag = await fetch(`${server.url}/v2/team/app/manifests/v2`, {
      method: 'PUT',
      headers: { 'content-type': OCI_MANIFEST },
      body: image.manifest,
    });
    expect(tag.status).toBe(405);
    expect(errorCode(await tag.text())).toBe('UNSUPPORTED');

    // containerd's ?ns= for a configured namespace.
    const ns = await fetch(`${server.url}/v2/team/app/manifests/v1?ns=docker.io`, {
      method: 'HEAD',
      headers: { accept: OCI_MANIFEST },
    });
    expect(ns.status).toBe(200);
    expect(ns.headers.get('oci-namespace')).toBe('docker.io');
    const otherNs = await fetch(`${server.url}/v2/team/app/manifests/v1?ns=ghcr.io`, {
      method: 'HEAD',
      headers: { accept: OCI_MANIFEST },
    });
    expect(otherNs.headers.get('oci-namespace')).toBeNull();

    await server.close({ drainTimeoutMs: 1000 });
    expect(sink.lines.join('')).not.toContain('hunter2-secret');
  });

  it('berth.proxy.upstreams: a prefix mirrors the upstream, other repositories are local', async () => {
    const { server, sink } = await start(
      `${BASE}berth:\n  proxy:\n    spooldirectory: ${JSON.stringify(join(tmp, 'spool-b'))}\n    upstreams:\n` +
        `      - prefix: up\n        remoteurl: ${upstream.server.url}\n        namespaces: [upstream.example]\n        ttl: 0\n`,
    );
    expect(sink.records().find((r) => r.msg === 'pull-through cache')?.mounts).toEqual([
      {
        prefix: 'up',
        upstream: new URL(upstream.server.url).host,
        ttl: 'never',
        namespaces: 'upstream.example',
        auth: 'anonymous',
      },
    ]);

    const local = await pushTestImage(server.url, 'local/app', 'v1');
    const localManifest = await fetch(`${server.url}/v2/local/app/manifests/v1`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(await bytesOf(localManifest)).toEqual(local.manifest);

    const mirrored = await fetch(`${server.url}/v2/up/team/app/manifests/v1`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(mirrored.status).toBe(200);
    expect(await bytesOf(mirrored)).toEqual(image.manifest);
    const layer = await fetch(`${server.url}/v2/up/team/app/blobs/${image.layerDigest}`);
    expect(await bytesOf(layer)).toEqual(image.layer);

    const ns = await fetch(`${server.url}/v2/team/app/manifests/v1?ns=upstream.example`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(ns.status).toBe(200);
    expect(ns.headers.get('oci-namespace')).toBe('upstream.example');
    expect(await bytesOf(ns)).toEqual(image.manifest);

    const push = await fetch(`${server.url}/v2/up/team/app/blobs/uploads/`, { method: 'POST' });
    expect(push.status).toBe(405);
    expect(errorCode(await push.text())).toBe('UNSUPPORTED');
    // Outside the prefix nothing is mirrored: unknown stays unknown.
    const unknown = await fetch(`${server.url}/v2/team/app/manifests/v1`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(unknown.status).toBe(404);
    await unknown.body?.cancel();
    await server.mirror?.settled();
  });

  it('starts with the upstream unreachable and names its failure on a miss', async () => {
    const closed = await startServer((await parseConfig(BASE, { env: {} })).config, {
      logSink: createMemorySink(),
    });
    const url = closed.url;
    await closed.close({ drainTimeoutMs: 0 });
    const { server } = await start(
      `${BASE}proxy:\n  remoteurl: ${url}\nberth:\n  proxy:\n    spooldirectory: ${JSON.stringify(join(tmp, 'spool-c'))}\n`,
    );
    const miss = await fetch(`${server.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    expect(miss.status).toBe(503);
    expect(errorCode(await miss.text())).toBe('UNAVAILABLE');
    expect((await fetch(`${server.url}/v2/`)).status).toBe(200);
  });

  it('expiry unlinks what expired and the garbage collection reclaims it without storage.delete.enabled', async () => {
    const driver = createInMemoryDriver();
    const registry = createRegistry({ driver, deleteEnabled: false });
    const sink = createMemorySink();
    const logger = createLogger({ sink, level: 'debug' });
    const config: BerthConfig['proxy'] = {
      upstreams: [
        {
          key: 'berth.proxy.upstreams[0]',
          prefix: 'up',
          remoteUrl: upstream.server.url,
          library: false,
          namespaces: [],
          credentials: undefined,
          ttlMs: 1,
          freshnessMs: 0,
          cacheWriteTimeoutMs: 60_000,
        },
      ],
      spoolDirectory: join(tmp, 'spool-d'),
    };
    const opened = await openMirror(config, { registry, logger, reclaim: { graceMs: 0, settleMs: 0 } });
    try {
      const served = opened.mirror.registry;
      const repo = served.repository('up/team/app');
      const manifest = await repo.manifests.get(await repo.tags.resolve('v1'));
      expect(manifest.digest).toBe(image.manifestDigest);
      for (const digest of [image.layerDigest, image.configDigest]) {
        const stream = await repo.blobs.open(digest);
        for await (const _ of stream) {
          // drained
        }
      }
      await opened.mirror.settled();
      // A local image sharing the config blob keeps it.
      const keep = registry.repository('local/keep');
      const ownLayer = Buffer.from('a layer of the local image');
      for (const blob of [image.config, ownLayer]) {
        const upload = await keep.uploads.create();
        await upload.append(
          (async function* () {
            yield blob;
          })(),
        );
        await upload.complete(digestOf(blob));
      }
      await keep.manifests.put(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: image.configDigest,
              size: image.config.length,
            },
            layers: [
              {
                mediaType: 'application/vnd.oci.image.layer.v1.tar',
                digest: digestOf(ownLayer),
                size: ownLayer.length,
              },
            ],
          }),
        ),
        { mediaType: OCI_MANIFEST },
      );
      expect(await exists(driver, blobDataPath(image.layerDigest))).toBe(true);

      await new Promise((resolve) => setTimeout(resolve, 10));
      const expired = await opened.expiry.runOnce();
      expect(expired.map((e) => `${e.kind} ${e.digest}`).sort()).toEqual(
        [
          `blob ${image.configDigest}`,
          `blob ${image.layerDigest}`,
          `manifest ${image.manifestDigest}`,
        ].sort(),
      );
      const report = await opened.reclaimed();
      expect(report?.deleted.blobs.map((b) => b.digest).sort()).toEqual(
        [image.layerDigest, image.manifestDigest].sort(),
      );
      expect(await exists(driver, blobDataPath(image.layerDigest))).toBe(false);
      expect(await exists(driver, blobDataPath(image.configDigest))).toBe(true);
      logger.flush();
      await vi.waitFor(() =>
        expect(sink.records().find((r) => r.msg === 'proxy: garbage collection after expiry')).toMatchObject({
          level: 'info',
          blobs: 2,
        }),
      );
      // The state file is registry:2's.
      const state = JSON.parse(
        Buffer.from(await driver.getContent('/scheduler-state.json')).toString(),
      ) as object;
      expect(Object.keys(state)).toEqual([]);
    } finally {
      await opened.close(1000);
    }
  });

  it('a TTL state file that cannot be parsed is a warning, not a failed start', async () => {
    const root = join(tmp, 'corrupt-state');
    const { config } = await parseConfig(
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(root)}\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n` +
        `proxy:\n  remoteurl: ${upstream.server.url}\n`,
      { env: {} },
    );
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'scheduler-state.json'), '{not json');
    const sink = createMemorySink();
    const server = await startServer(config, { logSink: sink });
    running.push(server);
    expect(sink.records().some((r) => r.level === 'warn' && String(r.msg).includes('TTL state'))).toBe(true);
    const manifest = await fetch(`${server.url}/v2/team/app/manifests/v1`, {
      headers: { accept: OCI_MANIFEST },
    });
    expect(await bytesOf(manifest)).toEqual(image.manifest);
  });
});
