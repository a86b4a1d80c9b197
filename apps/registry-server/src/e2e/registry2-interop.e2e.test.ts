/**
 * Drop-in on existing data: registry:2 (Debian's docker-registry 2.8.2) writes a storage root,
 * Berth serves it; Berth writes one, registry:2 serves it. skopeo must pull identical digests
 * either way, `_catalog` and `tags/list` must agree, and for the same pushes Berth must write
 * the same files registry:2 writes (plus its own `_berth/` additions).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  type Descriptor,
  e2eSkipReason,
  type OciLayout,
  type RunningServer,
  reachableBlobs,
  startBerth,
  startRegistry2,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copy,
  expectedBlobs,
  getJson,
  inspectRaw,
  multiPlatformWithReferrer,
  sha256,
  tempDir,
} from './support.ts';

async function buildLayout(dir: string): Promise<OciLayout> {
  return writeOciLayout(dir, {
    ...multiPlatformWithReferrer('interop'),
    images: {
      single: {
        platform: { os: 'linux', architecture: 'amd64' },
        layers: [
          // shared with the index: the blob is stored once, linked into each repository
          { size: 20_000, seed: 'interop-amd64-1', format: 'tar+gzip' },
          { size: 5_000, seed: 'interop-single', format: 'tar+gzip' },
        ],
      },
    },
  });
}

/** What gets pushed where: repository, tag (or the artifact by digest), layout reference. */
interface Push {
  repository: string;
  /** `:tag` or `@digest` */
  reference: (layout: OciLayout) => string;
  source: 'multi' | 'single' | 'sbom';
  all?: boolean;
}

const pushes: Push[] = [
  { repository: 'interop/app', reference: () => ':v1', source: 'multi', all: true },
  { repository: 'interop/app', reference: () => ':latest', source: 'multi', all: true },
  { repository: 'interop/app', reference: () => ':single', source: 'single' },
  { repository: 'interop/app', reference: (layout) => `@${layout.refs.sbom!.digest}`, source: 'sbom' },
  { repository: 'other', reference: () => ':1.0', source: 'single' },
  { repository: 'deeply/nested/name', reference: () => ':v1', source: 'multi', all: true },
];

const repositories = ['deeply/nested/name', 'interop/app', 'other'];

function written(layout: OciLayout, source: Push['source']) {
  if (source === 'multi') return layout.indexes.multi!;
  if (source === 'single') return layout.images.single!;
  return layout.artifacts.sbom!;
}

async function pushAll(server: RunningServer, layout: OciLayout): Promise<void> {
  for (const push of pushes) {
    await copy(
      `oci:${layout.dir}:${push.source}`,
      `docker://${server.host}/${push.repository}${push.reference(layout)}`,
      push.all ? { all: true } : {},
    );
  }
}

/** Pulls every push back from `server` into a fresh layout and checks every digest. */
async function pullAndCompare(server: RunningServer, layout: OciLayout, into: string): Promise<void> {
  for (const [i, push] of pushes.entries()) {
    const ref = `pull-${i}`;
    const remote = `docker://${server.host}/${push.repository}${push.reference(layout)}`;
    await copy(remote, `oci:${into}:${ref}`, push.all ? { all: true } : {});
    const expected = written(layout, push.source);
    expect(await reachableBlobs(into, ref), remote).toEqual(expectedBlobs(expected));
    expect(sha256(await inspectRaw(remote)), remote).toBe(expected.descriptor.digest);
  }
}

/** `_catalog` (whole and paged by 1) and every repository's `tags/list` (tags sorted), as served. */
async function listings(server: RunningServer): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  out._catalog = (await getJson(`${server.url}/v2/_catalog`)).body;
  const pages: unknown[] = [];
  let next: string | undefined = '/v2/_catalog?n=1';
  for (let page = 0; next !== undefined; page++) {
    if (page > 10) throw new Error(`${server.url}: _catalog?n=1 is still paging after 10 pages`);
    const { body, headers }: { body: unknown; headers: Headers } = await getJson(
      new URL(next, server.url).href,
    );
    pages.push(body);
    next = /<([^>]+)>;\s*rel="?next"?/.exec(headers.get('link') ?? '')?.[1];
  }
  out['_catalog?n=1 pages'] = pages;
  for (const repository of repositories) {
    // registry:2 2.8 lists tags in directory order (not sorted), so compare them as a set.
    const { body } = await getJson(`${server.url}/v2/${repository}/tags/list`);
    const tags = (body as { tags?: unknown }).tags;
    out[`${repository}/tags/list`] = Array.isArray(tags)
      ? { ...(body as object), tags: [...tags].sort() }
      : body;
  }
  return out;
}

const expectedListings = {
  _catalog: { repositories },
  '_catalog?n=1 pages': repositories.map((repository) => ({ repositories: [repository] })),
  'deeply/nested/name/tags/list': { name: 'deeply/nested/name', tags: ['v1'] },
  'interop/app/tags/list': { name: 'interop/app', tags: ['latest', 'single', 'v1'] },
  'other/tags/list': { name: 'other', tags: ['1.0'] },
};

