import { describe, expect, it } from 'vitest';
import { json, setup } from '../test-support/http.ts';
import type { AccessRecord } from './access.ts';
import { createBasicAccessController } from './basic.ts';
import type { AccessController, AccessDecision, AuthRequest } from './controller.ts';
import { accessGrantOf, createAuthMiddleware } from './middleware.ts';
import { createAccessPolicy } from './policy.ts';
import { createSillyAccessController } from './silly.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** A controller that records what it is asked and answers `decide`. */
function fake(
  decide: (request: AuthRequest, records: readonly AccessRecord[]) => AccessDecision,
): AccessController & {
  seen: { method: string; records: readonly AccessRecord[] }[];
} {
  const seen: { method: string; records: readonly AccessRecord[] }[] = [];
  return {
    seen,
    async authorize(request, records) {
      seen.push({ method: request.method, records });
      return decide(request, records);
    },
  };
}

describe('createAuthMiddleware', () => {
  it('answers a challenge with 401 UNAUTHORIZED, WWW-Authenticate and the records as detail', async () => {
    const controller = fake(() => ({
      outcome: 'challenge',
      challenge: {
        scheme: 'Bearer',
        realm: 'https://auth/token',
        service: 'reg',
        scope: 'repository:a/b:pull,push',
        error: 'insufficient_scope',
      },
    }));
    const { app } = setup({ app: { middleware: [createAuthMiddleware(controller)] } });
    const res = await app.request('/v2/a/b/blobs/uploads/', { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull,push",error="insufficient_scope"',
    );
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await json(res)).toEqual({
      errors: [
        {
          code: 'UNAUTHORIZED',
          message: 'authentication required',
          detail: [
            { Type: 'repository', Class: '', Name: 'a/b', Action: 'pull' },
            { Type: 'repository', Class: '', Name: 'a/b', Action: 'push' },
          ],
        },
      ],
    });
    expect(controller.seen).toEqual([
      {
        method: 'POST',
        records: [
          { type: 'repository', name: 'a/b', action: 'pull' },
          { type: 'repository', name: 'a/b', action: 'push' },
        ],
      },
    ]);
  });

  it('passes mount and catalog records to the controller', async () => {
    const controller = fake(() => ({ outcome: 'challenge', challenge: { scheme: 'Basic', realm: 'r' } }));
    const { app } = setup({ app: { middleware: [createAuthMiddleware(controller)] } });
    await app.request(`/v2/b/blobs/uploads/?mount=sha256:${'0'.repeat(64)}&from=a`, { method: 'POST' });
    await app.request('/v2/_catalog');
    await app.request('/v2/');
    expect(controller.seen.map((s) => s.records)).toEqual([
      [
        { type: 'repository', name: 'b', action: 'pull' },
        { type: 'repository', name: 'b', action: 'push' },
        { type: 'repository', name: 'a', action: 'pull' },
      ],
      [{ type: 'registry', name: 'catalog', action: '*' }],
      [],
    ]);
  });

  it('answers deny with 403 DENIED and the missing records', async () => {
    const controller = fake((_r, records) => ({ outcome: 'deny', user: 'u', denied: records.slice(1) }));
    const { app } = setup({ app: { middleware: [createAuthMiddleware(controller)] } });
    const res = await app.request('/v2/a/manifests/latest', { method: 'PUT', body: '{}' });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(await json(res)).toEqual({
      errors: [
        {
          code: 'DENIED',
          message: 'requested access to the resource is denied',
          detail: [{ Type: 'repository', Class: '', Name: 'a', Action: 'push' }],
        },
      ],
    });
  });

  it('answers throttle with 429 TOOMANYREQUESTS and Retry-After (at least 1 s)', async () => {
    const controller = fake(() => ({ outcome: 'throttle', retryAfterSeconds: 0.2 }));
    const { app } = setup({ app: { middleware: [createAuthMiddleware(controller)] } });
    const res = await app.request('/v2/');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await json(res)) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
  });

  it('lets a grant through and remembers who it was', async () => {
    let user: string | undefined = 'unset';
    const controller = fake(() => ({ outcome: 'grant', user: 'alice' }));
    const { app } = setup({
      app: {
        middleware: [
          createAuthMiddleware(controller),
          async (c, next) => {
            user = accessGrantOf(c.req.raw)?.user;
            await next();
          },
        ],
      },
    });
    const res = await app.request('/v2/');
    expect(res.status).toBe(200);
    expect(user).toBe('alice');
  });

  it('does not run for paths that are no endpoint', async () => {
    const controller = fake(() => ({ outcome: 'challenge', challenge: { scheme: 'Basic', realm: 'r' } }));
    const { app } = setup({ app: { middleware: [createAuthMiddleware(controller)] } });
    expect((await app.request('/v3/')).status).toBe(404);
    expect(controller.seen).toEqual([]);
  });
});

