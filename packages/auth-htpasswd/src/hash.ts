import bcrypt from 'bcryptjs';

/**
 * An htpasswd line for `user` with a bcrypt hash of `password` (`$2y$`, as `htpasswd -B`
 * writes it), e.g. for tests or a provisioning script. Runs bcryptjs' asynchronous API, which
 * yields to the event loop between rounds.
 *
 * @param cost - the bcrypt cost factor (4–31). @default 10
 *
 * @example
 * ```ts
 * await writeFile('htpasswd', `${await htpasswdLine('alice', 'secret', 12)}\n`);
 * ```
 */
export async function htpasswdLine(user: string, password: string, cost: number = 10): Promise<string> {
  if (user === '' || user.includes(':') || /[\r\n]/.test(user)) {
    throw new TypeError(`invalid htpasswd user name ${JSON.stringify(user)}`);
  }
  const hash = await bcrypt.hash(password, cost);
  return `${user}:${hash.replace(/^\$2b\$/, '$2y$')}`;
}