/** Every file under `root` → its content (link files) or `sha256 of data` (blob data). */
async function storageFiles(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const key = relative(root, path).split(sep).join('/');
    if ((await stat(path)).size <= 4096) {
      files.set(key, (await readFile(path)).toString('latin1'));
    } else {
      files.set(key, `${(await stat(path)).size} bytes`);
    }
  }
  return files;
}

function pseudoRandom(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

function sha256Bytes(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `location` (absolute or not, possibly naming the previous server) on `server`. */
function on(server: RunningServer, location: string): URL {
  const url = new URL(location, server.url);
  return new URL(`${url.pathname}${url.search}`, server.url);
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status !== status) {
    const body = await response.text();
    throw new Error(`${what}: expected HTTP ${status}, got ${response.status} ${body.slice(0, 500)}`);
  }
}

/** POST an upload and PATCH its first chunk, as docker does; returns the upload's Location. */
async function startChunkedUpload(server: RunningServer, repository: string, chunk: Buffer): Promise<string> {
  const post = await fetch(`${server.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(post, 202, `POST /v2/${repository}/blobs/uploads/`);
  const patch = await fetch(on(server, post.headers.get('location') ?? ''), {
    method: 'PATCH',
    body: chunk,
    headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${chunk.length - 1}` },
  });
  await expectStatus(patch, 202, 'PATCH first chunk');
  expect(patch.headers.get('range')).toBe(`0-${chunk.length - 1}`);
  const location = patch.headers.get('location');
  expect(location).toBeTruthy();
  return location!;
}

/** GET the upload's status, PATCH the rest, PUT with the digest, then read the blob back. */
async function finishChunkedUpload(
  server: RunningServer,
  repository: string,
  location: string,
  offset: number,
  rest: Buffer,
  digest: string,
): Promise<void> {
  const status = await fetch(on(server, location));
  await expectStatus(status, 204, 'GET upload status');
  expect(status.headers.get('range')).toBe(`0-${offset - 1}`);
  const patch = await fetch(on(server, status.headers.get('location') ?? location), {
    method: 'PATCH',
    body: rest,
    headers: {
      'content-type': 'application/octet-stream',
      'content-range': `${offset}-${offset + rest.length - 1}`,
    },
  });
  await expectStatus(patch, 202, 'PATCH second chunk');
  expect(patch.headers.get('range')).toBe(`0-${offset + rest.length - 1}`);
  const put = on(server, patch.headers.get('location') ?? location);
  put.searchParams.set('digest', digest);
  const committed = await fetch(put, { method: 'PUT' });
  await expectStatus(committed, 201, 'PUT ?digest=');
  expect(committed.headers.get('docker-content-digest')).toBe(digest);
  const blob = await fetch(`${server.url}/v2/${repository}/blobs/${digest}`);
  await expectStatus(blob, 200, 'GET blob');
  expect(sha256Bytes(new Uint8Array(await blob.arrayBuffer()))).toBe(digest);
}

const skip = e2eSkipReason(['skopeo', 'docker-registry']);

