/**
 * Scale-out as it is deployed: three Berth replicas on one radosgw bucket, sharing one Redis
 * (`storage.cache.blobdescriptor: redis`, which also gives them the change feed and turns their
 * in-process read caches on), behind a load balancer that hands every request to the next
 * replica. skopeo pushes a multi-platform image through it (each upload's requests land on
 * different replicas) and pulls it from every replica; a tag deleted on one is gone on the others
 * at once; `berth gc` deletes the image's blobs and a re-push uploads them again (no replica, no
 * cache entry claims they still exist); a replica `kill -9`ed while it receives a layer leaves
 * the push to the client's retry on the others. Then registry:2 2.8 joins the same bucket and
 * the same Redis, and each registry answers from what the other cached.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf } from '@berth/digest';
import {
  e2eSkipReason,
  type OciLayout,
  type RoundRobinProxy,
  type RunningRadosgw,
  type RunningRedis,
  type RunningServer,
  radosgwMissingTools,
  reachableBlobs,
  redisMissingTools,
  runBerthCli,
  startRadosgw,
  startRedis,
  startRegistry2,
  startRoundRobinProxy,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchManual, s3Bucket, s3ConfigYaml, startBerthOnRadosgw } from './s3-support.ts';
import { copy, expectedBlobs, tempDir } from './support.ts';

const MiB = 1024 * 1024;
const repository = 'e2e/scale-out';
const skip = e2eSkipReason(['skopeo', 'docker-registry', ...redisMissingTools(), ...radosgwMissingTools()]);

/** One request the balancer handed out: to which replica, what. */
interface Routed {
  readonly replica: number;
  readonly method: string;
  readonly path: string;
}

/** The upload id in `/v2/<name>/blobs/uploads/<id>?…`, if the path is one. */
const uploadId = (path: string): string | undefined => /\/blobs\/uploads\/([^/?]+)/.exec(path)?.[1];

