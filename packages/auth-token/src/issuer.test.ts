import { generateKeyPairSync } from 'node:crypto';
import { type CredentialCheck, type CredentialVerifier, createAccessPolicy } from '@berth/registry-core';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTokenError } from './errors.ts';
import { createTokenIssuer, generateSigningKey, type TokenIssuer } from './issuer.ts';
import { jwkThumbprint, parseSigningKey } from './keys.ts';
import { makePki, opensslMissing } from './test-support/pki.ts';
import { ISSUER, SERVICE } from './test-support/tokens.ts';
import { createTokenVerifier } from './verifier.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const client = { remoteAddress: '192.0.2.7' };

const users: Record<string, string> = { alice: 'alice-pw', ci: 'ci-pw', reader: 'reader-pw' };
const checks: [string, string, string | undefined][] = [];
const verifier: CredentialVerifier = {
  async verify(user, password, c): Promise<CredentialCheck> {
    checks.push([user, password, c.remoteAddress]);
    if (user === 'locked') return { outcome: 'throttled', retryAfterSeconds: 42 };
    return users[user] === password ? { outcome: 'valid' } : { outcome: 'invalid' };
  },
};

const policy = createAccessPolicy({
  groups: { builders: ['ci'] },
  rules: [
    { repositories: ['public/*'], anonymous: true, actions: ['pull'] },
    { repositories: ['apps/**'], groups: ['builders'], actions: ['pull', 'push'] },
    { repositories: ['**'], users: ['alice'], actions: ['*'] },
    { repositories: ['**'], users: ['reader'], actions: ['pull'] },
    { catalog: true, users: ['alice'] },
  ],
});

function get(query: string, headers: Record<string, string> = {}): Request {
  return new Request(`http://registry.local/auth/token?${query}`, { headers });
}

