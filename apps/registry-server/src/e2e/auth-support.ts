/**
 * Shared pieces of the auth end-to-end tests: a Berth started on a config of its own with an
 * htpasswd file of test users (bcrypt, cheap cost), a small OCI layout to push, and reading
 * the server's access log.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { htpasswdLine } from '@berth/auth-htpasswd';
import {
  freePort,
  type OciLayout,
  type RunningServer,
  skopeo,
  startBerth,
  writeOciLayout,
} from '@berth/test-servers';

/** Test users and their passwords. */
export const USERS: Readonly<Record<string, string>> = {
  'ci-bot': 'ci-bot-password',
  reader: 'reader-password',
  admin: 'admin-password',
};

/** `--creds`-style `user:password`. */
export function creds(user: string): string {
  return `${user}:${USERS[user]}`;
}

/** The rules both e2e servers use. */
export const RULES_YAML = `    groups:
      ci: [ci-bot]
    rules:
      - repositories: ["public/**"]
        anonymous: true
        actions: [pull]
      - repositories: ["public/**", "apps/**"]
        groups: [ci]
        actions: [pull, push]
      - repositories: ["**"]
        users: [reader]
        actions: [pull]
      - repositories: ["**"]
        users: [admin]
        actions: ["*"]
      - catalog: true
        users: [admin]
`;

/** Writes the htpasswd file (bcrypt cost 5) and returns its path. */
export async function writeHtpasswd(dir: string): Promise<string> {
  const path = join(dir, 'htpasswd');
  const lines = await Promise.all(
    Object.entries(USERS).map(([user, password]) => htpasswdLine(user, password, 5)),
  );
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** Starts Berth on `config(port)` (written to `dir/config.yml`) on a port chosen here. */
export async function startWithConfig(dir: string, config: (port: number) => string): Promise<RunningServer> {
  const port = await freePort();
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, config(port));
  return startBerth({ configFile, port });
}

/** A one-image OCI layout (`v1`) with two small layers. */
export function buildLayout(dir: string): Promise<OciLayout> {
  return writeOciLayout(dir, {
    images: {
      v1: {
        platform: { os: 'linux', architecture: 'amd64' },
        layers: [
          { size: 3000, seed: 'auth-e2e-0' },
          { size: 5000, seed: 'auth-e2e-1', format: 'tar+gzip' },
        ],
      },
    },
  });
}

/** Runs skopeo expecting it to fail; returns its error message. */
export async function skopeoFailure(args: readonly string[]): Promise<string> {
  try {
    await skopeo(args, { timeoutMs: 30_000 });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`skopeo ${args.join(' ')} succeeded, but should have failed`);
}

/** One line of the server's access log. */
export interface AccessLine {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/** The access log lines the server wrote so far. */
export function accessLines(server: RunningServer): AccessLine[] {
  return server
    .logs(2000)
    .split('\n')
    .flatMap((line) => {
      try {
        const record = JSON.parse(line) as { msg?: string; method?: string; path?: string; status?: number };
        return record.msg === 'access'
          ? [{ method: record.method!, path: record.path!, status: record.status! }]
          : [];
      } catch {
        return [];
      }
    });
}

/**
 * Waits (the server writes its log in batches) until an access line matches, and returns every
 * line about `pathPrefix`.
 */
export async function waitForAccess(
  server: RunningServer,
  pathPrefix: string,
  match: (line: AccessLine) => boolean,
): Promise<AccessLine[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const lines = accessLines(server).filter((line) => line.path.startsWith(pathPrefix));
    if (lines.some(match)) return lines;
    if (Date.now() > deadline) {
      throw new Error(`no matching access line for ${pathPrefix}; seen: ${JSON.stringify(lines)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** skopeo flags for plain HTTP on loopback. */
export const TLS_OFF = ['--src-tls-verify=false', '--dest-tls-verify=false'] as const;