describe('Basic access controller in the app', () => {
  const verifier = {
    async verify(user: string, password: string) {
      return user === 'alice' && password === 'pw'
        ? ({ outcome: 'valid' } as const)
        : ({ outcome: 'invalid' } as const);
    },
  };
  const policy = createAccessPolicy({
    rules: [
      { repositories: ['public/**'], anonymous: true, actions: ['pull'] },
      { repositories: ['**'], users: ['alice'], actions: ['pull'] },
    ],
  });
  const { app } = setup({
    app: {
      middleware: [createAuthMiddleware(createBasicAccessController({ realm: 'Berth', verifier, policy }))],
    },
  });

  it('challenges GET /v2/ without credentials', async () => {
    const res = await app.request('/v2/');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="Berth"');
  });

  it('lets anonymous callers read a public repository (404 from the handler, not 401)', async () => {
    const res = await app.request('/v2/public/x/tags/list');
    expect(res.status).toBe(404);
    expect(((await json(res)) as { errors: { code: string }[] }).errors[0]!.code).toBe('NAME_UNKNOWN');
  });

  it('challenges anonymous pushes to a public repository', async () => {
    const res = await app.request('/v2/public/x/blobs/uploads/', { method: 'POST' });
    expect(res.status).toBe(401);
  });

  it('denies a user the push no rule grants', async () => {
    const res = await app.request('/v2/x/blobs/uploads/', {
      method: 'POST',
      headers: { Authorization: `Basic ${b64('alice:pw')}` },
    });
    expect(res.status).toBe(403);
  });

  it('denies the catalog without a catalog rule', async () => {
    const res = await app.request('/v2/_catalog', { headers: { Authorization: `Basic ${b64('alice:pw')}` } });
    expect(res.status).toBe(403);
    const anonymous = await app.request('/v2/_catalog');
    expect(anonymous.status).toBe(401);
  });

  it.each([
    'Basic',
    'Basic ',
    'Basic ====',
    'Basic \u00ff\u00fe',
    'Bearer',
    'Bearer ',
    'Negotiate abc',
    ':',
    'Basic YQ==',
    `Basic ${'A'.repeat(10_000)}`,
  ])('answers the malformed header %j with a 401 challenge, never a 500', async (header) => {
    const res = await app.request('/v2/x/manifests/latest', { headers: { Authorization: header } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="Berth"');
  });
});

describe('silly access controller', () => {
  const { app } = setup({
    app: {
      middleware: [createAuthMiddleware(createSillyAccessController({ realm: 'https://r', service: 's' }))],
    },
  });

  it('challenges without Authorization, echoing realm, service and scope', async () => {
    const res = await app.request('/v2/a/manifests/x');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="https://r",service="s",scope="repository:a:pull"',
    );
  });

  it('grants anything with any Authorization header', async () => {
    expect((await app.request('/v2/', { headers: { Authorization: 'whatever' } })).status).toBe(200);
  });
});
