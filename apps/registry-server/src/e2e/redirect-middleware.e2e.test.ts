/**
 * The `redirect` storage middleware with a real client: the registry runs on the filesystem
 * driver with `middleware.storage: [{name: redirect, options: {baseurl}}]` pointing at a tiny
 * read-only web server over the same storage root (a stand-in for a CDN). Blob GETs must answer
 * 307 to the base URL joined with the storage path, skopeo must pull the image through those
 * redirects with every digest intact, and `storage.redirect.disable: true` must serve blobs
 * directly again.
 *
 * Also run against registry:2 (2.8.2), which keeps the test honest and documents the one
 * difference: registry:2 2.8 drops the base URL's path, Berth joins it (as registry v3 does).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import {
  e2eSkipReason,
  type OciLayout,
  type RunningServer,
  reachableBlobs,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy, expectedBlobs, selectedTargets, tempDir } from './support.ts';

const repository = 'e2e/redirected';

/** A read-only static file server for `root`, under `prefix` (`''` or `/a/b`), on 127.0.0.1. */
interface StaticServer {
  readonly url: string;
  /** `METHOD /path` of every request, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

async function startStaticServer(root: string, prefix: string): Promise<StaticServer> {
  const base = resolve(root);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(`${req.method} ${pathname}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = pathname.startsWith(`${prefix}/`)
      ? resolve(base, `.${decodeURIComponent(pathname.slice(prefix.length))}`)
      : undefined;
    if (file === undefined || !file.startsWith(`${base}${sep}`)) {
      res.writeHead(404).end();
      return;
    }
    stat(file).then(
      (info) => {
        if (!info.isFile()) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': info.size });
        if (req.method === 'HEAD') res.end();
        else createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** registry:2's path of a blob's data below the storage root. */
function blobDataPath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return `/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The base URL's path as configured, and the prefix the redirect URLs actually get. */
const basePaths: Record<string, { configured: string; expected: string }> = {
  // Empty segments and the trailing slash are dropped, as registry v3's path.Join does.
  berth: { configured: '/cdn//registry/', expected: '/cdn/registry' },
  // registry:2 2.8 builds the URL from the scheme and host only.
  registry2: { configured: '/cdn/registry/', expected: '' },
};

const skopeoSkip = e2eSkipReason(['skopeo']);

describe.skipIf(skopeoSkip)(
  `redirect storage middleware${skopeoSkip ? ` (skipped: ${skopeoSkip})` : ''}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let layout: OciLayout;

    beforeAll(async () => {
      work = await tempDir('redirect');
      layout = await writeOciLayout(join(work.path, 'source'), {
        images: {
          v1: {
            platform: { os: 'linux', architecture: 'amd64' },
            layers: [
              { size: 3 * 1024 * 1024 + 7, seed: 'redirect-big' },
              { size: 20_000, seed: 'redirect-small', format: 'tar+gzip' },
            ],
          },
        },
      });
    }, 60_000);

    afterAll(async () => {
      await work?.remove();
    });

    for (const target of selectedTargets()) {
      const skip = e2eSkipReason(target.tools);
      describe.skipIf(skip)(`against ${target.label}${skip ? ` (skipped: ${skip})` : ''}`, () => {
        const paths = basePaths[target.id]!;
        let root: string;
        let cdn: StaticServer | undefined;
        let server: RunningServer | undefined;

        /** The blobs of the image (config and layers; manifests are not served as blobs). */
        const blobs = () => {
          const image = layout.images.v1!;
          return [image.config, ...image.layers];
        };

        const redirectYaml = (): string =>
          [
            'middleware:',
            '  storage:',
            '    - name: redirect',
            '      options:',
            `        baseurl: ${JSON.stringify(`${cdn!.url}${paths.configured}`)}`,
          ].join('\n');

        beforeAll(async () => {
          root = join(work.path, `${target.id}-root`);
          await mkdir(root, { recursive: true });
          cdn = await startStaticServer(root, paths.expected);
          server = await target.start({ rootDirectory: root, extraYaml: redirectYaml() });
        }, 30_000);

        afterAll(async () => {
          await server?.stop();
          await cdn?.close();
        });

        it('pushes an image (skopeo copy)', async () => {
          await copy(`oci:${layout.dir}:v1`, `docker://${server!.host}/${repository}:v1`);
          expect(cdn!.requests).toEqual([]);
        }, 90_000);

        it('answers blob GETs with 307 to the base URL joined with the storage path', async () => {
          for (const blob of blobs()) {
            const response = await fetch(`${server!.url}/v2/${repository}/blobs/${blob.digest}`, {
              redirect: 'manual',
              signal: AbortSignal.timeout(10_000),
            });
            await response.body?.cancel();
            expect(response.status, blob.digest).toBe(307);
            const location = `${cdn!.url}${paths.expected}${blobDataPath(blob.digest)}`;
            expect(response.headers.get('location'), blob.digest).toBe(location);

            const served = await fetch(location, { signal: AbortSignal.timeout(10_000) });
            const bytes = new Uint8Array(await served.arrayBuffer());
            expect(served.status).toBe(200);
            expect(sha256(bytes)).toBe(blob.digest);
            expect(bytes.byteLength).toBe(blob.size);
          }
        });

        it('skopeo pulls the image through the redirects with every digest identical', async () => {
          const before = cdn!.requests.length;
          const pulled = join(work.path, `${target.id}-pulled`);
          await copy(`docker://${server!.host}/${repository}:v1`, `oci:${pulled}:v1`);
          expect(await reachableBlobs(pulled, 'v1')).toEqual(expectedBlobs(layout.images.v1!));
          const fetched = cdn!.requests.slice(before);
          for (const blob of blobs()) {
            expect(fetched, blob.digest).toContain(`GET ${paths.expected}${blobDataPath(blob.digest)}`);
          }
        }, 90_000);

        it('serves blobs directly with storage.redirect.disable: true', async () => {
          const direct = await target.start({
            rootDirectory: root,
            extraYaml: redirectYaml(),
            env: { REGISTRY_STORAGE_REDIRECT_DISABLE: 'true' },
          });
          try {
            const before = cdn!.requests.length;
            for (const blob of blobs()) {
              const response = await fetch(`${direct.url}/v2/${repository}/blobs/${blob.digest}`, {
                redirect: 'manual',
                signal: AbortSignal.timeout(10_000),
              });
              const bytes = new Uint8Array(await response.arrayBuffer());
              expect(response.status, blob.digest).toBe(200);
              expect(response.headers.get('docker-content-digest')).toBe(blob.digest);
              expect(sha256(bytes)).toBe(blob.digest);
            }
            const pulled = join(work.path, `${target.id}-pulled-direct`);
            await copy(`docker://${direct.host}/${repository}:v1`, `oci:${pulled}:v1`);
            expect(await reachableBlobs(pulled, 'v1')).toEqual(expectedBlobs(layout.images.v1!));
            expect(cdn!.requests.slice(before)).toEqual([]);
          } finally {
            await direct.stop();
          }
        }, 90_000);
      });
    }
  },
);
