import { describe, expect, it } from 'vitest';
import { isHtpasswdError } from './errors.ts';
import { parseHtpasswd, typicalCost } from './parse.ts';

const hash = (prefix: string, cost = '10'): string => `$${prefix}$${cost}$${'a'.repeat(53)}`;

describe('parseHtpasswd', () => {
  it('reads $2y$, $2a$ and $2b$ entries, skipping blank lines and comments', () => {
    const { entries, warnings } = parseHtpasswd(
      [
        '# users',
        '',
        `alice:${hash('2y')}`,
        `  bob:${hash('2a', '12')}  `,
        `carol:${hash('2b', '04')}`,
        '   ',
      ].join('\n'),
    );
    expect([...entries.keys()]).toEqual(['alice', 'bob', 'carol']);
    expect(entries.get('bob')).toEqual({ hash: hash('2a', '12'), cost: 12 });
    expect(entries.get('carol')?.cost).toBe(4);
    expect(warnings).toEqual([]);
  });

  it('accepts CRLF line ends; a later entry for the same user wins', () => {
    const { entries } = parseHtpasswd(`alice:${hash('2y')}\r\nalice:${hash('2y', '11')}\r\n`);
    expect(entries.get('alice')?.cost).toBe(11);
  });

  it('ignores (with a warning) an entry without a user name', () => {
    const { entries, warnings } = parseHtpasswd(`:${hash('2y')}\nalice:${hash('2y')}`);
    expect([...entries.keys()]).toEqual(['alice']);
    expect(warnings).toEqual(['line 1: entry without a user name ignored']);
  });

  it('rejects a line without a colon, naming the line', () => {
    expect(() => parseHtpasswd(`alice:${hash('2y')}\njustaname\n`)).toThrow(
      'line 2: not a "user:hash" entry',
    );
  });

  it.each([
    ['apr1', '$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/', 'apr1 (Apache MD5)'],
    ['SHA-1', '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'SHA-1'],
    ['crypt', 'rl0uDdInX7VTg', 'DES crypt'],
    ['plain', 'password', 'plain text or unknown'],
    ['md5-crypt', '$1$abc$def', 'MD5-crypt'],
    ['sha512-crypt', '$6$salt$hash', 'SHA-512-crypt'],
    ['truncated bcrypt', '$2y$10$tooshort', 'malformed bcrypt'],
    ['cost 3', `$2y$03$${'a'.repeat(53)}`, 'malformed bcrypt'],
    ['cost 32', `$2y$32$${'a'.repeat(53)}`, 'malformed bcrypt'],
    ['$2x$', `$2x$10$${'a'.repeat(53)}`, 'malformed bcrypt'],
  ])('rejects a %s hash, naming the user and line', (_label, bad, kind) => {
    let error: unknown;
    try {
      parseHtpasswd(`alice:${hash('2y')}\n# comment\nbob:${bad}\n`);
    } catch (e) {
      error = e;
    }
    expect(isHtpasswdError(error, 'HTPASSWD_INVALID')).toBe(true);
    const e = error as { message: string; line: number; user: string };
    expect(e.line).toBe(3);
    expect(e.user).toBe('bob');
    expect(e.message).toBe(
      `line 3: user "bob": unsupported password hash (${kind}); only bcrypt is accepted, as in registry:2 (create entries with "htpasswd -B")`,
    );
  });
});

describe('typicalCost', () => {
  it('is the most common cost, the higher on ties, or the fallback', () => {
    const { entries } = parseHtpasswd(
      [`a:${hash('2y', '10')}`, `b:${hash('2y', '12')}`, `c:${hash('2y', '12')}`].join('\n'),
    );
    expect(typicalCost(entries, 5)).toBe(12);
    expect(typicalCost(new Map(), 10)).toBe(10);
    const tie = parseHtpasswd([`a:${hash('2y', '10')}`, `b:${hash('2y', '11')}`].join('\n'));
    expect(typicalCost(tie.entries, 5)).toBe(11);
  });
});
