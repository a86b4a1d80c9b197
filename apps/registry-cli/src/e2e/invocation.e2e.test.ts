/**
 * The server and the CLI, started the ways a user starts them (`./berth`, `pnpm start` /
 * `pnpm berth`) from a directory that is not the repository, resolve relative paths — the config
 * file, a relative `rootdirectory`, the embedded default's `./data` — to the same storage: a
 * blob pushed through the server is what `berth du` then reports.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './support.ts';

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
const LAUNCHER = join(ROOT, 'berth');

/** The environment without the variables of the pnpm script running the tests. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('REGISTRY_') || key.startsWith('npm_') || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** The pnpm running the tests (a script of the root package.json), else the first on PATH. */
function pnpmCommand(): string[] {
  const execPath = process.env.npm_execpath;
  if (execPath?.includes('pnpm')) return /\.c?js$/.test(execPath) ? [process.execPath, execPath] : [execPath];
  return [execFileSync('sh', ['-c', 'command -v pnpm'], { encoding: 'utf8' }).trim()];
}

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly root: string;
}

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.pid !== undefined) {
      process.kill(-child.pid, 'SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
});

/** Starts `command args` in `cwd` and waits for the server's `listening` and storage lines. */
function startServer(command: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Started> {
  const [file, ...args] = command;
  // Its own process group, so that pnpm and the node it starts are stopped together, by PID.
  const child = spawn(file!, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    let root: string | undefined;
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (err += text));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const record = JSON.parse(line) as { msg?: string; addr?: string; rootdirectory?: string };
        if (record.msg === 'storage driver ready') root = record.rootdirectory;
        if (record.msg === 'listening' && root !== undefined) {
          const addr = record.addr!;
          resolve({ child, url: `http://127.0.0.1:${addr.slice(addr.lastIndexOf(':') + 1)}`, root });
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}\n${out}\n${err}`)));
  });
}

function run(
  command: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Pushes one blob into `repo` through the server. */
async function pushBlob(url: string, repo: string, content: string): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  const post = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: content,
  });
  expect(post.status).toBe(201);
  return digest;
}

/** The repositories `berth du --json` reports. */
function repositoriesOf(stdout: string): string[] {
  const report = JSON.parse(stdout) as { repositories: { repository: string }[] };
  return report.repositories.map((row) => row.repository).sort();
}

const ways: [string, (cwd: string) => { server: string[]; cli: string[] }][] = [
  ['./berth', () => ({ server: [LAUNCHER, 'start'], cli: [LAUNCHER] })],
  [
    'pnpm start / pnpm berth',
    () => {
      const pnpm = pnpmCommand();
      return {
        server: [...pnpm, '--dir', ROOT, '--silent', 'start'],
        cli: [...pnpm, '--dir', ROOT, '--silent', 'berth'],
      };
    },
  ],
];

describe.each(ways)('server and CLI through %s, from another directory', (_, commands) => {
  it('a relative config path and a relative rootdirectory mean the same storage to both', async () => {
    const dir = await tempDir('invocation');
    try {
      const work = join(dir.path, 'site');
      const sub = join(work, 'sub');
      await mkdir(sub, { recursive: true });
      await writeFile(
        join(work, 'config.yml'),
        'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ./store\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n',
      );
      const { server, cli } = commands(sub);
      const started = await startServer([...server, '../config.yml'], sub, userEnv());
      // registry:2 resolves a relative rootdirectory against the working directory, not the file.
      expect(started.root).toBe(join(sub, 'store'));
      await pushBlob(started.url, 'team/app', 'pushed through the server');

      const du = await run([...cli, 'du', '../config.yml', '--json'], sub, userEnv());
      expect(du.stderr).toBe('');
      expect(du.code).toBe(0);
      expect(repositoriesOf(du.stdout)).toEqual(['team/app']);
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it('with no config at all both use ./data of the directory they run in', async () => {
    const dir = await tempDir('invocation-default');
    try {
      const { server, cli } = commands(dir.path);
      const started = await startServer(server, dir.path, userEnv({ REGISTRY_HTTP_ADDR: '127.0.0.1:0' }));
      expect(started.root).toBe(join(dir.path, 'data'));
      await pushBlob(started.url, 'team/default', 'the embedded default');

      const du = await run([...cli, 'du', '--json'], dir.path, userEnv());
      expect(du.code).toBe(0);
      expect(repositoriesOf(du.stdout)).toEqual(['team/default']);
      // A first argument that is no config file is the repository.
      const one = await run([...cli, 'du', 'team/default', '--json'], dir.path, userEnv());
      expect(one.code).toBe(0);
      expect(repositoriesOf(one.stdout)).toEqual(['team/default']);
    } finally {
      await dir.remove();
    }
  }, 60_000);
});

describe('on an unsupported Node.js', () => {
  const node20 = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' });
      return /^v(1\d|2[0-1])\./.test(version) || /^v22\.(\d|1[0-7])\./.test(version);
    } catch {
      return false;
    }
  });

  it.skipIf(node20 === undefined)(
    `every entry point fails at once with one line naming the Node needed${node20 === undefined ? ' (skipped: no Node older than 22.18 on this machine)' : ''}`,
    async () => {
      for (const entry of [
        'apps/registry-server/bin/berth-registry.mjs',
        'apps/registry-cli/bin/berth.mjs',
      ]) {
        const result = await run(
          [node20!, '--conditions=@berth/source', join(ROOT, entry), '--help'],
          ROOT,
          userEnv(),
        );
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toMatch(/^berth: Node\.js 22\.18\+ or 24\+ is needed, this is v\d+/);
      }
    },
  );
});
