import { Readable } from 'node:stream';
import type { MiddlewareHandler } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { RegistryError } from '../errors.ts';
import {
  blob,
  expectError,
  json,
  pathOf,
  pushBlob,
  SECRET,
  setup,
  startUpload,
} from '../test-support/http.ts';
import { createRegistryApp } from './create-app.ts';
import type { RegistryAppEnv } from './env.ts';
import type { RegistryRoute } from './route.ts';

describe('base endpoint', () => {
  it.each(['/v2/', '/v2'])('GET %s → 200 {} with the API version header', async (path) => {
    const { app } = setup();
    const res = await app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-length')).toBe('2');
    expect(await res.text()).toBe('{}');
  });

  it('HEAD /v2/ → 200 with headers and no body', async () => {
    const { app } = setup();
    const res = await app.request('/v2/', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('2');
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await res.text()).toBe('');
  });

  it('POST /v2/ → 405 UNSUPPORTED with Allow', async () => {
    const { app } = setup();
    const res = await app.request('/v2/', { method: 'POST' });
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    await expectError(res, 405, 'UNSUPPORTED');
  });
});

describe('unknown routes', () => {
  it.each([
    '/',
    '/v1/',
    '/v2/foo',
    '/v2/foo/bar',
    '/v2/foo/manifests/',
    '/v3/a/tags/list',
    '/v2/a/blobs/x/y',
  ])('%s → plain 404 with the API version header (as registry:2)', async (path) => {
    const { app } = setup();
    const res = await app.request(path);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await res.text()).toBe('404 page not found\n');
  });
});

describe('repository names', () => {
  it.each([
    ['uppercase', '/v2/Library/alpine/tags/list'],
    ['an empty component', '/v2/library//alpine/tags/list'],
    ['a leading slash', '/v2//alpine/manifests/latest'],
    ['an encoded slash', '/v2/library%2Falpine/tags/list'],
    ['an encoded letter', '/v2/%61lpine/tags/list'],
    ['an encoded dot segment that survives URL parsing', '/v2/a/%2e%2e%2f/tags/list'],
    ['a trailing separator', '/v2/alpine-/blobs/uploads/'],
    ['256 characters', `/v2/${'a'.repeat(256)}/tags/list`],
  ])('%s → 400 NAME_INVALID', async (_, path) => {
    const { app } = setup();
    await expectError(await app.request(path), 400, 'NAME_INVALID');
  });

  it('accepts 255 characters', async () => {
    const { app } = setup();
    const name = `${'abcd/'.repeat(50)}abcde`;
    expect(name).toHaveLength(255);
    const location = await startUpload(app, name);
    expect(location).toContain(`/v2/${name}/blobs/uploads/`);
  });

  it.each([
    '/v2/../v2/a/tags/list',
    '/v2/a/../b/tags/list',
    '/v2/%2e%2e/etc/manifests/latest',
    '/v2/a/%2E%2E/b/manifests/latest',
    '/v2/a/./b/blobs/uploads/',
  ])('the raw target %s (before URL normalisation) → 400 NAME_INVALID', async (target) => {
    const { app } = setup();
    // What @hono/node-server passes: the Request URL is normalised, the IncomingMessage is not.
    const request = new Request(new URL(target, 'http://localhost'));
    const incoming = Object.assign(Readable.from([]), { url: target, headers: {} });
    await expectError(await app.fetch(request, { incoming }), 400, 'NAME_INVALID');
  });

  it('a dot segment normalised away by the URL parser can never leave /v2/', async () => {
    const { app } = setup();
    // WHATWG URL turns /v2/%2e%2e/x into /x: no longer a registry path.
    expect((await app.request('/v2/%2e%2e/_catalog')).status).toBe(404);
  });
});

