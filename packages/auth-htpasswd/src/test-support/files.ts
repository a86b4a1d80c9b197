import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

/** A temp dir and its removal. */
export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'berth-htpasswd-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** `user:$2y$…` with a cheap cost (tests only). */
export function line(user: string, password: string, cost = 4): string {
  return `${user}:${bcrypt.hashSync(password, cost).replace(/^\$2b\$/, '$2y$')}`;
}
