/**
 * The blob descriptor cache of a running server: registry:2's keys in a real Redis, and a pull
 * that keeps working, from storage, while Redis is down.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '@berth/digest';
import { e2eSkipReason, type RunningRedis, redisMissingTools, startRedis } from '@berth/test-servers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { createMemorySink } from '../log/logger.ts';
import { openBlobDescriptorCache } from './blob-cache.ts';
import { type RunningServer, startServer } from './start.ts';

const BASE = 'version: 0.1\nstorage:\n  inmemory: {}\n  delete:\n    enabled: true\n';
const HTTP = 'http:\n  addr: 127.0.0.1:0\n  secret: test-secret\n';
const skip = e2eSkipReason(redisMissingTools());

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close({ drainTimeoutMs: 0 })));
});

async function start(yaml: string) {
  const { config } = await parseConfig(yaml, { env: {} });
  const sink = createMemorySink();
  const server = await startServer(config, { logSink: sink });
  running.push(server);
  return { server, sink };
}

/** Pushes `content` to `name` in one monolithic upload; returns its digest. */
async function pushBlob(server: RunningServer, name: string, content: Uint8Array): Promise<string> {
  const digest = digestOf(content);
  const started = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(started.status).toBe(202);
  const location = new URL(started.headers.get('location')!, server.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: content });
  expect(put.status).toBe(201);
  return digest;
}

describe('openBlobDescriptorCache', () => {
  it('opens none, or registry:2’s inmemory cache with its size', async () => {
    const sink = createMemorySink();
    const { config: none } = await parseConfig(BASE + HTTP, { env: {} });
    expect(openBlobDescriptorCache(none, { info: () => {}, warn: () => {} })).toBeUndefined();
    const { config } = await parseConfig(
      `${BASE}  cache:\n    blobdescriptor: inmemory\n    blobdescriptorsize: 50\n${HTTP}`,
      { env: {} },
    );
    const opened = openBlobDescriptorCache(config, { info: () => {}, warn: () => {} });
    expect(opened?.kind).toBe('inmemory');
    expect(sink.records()).toEqual([]);
  });
});

describe.skipIf(skip !== undefined)(`a server with storage.cache.blobdescriptor: redis${skip ?? ''}`, () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const yaml = () =>
    `${BASE}  cache:\n    blobdescriptor: redis\n${HTTP}redis:\n  addr: ${redis.address}\n  readtimeout: 200ms\n`;

  it('writes registry:2’s keys, answers from them, and clears a deleted blob link at once', async () => {
    const { server } = await start(yaml());
    const digest = await pushBlob(server, 'team/app', new TextEncoder().encode('cached in redis'));
    const fields = (await redis.command(['HGETALL', `blobs::${digest}`])) as string[];
    const hash = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
    expect(hash).toEqual({ digest, size: '15', mediatype: 'application/octet-stream' });
    expect(await redis.command(['SISMEMBER', 'repository::team/app::blobs', digest])).toBe(1);
    expect((await fetch(`${server.url}/v2/team/app/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${server.url}/v2/team/app/blobs/${digest}`, { method: 'DELETE' })).status).toBe(202);
    expect(await redis.command(['SISMEMBER', 'repository::team/app::blobs', digest])).toBe(0);
    expect((await fetch(`${server.url}/v2/team/app/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('keeps serving pulls from storage while Redis is down, logging the outage once', async () => {
    const { server, sink } = await start(yaml());
    const content = new TextEncoder().encode('pulled while redis is down');
    const digest = await pushBlob(server, 'team/outage', content);
    await redis.kill();
    try {
      const timings: number[] = [];
      for (let i = 0; i < 20; i++) {
        const began = performance.now();
        const res = await fetch(`${server.url}/v2/team/outage/blobs/${digest}`);
        expect(res.status).toBe(200);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(content);
        timings.push(performance.now() - began);
      }
      timings.sort((a, b) => a - b);
      console.log(
        `[blob cache] GET during a Redis outage: median ${timings[10]!.toFixed(1)} ms, max ${timings[19]!.toFixed(1)} ms (20 pulls)`,
      );
      // One read timeout at most, then misses without asking Redis.
      expect(timings[10]!).toBeLessThan(100);
      const outages = sink.records().filter((r) => String(r.msg).startsWith('redis unreachable'));
      expect(outages).toHaveLength(1);
      expect(sink.records().filter((r) => r.level === 'error')).toEqual([]);
    } finally {
      await redis.restart();
    }
  });

  it('two replicas on one root: a blob deleted on one is unknown on the other at once (change feed)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-feed-'));
    try {
      // `redis:` without the blob descriptor cache: only the change feed and the read caches.
      const replica = `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(root)}\n  delete:\n    enabled: true\n${HTTP}redis:\n  addr: ${redis.address}\n`;
      const a = await start(replica);
      const b = await start(replica);
      expect(b.sink.records().some((r) => String(r.msg).startsWith('storage change feed: redis'))).toBe(true);
      const digest = await pushBlob(a.server, 'team/feed', new TextEncoder().encode('deleted on a replica'));
      const url = (server: RunningServer) => `${server.url}/v2/team/feed/blobs/${digest}`;
      expect((await fetch(url(b.server), { method: 'HEAD' })).status).toBe(200);
      // Removed behind both servers' backs, unannounced: B answers from memory (its read cache
      // is on), which is what an announcement must stop.
      const link = join(
        root,
        'docker/registry/v2/repositories/team/feed/_layers/sha256',
        digest.slice(7),
        'link',
      );
      const saved = await readFile(link);
      await rm(link);
      expect((await fetch(url(b.server), { method: 'HEAD' })).status).toBe(200);
      await writeFile(link, saved);
      expect((await fetch(url(a.server), { method: 'DELETE' })).status).toBe(202);
      // The announcement travels through Redis; B must not answer from memory after it.
      const deadline = Date.now() + 1_000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        status = (await fetch(url(b.server), { method: 'HEAD' })).status;
      }
      expect(status).toBe(404);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