describe('errors', () => {
  it('renders a RegistryError once, as the OCI envelope with the first entry status and extra headers', async () => {
    const thrower: MiddlewareHandler<RegistryAppEnv> = async () => {
      throw new RegistryError(
        'UNAUTHORIZED',
        'authentication required',
        [{ type: 'repository', name: 'a', action: 'pull' }],
        {
          headers: { 'WWW-Authenticate': 'Basic realm="berth"' },
          more: [{ code: 'DENIED', message: 'and denied' }],
        },
      );
    };
    const { app } = setup({ app: { middleware: [thrower] } });
    const res = await app.request('/v2/a/tags/list');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="berth"');
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await json(res)).toEqual({
      errors: [
        {
          code: 'UNAUTHORIZED',
          message: 'authentication required',
          detail: [{ type: 'repository', name: 'a', action: 'pull' }],
        },
        { code: 'DENIED', message: 'and denied' },
      ],
    });
  });

  it('answers an unknown error 500 UNKNOWN without its message and reports it to onError', async () => {
    const onError = vi.fn();
    const boom: MiddlewareHandler<RegistryAppEnv> = async () => {
      throw new Error('secret internals');
    };
    const { app } = setup({ app: { middleware: [boom], onError } });
    const res = await app.request('/v2/');
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).not.toContain('secret internals');
    expect(JSON.parse(text)).toEqual({ errors: [{ code: 'UNKNOWN', message: 'unknown error' }] });
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(onError).toHaveBeenCalledOnce();
    expect((onError.mock.calls[0]![0] as Error).message).toBe('secret internals');
  });
});

describe('configured headers (http.headers)', () => {
  it('are added to every response: success, error, 404', async () => {
    const { app } = setup({
      app: { headers: { 'X-Content-Type-Options': 'nosniff', 'X-Multi': ['a', 'b'] } },
    });
    for (const path of ['/v2/', '/v2/a/manifests/missing', '/nowhere']) {
      const res = await app.request(path);
      expect(res.headers.get('x-content-type-options'), path).toContain('nosniff');
      expect(res.headers.get('x-multi'), path).toBe('a, b');
    }
  });

  it('do not override a header the endpoint sets itself', async () => {
    const { app } = setup({ app: { headers: { 'Cache-Control': 'no-store', 'Content-Type': 'text/html' } } });
    const digest = await pushBlob(app, 'h/r', 'cached');
    const res = await app.request(`/v2/h/r/blobs/${digest}`);
    expect(res.headers.get('cache-control')).toBe('max-age=31536000');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect((await app.request('/v2/h/r/tags/list')).headers.get('cache-control')).toBe('no-store');
  });
});