describe.skipIf(skip)(
  `registry:2 and Berth on the same storage root${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let layout: OciLayout;
    const servers: RunningServer[] = [];
    const started = (server: RunningServer): RunningServer => {
      servers.push(server);
      return server;
    };

    beforeAll(async () => {
      work = await tempDir('interop');
      layout = await buildLayout(join(work.path, 'source'));
    }, 30_000);

    afterAll(async () => {
      await Promise.all(servers.map((server) => server.stop()));
      await work?.remove();
    });

    describe('registry:2 writes, Berth reads', () => {
      let fromRegistry2: Record<string, unknown>;
      let berth: RunningServer;

      beforeAll(async () => {
        const root = join(work.path, 'written-by-registry2');
        const registry2 = started(await startRegistry2({ rootDirectory: root }));
        await pushAll(registry2, layout);
        fromRegistry2 = await listings(registry2);
        await registry2.stop();
        berth = started(await startBerth({ rootDirectory: root }));
      }, 60_000);

      it('registry:2 lists what was pushed (checks the test itself)', () => {
        expect(fromRegistry2).toEqual(expectedListings);
      });

      it('Berth serves every image, index and artifact with identical digests (skopeo pull)', async () => {
        await pullAndCompare(berth, layout, join(work.path, 'pulled-from-berth'));
      }, 60_000);

      it('Berth answers _catalog (also paged) and tags/list like registry:2', async () => {
        expect(await listings(berth)).toEqual(fromRegistry2);
      });

      // Clients that find a referrers API trust it (cosign, notation, oras stop looking at the
      // `sha256-<hex>` fallback tags), so signatures and SBOMs pushed to registry:2 must be listed.
      it('lists referrers that registry:2 stored (Berth indexes the revisions it did not receive itself)', async () => {
        const sbom = layout.artifacts.sbom!;
        const { body } = await getJson(
          `${berth.url}/v2/interop/app/referrers/${layout.indexes.multi!.descriptor.digest}`,
        );
        expect(
          (body as { manifests: Descriptor[] }).manifests.map((descriptor) => descriptor.digest),
        ).toEqual([sbom.descriptor.digest]);
      });
    });

    describe('Berth writes, registry:2 reads', () => {
      let fromBerth: Record<string, unknown>;
      let registry2: RunningServer;

      beforeAll(async () => {
        const root = join(work.path, 'written-by-berth');
        const berth = started(await startBerth({ rootDirectory: root }));
        await pushAll(berth, layout);
        fromBerth = await listings(berth);
        await berth.stop();
        registry2 = started(await startRegistry2({ rootDirectory: root }));
      }, 60_000);

      it('Berth lists what was pushed', () => {
        expect(fromBerth).toEqual(expectedListings);
      });

      it('registry:2 serves every image, index and artifact with identical digests (skopeo pull)', async () => {
        await pullAndCompare(registry2, layout, join(work.path, 'pulled-from-registry2'));
      }, 60_000);

      it('registry:2 answers _catalog (also paged) and tags/list like Berth did', async () => {
        expect(await listings(registry2)).toEqual(fromBerth);
      });
    });

    describe('a chunked upload in progress survives the swap', () => {
      const first = pseudoRandom('inflight-first', 1024 * 1024);
      const rest = pseudoRandom('inflight-rest', 300_000);
      const digest = sha256Bytes(Buffer.concat([first, rest]));

      describe('started on registry:2, finished on Berth', () => {
        let location: string;
        let berth: RunningServer;

        it('registry:2 takes the first chunk (POST, PATCH with Content-Range)', async () => {
          const root = join(work.path, 'upload-registry2-to-berth');
          const registry2 = started(await startRegistry2({ rootDirectory: root }));
          location = await startChunkedUpload(registry2, 'uploads/inflight', first);
          await registry2.stop();
          berth = started(await startBerth({ rootDirectory: root }));
        }, 30_000);

        it('Berth reports its progress, takes the rest and commits it with the right digest', async () => {
          await finishChunkedUpload(berth, 'uploads/inflight', location, first.length, rest, digest);
        });
      });

      describe('started on Berth, finished on registry:2', () => {
        let location: string;
        let registry2: RunningServer;

        it('Berth takes the first chunk (POST, PATCH with Content-Range)', async () => {
          const root = join(work.path, 'upload-berth-to-registry2');
          const berth = started(await startBerth({ rootDirectory: root }));
          location = await startChunkedUpload(berth, 'uploads/inflight', first);
          await berth.stop();
          registry2 = started(await startRegistry2({ rootDirectory: root }));
        }, 30_000);

        // A documented limitation: Berth keeps an upload's bytes as a pending write of its storage
        // driver (invisible until the digest is verified), so registry:2 finds no data at
        // _uploads/<id>/data and refuses the location. The client restarts that blob.
        it('registry:2 refuses the location (BLOB_UPLOAD_INVALID) and a restarted upload succeeds', async () => {
          const status = await fetch(on(registry2, location));
          expect(status.status).toBe(404);
          const body = (await status.json()) as { errors: { code: string }[] };
          expect(body.errors[0]?.code).toBe('BLOB_UPLOAD_INVALID');
          const restarted = await startChunkedUpload(registry2, 'uploads/inflight', first);
          await finishChunkedUpload(registry2, 'uploads/inflight', restarted, first.length, rest, digest);
        });
      });
    });

    it('for the same pushes, Berth wrote the same files as registry:2 (besides its own _berth/ paths)', async () => {
      const byRegistry2 = await storageFiles(join(work.path, 'written-by-registry2'));
      const byBerth = await storageFiles(join(work.path, 'written-by-berth'));
      // Berth's own index files (`_berth/`) appear in both roots once Berth has served them.
      for (const files of [byRegistry2, byBerth]) {
        for (const key of files.keys()) if (key.split('/').includes('_berth')) files.delete(key);
      }
      const keys = [...new Set([...byRegistry2.keys(), ...byBerth.keys()])].sort();
      expect(byRegistry2.size, 'registry:2 wrote files (checks the test itself)').toBeGreaterThan(20);
      expect({
        'written by registry:2, missing from Berth': keys.filter((key) => !byBerth.has(key)),
        'written by Berth only': keys.filter((key) => !byRegistry2.has(key)),
        'different content': keys
          .filter(
            (key) => byBerth.has(key) && byRegistry2.has(key) && byBerth.get(key) !== byRegistry2.get(key),
          )
          .map(
            (key) =>
              `${key}: registry:2 ${JSON.stringify(byRegistry2.get(key))}, Berth ${JSON.stringify(byBerth.get(key))}`,
          ),
      }).toEqual({
        'written by registry:2, missing from Berth': [],
        'written by Berth only': [],
        'different content': [],
      });
    });
  },
);
