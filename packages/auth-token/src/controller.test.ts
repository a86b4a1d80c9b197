import { generateKeyPairSync } from 'node:crypto';
import {
  type AccessRecord,
  type AuthRequest,
  createAuthMiddleware,
  createRegistryApp,
  type Registry,
} from '@berth/registry-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessAllows, createTokenAccessController } from './controller.ts';
import { ISSUER, SERVICE, sign } from './test-support/tokens.ts';
import { createTokenVerifier, type TokenVerifier } from './verifier.ts';

const key = generateKeyPairSync('ed25519');
const signed = (spec: Parameters<typeof sign>[1] = {}) =>
  sign(key.privateKey, { alg: 'EdDSA', header: { kid: 'k1' }, ...spec });

function request(headers: Record<string, string> = {}): AuthRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'GET',
    url: 'http://registry.local:5000/v2/',
    header: (n) => lower[n.toLowerCase()],
    remoteAddress: undefined,
  };
}

const pull = (name: string): AccessRecord => ({ type: 'repository', name, action: 'pull' });
const push = (name: string): AccessRecord => ({ type: 'repository', name, action: 'push' });

describe('createTokenAccessController', () => {
  let verifier: TokenVerifier;
  beforeAll(async () => {
    verifier = await createTokenVerifier({
      issuer: ISSUER,
      service: SERVICE,
      trustedKeys: [{ kid: 'k1', key: key.publicKey }],
    });
  });
  const controller = () =>
    createTokenAccessController({ realm: 'https://auth.example.com/token', service: SERVICE, verifier });

  it('challenges a request without a token, with the scope of its records', async () => {
    expect(await controller().authorize(request(), [pull('a/b'), push('a/b')])).toEqual({
      outcome: 'challenge',
      challenge: {
        scheme: 'Bearer',
        realm: 'https://auth.example.com/token',
        service: SERVICE,
        scope: 'repository:a/b:pull,push',
      },
    });
  });

  it.each(['Basic YTpi', 'Bearer', 'Bearer ', 'Token abc', 'bearer'])(
    'challenges (without error) the Authorization %j',
    async (authorization) => {
      const decision = await controller().authorize(request({ Authorization: authorization }), []);
      expect(decision).toMatchObject({ outcome: 'challenge', challenge: { scheme: 'Bearer' } });
      expect(decision.outcome === 'challenge' && 'error' in decision.challenge).toBe(false);
    },
  );

  it('answers a refused token with error="invalid_token" (and reports why)', async () => {
    const reasons: string[] = [];
    const c = createTokenAccessController({
      realm: 'r',
      service: SERVICE,
      verifier,
      onInvalidToken: (e) => reasons.push((e as { code?: string }).code ?? ''),
    });
    for (const token of ['garbage', await signed({ iss: 'evil' }), await signed({ expiresIn: -3600 })]) {
      expect(await c.authorize(request({ Authorization: `Bearer ${token}` }), [pull('a/b')])).toMatchObject({
        outcome: 'challenge',
        challenge: { error: 'invalid_token', scope: 'repository:a/b:pull' },
      });
    }
    expect(reasons).toEqual(['TOKEN_MALFORMED', 'TOKEN_ISSUER_INVALID', 'TOKEN_EXPIRED']);
  });

  it('grants exactly the listed actions; more needs error="insufficient_scope"', async () => {
    const token = await signed({ access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }] });
    const auth = request({ Authorization: `bearer ${token}` });
    expect(await controller().authorize(auth, [pull('a/b')])).toEqual({ outcome: 'grant', user: 'alice' });
    expect(await controller().authorize(auth, [])).toEqual({ outcome: 'grant', user: 'alice' });
    for (const records of [
      [pull('a/b'), push('a/b')],
      [pull('a/c')],
      [{ type: 'registry', name: 'catalog', action: '*' }],
    ]) {
      expect(await controller().authorize(auth, records)).toMatchObject({
        outcome: 'challenge',
        challenge: { error: 'insufficient_scope' },
      });
    }
  });

  it('treats * among the actions as every action (registry:2) and grants the catalog', async () => {
    const token = await signed({
      sub: '',
      access: [
        { type: 'repository', name: 'a/b', actions: ['*'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ],
    });
    const auth = request({ Authorization: `Bearer ${token}` });
    expect(
      await controller().authorize(auth, [
        pull('a/b'),
        push('a/b'),
        { type: 'repository', name: 'a/b', action: 'delete' },
        { type: 'registry', name: 'catalog', action: '*' },
      ]),
    ).toEqual({ outcome: 'grant', user: undefined });
  });

  it('builds the realm from the request with autoredirect', async () => {
    const c = createTokenAccessController({ service: SERVICE, verifier, autoRedirect: true });
    expect(await c.authorize(request({ Host: 'reg.example.com' }), [])).toMatchObject({
      challenge: { realm: 'https://reg.example.com/auth/token' },
    });
    const proxied = createTokenAccessController({
      service: SERVICE,
      verifier,
      autoRedirect: true,
      autoRedirectPath: '/t',
    });
    expect(
      await proxied.authorize(request({ Host: 'r:5000', 'X-Forwarded-Proto': 'http' }), []),
    ).toMatchObject({
      challenge: { realm: 'http://r:5000/t' },
    });
    const plain = createTokenAccessController({
      service: SERVICE,
      verifier,
      autoRedirect: true,
      defaultScheme: 'http',
    });
    expect(await plain.authorize(request({ Host: 'localhost:5000' }), [])).toMatchObject({
      challenge: { realm: 'http://localhost:5000/auth/token' },
    });
  });

  it('accessAllows matches type, name and action', () => {
    const access = [{ type: 'repository', name: 'a', actions: ['pull'] }];
    expect(accessAllows(access, pull('a'))).toBe(true);
    expect(accessAllows(access, push('a'))).toBe(false);
    expect(accessAllows(access, { type: 'registry', name: 'a', action: 'pull' })).toBe(false);
  });

  it('answers through the registry app: 401 with the Bearer challenge, then 200 with a token', async () => {
    // Every request here is answered before a handler touches the registry.
    const registry = {} as Registry;
    const app = createRegistryApp({
      registry,
      secret: 's',
      middleware: [createAuthMiddleware(controller())],
    });
    const denied = await app.request('/v2/a/b/tags/list');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe(
      `Bearer realm="https://auth.example.com/token",service="${SERVICE}",scope="repository:a/b:pull"`,
    );
    const base = await app.request('/v2/');
    expect(base.status).toBe(401);
    expect(base.headers.get('www-authenticate')).toBe(
      `Bearer realm="https://auth.example.com/token",service="${SERVICE}"`,
    );
    const token = await signed({ access: [] });
    expect((await app.request('/v2/', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const pushOnly = await app.request('/v2/a/b/blobs/uploads/', {
      method: 'POST',
      headers: { Authorization: `Bearer ${await signed()}` },
    });
    expect(pushOnly.status).toBe(401);
    expect(pushOnly.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });
});
