/**
 * The real server process against what used to end it: two concurrent PATCHes of one upload
 * (the access log read a socket Node had already detached), with and without auth and the
 * access log, and a bug that escapes every guard.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { htpasswdLine } from '@berth/auth-htpasswd';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { send } from './test-support/http.ts';
import { type Child, cleanEnv, listeningUrl, MAIN, spawnChild, spawnMain } from './test-support/process.ts';

const PRELOAD = fileURLToPath(new URL('./test-support/escape-preload.ts', import.meta.url));

let tmp: string;
const children: Child[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-resilience-'));
  await writeFile(join(tmp, 'htpasswd'), `${await htpasswdLine('bob', 'bob-password', 5)}\n`);
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    await child.exited;
  }
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function configYaml(name: string, extra: string): string {
  return (
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(tmp, name)}\n` +
    `http:\n  addr: 127.0.0.1:0\n  secret: s\n${extra}`
  );
}

const auth = (): string =>
  `auth:\n  htpasswd:\n    realm: test\n    path: ${join(tmp, 'htpasswd')}\nberth:\n  auth:\n    rules:\n      - repositories: ["bob/**"]\n        users: [bob]\n        actions: ["*"]\n`;

/** The two concurrent PATCHes of the report that found the crash, `rounds` times. */
async function concurrentPatches(
  url: string,
  headers: Record<string, string>,
  rounds: number,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const body = Buffer.alloc(round % 2 === 0 ? 500_000 : 3_000_000, round);
    const post = await send(`${url}/v2/bob/x/blobs/uploads/`, { method: 'POST', headers });
    expect(post.status).toBe(202);
    const location = new URL(String(post.headers.location), url).toString();
    const responses = await Promise.all(
      [0, 1].map(() =>
        send(location, {
          method: 'PATCH',
          headers: { ...headers, 'Content-Type': 'application/octet-stream' },
          body,
        }),
      ),
    );
    statuses.push(...responses.map((response) => response.status));
  }
  return statuses;
}

describe.each([
  ['default config (access log on)', '', {}],
  [
    'htpasswd auth limited to bob/**',
    'auth',
    { Authorization: `Basic ${Buffer.from('bob:bob-password').toString('base64')}` },
  ],
  ['access log disabled', 'log:\n  accesslog:\n    disabled: true\n', {}],
] as const)('two concurrent PATCHes of one upload, %s', (label, extra, headers) => {
  it('leave the server serving: each pair is one 202 and one 416 (or two 416)', async () => {
    const name = label.replace(/\W+/g, '-');
    const config = join(tmp, `${name}.yml`);
    await writeFile(config, configYaml(name, extra === 'auth' ? auth() : extra));
    const child = spawnMain([config]);
    children.push(child);
    const { url } = await listeningUrl(child);

    const statuses = await concurrentPatches(url, headers, 8);
    for (let i = 0; i < statuses.length; i += 2) {
      const pair = statuses.slice(i, i + 2).sort();
      expect([
        [202, 416],
        [416, 416],
      ]).toContainEqual(pair);
    }
    const base = await send(`${url}/v2/`, { headers });
    expect(base.status).toBe(200);
    expect(child.process.exitCode).toBeNull();
    expect(child.records().filter((r) => r.level === 'error')).toEqual([]);
  });
});

describe.each(['exception', 'rejection'] as const)('an unhandled %s once serving', (kind) => {
  it('is logged at error level with its stack, counted, and the server keeps serving', async () => {
    const config = join(tmp, `escape-${kind}.yml`);
    await writeFile(config, configYaml(`escape-${kind}`, ''));
    const child = spawnChild(
      process.execPath,
      ['--conditions=@berth/source', '--import', PRELOAD, MAIN, config],
      {
        env: cleanEnv({ BERTH_TEST_ESCAPE: kind }),
      },
    );
    children.push(child);
    const { url } = await listeningUrl(child);
    expect((await send(`${url}/v2/`)).status).toBe(200);

    child.process.kill('SIGUSR2');
    const record = await child.waitFor((r) => r.level === 'error');
    expect(record.msg).toBe(
      `${kind === 'exception' ? 'uncaught exception' : 'unhandled rejection'} (a bug; the server keeps serving)`,
    );
    expect(String(record.error)).toMatch(/^injected/);
    expect(String(record.stack)).toMatch(/\n\s+at /);

    expect((await send(`${url}/v2/`)).status).toBe(200);
    expect(child.process.exitCode).toBeNull();
  });
});
