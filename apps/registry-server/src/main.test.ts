/**
 * The real entry point as a child process: signals, drain, exit codes, config errors, and
 * `pnpm start` from another directory.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectionRefused, send, startUpload, trickle } from './test-support/http.ts';
import {
  APP_DIR,
  type Child,
  cleanEnv,
  listeningUrl,
  MAIN,
  spawnChild,
  spawnMain,
} from './test-support/process.ts';

let tmp: string;
const children: Child[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-main-'));
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

async function writeConfig(name: string, yaml: string): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, yaml);
  return path;
}

function track(child: Child): Child {
  children.push(child);
  return child;
}

describe('main.ts', () => {
  it('on SIGTERM refuses new connections, finishes the in-flight upload and exits 0 within http.draintimeout', async () => {
    const config = await writeConfig(
      'drain.yml',
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(tmp, 'drain-root')}\n` +
        'http:\n  addr: 127.0.0.1:0\n  secret: s\n  draintimeout: 10s\n',
    );
    const child = track(spawnMain([config]));
    const { url, port } = await listeningUrl(child);

    const location = await startUpload(url, 'test/drain');
    const upload = trickle(location);
    await upload.write('some bytes ');
    await child.waitFor((r) => r.msg === 'access' && r.method === 'POST');
    // Let the server take the PATCH in (a connection still sending its headers would be closed).
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalled = performance.now();
    child.kill('SIGTERM');
    await child.waitFor((r) => String(r.msg).startsWith('stopping server gracefully'));
    expect(await connectionRefused(port)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const response = await upload.finish('and the rest');
    expect(response.status).toBe(202);
    expect(await child.exited).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(10_000);
    expect(child.records().find((r) => r.msg === 'access' && r.method === 'PATCH')).toMatchObject({
      status: 202,
    });
    expect(child.records().at(-1)).toMatchObject({ msg: 'server stopped' });
  });

  it('exits 0 at once on SIGINT when idle', async () => {
    const config = await writeConfig(
      'idle.yml',
      'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n',
    );
    const child = track(spawnMain([config]));
    await listeningUrl(child);
    child.kill('SIGINT');
    expect(await child.exited).toBe(0);
  });

  it('takes the config path from REGISTRY_CONFIGURATION_PATH and applies REGISTRY_* overrides', async () => {
    const config = await writeConfig(
      'env.yml',
      'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:1\n',
    );
    const child = track(
      spawnMain([], {
        env: cleanEnv({
          REGISTRY_CONFIGURATION_PATH: config,
          REGISTRY_HTTP_ADDR: '127.0.0.1:0',
          REGISTRY_LOG_FIELDS_REPLICA: 'a',
        }),
      }),
    );
    const { url } = await listeningUrl(child);
    expect((await send(`${url}/v2/`)).status).toBe(200);
    expect(child.records().find((r) => r.msg === 'listening')).toMatchObject({ replica: 'a' });
  });

  it('exits 1 with the problems, naming each key and no stack trace, on an invalid config', async () => {
    const config = await writeConfig(
      'bad.yml',
      'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: [x]\nhttp:\n  draintimeout: 5x\n',
    );
    const child = track(spawnMain([config]));
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toBe(
      `berth-registry: invalid configuration (${config}):\n` +
        '  - storage.filesystem.rootdirectory: must be a string, got object\n' +
        '  - http.draintimeout: invalid duration "5x" (unknown unit "x"; use ns, us, ms, s, m or h)\n',
    );
    expect(child.lines).toEqual([]);
  });

  it('exits 1 with a message when the config file does not exist', async () => {
    const child = track(spawnMain([join(tmp, 'nope.yml')]));
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toBe(
      `berth-registry: invalid configuration (${join(tmp, 'nope.yml')}): cannot read configuration file: no such file\n`,
    );
  });

  it('exits 1 without a stack when the address is taken', async () => {
    const config = await writeConfig(
      'a.yml',
      'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n',
    );
    const first = track(spawnMain([config]));
    const { port } = await listeningUrl(first);
    const second = track(spawnMain([config], { env: cleanEnv({ REGISTRY_HTTP_ADDR: `127.0.0.1:${port}` }) }));
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toBe(
      `berth-registry: http.addr: cannot listen on 127.0.0.1:${port}: address already in use\n`,
    );
  });

  it('logs process warnings at warn level, once per code or name, and leaves stderr empty', async () => {
    const config = await writeConfig(
      'warnings.yml',
      'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n',
    );
    const preload = fileURLToPath(new URL('./test-support/warning-preload.ts', import.meta.url));
    const child = track(
      spawnChild(process.execPath, ['--conditions=@berth/source', '--import', preload, MAIN, config]),
    );
    await listeningUrl(child);
    child.process.kill('SIGUSR2');
    await child.waitFor((r) => r.warning === 'Warning');
    // Give a repeated warning the time to show up, were it logged again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const warnings = child.records().filter((r) => String(r.msg).startsWith('process warning: '));
    expect(warnings.map((r) => [r.level, r.warning, r.code])).toEqual([
      ['warn', 'DeprecationWarning', 'DEP_BERTH_TEST'],
      ['warn', 'MaxListenersExceededWarning', undefined],
      ['warn', 'Warning', undefined],
    ]);
    expect(warnings[0]!.msg).toBe('process warning: berthTestApi() is deprecated');
    expect(warnings[1]!.msg).toMatch(
      /^process warning: Possible EventEmitter memory leak detected\. 11 error listeners/,
    );
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(child.stderr()).toBe('');
  });

  it('accepts registry:2 style `serve <config>`', async () => {
    const config = await writeConfig(
      'serve.yml',
      'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n',
    );
    const child = track(spawnMain(['serve', config]));
    await listeningUrl(child);
  });
});

/** The pnpm to run `pnpm start` with: the one running the tests, else the first on PATH. */
function findPnpm(): string[] | undefined {
  const execPath = process.env.npm_execpath;
  if (execPath?.includes('pnpm'))
    return execPath.endsWith('.cjs') || execPath.endsWith('.js') ? [process.execPath, execPath] : [execPath];
  try {
    return [execFileSync('sh', ['-c', 'command -v pnpm'], { encoding: 'utf8' }).trim()].filter(
      (p) => p !== '',
    );
  } catch {
    return undefined;
  }
}