describe('middleware hook', () => {
  it('runs before the endpoints with the parsed route, and may answer itself', async () => {
    const seen: RegistryRoute[] = [];
    const gate: MiddlewareHandler<RegistryAppEnv> = async (c, next) => {
      seen.push(c.get('route'));
      if (c.req.header('authorization') === undefined) {
        return c.json({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, 401, {
          'WWW-Authenticate': 'Bearer realm="x"',
        });
      }
      await next();
    };
    const { app } = setup({ app: { middleware: [gate] } });
    const denied = await app.request('/v2/library/alpine/manifests/latest');
    expect(denied.status).toBe(401);
    expect(denied.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(seen).toEqual([{ kind: 'manifest', name: 'library/alpine', reference: 'latest' }]);

    const allowed = await app.request('/v2/', { headers: { Authorization: 'Bearer t' } });
    expect(allowed.status).toBe(200);
  });

  it('does not run for paths that are no endpoint', async () => {
    const gate = vi.fn<MiddlewareHandler<RegistryAppEnv>>(async (_c, next) => {
      await next();
    });
    const { app } = setup({ app: { middleware: [gate] } });
    expect((await app.request('/metrics')).status).toBe(404);
    expect(gate).not.toHaveBeenCalled();
  });
});

describe('read-only mode (maintenance.readonly)', () => {
  it('refuses every write with 405 UNSUPPORTED and Allow: GET, HEAD, and still serves reads', async () => {
    const rw = setup();
    const digest = await pushBlob(rw.app, 'ro/repo', 'content');
    const location = await startUpload(rw.app, 'ro/repo');
    const { app } = setup({ driver: rw.driver, app: { readOnly: true } });

    const writes: [string, RequestInit][] = [
      ['/v2/ro/repo/blobs/uploads/', { method: 'POST' }],
      [location, { method: 'PATCH', body: 'x' }],
      [`${location}&digest=${digest}`, { method: 'PUT' }],
      [location, { method: 'DELETE' }],
      ['/v2/ro/repo/manifests/latest', { method: 'PUT', body: '{}' }],
      ['/v2/ro/repo/manifests/latest', { method: 'DELETE' }],
      [`/v2/ro/repo/blobs/${digest}`, { method: 'DELETE' }],
    ];
    for (const [path, init] of writes) {
      const res = await app.request(path, init);
      expect(res.headers.get('allow'), `${init.method} ${path}`).toBe('GET, HEAD');
      await expectError(res, 405, 'UNSUPPORTED');
    }
    expect((await app.request(`/v2/ro/repo/blobs/${digest}`)).status).toBe(200);
    expect((await app.request(location)).status).toBe(204);
    expect((await app.request('/v2/_catalog')).status).toBe(200);
  });
});

describe('prefix (http.prefix)', () => {
  it('serves under <prefix>/v2/ only, and builds locations with it', async () => {
    const { app } = setup({ app: { prefix: '/registry/' } });
    expect((await app.request('/registry/v2/')).status).toBe(200);
    expect((await app.request('/v2/')).status).toBe(404);
    const res = await app.request('/registry/v2/a/blobs/uploads/', { method: 'POST' });
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location.startsWith('http://localhost/registry/v2/a/blobs/uploads/')).toBe(true);
    expect((await app.request(pathOf(location))).status).toBe(204);
  });
});

describe('Location base URL', () => {
  async function uploadLocation(
    options: Parameters<typeof setup>[0],
    headers: Record<string, string> = {},
    url = '/v2/a/blobs/uploads/',
  ): Promise<string> {
    const { app } = setup(options);
    const res = await app.request(url, { method: 'POST', headers });
    expect(res.status).toBe(202);
    return res.headers.get('location')!;
  }

  it('is absolute, from the request Host, by default (registry:2)', async () => {
    expect(await uploadLocation({}, {}, 'http://reg.local:5000/v2/a/blobs/uploads/')).toMatch(
      /^http:\/\/reg\.local:5000\/v2\/a\/blobs\/uploads\/[^/?]+\?_state=/,
    );
  });

  it('follows X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const location = await uploadLocation(
      {},
      { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'reg.example.com' },
    );
    expect(location).toMatch(/^https:\/\/reg\.example\.com\/v2\/a\/blobs\/uploads\//);
  });

  it('is a path with relativeUrls', async () => {
    const location = await uploadLocation(
      { app: { relativeUrls: true, prefix: '/r' } },
      {},
      '/r/v2/a/blobs/uploads/',
    );
    expect(location).toMatch(/^\/r\/v2\/a\/blobs\/uploads\//);
  });

  it('uses http.host when configured, over forwarded headers, with the prefix once', async () => {
    expect(
      await uploadLocation(
        { app: { host: 'https://cdn.example.com:8443/' } },
        { 'X-Forwarded-Host': 'other' },
      ),
    ).toMatch(/^https:\/\/cdn\.example\.com:8443\/v2\/a\/blobs\/uploads\//);
    expect(
      await uploadLocation(
        { app: { host: 'https://h.example.com', prefix: '/r' } },
        {},
        '/r/v2/a/blobs/uploads/',
      ),
    ).toMatch(/^https:\/\/h\.example\.com\/r\/v2\//);
    expect(
      await uploadLocation(
        { app: { host: 'https://h.example.com/r/', prefix: '/r' } },
        {},
        '/r/v2/a/blobs/uploads/',
      ),
    ).toMatch(/^https:\/\/h\.example\.com\/r\/v2\//);
  });
});

describe('createRegistryApp options', () => {
  it('requires a secret', () => {
    const { registry } = setup();
    expect(() => createRegistryApp({ registry, secret: '' })).toThrow(/secret/);
    expect(() => createRegistryApp({ registry, secret: SECRET, tagsMaxTags: -1 })).toThrow(RangeError);
  });
});

describe('HEAD', () => {
  it('answers with the headers of GET, the would-be Content-Length and no body', async () => {
    const { app } = setup();
    const { bytes } = blob('head me');
    const digest = await pushBlob(app, 'h/r', bytes);
    const res = await app.request(`/v2/h/r/blobs/${digest}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.byteLength));
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(await res.text()).toBe('');
  });
});
