import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputTail } from './process.ts';
import { which } from './tools.ts';

/** Options of {@link skopeo}. */
export interface SkopeoOptions {
  /** Kill skopeo after this long; default 60 s. */
  timeoutMs?: number;
  /** Pass `--debug` (also on when `$SKOPEO_DEBUG` is set); the log ends up in error messages. */
  debug?: boolean;
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
}

/** What a successful skopeo run printed. */
export interface SkopeoResult {
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds. */
  ms: number;
}

interface Sandbox {
  dir: string;
  policy: string;
  registriesD: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A private, permissive skopeo configuration for one run, so no system file matters: a policy
 * that accepts anything, an empty auth file, an empty registries.conf and registries.d, and its
 * own temp dir. The caller removes `dir`.
 */
async function createSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-skopeo-'));
  const policy = join(dir, 'policy.json');
  const auth = join(dir, 'auth.json');
  const registriesConf = join(dir, 'registries.conf');
  const registriesD = join(dir, 'registries.d');
  const tmp = join(dir, 'tmp');
  await Promise.all([
    writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })),
    writeFile(auth, JSON.stringify({ auths: {} })),
    writeFile(registriesConf, ''),
    mkdir(registriesD),
    mkdir(tmp),
  ]);
  return {
    dir,
    policy,
    registriesD,
    env: { REGISTRY_AUTH_FILE: auth, CONTAINERS_REGISTRIES_CONF: registriesConf, TMPDIR: tmp },
  };
}

/**
 * Runs `skopeo <args>` (Debian's skopeo 1.9.3; `$SKOPEO_BIN` overrides the binary) with a private
 * policy and auth file. Resolves with its output when it exits 0; rejects otherwise with the
 * command line, exit status, duration and the tail of stderr.
 *
 * @example
 * ```ts
 * await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${host}/repo:v1`]);
 * const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/repo:v1`]);
 * ```
 */
export async function skopeo(args: readonly string[], options: SkopeoOptions = {}): Promise<SkopeoResult> {
  const binary = process.env.SKOPEO_BIN ?? 'skopeo';
  const command = which(binary);
  if (command === undefined) {
    throw new Error(`${binary} not found on PATH (apt-get install -y --no-install-recommends skopeo)`);
  }
  const box = await createSandbox();
  try {
    return await run(command, args, box, options);
  } finally {
    await rm(box.dir, { recursive: true, force: true });
  }
}

function run(
  command: string,
  args: readonly string[],
  box: Sandbox,
  options: SkopeoOptions,
): Promise<SkopeoResult> {
  const debug = options.debug ?? Boolean(process.env.SKOPEO_DEBUG);
  const fullArgs = [
    ...(debug ? ['--debug'] : []),
    '--policy',
    box.policy,
    '--registries.d',
    box.registriesD,
    ...args,
  ];
  const commandLine = ['skopeo', ...args].map(quote).join(' ');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, fullArgs, {
      env: { ...process.env, ...box.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr = new OutputTail(400);
    const stderrAll: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      if (stderrAll.length < 1_000) stderrAll.push(chunk.toString());
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${commandLine}: cannot run ${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - started);
      const out = Buffer.concat(stdout).toString();
      if (code === 0) {
        resolve({ stdout: out, stderr: stderrAll.join(''), ms });
        return;
      }
      const how = timedOut
        ? `timed out after ${timeoutMs} ms`
        : signal
          ? `was killed by ${signal} after ${ms} ms`
          : `exited with code ${code} after ${ms} ms`;
      const hint = debug ? '' : '\n(set SKOPEO_DEBUG=1 for skopeo --debug output)';
      reject(
        new Error(
          `${commandLine} ${how}\n--- stderr ---\n${stderr.text(80) || '(empty)'}` +
            (out.trim() ? `\n--- stdout ---\n${out.slice(-4_000)}` : '') +
            hint,
        ),
      );
    });
  });
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
