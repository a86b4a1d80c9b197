/**
 * Berth as a pull-through cache with real upstreams and a real client: registry:2 2.8.2
 * (Debian) anonymous and with htpasswd, and Berth with its built-in token issuer (Bearer). skopeo
 * pulls a multi-arch image and its referrer through the mirror; then the upstream is stopped,
 * the mirror restarted, and the same pull still succeeds from the cache.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { htpasswdLine } from '@berth/auth-htpasswd';
import {
  e2eSkipReason,
  freePort,
  type OciLayout,
  type RunningServer,
  reachableBlobs,
  skopeo,
  startBerth,
  startRegistry2,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copy,
  expectedBlobs,
  getJson,
  insecureDestination,
  multiPlatformWithReferrer,
  SBOM_TYPE,
  tempDir,
} from './support.ts';

const skip = e2eSkipReason(['skopeo', 'docker-registry']);

async function buildLayout(dir: string): Promise<OciLayout> {
  return writeOciLayout(dir, multiPlatformWithReferrer('mirror'));
}

/** Pushes the index (all platforms) as `name:v1` and the referrer by digest. */
async function pushLayout(layout: OciLayout, host: string, name: string, creds?: string): Promise<void> {
  const auth = creds === undefined ? [] : [`--dest-creds=${creds}`];
  for (const [source, reference, all] of [
    ['multi', ':v1', true],
    ['sbom', `@${layout.refs.sbom!.digest}`, false],
  ] as const) {
    await skopeo(
      [
        'copy',
        ...(all ? ['--all'] : []),
        '--preserve-digests',
        insecureDestination,
        ...auth,
        '--quiet',
        `oci:${layout.dir}:${source}`,
        `docker://${host}/${name}${reference}`,
      ],
      { timeoutMs: 90_000 },
    );
  }
}

/** Pulls `name:v1` (all platforms) and the referrer through `mirror` and checks every digest. */
async function pullThrough(
  mirror: RunningServer,
  name: string,
  layout: OciLayout,
  into: string,
  ref: string,
): Promise<void> {
  await copy(`docker://${mirror.host}/${name}:v1`, `oci:${into}:${ref}`, { all: true });
  expect(await reachableBlobs(into, ref)).toEqual(expectedBlobs(layout.indexes.multi!));
  await copy(`docker://${mirror.host}/${name}@${layout.refs.sbom!.digest}`, `oci:${into}:${ref}-sbom`);
  expect(await reachableBlobs(into, `${ref}-sbom`)).toEqual(expectedBlobs(layout.artifacts.sbom!));
}

function mirrorYaml(root: string, port: number, proxy: string[]): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(root)}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: mirror-e2e',
    'proxy:',
    ...proxy.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

