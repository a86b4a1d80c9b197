import { describe, expect, it, vi } from 'vitest';
import type { AccessRecord } from './access.ts';
import { createBasicAccessController, parseBasicAuthorization } from './basic.ts';
import type { AuthRequest, CredentialCheck, CredentialVerifier } from './controller.ts';
import { createAccessPolicy } from './policy.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('parseBasicAuthorization', () => {
  it.each<[string | undefined, ReturnType<typeof parseBasicAuthorization>]>([
    [undefined, { kind: 'none' }],
    ['', { kind: 'none' }],
    [`Basic ${b64('alice:secret')}`, { kind: 'basic', username: 'alice', password: 'secret' }],
    [`basic ${b64('alice:secret')}`, { kind: 'basic', username: 'alice', password: 'secret' }],
    [`BASIC ${b64('a:b:c')}`, { kind: 'basic', username: 'a', password: 'b:c' }],
    [`Basic ${b64(':')}`, { kind: 'basic', username: '', password: '' }],
    [`Basic ${b64('ünï:cödé')}`, { kind: 'basic', username: 'ünï', password: 'cödé' }],
    [`Basic ${b64('nocolon')}`, { kind: 'malformed' }],
    ['Basic', { kind: 'malformed' }],
    ['Basic ', { kind: 'malformed' }],
    ['Basic !!!!', { kind: 'malformed' }],
    ['Basic YWxpY2U6c2VjcmV0=', { kind: 'malformed' }],
    ['Basic YWxpY2U6c2VjcmV', { kind: 'malformed' }],
    [`Basic  ${b64('a:b')}`, { kind: 'malformed' }],
    ['Bearer abc.def.ghi', { kind: 'malformed' }],
    ['Digest username="a"', { kind: 'malformed' }],
    [`Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, { kind: 'malformed' }],
  ])('%j', (header, expected) => {
    expect(parseBasicAuthorization(header)).toEqual(expected);
  });
});

function request(authorization?: string): AuthRequest {
  return {
    method: 'GET',
    url: 'http://localhost/v2/',
    header: (name) => (name.toLowerCase() === 'authorization' ? authorization : undefined),
    remoteAddress: '10.0.0.1',
  };
}

function verifier(result: (user: string, password: string) => CredentialCheck): CredentialVerifier & {
  calls: unknown[][];
} {
  const calls: unknown[][] = [];
  return {
    calls,
    async verify(user, password, client) {
      calls.push([user, password, client.remoteAddress]);
      return result(user, password);
    },
  };
}

const pull = (name: string): AccessRecord => ({ type: 'repository', name, action: 'pull' });
const push = (name: string): AccessRecord => ({ type: 'repository', name, action: 'push' });
const valid = (user: string, password: string): CredentialCheck =>
  user === 'alice' && password === 'right' ? { outcome: 'valid' } : { outcome: 'invalid' };

describe('createBasicAccessController', () => {
  const challenge = { outcome: 'challenge', challenge: { scheme: 'Basic', realm: 'R' } };

  it('without rules: challenges anonymous callers, grants valid users everything', async () => {
    const v = verifier(valid);
    const controller = createBasicAccessController({ realm: 'R', verifier: v });
    expect(await controller.authorize(request(), [])).toEqual(challenge);
    expect(await controller.authorize(request(), [pull('a')])).toEqual(challenge);
    expect(
      await controller.authorize(request(`Basic ${b64('alice:right')}`), [pull('a'), push('a')]),
    ).toEqual({
      outcome: 'grant',
      user: 'alice',
    });
    expect(v.calls).toEqual([['alice', 'right', '10.0.0.1']]);
  });

  it('challenges wrong passwords and malformed headers without 500', async () => {
    const controller = createBasicAccessController({ realm: 'R', verifier: verifier(valid) });
    expect(await controller.authorize(request(`Basic ${b64('alice:wrong')}`), [])).toEqual(challenge);
    expect(await controller.authorize(request(`Basic ${b64('mallory:x')}`), [])).toEqual(challenge);
    for (const header of ['Basic', 'Basic %%%', 'Bearer x', 'garbage', `Basic ${b64('nocolon')}`]) {
      expect(await controller.authorize(request(header), [pull('a')])).toEqual(challenge);
    }
  });

  it('throttles when the verifier does', async () => {
    const controller = createBasicAccessController({
      realm: 'R',
      verifier: verifier(() => ({ outcome: 'throttled', retryAfterSeconds: 30 })),
    });
    expect(await controller.authorize(request(`Basic ${b64('alice:x')}`), [])).toEqual({
      outcome: 'throttle',
      retryAfterSeconds: 30,
    });
  });

  describe('with rules', () => {
    const policy = createAccessPolicy({
      rules: [
        { repositories: ['public/*'], anonymous: true, actions: ['pull'] },
        { repositories: ['**'], users: ['alice'], actions: ['pull'] },
      ],
    });

    it('lets anonymous callers pull public repositories and challenges them for more', async () => {
      const v = verifier(valid);
      const controller = createBasicAccessController({ realm: 'R', verifier: v, policy });
      expect(await controller.authorize(request(), [pull('public/x')])).toEqual({
        outcome: 'grant',
        user: undefined,
      });
      expect(await controller.authorize(request(), [pull('public/x'), push('public/x')])).toEqual(challenge);
      expect(await controller.authorize(request(), [pull('private/x')])).toEqual(challenge);
      expect(await controller.authorize(request(), [])).toEqual(challenge);
      expect(v.calls).toEqual([]);
    });

    it('treats empty credentials (skopeo without --creds) as anonymous', async () => {
      const v = verifier(valid);
      const controller = createBasicAccessController({ realm: 'R', verifier: v, policy });
      expect(await controller.authorize(request(`Basic ${b64(':')}`), [pull('public/x')])).toEqual({
        outcome: 'grant',
        user: undefined,
      });
      expect(await controller.authorize(request(`Basic ${b64(':')}`), [push('public/x')])).toEqual(challenge);
      expect(v.calls).toEqual([]);
    });

    it('denies (403) authenticated users what the rules do not allow', async () => {
      const controller = createBasicAccessController({ realm: 'R', verifier: verifier(valid), policy });
      const auth = request(`Basic ${b64('alice:right')}`);
      expect(await controller.authorize(auth, [pull('x/y')])).toEqual({ outcome: 'grant', user: 'alice' });
      expect(await controller.authorize(auth, [pull('x/y'), push('x/y')])).toEqual({
        outcome: 'deny',
        user: 'alice',
        denied: [push('x/y')],
      });
      expect(await controller.authorize(auth, [])).toEqual({ outcome: 'grant', user: 'alice' });
    });
  });

  it('does not verify when nothing was sent', async () => {
    const verify = vi.fn();
    const controller = createBasicAccessController({ realm: 'R', verifier: { verify } });
    await controller.authorize(request(), []);
    expect(verify).not.toHaveBeenCalled();
  });
});
