/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull"`
 * or `Basic realm="Registry Realm"`, possibly several in one header.
 */

/** One challenge: its scheme (lower case) and its auth-params (names lower case). */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/**
 * Parses a `WWW-Authenticate` value into its challenges. Quoted strings may hold commas and
 * escaped quotes; an unparsable remainder ends the parse (what came before is kept).
 *
 * @example
 * ```ts
 * parseChallenges('Bearer realm="https://a/token",service="reg"')
 * // [{ scheme: 'bearer', params: { realm: 'https://a/token', service: 'reg' } }]
 * ```
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let rest = header.trim();
  while (rest !== '') {
    const scheme = TOKEN.exec(rest)?.[0];
    if (scheme === undefined) break;
    rest = rest.slice(scheme.length).trimStart();
    const current = { scheme: scheme.toLowerCase(), params: {} as Record<string, string> };
    challenges.push(current);
    // auth-params: name = token | quoted-string, separated by commas; a name not followed by
    // `=` starts the next challenge.
    for (;;) {
      const name = TOKEN.exec(rest)?.[0];
      if (name === undefined) break;
      const after = rest.slice(name.length).trimStart();
      if (!after.startsWith('=') || after.startsWith('==')) break;
      let value: string;
      let remainder = after.slice(1).trimStart();
      if (remainder.startsWith('"')) {
        let i = 1;
        value = '';
        while (i < remainder.length && remainder[i] !== '"') {
          if (remainder[i] === '\\' && i + 1 < remainder.length) i++;
          value += remainder[i];
          i++;
        }
        if (i >= remainder.length) return challenges; // unterminated quoted string
        remainder = remainder.slice(i + 1);
      } else {
        const token = TOKEN.exec(remainder)?.[0];
        if (token === undefined) return challenges;
        value = token;
        remainder = remainder.slice(token.length);
      }
      current.params[name.toLowerCase()] = value;
      rest = remainder.trimStart();
      if (!rest.startsWith(',')) break;
      rest = rest.slice(1).trimStart();
    }
    if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
  }
  return challenges;
}