describe.skipIf(skip !== undefined)(
  `pull-through cache end to end${skip === undefined ? '' : ` (${skip})`}`,
  () => {
    let dir: { path: string; remove(): Promise<void> };
    let layout: OciLayout;
    const servers: RunningServer[] = [];
    const started = <T extends RunningServer>(server: T): T => {
      servers.push(server);
      return server;
    };

    beforeAll(async () => {
      dir = await tempDir('mirror');
      layout = await buildLayout(join(dir.path, 'layout'));
    }, 60_000);
    afterAll(async () => {
      await Promise.all(servers.map((server) => server.stop().catch(() => {})));
      await dir?.remove();
    });

    it('registry:2 upstream, anonymous: pull, referrers, upstream stopped, mirror restarted, pull again', async () => {
      const upstream = started(await startRegistry2({ rootDirectory: join(dir.path, 'r2-open') }));
      await pushLayout(layout, upstream.host, 'team/app');
      const configFile = join(dir.path, 'mirror-open.yml');
      const root = join(dir.path, 'mirror-open');
      const port = await freePort();
      await writeFile(configFile, mirrorYaml(root, port, [`remoteurl: ${upstream.url}`]));
      let mirror = started(await startBerth({ configFile, port }));

      await pullThrough(mirror, 'team/app', layout, join(dir.path, 'pulled-open'), 'first');
      // registry:2 has no referrers API: the mirror answers from what it cached.
      const referrers = await getJson(
        `${mirror.url}/v2/team/app/referrers/${layout.indexes.multi!.descriptor.digest}`,
      );
      const listed = (referrers.body as { manifests: { digest: string; artifactType?: string }[] }).manifests;
      expect(listed.map((d) => d.digest)).toEqual([layout.refs.sbom!.digest]);
      expect(listed[0]?.artifactType).toBe(SBOM_TYPE);
      // Pushes are refused with the envelope.
      const push = await fetch(`${mirror.url}/v2/team/app/blobs/uploads/`, { method: 'POST' });
      expect(push.status).toBe(405);
      expect(((await push.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNSUPPORTED');

      await upstream.stop();
      await mirror.stop();
      mirror = started(await startBerth({ configFile, port }));
      await pullThrough(mirror, 'team/app', layout, join(dir.path, 'pulled-open'), 'offline');
      const tag = await fetch(`${mirror.url}/v2/team/app/manifests/v1`, { method: 'HEAD' });
      expect(tag.headers.get('docker-content-digest')).toBe(layout.indexes.multi!.descriptor.digest);
      // A tag never pulled: the error names the upstream's failure, not MANIFEST_UNKNOWN.
      const never = await fetch(`${mirror.url}/v2/team/app/manifests/v2`);
      expect(never.status).toBe(503);
      expect(((await never.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAVAILABLE');
      await mirror.stop();
    }, 180_000);

    it('registry:2 upstream with htpasswd: the mirror logs in with proxy.username/password', async () => {
      const htpasswd = join(dir.path, 'htpasswd');
      await writeFile(htpasswd, `${await htpasswdLine('mirror', 'mirror-password', 5)}\n`);
      const upstream = started(
        await startRegistry2({
          rootDirectory: join(dir.path, 'r2-auth'),
          extraYaml: [
            'auth:',
            '  htpasswd:',
            '    realm: mirror-e2e',
            `    path: ${JSON.stringify(htpasswd)}`,
            '',
          ].join('\n'),
        }),
      );
      await pushLayout(layout, upstream.host, 'team/app', 'mirror:mirror-password');
      const authPort = await freePort();
      const configFile = join(dir.path, 'mirror-auth.yml');
      await writeFile(
        configFile,
        mirrorYaml(join(dir.path, 'mirror-auth'), authPort, [
          `remoteurl: ${upstream.url}`,
          'username: mirror',
          'password: mirror-password',
        ]),
      );
      const mirror = started(await startBerth({ configFile, port: authPort }));
      await pullThrough(mirror, 'team/app', layout, join(dir.path, 'pulled-auth'), 'auth');
      await mirror.stop();
      await upstream.stop();
    }, 180_000);

    it('Berth upstream with its token issuer: the Bearer flow with the realm on the same host', async () => {
      const htpasswd = join(dir.path, 'issuer-htpasswd');
      await writeFile(
        htpasswd,
        `${[await htpasswdLine('mirror', 'mirror-password', 5), await htpasswdLine('admin', 'admin-password', 5)].join('\n')}\n`,
      );
      const key = join(dir.path, 'issuer-key.pem');
      await writeFile(
        key,
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          type: 'pkcs8',
          format: 'pem',
        }),
      );
      const upstreamPort = await freePort();
      const upstreamConfig = join(dir.path, 'upstream-token.yml');
      await writeFile(
        upstreamConfig,
        [
          'version: 0.1',
          'log:',
          '  level: warn',
          'storage:',
          '  filesystem:',
          `    rootdirectory: ${JSON.stringify(join(dir.path, 'upstream-token'))}`,
          'http:',
          `  addr: 127.0.0.1:${upstreamPort}`,
          '  secret: upstream-e2e',
          'auth:',
          '  token:',
          '    service: upstream-e2e',
          '    issuer: upstream-e2e-issuer',
          'berth:',
          '  auth:',
          '    issuer:',
          `      htpasswd: ${JSON.stringify(htpasswd)}`,
          `      signingkey: ${JSON.stringify(key)}`,
          '    rules:',
          '      - repositories: ["**"]',
          '        users: [mirror]',
          '        actions: [pull]',
          '      - repositories: ["**"]',
          '        users: [admin]',
          '        actions: ["*"]',
          '',
        ].join('\n'),
      );
      const upstream = started(await startBerth({ configFile: upstreamConfig, port: upstreamPort }));
      await pushLayout(layout, upstream.host, 'team/app', 'admin:admin-password');
      const tokenPort = await freePort();
      const configFile = join(dir.path, 'mirror-token.yml');
      await writeFile(
        configFile,
        mirrorYaml(join(dir.path, 'mirror-token'), tokenPort, [
          `remoteurl: ${upstream.url}`,
          'username: mirror',
          'password: mirror-password',
        ]),
      );
      const mirror = started(await startBerth({ configFile, port: tokenPort }));
      await pullThrough(mirror, 'team/app', layout, join(dir.path, 'pulled-token'), 'token');
      // Berth as upstream has the referrers API: the mirror forwards it.
      const referrers = await getJson(
        `${mirror.url}/v2/team/app/referrers/${layout.indexes.multi!.descriptor.digest}`,
      );
      expect((referrers.body as { manifests: { digest: string }[] }).manifests.map((d) => d.digest)).toEqual([
        layout.refs.sbom!.digest,
      ]);
      await mirror.stop();
      await upstream.stop();
    }, 180_000);
  },
);