const pnpm = findPnpm();
const REPO_ROOT = join(APP_DIR, '../..');

describe.skipIf(pnpm === undefined || pnpm.length === 0)(
  `pnpm start from another directory${pnpm === undefined ? ' (skipped: pnpm not found)' : ''}`,
  () => {
    const spawnPnpm = (cwd: string, args: string[], env: Record<string, string>): Child => {
      const [command, ...rest] = pnpm!;
      return track(
        spawnChild(command!, [...rest, '--dir', REPO_ROOT, '--silent', 'start', ...args], {
          cwd,
          env: cleanEnv(env),
          detached: true,
        }),
      );
    };

    it('with no config serves the embedded default with storage under ./data of the directory it was run in', async () => {
      const cwd = await mkdtemp(join(tmp, 'cwd-'));
      const child = spawnPnpm(cwd, [], { REGISTRY_HTTP_ADDR: '127.0.0.1:0' });
      const { url } = await listeningUrl(child);
      expect(child.records().find((r) => r.msg === 'storage driver ready')).toMatchObject({
        driver: 'filesystem',
        rootdirectory: join(cwd, 'data'),
        delete: false,
      });
      const blob = 'hello berth';
      const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
      const location = await startUpload(url, 'test/default');
      const put = await send(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, {
        method: 'PUT',
        body: blob,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(put.status).toBe(201);
      const data = await stat(
        join(cwd, 'data/docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data'),
      );
      expect(data.size).toBe(blob.length);
      child.kill('SIGTERM');
      await child.exited;
    }, 30_000);

    it('resolves a relative config path against the directory it was run in', async () => {
      const cwd = await mkdtemp(join(tmp, 'cwd-'));
      await writeFile(
        join(cwd, 'my-config.yml'),
        'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ./store\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n',
      );
      const child = spawnPnpm(cwd, ['my-config.yml'], {});
      await listeningUrl(child);
      expect(child.records().find((r) => r.msg === 'starting berth registry')).toMatchObject({
        config: join(cwd, 'my-config.yml'),
      });
      expect(child.records().find((r) => r.msg === 'storage driver ready')).toMatchObject({
        rootdirectory: join(cwd, 'store'),
      });
      child.kill('SIGTERM');
      await child.exited;
      expect(await readdir(cwd)).toContain('my-config.yml');
    }, 30_000);
  },
);
