/**
 * skopeo against Berth with `auth.htpasswd` and Berth's per-repository rules: pushes and pulls
 * with credentials, a user without push rights denied, anonymous pulls of a public repository
 * (and no anonymous push), the `/v2/` challenge, and the catalog only for who may list it.
 */
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
  waitForAccess,
  writeHtpasswd,
} from './auth-support.ts';
import { tempDir } from './support.ts';

const skip = e2eSkipReason(['skopeo']);
const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe.skipIf(skip)(`skopeo with htpasswd auth${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: OciLayout;
  let server: RunningServer;
  let ref: (repository: string) => string;

  beforeAll(async () => {
    work = await tempDir('auth-htpasswd');
    layout = await buildLayout(join(work.path, 'layout'));
    const htpasswd = await writeHtpasswd(work.path);
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
  htpasswd:
    realm: Berth e2e
    path: ${JSON.stringify(htpasswd)}
berth:
  auth:
${RULES_YAML}`,
    );
    ref = (repository) => `docker://${server.host}/${repository}`;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await work?.remove();
  });

  it('challenges an unauthenticated GET /v2/ with Basic', async () => {
    const response = await fetch(`${server.url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="Berth e2e"');
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAUTHORIZED');
  });

  it('pushes with --dest-creds, inspects with --creds and pulls with --src-creds', async () => {
    await skopeo([
      'copy',
      '--preserve-digests',
      ...TLS_OFF,
      '--quiet',
      '--dest-creds',
      creds('ci-bot'),
      `oci:${layout.dir}:v1`,
      `${ref('apps/web')}:v1`,
    ]);
    const { stdout } = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      creds('reader'),
      `${ref('apps/web')}:v1`,
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
      `${ref('apps/web')}:v1`,
      `oci:${out}:v1`,
    ]);
    expect((await reachableBlobs(out, 'v1')).map((b) => b.digest)).toEqual(
      (await reachableBlobs(layout.dir, 'v1')).map((b) => b.digest),
    );
  }, 30_000);

  it('denies a push to a user without push rights (403)', async () => {
    const message = await skopeoFailure([
      'copy',
      ...TLS_OFF,
      '--quiet',
      '--dest-creds',
      creds('reader'),
      `oci:${layout.dir}:v1`,
      `${ref('apps/denied')}:v1`,
    ]);
    expect(message).toMatch(/denied|unauthorized|403/i);
    const lines = await waitForAccess(
      server,
      '/v2/apps/denied/',
      (l) => l.method === 'POST' && l.status === 403,
    );
    // Every upload attempt was refused; nothing was written.
    expect(
      lines.filter((l) => l.method !== 'HEAD' && l.method !== 'GET').every((l) => l.status === 403),
    ).toBe(true);
  }, 30_000);

  it('rejects a wrong password', async () => {
    const message = await skopeoFailure([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      'reader:wrong',
      `${ref('apps/web')}:v1`,
    ]);
    expect(message).toMatch(/unauthorized|authentication required|401/i);
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
      `${ref('public/hello')}:v1`,
    ]);
    const out = join(work.path, 'anonymous');
    await skopeo([
      'copy',
      '--preserve-digests',
      ...TLS_OFF,
      '--quiet',
      `${ref('public/hello')}:v1`,
      `oci:${out}:v1`,
    ]);
    expect((await reachableBlobs(out, 'v1')).length).toBe(4);

    const message = await skopeoFailure([
      'copy',
      ...TLS_OFF,
      '--quiet',
      `oci:${layout.dir}:v1`,
      `${ref('public/hello')}:v2`,
    ]);
    expect(message).toMatch(/unauthorized|authentication required|401/i);
    // The blobs are there already (anonymous HEADs find them), so the manifest PUT is refused.
    await waitForAccess(
      server,
      '/v2/public/hello/',
      (l) => l.method !== 'GET' && l.method !== 'HEAD' && l.status === 401,
    );
    const tags = (await (await fetch(`${server.url}/v2/public/hello/tags/list`)).json()) as {
      tags: string[];
    };
    expect(tags.tags).toEqual(['v1']);
  }, 30_000);

  it('does not let anonymous clients pull a private repository', async () => {
    const message = await skopeoFailure(['inspect', '--raw', '--tls-verify=false', `${ref('apps/web')}:v1`]);
    expect(message).toMatch(/unauthorized|authentication required|401/i);
  });

  it('lists the catalog only for a user with catalog rights', async () => {
    expect((await fetch(`${server.url}/v2/_catalog`)).status).toBe(401);
    const reader = await fetch(`${server.url}/v2/_catalog`, {
      headers: { Authorization: basic('reader', 'reader-password') },
    });
    expect(reader.status).toBe(403);
    const admin = await fetch(`${server.url}/v2/_catalog`, {
      headers: { Authorization: basic('admin', 'admin-password') },
    });
    expect(admin.status).toBe(200);
    expect(((await admin.json()) as { repositories: string[] }).repositories).toEqual([
      'apps/web',
      'public/hello',
    ]);
  });
});
