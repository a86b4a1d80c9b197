import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from './cli.ts';
import { createProgress, type Io } from './io.ts';
import { berth, type TempRegistry, tempRegistry } from './test-support.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('berth command line', () => {
  let reg: TempRegistry;
  beforeAll(async () => {
    reg = await tempRegistry();
  });
  afterAll(async () => {
    await reg.remove();
  });

  it('--help lists every command; each command has its own --help', async () => {
    const main = await berth(['--help']);
    expect(main.code).toBe(0);
    for (const command of COMMANDS) {
      expect(main.stdout).toContain(`  ${command.name} `);
      const own = await berth([command.name, '--help']);
      expect(own).toMatchObject({ code: 0, stderr: '' });
      expect(own.stdout).toMatch(new RegExp(`^Usage: berth ${command.name} \\[CONFIG\\]`));
      expect((await berth(['help', command.name])).stdout).toBe(own.stdout);
    }
  });

  it('--version prints the version', async () => {
    expect(await berth(['--version'])).toEqual({ code: 0, stdout: 'berth 0.0.0\n', stderr: '' });
    expect((await berth(['-V'])).stdout).toBe('berth 0.0.0\n');
  });

  it.each([
    [[], /Usage: berth COMMAND/],
    [['frobnicate'], /berth: unknown command "frobnicate"/],
    [['--frob'], /berth: unknown option "--frob"/],
    [['gc', 'c.yml', '--frob'], /berth gc: unknown option '--frob'/],
    [['gc', 'c.yml', '--grace'], /berth gc: option '--grace <value>' argument missing/],
    [['gc', 'c.yml', '--grace', '5x'], /berth gc: --grace: invalid duration "5x"/],
    [['gc', 'c.yml', '--grace=-1h'], /berth gc: --grace: must not be negative/],
    [['gc', 'c.yml', 'extra'], /berth gc: unexpected argument "extra"/],
    [['du', 'c.yml', 'a', 'b'], /berth du: unexpected argument "b" \(expected \[CONFIG\] \[REPOSITORY\]\)/],
    [['catalog', 'c.yml', 'Not/Valid'], /berth catalog: invalid repository name "Not\/Valid"/],
    [
      ['purge-uploads', 'c.yml', '--older-than', 'soon'],
      /berth purge-uploads: --older-than: invalid duration/,
    ],
    [['verify', 'c.yml', '--dry-run'], /berth verify: unknown option '--dry-run'/],
  ])('argument error %j names the problem and exits 2', async (argv, message) => {
    const result = await berth(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('takes CONFIG from REGISTRY_CONFIGURATION_PATH when not given', async () => {
    const result = await berth(['gc', '--dry-run', '--quiet'], {
      env: { REGISTRY_CONFIGURATION_PATH: reg.config },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Dry run: would delete 0 manifests/);
  });

  it('configuration errors exit 1 with the message naming the key', async () => {
    const bad = join(reg.dir, 'bad.yml');
    await writeFile(
      bad,
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${reg.root}\n  delete:\n    enabled: maybe\n`,
    );
    const result = await berth(['gc', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^berth gc: invalid configuration \(.*bad\.yml\): storage\.delete\.enabled: must be true or false/,
    );

    const env = await berth(['du', reg.config], { env: { REGISTRY_STORAGE_DELETE_ENABLED: 'nope' } });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain('storage.delete.enabled');
    expect(env.stderr).toContain('REGISTRY_STORAGE_DELETE_ENABLED');

    const missing = await berth(['verify', join(reg.dir, 'nope.yml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read configuration file: no such file/);

    const s3 = join(reg.dir, 's3.yml');
    await writeFile(s3, 'version: 0.1\nstorage:\n  s3:\n    bucket: b\n');
    expect((await berth(['catalog', s3])).stderr).toMatch(/storage\.s3/);
  });

  it('works on any driver, e.g. inmemory', async () => {
    const mem = join(reg.dir, 'mem.yml');
    await writeFile(mem, 'version: 0.1\nstorage:\n  inmemory: {}\n');
    for (const command of COMMANDS) {
      const result = await berth([command.name, mem, '--json']);
      expect({ command: command.name, code: result.code }).toEqual({ command: command.name, code: 0 });
      expect(() => JSON.parse(result.stdout)).not.toThrow();
    }
  });

  it('the executable runs with node (exit status, --version)', () => {
    const version = spawnSync(process.execPath, ['--conditions=@berth/source', MAIN, '--version'], {
      encoding: 'utf8',
    });
    expect({ status: version.status, stdout: version.stdout }).toEqual({
      status: 0,
      stdout: 'berth 0.0.0\n',
    });
    const bad = spawnSync(process.execPath, ['--conditions=@berth/source', MAIN, 'gc', '--frob'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown option '--frob'");
  }, 30_000);
});

describe('progress', () => {
  const capture = (tty: boolean) => {
    let text = '';
    const io: Io = {
      stdout: { write() {} },
      stderr: { write: (t: string) => (text += t) },
      stderrIsTTY: tty,
      columns: 40,
      env: {},
      cwd: '/',
    };
    return { io, text: () => text };
  };

  it('is throttled, truncated to the terminal and cleared at the end on a TTY', () => {
    const { io, text } = capture(true);
    let clock = 0;
    const progress = createProgress(io, true, () => clock);
    progress.update('first');
    progress.update('dropped (within 100 ms)');
    clock = 150;
    progress.update('x'.repeat(100));
    progress.done();
    expect(text()).toBe(`\r\x1b[2Kfirst\r\x1b[2K${'x'.repeat(38)}…\r\x1b[2K`);
  });

  it('writes nothing when stderr is not a TTY or progress is off (--quiet, --json)', () => {
    for (const [tty, enabled] of [
      [false, true],
      [true, false],
    ] as const) {
      const { io, text } = capture(tty);
      const progress = createProgress(io, enabled);
      progress.update('x', true);
      progress.done();
      expect(text()).toBe('');
    }
  });
});
