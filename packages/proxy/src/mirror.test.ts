/**
 * The mirror against a real upstream registry on loopback (Berth, in-memory storage), with the
 * upstream's requests counted: one fetch per miss streamed to every client, HEAD never
 * downloading, ranges, writes refused, stale-if-error and errors that name the upstream.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Digest, digestOf } from '@berth/digest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OCI_MANIFEST, type PushedImage, pushImage, readAll } from './test-support/push.ts';
import {
  type MirrorServer,
  startMirror,
  startUpstreamRegistry,
  throttle,
  type UpstreamServer,
} from './test-support/servers.ts';

const NAME = 'library/app';

/** Stores `content` as a blob of `name` in the upstream, directly through its stores. */
async function putBlob(upstream: UpstreamServer, name: string, content: Uint8Array): Promise<Digest> {
  const upload = await upstream.registry.repository(name).uploads.create();
  await upload.append(
    (async function* () {
      yield content;
    })(),
  );
  const digest = digestOf(content);
  await upload.complete(digest);
  return digest;
}

async function codeOf(response: Response): Promise<string> {
  const body = (await response.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code ?? '';
}

/**
 * An upstream and a mirror of it (every repository, spool in a temporary directory) for the
 * enclosing `describe`: `prepare` runs on the upstream before the mirror starts, `ready` gets
 * both, and the upstream's `respond` / `transform` hooks are cleared after every test.
 */
function useMirror(
  ready: (servers: { upstream: UpstreamServer; mirror: MirrorServer }) => void,
  prepare?: (upstream: UpstreamServer) => Promise<void>,
): void {
  let spool: string | undefined;
  let upstream: UpstreamServer | undefined;
  let mirror: MirrorServer | undefined;
  beforeAll(async () => {
    spool = await mkdtemp(join(tmpdir(), 'berth-mirror-'));
    upstream = await startUpstreamRegistry();
    await prepare?.(upstream);
    mirror = await startMirror([{ prefix: '', url: upstream.url }], { spoolDirectory: spool });
    ready({ upstream, mirror });
  });
  afterAll(async () => {
    await mirror?.close();
    await upstream?.close();
    if (spool !== undefined) await rm(spool, { recursive: true, force: true });
  });
  afterEach(() => {
    if (upstream === undefined) return;
    upstream.respond = undefined;
    upstream.transform = undefined;
  });
}

describe('mirror: manifests and tags', () => {
  let upstream: UpstreamServer;
  let mirror: MirrorServer;
  let image: PushedImage;
  useMirror(
    (servers) => {
      ({ upstream, mirror } = servers);
    },
    async (started) => {
      image = await pushImage(started.url, NAME, 'v1');
    },
  );

  it('a pull by tag is one upstream HEAD, plus one GET only while the digest is not cached', async () => {
    upstream.requests.length = 0;
    const first = await fetch(`${mirror.url}/v2/${NAME}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    expect(first.status).toBe(200);
    expect(first.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(image.manifest);
    expect(upstream.count('HEAD', '/manifests/v1')).toBe(1);
    expect(upstream.count('GET', `/manifests/${image.manifestDigest}`)).toBe(1);

    upstream.requests.length = 0;
    const again = await fetch(`${mirror.url}/v2/${NAME}/manifests/v1`, { method: 'HEAD' });
    expect(again.status).toBe(200);
    expect(upstream.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`HEAD /v2/${NAME}/manifests/v1`]);

    upstream.requests.length = 0;
    const byDigest = await fetch(`${mirror.url}/v2/${NAME}/manifests/${image.manifestDigest}`);
    expect(byDigest.status).toBe(200);
    expect(upstream.requests).toEqual([]);
  });

  it('follows a tag that moved upstream', async () => {
    const moved = await pushImage(upstream.url, NAME, 'moving');
    expect(
      (await fetch(`${mirror.url}/v2/${NAME}/manifests/moving`)).headers.get('docker-content-digest'),
    ).toBe(moved.manifestDigest);
    const next = await pushImage(upstream.url, NAME, 'moving');
    const response = await fetch(`${mirror.url}/v2/${NAME}/manifests/moving`);
    expect(response.headers.get('docker-content-digest')).toBe(next.manifestDigest);
    expect(await mirror.local.repository(NAME).tags.resolve('moving')).toBe(next.manifestDigest);
  });

  it('answers an unknown tag or digest 404 MANIFEST_UNKNOWN, as the upstream does', async () => {
    const tag = await fetch(`${mirror.url}/v2/${NAME}/manifests/nope`);
    expect(tag.status).toBe(404);
    expect(await codeOf(tag)).toBe('MANIFEST_UNKNOWN');
    const digest = await fetch(`${mirror.url}/v2/${NAME}/manifests/${digestOf(new Uint8Array([1]))}`);
    expect(digest.status).toBe(404);
    expect(await codeOf(digest)).toBe('MANIFEST_UNKNOWN');
  });

  it('ten concurrent pulls of an uncached manifest cause one upstream GET', async () => {
    const fresh = await pushImage(upstream.url, NAME, 'many');
    upstream.requests.length = 0;
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${mirror.url}/v2/${NAME}/manifests/${fresh.manifestDigest}`)),
    );
    for (const response of responses)
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(fresh.manifest);
    expect(upstream.count('GET', `/manifests/${fresh.manifestDigest}`)).toBe(1);
  });

  it('refuses a manifest whose bytes do not match its digest, and stores nothing', async () => {
    const fresh = await pushImage(upstream.url, NAME, 'tampered');
    upstream.transform = async (request, response) => {
      if (!request.url.includes(`/manifests/${fresh.manifestDigest}`) || request.method !== 'GET')
        return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      bytes[bytes.length - 2] = 0x20;
      return new Response(bytes, { status: 200, headers: response.headers });
    };
    const response = await fetch(`${mirror.url}/v2/${NAME}/manifests/${fresh.manifestDigest}`);
    expect(response.status).toBe(502);
    expect(await codeOf(response)).toBe('UNAVAILABLE');
    expect(await mirror.local.repository(NAME).manifests.exists(fresh.manifestDigest as Digest)).toBe(false);
  });

  it('serves a cached tag when the upstream fails (stale-if-error), and names the cause otherwise', async () => {
    upstream.respond = () => new Response('busy', { status: 503 });
    const stale = await fetch(`${mirror.url}/v2/${NAME}/manifests/v1`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    expect(mirror.mirror.stats.staleServed).toBeGreaterThan(0);

    const uncached = await fetch(`${mirror.url}/v2/${NAME}/manifests/never-pulled`);
    expect(uncached.status).toBe(502);
    const body = (await uncached.json()) as {
      errors: { code: string; message: string; detail: { status: number } }[];
    };
    expect(body.errors[0]?.code).toBe('UNAVAILABLE');
    expect(body.errors[0]?.message).toContain(new URL(upstream.url).host);
    expect(body.errors[0]?.detail.status).toBe(503);

    upstream.respond = () => new Response('slow down', { status: 429, headers: { 'retry-after': '30' } });
    const limited = await fetch(`${mirror.url}/v2/${NAME}/manifests/never-pulled`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(await codeOf(limited)).toBe('TOOMANYREQUESTS');
  });

  it('answers writes 405 UNSUPPORTED with the OCI envelope', async () => {
    const post = await fetch(`${mirror.url}/v2/${NAME}/blobs/uploads/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await codeOf(post)).toBe('UNSUPPORTED');
    const put = await fetch(`${mirror.url}/v2/${NAME}/manifests/x`, {
      method: 'PUT',
      headers: { 'content-type': OCI_MANIFEST },
      body: image.manifest,
    });
    expect(put.status).toBe(405);
    expect(await codeOf(put)).toBe('UNSUPPORTED');
    const del = await fetch(`${mirror.url}/v2/${NAME}/manifests/${image.manifestDigest}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(405);
    expect(await codeOf(del)).toBe('UNSUPPORTED');
  });

  it('lists tags from the upstream, and the cached ones when it fails', async () => {
    const listed = (await (await fetch(`${mirror.url}/v2/${NAME}/tags/list`)).json()) as { tags: string[] };
    expect(listed.tags).toEqual(expect.arrayContaining(['v1', 'moving', 'many', 'tampered']));
    upstream.respond = () => new Response('down', { status: 500 });
    const cached = (await (await fetch(`${mirror.url}/v2/${NAME}/tags/list`)).json()) as { tags: string[] };
    expect(cached.tags).toContain('v1');
    expect(cached.tags).not.toContain('tampered');
  });

  it('lists what is cached in the catalog', async () => {
    const catalog = (await (await fetch(`${mirror.url}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories).toEqual([NAME]);
  });
});

describe('mirror: blobs', () => {
  let upstream: UpstreamServer;
  let mirror: MirrorServer;
  const SIZE = 4 * 1024 * 1024;
  useMirror((servers) => {
    ({ upstream, mirror } = servers);
  });

  const random = (size: number): Uint8Array => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536)
      crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, size)));
    return bytes;
  };
  /** Slows the upstream's blob GETs to 64 KiB every 2 ms (~32 MB/s). */
  const slowBlobs = (): void => {
    upstream.transform = (request, response) =>
      request.method === 'GET' && request.url.includes('/blobs/') && response.body !== null
        ? new Response(throttle(response.body, 64 * 1024, 2), {
            status: response.status,
            headers: response.headers,
          })
        : response;
  };

  it('ten concurrent GETs of an uncached blob: one upstream GET, streamed to all before it is complete, committed once', async () => {
    const content = random(SIZE);
    const digest = await putBlob(upstream, NAME, content);
    slowBlobs();
    upstream.requests.length = 0;
    let firstByteWhileFilling = false;
    const pulls = Array.from({ length: 10 }, async () => {
      const response = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(SIZE));
      const reader = response.body!.getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (chunks.length === 0 && mirror.mirror.fillsInFlight === 1) {
          // The first bytes came while the upstream was still sending.
          firstByteWhileFilling ||=
            (await mirror.local
              .repository(NAME)
              .blobs.stat(digest)
              .catch(() => undefined)) === undefined;
        }
        chunks.push(value);
      }
      return Buffer.concat(chunks);
    });
    const bodies = await Promise.all(pulls);
    for (const body of bodies) expect(digestOf(body)).toBe(digest);
    expect(firstByteWhileFilling).toBe(true);
    expect(upstream.count('GET', `/blobs/${digest}`)).toBe(1);
    await mirror.mirror.settled();
    expect((await mirror.local.repository(NAME).blobs.stat(digest)).size).toBe(SIZE);
    expect(mirror.mirror.stats.blobFills).toBe(1);

    upstream.requests.length = 0;
    const cached = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`);
    expect(digestOf(new Uint8Array(await cached.arrayBuffer()))).toBe(digest);
    expect(upstream.requests).toEqual([]);
  });

  it('a client that disconnects at 10 % does not abort the fill', async () => {
    const content = random(SIZE);
    const digest = await putBlob(upstream, NAME, content);
    slowBlobs();
    upstream.requests.length = 0;
    const controller = new AbortController();
    const response = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`, { signal: controller.signal });
    const reader = response.body!.getReader();
    let received = 0;
    while (received < SIZE / 10) received += (await reader.read()).value?.byteLength ?? 0;
    controller.abort();
    await reader.cancel().catch(() => {});
    await mirror.mirror.settled();
    expect((await mirror.local.repository(NAME).blobs.stat(digest)).size).toBe(SIZE);
    expect(upstream.count('GET', `/blobs/${digest}`)).toBe(1);
  });

  it('a digest mismatch from upstream commits nothing and cuts the client stream', async () => {
    const content = random(512 * 1024);
    const digest = await putBlob(upstream, NAME, content);
    upstream.transform = async (request, response) => {
      if (request.method !== 'GET' || !request.url.includes(`/blobs/${digest}`)) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      bytes[1000] = bytes[1000]! ^ 0xff;
      return new Response(bytes, { status: 200, headers: response.headers });
    };
    const response = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`);
    expect(response.status).toBe(200);
    await expect(readAll(response.body)).rejects.toThrow();
    await mirror.mirror.settled();
    await expect(mirror.local.repository(NAME).blobs.stat(digest)).rejects.toMatchObject({
      code: 'BLOB_UNKNOWN',
    });
    expect(mirror.mirror.stats.blobFillFailures).toBeGreaterThan(0);
  });

  it('HEAD of an uncached blob is one upstream HEAD and caches nothing', async () => {
    const digest = await putBlob(upstream, NAME, random(100_000));
    upstream.requests.length = 0;
    const head = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');
    expect(upstream.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `HEAD /v2/${NAME}/blobs/${digest}`,
    ]);
    await mirror.mirror.settled();
    await expect(mirror.local.repository(NAME).blobs.stat(digest)).rejects.toMatchObject({
      code: 'BLOB_UNKNOWN',
    });
  });

  it('forwards a range on a miss without caching a part; serves ranges of cached blobs itself', async () => {
    const content = random(200_000);
    const digest = await putBlob(upstream, NAME, content);
    upstream.requests.length = 0;
    const miss = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`, {
      headers: { range: 'bytes=1000-1999' },
    });
    expect(miss.status).toBe(206);
    expect(miss.headers.get('content-range')).toBe('bytes 1000-1999/200000');
    expect(new Uint8Array(await miss.arrayBuffer())).toEqual(content.subarray(1000, 2000));
    expect(upstream.requests.filter((r) => r.method === 'GET').map((r) => r.range)).toEqual([
      'bytes=1000-1999',
    ]);
    await mirror.mirror.settled();
    await expect(mirror.local.repository(NAME).blobs.stat(digest)).rejects.toMatchObject({
      code: 'BLOB_UNKNOWN',
    });

    await (await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`)).arrayBuffer();
    await mirror.mirror.settled();
    upstream.requests.length = 0;
    const hit = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`, { headers: { range: 'bytes=5-9' } });
    expect(hit.status).toBe(206);
    expect(new Uint8Array(await hit.arrayBuffer())).toEqual(content.subarray(5, 10));
    expect(upstream.requests).toEqual([]);
  });

  it('answers an uncached blob with the upstream unreachable 503 UNAVAILABLE naming it', async () => {
    const digest = await putBlob(upstream, NAME, random(1000));
    upstream.respond = () => {
      throw new Error('connection dropped');
    };
    const response = await fetch(`${mirror.url}/v2/${NAME}/blobs/${digest}`);
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(await codeOf(response)).toBe('UNAVAILABLE');
  });
});