function post(form: Record<string, string>, headers: Record<string, string> = {}): Request {
  return new Request('http://registry.local/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

async function accessOf(response: Response): Promise<unknown> {
  const body = (await response.json()) as { token?: string; access_token: string };
  return decodeJwt(body.access_token).access;
}

describe('createTokenIssuer', () => {
  let issuer: TokenIssuer;
  let now = Date.UTC(2030, 0, 1);

  beforeAll(async () => {
    issuer = await createTokenIssuer({
      service: SERVICE,
      issuer: ISSUER,
      signingKey: generateSigningKey(),
      verifier,
      policy,
      now: () => now,
    });
  });

  describe('GET (Docker token protocol)', () => {
    it('issues an anonymous token with what anonymous callers may do', async () => {
      const res = await issuer.handle(
        get(`service=${SERVICE}&scope=repository:public/x:pull,push&scope=repository:private/y:pull`),
        client,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.clone().json()) as Record<string, unknown>;
      expect(body).toEqual({
        token: body.access_token,
        access_token: expect.any(String),
        expires_in: 300,
        issued_at: '2030-01-01T00:00:00.000Z',
      });
      expect(await accessOf(res)).toEqual([{ type: 'repository', name: 'public/x', actions: ['pull'] }]);
      const claims = decodeJwt(body.token as string);
      expect(claims).toMatchObject({
        iss: ISSUER,
        aud: SERVICE,
        sub: '',
        exp: now / 1000 + 300,
        nbf: now / 1000,
      });
      expect(decodeProtectedHeader(body.token as string)).toEqual({
        alg: 'ES256',
        typ: 'JWT',
        kid: issuer.kid,
      });
    });

    it('issues a user token with the intersection of scopes and rules', async () => {
      const res = await issuer.handle(
        get('scope=repository:apps/web:pull,push,delete&scope=repository:other/x:pull registry:catalog:*', {
          Authorization: `Basic ${b64('ci:ci-pw')}`,
        }),
        client,
      );
      expect(res.status).toBe(200);
      expect(await accessOf(res)).toEqual([
        { type: 'repository', name: 'apps/web', actions: ['pull', 'push'] },
      ]);
      expect(checks.at(-1)).toEqual(['ci', 'ci-pw', '192.0.2.7']);
    });

    it('grants the catalog and * by the rules', async () => {
      const res = await issuer.handle(
        get('scope=registry:catalog:*&scope=repository:x:*', {
          Authorization: `Basic ${b64('alice:alice-pw')}`,
        }),
        client,
      );
      expect(await accessOf(res)).toEqual([
        { type: 'registry', name: 'catalog', actions: ['*'] },
        { type: 'repository', name: 'x', actions: ['pull', 'push', 'delete'] },
      ]);
    });

    it('still issues a token (granting nothing) when nothing requested is allowed', async () => {
      const res = await issuer.handle(
        get('scope=repository:x:push', { Authorization: `Basic ${b64('reader:reader-pw')}` }),
        client,
      );
      expect(res.status).toBe(200);
      expect(await accessOf(res)).toEqual([]);
      const none = await issuer.handle(get(''), client);
      expect(await accessOf(none)).toEqual([]);
    });

    it('answers bad credentials with 401 and a Basic challenge', async () => {
      const res = await issuer.handle(
        get('scope=repository:x:pull', { Authorization: `Basic ${b64('alice:nope')}` }),
        client,
      );
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="Berth token issuer"');
      expect(await res.json()).toEqual({
        errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }],
      });
    });

    it('answers a malformed Authorization with 401', async () => {
      for (const header of ['Basic !!', 'Bearer x', 'Basic', `Basic ${b64('nocolon')}`]) {
        const res = await issuer.handle(get('', { Authorization: header }), client);
        expect(res.status).toBe(401);
      }
    });

    it('treats empty Basic credentials as anonymous', async () => {
      const res = await issuer.handle(
        get('scope=repository:public/x:pull', { Authorization: `Basic ${b64(':')}` }),
        client,
      );
      expect(res.status).toBe(200);
      expect(await accessOf(res)).toEqual([{ type: 'repository', name: 'public/x', actions: ['pull'] }]);
    });

    it('answers a throttled user with 429 and Retry-After', async () => {
      const res = await issuer.handle(get('', { Authorization: `Basic ${b64('locked:x')}` }), client);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('42');
      expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
    });

    it('refuses another service', async () => {
      const res = await issuer.handle(get('service=someone-else&scope=repository:public/x:pull'), client);
      expect(res.status).toBe(400);
    });

    it('ignores malformed scopes and scopes of unknown types', async () => {
      const res = await issuer.handle(
        get('scope=nonsense&scope=plugin:x:pull&scope=repository:public/x:pull'),
        client,
      );
      expect(await accessOf(res)).toEqual([{ type: 'repository', name: 'public/x', actions: ['pull'] }]);
    });
  });

  describe('POST (OAuth2 password grant, containerd)', () => {
    it('issues a token for grant_type=password', async () => {
      const res = await issuer.handle(
        post({
          grant_type: 'password',
          username: 'ci',
          password: 'ci-pw',
          service: SERVICE,
          client_id: 'containerd',
          scope: 'repository:apps/a:pull,push repository:public/b:pull',
        }),
        client,
      );
      expect(res.status).toBe(200);
      const body = (await res.clone().json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'repository:apps/a:pull,push repository:public/b:pull',
      });
      expect(await accessOf(res)).toEqual([
        { type: 'repository', name: 'apps/a', actions: ['pull', 'push'] },
        { type: 'repository', name: 'public/b', actions: ['pull'] },
      ]);
    });

    it('answers a wrong password with 400 invalid_grant', async () => {
      const res = await issuer.handle(
        post({ grant_type: 'password', username: 'ci', password: 'x' }),
        client,
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'invalid_grant',
        error_description: 'invalid username or password',
      });
    });

    it.each<[Record<string, string>, string]>([
      [{ grant_type: 'refresh_token', refresh_token: 'x' }, 'unsupported_grant_type'],
      [{ grant_type: 'client_credentials' }, 'unsupported_grant_type'],
      [{ username: 'ci', password: 'ci-pw' }, 'invalid_request'],
      [{ grant_type: 'password', password: 'x' }, 'invalid_request'],
    ])('refuses %j with 400 %s', async (form, error) => {
      const res = await issuer.handle(post(form), client);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe(error);
    });

    it('needs a form body of bounded size', async () => {
      const json = new Request('http://r/auth/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      expect((await issuer.handle(json, client)).status).toBe(400);
      const big = post({ grant_type: 'password', username: 'ci', password: 'x'.repeat(70_000) });
      expect((await issuer.handle(big, client)).status).toBe(413);
    });

    it('answers 429 when throttled', async () => {
      const res = await issuer.handle(
        post({ grant_type: 'password', username: 'locked', password: 'x' }),
        client,
      );
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('42');
    });
  });

  it('answers other methods with 405', async () => {
    const res = await issuer.handle(new Request('http://r/auth/token', { method: 'PUT', body: '' }), client);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST');
  });

  it('issues tokens the verifier accepts through trustedKey', async () => {
    now = Date.now();
    const verifierOfIssuer = await createTokenVerifier({
      issuer: ISSUER,
      service: SERVICE,
      trustedKeys: [issuer.trustedKey],
    });
    const { token } = await issuer.issue('alice', [{ type: 'repository', name: 'x/y', actions: ['pull'] }]);
    expect(await verifierOfIssuer.verify(token)).toMatchObject({
      subject: 'alice',
      access: [{ type: 'repository', name: 'x/y', actions: ['pull'] }],
    });
    expect(issuer.kid).toBe(await jwkThumbprint(issuer.publicKey));
  });

  it('without a verifier, refuses credentials and issues anonymous tokens', async () => {
    const anonymousOnly = await createTokenIssuer({
      service: SERVICE,
      issuer: ISSUER,
      signingKey: generateSigningKey(),
      policy,
    });
    expect(
      (await anonymousOnly.handle(get('', { Authorization: `Basic ${b64('alice:alice-pw')}` }), client))
        .status,
    ).toBe(401);
    expect((await anonymousOnly.handle(get('scope=repository:public/a:pull'), client)).status).toBe(200);
  });

  it('signs with RS256 and EdDSA keys too, with a configurable lifetime', async () => {
    for (const [type, alg] of [
      ['rsa', 'RS256'],
      ['ed25519', 'EdDSA'],
    ] as const) {
      const pair =
        type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      const signingKey = parseSigningKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      const i = await createTokenIssuer({
        service: SERVICE,
        issuer: ISSUER,
        signingKey,
        policy,
        expiresInSeconds: 60,
      });
      const { token, expiresIn } = await i.issue(undefined, []);
      expect(decodeProtectedHeader(token).alg).toBe(alg);
      expect(expiresIn).toBe(60);
      const v = await createTokenVerifier({ issuer: ISSUER, service: SERVICE, trustedKeys: [i.trustedKey] });
      await expect(v.verify(token)).resolves.toBeDefined();
    }
  });
});

