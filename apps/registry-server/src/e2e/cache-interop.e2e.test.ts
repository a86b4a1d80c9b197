/**
 * registry:2 (Debian's `docker-registry`, 2.8) and Berth on one storage root and one Redis,
 * both with `storage.cache.blobdescriptor: redis`: each answers from what the other cached, and
 * a blob link deleted through Berth is unknown to registry:2 at once.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf } from '@berth/digest';
import {
  e2eSkipReason,
  type RunningRedis,
  type RunningServer,
  redisMissingTools,
  startBerth,
  startRedis,
  startRegistry2,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support.ts';

const skip = e2eSkipReason(['docker-registry', ...redisMissingTools()]);

/** Pushes `content` to `name` in one monolithic upload; returns its digest. */
async function pushBlob(url: string, name: string, content: Uint8Array): Promise<string> {
  const digest = digestOf(content);
  const started = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(started.status).toBe(202);
  const location = new URL(started.headers.get('location')!, url);
  location.searchParams.set('digest', digest);
  expect((await fetch(location, { method: 'PUT', body: content })).status).toBe(201);
  return digest;
}

const head = async (url: string, name: string, digest: string): Promise<number> =>
  (await fetch(`${url}/v2/${name}/blobs/${digest}`, { method: 'HEAD' })).status;

describe.skipIf(skip)(
  `registry:2 and Berth sharing one Redis cache${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let redis: RunningRedis;
    let registry2: RunningServer;
    let berth: RunningServer;
    let root: string;
    /** The `_layers` link of `digest` in `name`, removed behind both servers' backs. */
    const layerLink = (name: string, digest: string): string =>
      join(root, 'docker/registry/v2/repositories', name, '_layers/sha256', digest.slice(7), 'link');

    beforeAll(async () => {
      work = await tempDir('cache-interop');
      root = join(work.path, 'root');
      redis = await startRedis();
      const env = { REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis', REGISTRY_REDIS_ADDR: redis.address };
      [registry2, berth] = await Promise.all([
        startRegistry2({ rootDirectory: root, env }),
        startBerth({ rootDirectory: root, env }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([registry2?.stop(), berth?.stop()]);
      await redis?.stop();
      await work?.remove();
    });

    it.each([
      ['Berth', 'registry:2', 'interop/from-r2'],
      ['registry:2', 'Berth', 'interop/from-berth'],
    ] as const)('%s answers from what %s cached', async (reader, writer, name) => {
      const server = (which: typeof reader) => (which === 'Berth' ? berth : registry2);
      const digest = await pushBlob(
        server(writer).url,
        name,
        new TextEncoder().encode(`pushed to ${writer}`),
      );
      expect(await redis.command(['SISMEMBER', `repository::${name}::blobs`, digest])).toBe(1);
      await rm(layerLink(name, digest));
      // Storage no longer links it: only the writer's cache entry can make the reader say yes.
      expect(await head(server(reader).url, name, digest)).toBe(200);
    });

    it('a blob link deleted through Berth is unknown to registry:2 at once', async () => {
      const digest = await pushBlob(
        berth.url,
        'interop/deleted',
        new TextEncoder().encode('deleted via Berth'),
      );
      expect(await head(registry2.url, 'interop/deleted', digest)).toBe(200);
      expect(
        (await fetch(`${berth.url}/v2/interop/deleted/blobs/${digest}`, { method: 'DELETE' })).status,
      ).toBe(202);
      expect(await head(registry2.url, 'interop/deleted', digest)).toBe(404);
    });
  },
);