describe.skipIf(skip)(
  `three Berth replicas on one radosgw bucket and one Redis, behind a round-robin balancer${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let layout: OciLayout;
    let rgw: RunningRadosgw;
    let bucket: string;
    let redis: RunningRedis;
    let env: NodeJS.ProcessEnv;
    const replicas: RunningServer[] = [];
    let balancer: RoundRobinProxy;
    let routed: Routed[] = [];
    /** Called by the balancer before it hands a request on (the kill test sets it). */
    let onRequest: (replica: number, method: string, path: string) => void = () => {};
    const via = (host: string, suffix: string): string => `docker://${host}/${repository}${suffix}`;
    const balancerHost = (): string => new URL(balancer.url).host;
    const blobKey = (digest: string): string =>
      `registry/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`;
    const bucketKeys = async (): Promise<string[]> =>
      (JSON.parse(await rgw.admin(['bucket', 'list', `--bucket=${bucket}`])) as { name: string }[]).map(
        (entry) => entry.name,
      );

    /** Pulls `suffix` from `host` into a fresh layout and checks every digest of `expected`. */
    async function pullAndCheck(
      host: string,
      suffix: string,
      expected: string[],
      into: string,
    ): Promise<void> {
      await copy(via(host, suffix), `oci:${into}:pulled`, { all: true });
      const reached = await reachableBlobs(into, 'pulled');
      expect({ host, digests: reached.map((blob) => blob.digest).sort() }).toEqual({
        host,
        digests: [...expected].sort(),
      });
    }

    beforeAll(async () => {
      work = await tempDir('scale-out');
      bucket = s3Bucket('scale-out');
      [layout, rgw, redis] = await Promise.all([
        writeOciLayout(join(work.path, 'source'), {
          indexes: {
            v1: {
              images: [
                {
                  platform: { os: 'linux', architecture: 'amd64' },
                  layers: [
                    { size: 12 * MiB + 4321, seed: 'scale-amd64-big' },
                    { size: 20_000, seed: 'scale-amd64-small', format: 'tar+gzip' },
                  ],
                },
                {
                  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
                  layers: [{ size: 3 * MiB + 17, seed: 'scale-arm64', format: 'tar+gzip' }],
                },
              ],
            },
          },
          images: {
            big: {
              platform: { os: 'linux', architecture: 'amd64' },
              layers: [{ size: 40 * MiB + 99, seed: 'scale-killed-mid-push' }],
            },
          },
        }),
        startRadosgw({ buckets: [bucket] }),
        startRedis(),
      ]);
      env = { REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'redis', REGISTRY_REDIS_ADDR: redis.address };
      // One after another: three cold starts at once on two cores only slow each other down.
      for (let i = 0; i < 3; i++) replicas.push(await startBerthOnRadosgw(rgw, bucket, '', env));
      balancer = await startRoundRobinProxy(
        replicas.map((replica) => replica.url),
        {
          // As behind a TCP balancer: a request that a dying replica breaks off ends with a reset
          // connection once its body is sent, which skopeo retries (a 5xx it would not).
          onFailure: 'reset',
          onRequest: (replica, method, path) => {
            routed.push({ replica, method, path });
            onRequest(replica, method, path);
          },
        },
      );
    }, 120_000);

    afterAll(async () => {
      await balancer?.close();
      await Promise.all(replicas.map((replica) => replica.stop()));
      await Promise.all([rgw?.stop(), redis?.stop()]);
      await work?.remove();
    });

    it('skopeo pushes a two-platform image through the balancer; its uploads hop replicas', async () => {
      routed = [];
      await copy(`oci:${layout.dir}:v1`, via(balancerHost(), ':v1'), { all: true });
      const uploads = new Map<string, Set<number>>();
      for (const { replica, path } of routed) {
        const id = uploadId(path);
        if (id !== undefined) uploads.set(id, (uploads.get(id) ?? new Set()).add(replica));
      }
      // Every blob was sent as POST, PATCH, PUT: the PATCH and the closing PUT of one upload
      // reached different replicas, and every replica took part in uploads.
      expect(uploads.size).toBeGreaterThanOrEqual(expectedBlobs(layout.indexes.v1!).length - 3);
      expect([...uploads.values()].some((served) => served.size > 1)).toBe(true);
      expect(new Set(routed.filter((r) => uploadId(r.path) !== undefined).map((r) => r.replica))).toEqual(
        new Set([0, 1, 2]),
      );
      expect(balancer.errors).toBe(0);
    }, 120_000);

    it('every replica serves the whole image (blobs redirected to radosgw)', async () => {
      const expected = expectedBlobs(layout.indexes.v1!).map((blob) => blob.digest);
      for (const [i, replica] of replicas.entries()) {
        await pullAndCheck(replica.host, ':v1', expected, join(work.path, `pull-${i}`));
      }
    }, 120_000);

    it('a tag deleted on one replica is gone on the others at once', async () => {
      const digest = layout.indexes.v1!.descriptor.digest;
      const accept = { accept: 'application/vnd.oci.image.index.v1+json' };
      for (const replica of replicas) {
        // Read through each replica first, so that whatever it keeps in memory holds the tag.
        const before = await fetchManual(`${replica.url}/v2/${repository}/manifests/v1`, { headers: accept });
        expect(before.status).toBe(200);
        expect(before.headers.get('docker-content-digest')).toBe(digest);
        await before.body?.cancel();
      }
      const deleted = await fetchManual(`${replicas[0]!.url}/v2/${repository}/manifests/v1`, {
        method: 'DELETE',
      });
      expect(deleted.status).toBe(202);
      for (const replica of replicas.slice(1)) {
        const after = await fetchManual(`${replica.url}/v2/${repository}/manifests/v1`, { headers: accept });
        expect({ replica: replica.url, status: after.status }).toEqual({ replica: replica.url, status: 404 });
        const tags = await fetchManual(`${replica.url}/v2/${repository}/tags/list`);
        const body = (await tags.json()) as { tags?: string[] | null };
        expect(body.tags ?? []).not.toContain('v1');
        // The manifest itself is still there by digest until gc.
        const byDigest = await fetchManual(`${replica.url}/v2/${repository}/manifests/${digest}`, {
          method: 'HEAD',
          headers: accept,
        });
        expect(byDigest.status).toBe(200);
      }
    });

    it('berth gc deletes the untagged image; no replica claims its blobs, and a re-push uploads them', async () => {
      const blobs = expectedBlobs(layout.indexes.v1!);
      const layers = blobs.filter((blob) => blob.path.includes('layer'));
      // Every replica has answered a HEAD for every layer: Redis and the read caches know them.
      for (const replica of replicas) {
        for (const layer of layers) {
          const head = await fetchManual(`${replica.url}/v2/${repository}/blobs/${layer.digest}`, {
            method: 'HEAD',
          });
          expect(head.status).toBe(200);
        }
      }
      expect(await redis.command(['EXISTS', `blobs::${layers[0]!.digest}`])).toBe(1);

      const linkPrefix = `registry/docker/registry/v2/repositories/${repository}/_layers/sha256/`;
      const layerLinksBefore = (await bucketKeys())
        .filter((key) => key.startsWith(linkPrefix))
        .map((key) => `sha256:${key.slice(linkPrefix.length, -'/link'.length)}`);
      expect(layerLinksBefore.length).toBeGreaterThanOrEqual(layers.length);
      const gc = await runBerthCli(
        ['gc', replicas[0]!.configFile, '--delete-untagged', '--grace', '0s', '--settle', '1s', '--json'],
        { env: { ...process.env, ...env }, timeoutMs: 120_000 },
      );
      expect(gc.code, gc.stderr).toBe(0);
      const report = JSON.parse(gc.stdout.toString('utf8')) as {
        deleted: { blobs: { digest: string }[]; layerLinks: { repository: string; digest: string }[] };
      };
      expect(report.deleted.blobs.map((blob) => blob.digest).sort()).toEqual(
        blobs.map((blob) => blob.digest).sort(),
      );
      expect(report.deleted.layerLinks.map((link) => `${link.repository}@${link.digest}`).sort()).toEqual(
        layerLinksBefore.map((digest) => `${repository}@${digest}`).sort(),
      );
      const keys = new Set(await bucketKeys());
      for (const blob of blobs) expect(keys.has(blobKey(blob.digest)), blob.path).toBe(false);

      // Gone on every replica at once, in Redis too.
      for (const replica of replicas) {
        for (const layer of layers) {
          const head = await fetchManual(`${replica.url}/v2/${repository}/blobs/${layer.digest}`, {
            method: 'HEAD',
          });
          expect({ replica: replica.url, layer: layer.path, status: head.status }).toEqual({
            replica: replica.url,
            layer: layer.path,
            status: 404,
          });
        }
      }
      expect(await redis.command(['SISMEMBER', `repository::${repository}::blobs`, layers[0]!.digest])).toBe(
        0,
      );

      // skopeo checks each blob with a HEAD before it uploads: were any replica still to say
      // "exists", the blob would be skipped and the pulls below would fail.
      routed = [];
      await copy(`oci:${layout.dir}:v1`, via(balancerHost(), ':v1'), { all: true });
      const uploaded = routed.filter((r) => r.method === 'PUT' && uploadId(r.path) !== undefined).length;
      expect(uploaded).toBeGreaterThanOrEqual(layers.length);
      const after = new Set(await bucketKeys());
      for (const blob of blobs) expect(after.has(blobKey(blob.digest)), blob.path).toBe(true);
      for (const [i, replica] of replicas.entries()) {
        await pullAndCheck(
          replica.host,
          ':v1',
          blobs.map((blob) => blob.digest),
          join(work.path, `repull-${i}`),
        );
      }
    }, 180_000);

    it('a replica killed with SIGKILL while it receives a layer: the client retries and the push finishes on the others', async () => {
      const big = layout.images.big!;
      const victim = 1;
      let killedDuring: string | undefined;
      /** How many requests the balancer had handed out when the kill was decided. */
      let killedAt = 0;
      onRequest = (replica, method, path) => {
        if (killedDuring === undefined && replica === victim && method === 'PATCH') {
          killedDuring = `${method} ${path}`;
          killedAt = routed.length;
          // Let the body start to flow, then kill the process mid-request.
          setTimeout(() => process.kill(replicas[victim]!.pid, 'SIGKILL'), 50);
        }
      };
      try {
        routed = [];
        await copy(`oci:${layout.dir}:big`, via(balancerHost(), ':big'), { retryTimes: 3 });
      } finally {
        onRequest = () => {};
      }
      expect(killedDuring).toMatch(/^PATCH \/v2\/e2e\/scale-out\/blobs\/uploads\//);
      // The request in flight broke (the balancer then keeps the dead replica out of the
      // rotation, 1 s after each refusal: how long the retry takes decides whether it still is).
      expect(balancer.errors).toBeGreaterThanOrEqual(1);
      // The retry's uploads were finished (their closing PUTs) by the other replicas. (A PUT the
      // balancer offers the dead replica once its down window has passed is refused there and
      // handed on, so only "some PUT reached a live replica" is observable here.)
      const puts = routed.slice(killedAt).filter((r) => r.method === 'PUT' && uploadId(r.path) !== undefined);
      expect(puts.some((r) => r.replica !== victim)).toBe(true);
      const expected = [big.descriptor, big.config, ...big.layers].map((d) => d.digest);
      for (const i of [0, 2]) {
        await pullAndCheck(replicas[i]!.host, ':big', expected, join(work.path, `big-${i}`));
      }
    }, 180_000);

    describe('registry:2 2.8 on the same bucket and the same Redis', () => {
      let registry2: RunningServer;
      /** The `_layers` link of `digest` in `name`, removed behind every server's back. */
      const dropLayerLink = (name: string, digest: string): Promise<string> =>
        rgw.admin([
          'object',
          'rm',
          `--bucket=${bucket}`,
          `--object=registry/docker/registry/v2/repositories/${name}/_layers/sha256/${digest.slice(7)}/link`,
        ]);

      beforeAll(async () => {
        const configFile = join(work.path, 'registry2.yml');
        await writeFile(configFile, s3ConfigYaml(rgw, bucket));
        // registry:2's AWS SDK panics at startup when AWS_CA_BUNDLE is set ("HTTPClient's
        // transport unsupported type"); radosgw here is plain HTTP anyway.
        registry2 = await startRegistry2({ configFile, env: { ...env, AWS_CA_BUNDLE: undefined } });
      }, 60_000);
      afterAll(async () => {
        await registry2?.stop();
      });

      /** Pushes `text` to `name` on `url` in one monolithic upload; returns its digest. */
      async function pushBlob(url: string, name: string, text: string): Promise<string> {
        const content = new TextEncoder().encode(text);
        const digest = digestOf(content);
        const started = await fetchManual(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
        expect(started.status).toBe(202);
        const location = new URL(started.headers.get('location')!, url);
        location.searchParams.set('digest', digest);
        const put = await fetchManual(location, { method: 'PUT', body: content });
        expect(put.status, await put.text()).toBe(201);
        return digest;
      }
      /**
       * A blob HEAD's status: Berth answers it itself (200); registry:2 redirects HEADs to
       * radosgw too (307), after it found the blob.
       */
      const headStatus = async (url: string, name: string, digest: string): Promise<number> => {
        const { status } = await fetchManual(`${url}/v2/${name}/blobs/${digest}`, { method: 'HEAD' });
        return url === registry2.url && status === 307 ? 200 : status;
      };

      it('both write the same Redis keys, and each answers from what the other cached', async () => {
        const cases = [
          { writer: registry2.url, reader: replicas[0]!.url, name: 'e2e/from-registry2' },
          { writer: replicas[2]!.url, reader: registry2.url, name: 'e2e/from-berth' },
        ];
        for (const { writer, reader, name } of cases) {
          const digest = await pushBlob(writer, name, `pushed to ${writer} for ${name}`);
          expect(await redis.command(['SISMEMBER', `repository::${name}::blobs`, digest])).toBe(1);
          expect(await redis.command(['HGET', `blobs::${digest}`, 'digest'])).toBe(digest);
          await dropLayerLink(name, digest);
          // The bucket no longer links it: only the writer's cache entry makes the reader say yes.
          expect({ name, status: await headStatus(reader, name, digest) }).toEqual({ name, status: 200 });
        }
      });

      it('a blob deleted through Berth is unknown to registry:2 at once, and the reverse', async () => {
        const berthDeletes = await pushBlob(replicas[0]!.url, 'e2e/deleted', 'deleted through Berth');
        expect(await headStatus(registry2.url, 'e2e/deleted', berthDeletes)).toBe(200);
        const deleted = await fetchManual(`${replicas[0]!.url}/v2/e2e/deleted/blobs/${berthDeletes}`, {
          method: 'DELETE',
        });
        expect(deleted.status).toBe(202);
        expect(await headStatus(registry2.url, 'e2e/deleted', berthDeletes)).toBe(404);

        const registry2Deletes = await pushBlob(registry2.url, 'e2e/deleted', 'deleted through registry:2');
        expect(await headStatus(replicas[2]!.url, 'e2e/deleted', registry2Deletes)).toBe(200);
        const dropped = await fetchManual(`${registry2.url}/v2/e2e/deleted/blobs/${registry2Deletes}`, {
          method: 'DELETE',
        });
        expect(dropped.status).toBe(202);
        expect(await headStatus(replicas[2]!.url, 'e2e/deleted', registry2Deletes)).toBe(404);
      });
    });

    it('with Redis stopped, the replicas still serve every pull (from the bucket), then use it again', async () => {
      const expected = expectedBlobs(layout.indexes.v1!).map((blob) => blob.digest);
      const live = [replicas[0]!, replicas[2]!];
      const timed = async (label: string, host: string): Promise<number> => {
        const began = performance.now();
        await pullAndCheck(host, ':v1', expected, join(work.path, `redis-${label}`));
        return performance.now() - began;
      };
      const up = await timed('up', live[0]!.host);
      await redis.kill();
      try {
        const down = [await timed('down-0', live[0]!.host), await timed('down-2', live[1]!.host)];
        console.log(
          `[scale-out] skopeo pull of the two-platform image: ${up.toFixed(0)} ms with Redis, ${down.map((ms) => ms.toFixed(0)).join(' / ')} ms per replica with Redis stopped`,
        );
      } finally {
        await redis.restart();
      }
      // Redis came back empty; once the replicas see it again (a probe a second), a HEAD records
      // the blob it looked up in storage.
      const layer = layout.images.big!.layers[0]!.digest;
      const member = (): Promise<unknown> =>
        redis.command(['SISMEMBER', `repository::${repository}::blobs`, layer]);
      expect(await member()).toBe(0);
      await expect
        .poll(
          async () => {
            const head = await fetchManual(`${balancer.url}/v2/${repository}/blobs/${layer}`, {
              method: 'HEAD',
            });
            expect(head.status).toBe(200);
            return member();
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBe(1);
    }, 180_000);
  },
);
