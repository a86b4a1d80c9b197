/**
 * The upstream client against registry:2 2.8 (Debian's `docker-registry`) on loopback:
 * anonymous, and with `auth.htpasswd` (Basic).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htpasswdLine } from '@berth/auth-htpasswd';
import { digestOf } from '@berth/digest';
import { e2eSkipReason, type RunningServer, startRegistry2 } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, OCI_MANIFEST, type PushedImage, pushImage, readAll } from './test-support/push.ts';
import { createUpstream } from './upstream.ts';

const skip = e2eSkipReason(['docker-registry']);

describe.skipIf(skip)(`upstream client against registry:2${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir: string;
  let anonymous: RunningServer;
  let protectedRegistry: RunningServer;
  let image: PushedImage;
  let secret: PushedImage;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-proxy-registry2-'));
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, `${await htpasswdLine('mirror', 'mirror-password', 5)}\n`);
    [anonymous, protectedRegistry] = await Promise.all([
      startRegistry2({ rootDirectory: join(dir, 'open') }),
      startRegistry2({
        rootDirectory: join(dir, 'closed'),
        extraYaml: [
          'auth:',
          '  htpasswd:',
          '    realm: berth-test',
          `    path: ${JSON.stringify(htpasswd)}`,
        ].join('\n'),
      }),
    ]);
    image = await pushImage(anonymous.url, 'library/alpine', '3.20');
    secret = await pushImage(protectedRegistry.url, 'team/app', 'v1', {
      authorization: basicAuth('mirror', 'mirror-password'),
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([anonymous?.stop(), protectedRegistry?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  describe('anonymous', () => {
    it('HEAD of a manifest by tag: the digest, no body, one request', async () => {
      const upstream = createUpstream({ url: anonymous.url });
      const head = await upstream.manifest('library/alpine', '3.20', {
        method: 'HEAD',
        accept: OCI_MANIFEST,
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest')).toBe(image.manifestDigest);
      expect(head.body).toBeNull();
      expect(upstream.stats).toEqual({ requests: 1, tokenRequests: 0 });
    });

    it('GET of the manifest and of the layer, whole and ranged; 404 is an answer', async () => {
      const upstream = createUpstream({ url: anonymous.url });
      const manifest = await upstream.manifest('library/alpine', image.manifestDigest, {
        accept: OCI_MANIFEST,
      });
      expect(manifest.status).toBe(200);
      expect(digestOf(await readAll(manifest.body))).toBe(image.manifestDigest);

      const layer = await upstream.blob('library/alpine', image.layerDigest);
      expect(layer.status).toBe(200);
      expect(digestOf(await readAll(layer.body))).toBe(image.layerDigest);

      const part = await upstream.blob('library/alpine', image.layerDigest, { range: 'bytes=10-19' });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 10-19/${image.layer.length}`);
      expect(await readAll(part.body)).toEqual(image.layer.subarray(10, 20));

      const missing = await upstream.manifest('library/alpine', 'nope', {
        method: 'HEAD',
        accept: OCI_MANIFEST,
      });
      expect(missing.status).toBe(404);
      const unknownRepo = await upstream.blob('library/none', image.layerDigest, { method: 'HEAD' });
      expect(unknownRepo.status).toBe(404);
      expect(upstream.stats.tokenRequests).toBe(0);
    });

    it('ping answers once registry:2 does', async () => {
      await expect(createUpstream({ url: anonymous.url }).ping()).resolves.toBeUndefined();
    });
  });

  describe('htpasswd (Basic)', () => {
    it('learns Basic from the first 401, then sends the credentials up front', async () => {
      const upstream = createUpstream({
        url: protectedRegistry.url,
        credentials: { username: 'mirror', password: 'mirror-password' },
      });
      const first = await upstream.manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST });
      expect(first.status).toBe(200);
      expect(first.headers.get('docker-content-digest')).toBe(secret.manifestDigest);
      expect(upstream.stats.requests).toBe(2); // the 401, then the retry with Basic
      const layer = await upstream.blob('team/app', secret.layerDigest);
      expect(digestOf(await readAll(layer.body))).toBe(secret.layerDigest);
      expect(upstream.stats.requests).toBe(3); // Basic sent up front: no second 401
    });

    it('credentials from a function (a credential helper) are asked for when needed', async () => {
      let asked = 0;
      const upstream = createUpstream({
        url: protectedRegistry.url,
        credentials: async () => {
          asked++;
          return { username: 'mirror', password: 'mirror-password' };
        },
      });
      await upstream.ping();
      expect(asked).toBeGreaterThanOrEqual(1);
    });

    it('wrong or missing credentials: UPSTREAM_UNAUTHORIZED naming the cause, never the password', async () => {
      const wrong = createUpstream({
        url: protectedRegistry.url,
        credentials: { username: 'mirror', password: 'not-the-password' },
      });
      const refused = await wrong
        .manifest('team/app', 'v1', { method: 'HEAD', accept: OCI_MANIFEST })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ name: 'UpstreamError', code: 'UPSTREAM_UNAUTHORIZED', status: 401 });
      expect(String((refused as Error).message)).not.toContain('not-the-password');

      const none = createUpstream({ url: protectedRegistry.url });
      await expect(none.blob('team/app', secret.layerDigest, { method: 'HEAD' })).rejects.toMatchObject({
        code: 'UPSTREAM_UNAUTHORIZED',
        message: expect.stringContaining('needs credentials (none configured)'),
      });
    });
  });
});
