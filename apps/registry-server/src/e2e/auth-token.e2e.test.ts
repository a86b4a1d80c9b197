/**
 * skopeo against Berth with `auth.token` and the built-in token issuer: skopeo follows the
 * Bearer challenge to `/auth/token`, logs in there with `--creds`, and gets tokens granting what
 * the rules allow — pushes and pulls, a user without push rights refused, anonymous pulls of a
 * public repository (and no anonymous push), the `/v2/` challenge, the catalog.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  e2eSkipReason,
  type OciLayout,
  type RunningServer,
  reachableBlobs,
  skopeo,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildLayout,
  creds,
  RULES_YAML,
  skopeoFailure,
  startWithConfig,
  TLS_OFF,
  USERS,
  waitForAccess,
  writeHtpasswd,
} from './auth-support.ts';
import { tempDir } from './support.ts';

const skip = e2eSkipReason(['skopeo']);
const SERVICE = 'berth-e2e';

describe.skipIf(skip)(
  `skopeo with token auth and the built-in issuer${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let work: Awaited<ReturnType<typeof tempDir>>;
    let layout: OciLayout;
    let server: RunningServer;
    let ref: (repository: string) => string;

    /** A token from the issuer, as a client would fetch it. */
    async function token(scope: string, user?: string): Promise<string> {
      const headers: Record<string, string> =
        user === undefined
          ? {}
          : { Authorization: `Basic ${Buffer.from(`${user}:${USERS[user]}`).toString('base64')}` };
      const response = await fetch(
        `${server.url}/auth/token?service=${SERVICE}&scope=${encodeURIComponent(scope)}`,
        {
          headers,
        },
      );
      expect(response.status).toBe(200);
      return ((await response.json()) as { token: string }).token;
    }

    beforeAll(async () => {
      work = await tempDir('auth-token');
      layout = await buildLayout(join(work.path, 'layout'));
      const htpasswd = await writeHtpasswd(work.path);
      const key = join(work.path, 'issuer-key.pem');
      await writeFile(
        key,
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          type: 'pkcs8',
          format: 'pem',
        }),
      );
      server = await startWithConfig(
        work.path,
        (port) => `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: ${JSON.stringify(join(work.path, 'root'))}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: berth-e2e-auth
auth:
  token:
    service: ${SERVICE}
    issuer: berth-e2e-issuer
berth:
  auth:
    issuer:
      htpasswd: ${JSON.stringify(htpasswd)}
      signingkey: ${JSON.stringify(key)}
      expiration: 2m
${RULES_YAML}`,
      );
      ref = (repository) => `docker://${server.host}/${repository}`;
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      await work?.remove();
    });

    it('challenges an unauthenticated GET /v2/ with Bearer, pointing at the issuer', async () => {
      const response = await fetch(`${server.url}/v2/`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer realm="http://${server.host}/auth/token",service="${SERVICE}"`,
      );
    });

    it('pushes with --dest-creds, inspects with --creds and pulls with --src-creds through the token flow', async () => {
      await skopeo([
        'copy',
        '--preserve-digests',
        ...TLS_OFF,
        '--quiet',
        '--dest-creds',
        creds('ci-bot'),
        `oci:${layout.dir}:v1`,
        `${ref('apps/api')}:v1`,
      ]);
      const { stdout } = await skopeo([
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        creds('reader'),
        `${ref('apps/api')}:v1`,
      ]);
      expect(JSON.parse(stdout).layers).toEqual(layout.images.v1!.layers);
      const out = join(work.path, 'pulled');
      await skopeo([
        'copy',
        '--preserve-digests',
        ...TLS_OFF,
        '--quiet',
        '--src-creds',
        creds('reader'),
        `${ref('apps/api')}:v1`,
        `oci:${out}:v1`,
      ]);
      expect((await reachableBlobs(out, 'v1')).map((b) => b.digest)).toEqual(
        (await reachableBlobs(layout.dir, 'v1')).map((b) => b.digest),
      );
      await waitForAccess(server, '/auth/token', (l) => l.method === 'GET' && l.status === 200);
    }, 30_000);

    it('refuses a push by a user without push rights (401 insufficient_scope)', async () => {
      const message = await skopeoFailure([
        'copy',
        ...TLS_OFF,
        '--quiet',
        '--dest-creds',
        creds('reader'),
        `oci:${layout.dir}:v1`,
        `${ref('apps/refused')}:v1`,
      ]);
      expect(message).toMatch(/unauthorized|denied|authentication required|401|403/i);
      const lines = await waitForAccess(
        server,
        '/v2/apps/refused/',
        (l) => l.method === 'POST' && l.status === 401,
      );
      expect(
        lines.filter((l) => l.method !== 'GET' && l.method !== 'HEAD').every((l) => l.status === 401),
      ).toBe(true);
      const probe = await fetch(`${server.url}/v2/apps/refused/blobs/uploads/`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await token('repository:apps/refused:pull,push', 'reader')}` },
      });
      expect(probe.status).toBe(401);
      expect(probe.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    }, 30_000);

    it('rejects a wrong password at the issuer', async () => {
      const message = await skopeoFailure([
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        'reader:wrong',
        `${ref('apps/api')}:v1`,
      ]);
      expect(message).toMatch(/unauthorized|401/i);
      await waitForAccess(server, '/auth/token', (l) => l.status === 401);
    });

    it('lets anonymous clients pull a public repository, but not push to it', async () => {
      await skopeo([
        'copy',
        '--preserve-digests',
        ...TLS_OFF,
        '--quiet',
        '--dest-creds',
        creds('ci-bot'),
        `oci:${layout.dir}:v1`,
        `${ref('public/tools')}:v1`,
      ]);
      const out = join(work.path, 'anonymous');
      await skopeo([
        'copy',
        '--preserve-digests',
        ...TLS_OFF,
        '--quiet',
        `${ref('public/tools')}:v1`,
        `oci:${out}:v1`,
      ]);
      expect((await reachableBlobs(out, 'v1')).length).toBe(4);

      const message = await skopeoFailure([
        'copy',
        ...TLS_OFF,
        '--quiet',
        `oci:${layout.dir}:v1`,
        `${ref('public/tools')}:v2`,
      ]);
      expect(message).toMatch(/unauthorized|denied|401/i);
      await waitForAccess(
        server,
        '/v2/public/tools/',
        (l) => l.method !== 'GET' && l.method !== 'HEAD' && l.status === 401,
      );
      const tags = await fetch(`${server.url}/v2/public/tools/tags/list`, {
        headers: { Authorization: `Bearer ${await token('repository:public/tools:pull')}` },
      });
      expect(((await tags.json()) as { tags: string[] }).tags).toEqual(['v1']);
    }, 30_000);

    it('does not let anonymous clients pull a private repository', async () => {
      const message = await skopeoFailure([
        'inspect',
        '--raw',
        '--tls-verify=false',
        `${ref('apps/api')}:v1`,
      ]);
      expect(message).toMatch(/unauthorized|401/i);
    });

    it('lists the catalog only with a token that grants registry:catalog:*', async () => {
      const anonymous = await fetch(`${server.url}/v2/_catalog`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('scope="registry:catalog:*"');
      const reader = await fetch(`${server.url}/v2/_catalog`, {
        headers: { Authorization: `Bearer ${await token('registry:catalog:*', 'reader')}` },
      });
      expect(reader.status).toBe(401);
      expect(reader.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
      const admin = await fetch(`${server.url}/v2/_catalog`, {
        headers: { Authorization: `Bearer ${await token('registry:catalog:*', 'admin')}` },
      });
      expect(admin.status).toBe(200);
      expect(((await admin.json()) as { repositories: string[] }).repositories).toEqual([
        'apps/api',
        'public/tools',
      ]);
    });

    it('issues tokens by the OAuth2 POST form too (containerd)', async () => {
      const response = await fetch(`${server.url}/auth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          username: 'ci-bot',
          password: USERS['ci-bot']!,
          service: SERVICE,
          client_id: 'containerd',
          scope: 'repository:apps/api:pull,push',
        }).toString(),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; expires_in: number; scope: string };
      expect(body.expires_in).toBe(120);
      expect(body.scope).toBe('repository:apps/api:pull,push');
      const head = await fetch(`${server.url}/v2/apps/api/manifests/v1`, {
        method: 'HEAD',
        headers: {
          Authorization: `Bearer ${body.access_token}`,
          Accept: 'application/vnd.oci.image.manifest.v1+json',
        },
      });
      expect(head.status).toBe(200);
    });
  },
);