const skip = opensslMissing();
describe.skipIf(skip)(`issuer with a certificate chain${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('sends x5c, which a verifier with only the root bundle accepts (as registry:2 would)', async () => {
    const pki = makePki();
    const signingKey = parseSigningKey(pki.leaf.key.export({ type: 'pkcs8', format: 'pem' }).toString());
    const issuer = await createTokenIssuer({
      service: SERVICE,
      issuer: ISSUER,
      signingKey,
      certificates: [pki.leaf.cert, pki.intermediate.cert],
      policy,
    });
    const { token } = await issuer.issue(undefined, [
      { type: 'repository', name: 'public/a', actions: ['pull'] },
    ]);
    expect(decodeProtectedHeader(token).x5c).toEqual([pki.leaf.der, pki.intermediate.der]);
    const v = await createTokenVerifier({ issuer: ISSUER, service: SERVICE, rootCertificates: pki.root.pem });
    await expect(v.verify(token)).resolves.toMatchObject({ access: [{ name: 'public/a' }] });
    // A chain whose leaf is not the signing key is refused at start.
    const error = await createTokenIssuer({
      service: SERVICE,
      issuer: ISSUER,
      signingKey,
      certificates: [pki.directLeaf.cert],
      policy,
    }).catch((e: unknown) => e);
    expect(isTokenError(error, 'KEY_INVALID')).toBe(true);
  });
});
