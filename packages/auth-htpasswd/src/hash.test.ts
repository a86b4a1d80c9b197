import { describe, expect, it } from 'vitest';
import { htpasswdLine } from './hash.ts';
import { parseHtpasswd } from './parse.ts';

describe('htpasswdLine', () => {
  it('writes a $2y$ bcrypt entry the parser accepts', async () => {
    const entry = await htpasswdLine('alice', 'secret', 4);
    expect(entry).toMatch(/^alice:\$2y\$04\$/);
    expect(parseHtpasswd(entry).entries.get('alice')?.cost).toBe(4);
  });

  it.each(['', 'a:b', 'a\nb'])('rejects the user name %j', async (user) => {
    await expect(htpasswdLine(user, 'x', 4)).rejects.toThrow(TypeError);
  });
});
