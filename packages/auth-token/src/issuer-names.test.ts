import {
  type AccessPolicy,
  type CredentialVerifier,
  createAccessPolicy,
  type ResourceActions,
} from '@berth/registry-core';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenIssuer, generateSigningKey, type TokenIssuer } from './issuer.ts';
import { ISSUER, SERVICE } from './test-support/tokens.ts';

// A scope naming no valid repository is granted nothing: `bob/**` must not reach
// `bob/../alice/secret`, whatever a verifier downstream does with the name.

const client = { remoteAddress: '192.0.2.8' };
const verifier: CredentialVerifier = {
  async verify(user, password) {
    return user === 'bob' && password === 'bob-pw' ? { outcome: 'valid' } : { outcome: 'invalid' };
  },
};
const basic = { Authorization: `Basic ${Buffer.from('bob:bob-pw').toString('base64')}` };

const rules = createAccessPolicy({
  rules: [{ repositories: ['bob/**'], users: ['bob'], actions: ['*'] }],
});

/** A policy granting everything asked for: the issuer must not rely on the policy's checks. */
const grantAll: AccessPolicy = {
  actionsFor: () => new Set(['pull', 'push', 'delete']),
  missing: () => [],
  grant: (_user, requested) => requested.map((entry) => ({ ...entry })),
};

const LONG = `bob/${'a'.repeat(252)}`; // 256 characters
const INVALID = [
  'bob/../alice/secret',
  'bob/./x',
  'bob//x',
  'Bob/x',
  'bob/x/',
  '/bob/x',
  'bob/%2e%2e/x',
  'bob/..',
  LONG,
];

function issuerWith(policy: AccessPolicy): Promise<TokenIssuer> {
  return createTokenIssuer({
    service: SERVICE,
    issuer: ISSUER,
    signingKey: generateSigningKey(),
    verifier,
    policy,
  });
}

async function accessOf(response: Response): Promise<unknown> {
  expect(response.status, await response.clone().text()).toBe(200);
  const body = (await response.json()) as { access_token: string };
  return decodeJwt(body.access_token).access;
}

function get(scopes: string[]): Request {
  const query = new URLSearchParams({ service: SERVICE });
  for (const scope of scopes) query.append('scope', scope);
  return new Request(`http://registry.local/auth/token?${query}`, { headers: basic });
}

function post(scopes: string[]): Request {
  return new Request('http://registry.local/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      username: 'bob',
      password: 'bob-pw',
      service: SERVICE,
      scope: scopes.join(' '),
    }).toString(),
  });
}

describe('token issuer: invalid repository names', () => {
  it.each(INVALID.map((name) => [name === LONG ? 'a 256-character name' : name, name]))(
    'grants nothing for repository:%s under a bob/** rule',
    async (_label, name) => {
      const issuer = await issuerWith(rules);
      const res = await issuer.handle(
        get([`repository:${name}:pull,push`, 'repository:bob/ok:pull']),
        client,
      );
      expect(await accessOf(res)).toEqual([{ type: 'repository', name: 'bob/ok', actions: ['pull'] }]);
    },
  );

  it('grants nothing for bob/%2e%2e/x however the query encodes it', async () => {
    const issuer = await issuerWith(grantAll);
    const raw = new Request(
      `http://registry.local/auth/token?scope=repository:bob/%2e%2e/x:pull&scope=repository:bob/%252e%252e/x:pull&scope=repository:bob/x:pull`,
      { headers: basic },
    );
    expect(await accessOf(await issuer.handle(raw, client))).toEqual([
      { type: 'repository', name: 'bob/x', actions: ['pull'] },
    ]);
  });

  it.each([
    ['the access rules', rules],
    ['a policy that grants everything', grantAll],
  ] as const)('drops them with %s, for GET, POST, and repository(<class>) scopes', async (_label, policy) => {
    const issuer = await issuerWith(policy);
    const scopes = [
      ...INVALID.map((name) => `repository:${name}:pull`),
      ...INVALID.map((name) => `repository(plugin):${name}:pull`),
      'repository:bob/app:pull,push',
      'repository(plugin):bob/plug:pull',
    ];
    const expected = [
      { type: 'repository', name: 'bob/app', actions: ['pull', 'push'] },
      { type: 'repository', class: 'plugin', name: 'bob/plug', actions: ['pull'] },
    ];
    expect(await accessOf(await issuer.handle(get(scopes), client))).toEqual(expected);
    const posted = await issuer.handle(post(scopes), client);
    expect(((await posted.clone().json()) as { scope: string }).scope).toBe(
      'repository:bob/app:pull,push repository(plugin):bob/plug:pull',
    );
    expect(await accessOf(posted)).toEqual(expected);
  });

  it('issue() drops them too, and reports only what it signed', async () => {
    const events: (readonly ResourceActions[])[] = [];
    const issuer = await createTokenIssuer({
      service: SERVICE,
      issuer: ISSUER,
      signingKey: generateSigningKey(),
      policy: grantAll,
      onIssued: ({ access }) => events.push(access),
    });
    const issued = await issuer.issue('bob', [
      { type: 'repository', name: 'bob/../alice/secret', actions: ['pull'] },
      { type: 'repository', name: 'bob/x', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    const expected = [
      { type: 'repository', name: 'bob/x', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ];
    expect(issued.access).toEqual(expected);
    expect(decodeJwt(issued.token).access).toEqual(expected);
    expect(events).toEqual([expected]);
  });

  it('a request of only invalid names still gets a token, granting nothing', async () => {
    const issuer = await issuerWith(rules);
    expect(await accessOf(await issuer.handle(get(['repository:bob/../alice/secret:pull']), client))).toEqual(
      [],
    );
  });
});
