import { describe, expect, it } from 'vitest';
import { STORAGE_MIDDLEWARES } from '../drivers.ts';
import { isConfigError } from './errors.ts';
import { type LoadedConfig, parseConfig } from './load.ts';

const MINIMAL = 'version: 0.1\nstorage: inmemory\n';

function parse(yaml: string, env: Record<string, string> = {}): Promise<LoadedConfig> {
  return parseConfig(yaml, { env });
}

async function issuesOf(yaml: string, env: Record<string, string> = {}): Promise<readonly string[]> {
  try {
    await parse(yaml, env);
  } catch (error) {
    if (isConfigError(error)) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** `middleware.storage` with one entry (YAML lines indented under the entry). */
function storageMiddleware(...entryLines: string[]): string {
  const [first, ...rest] = entryLines;
  return `${MINIMAL}middleware:\n  storage:\n    - ${first}\n${rest.map((line) => `      ${line}\n`).join('')}`;
}

describe('middleware.storage: redirect', () => {
  it('has no middleware by default', async () => {
    const { config, warnings } = await parse(MINIMAL);
    expect(config.middleware).toEqual({ storage: [] });
    expect(warnings).toEqual([]);
  });

  it('reads a redirect entry', async () => {
    const { config, warnings } = await parse(
      storageMiddleware('name: redirect', 'options:', '  baseurl: https://cdn.example.com/registry/'),
    );
    expect(config.middleware.storage).toEqual([
      { name: 'redirect', options: { baseUrl: 'https://cdn.example.com/registry/' } },
    ]);
    expect(config.storage.redirect).toBe(true);
    expect(warnings).toEqual([
      'middleware.storage[0].options.baseurl: blob URLs start with "/registry" before the storage path, ' +
        'as in registry v3 (registry:2 2.8 ignored the path of baseurl)',
    ]);
  });

  it.each(['https://cdn.example.com', 'https://cdn.example.com/', 'http://127.0.0.1:8080//'])(
    'does not warn about a base URL without a path (%s)',
    async (baseurl) => {
      const { config, warnings } = await parse(
        storageMiddleware('name: redirect', 'options:', `  baseurl: ${baseurl}`),
      );
      expect(config.middleware.storage).toEqual([{ name: 'redirect', options: { baseUrl: baseurl } }]);
      expect(warnings).toEqual([]);
    },
  );

  it('keeps several entries in order', async () => {
    const { config } = await parse(
      `${MINIMAL}middleware:\n  storage:\n` +
        '    - name: redirect\n      options:\n        baseurl: https://a.example.com\n' +
        '    - name: redirect\n      options:\n        baseurl: https://b.example.com\n',
    );
    expect(config.middleware.storage.map((entry) => entry.options)).toEqual([
      { baseUrl: 'https://a.example.com' },
      { baseUrl: 'https://b.example.com' },
    ]);
  });

  it('warns that storage.redirect.disable makes it ineffective (registry:2 serves blobs directly then)', async () => {
    const { config, warnings } = await parse(
      'version: 0.1\nstorage:\n  inmemory:\n  redirect:\n    disable: true\n' +
        'middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: https://cdn.example.com\n',
    );
    expect(config.storage.redirect).toBe(false);
    expect(config.middleware.storage).toHaveLength(1);
    expect(warnings).toEqual([
      'storage.redirect.disable: blobs are served directly: the redirect storage middleware has no effect (as in registry:2)',
    ]);
  });

  it('skips an entry with disabled: true, with a warning', async () => {
    const { config, warnings } = await parse(
      storageMiddleware('name: redirect', 'disabled: true', 'options:', '  baseurl: https://cdn.example.com'),
    );
    expect(config.middleware.storage).toEqual([]);
    expect(warnings).toEqual([
      'middleware.storage[0].disabled: the redirect middleware is not applied (registry:2 would apply it)',
    ]);
  });

  it('warns about unknown keys of the entry and of its options', async () => {
    const { warnings } = await parse(
      storageMiddleware(
        'name: redirect',
        'priority: 1',
        'options:',
        '  baseurl: https://cdn.example.com',
        '  duration: 20m',
      ),
    );
    expect(warnings).toEqual([
      'middleware.storage[0].priority: unknown key (ignored)',
      'middleware.storage[0].options.duration: unknown key (ignored by the redirect middleware)',
    ]);
  });

  it('still ignores middleware.registry and middleware.repository with a warning', async () => {
    const { config, warnings } = await parse(
      `${MINIMAL}middleware:\n  registry:\n    - name: ARegistryMiddleware\n      options:\n        foo: bar\n` +
        '  repository:\n    - name: ARepositoryMiddleware\n',
    );
    expect(config.middleware.storage).toEqual([]);
    expect(warnings).toEqual([
      'middleware.registry: registry middleware is not supported yet (ignored)',
      'middleware.repository: repository middleware is not supported yet (ignored)',
    ]);
  });
});

describe('middleware.storage: invalid entries name their key', () => {
  it.each([
    [
      'a missing baseurl',
      storageMiddleware('name: redirect'),
      ['middleware.storage[0].options.baseurl: is required'],
    ],
    [
      'an empty options mapping',
      storageMiddleware('name: redirect', 'options: {}'),
      ['middleware.storage[0].options.baseurl: is required'],
    ],
    [
      'a baseurl without a scheme',
      storageMiddleware('name: redirect', 'options:', '  baseurl: cdn.example.com'),
      [
        'middleware.storage[0].options.baseurl: must be an absolute http(s) URL such as ' +
          '"https://cdn.example.com/registry", got "cdn.example.com"',
      ],
    ],
    [
      'a baseurl with another scheme',
      storageMiddleware('name: redirect', 'options:', '  baseurl: ftp://cdn.example.com'),
      [
        'middleware.storage[0].options.baseurl: must be an absolute http(s) URL such as ' +
          '"https://cdn.example.com/registry", got "ftp://cdn.example.com"',
      ],
    ],
    [
      'a baseurl without a host',
      storageMiddleware('name: redirect', 'options:', '  baseurl: "https:///registry"'),
      [
        'middleware.storage[0].options.baseurl: must be an absolute http(s) URL such as ' +
          '"https://cdn.example.com/registry", got "https:///registry"',
      ],
    ],
    [
      'a baseurl with a query',
      storageMiddleware('name: redirect', 'options:', '  baseurl: https://cdn.example.com/?token=x'),
      [
        'middleware.storage[0].options.baseurl: must not have a query or fragment (registry:2 drops them), ' +
          'got "https://cdn.example.com/?token=x"',
      ],
    ],
    [
      'a baseurl that is a mapping',
      storageMiddleware('name: redirect', 'options:', '  baseurl: {a: 1}'),
      ['middleware.storage[0].options.baseurl: must be a string, got object'],
    ],
    [
      'options that are not a mapping',
      storageMiddleware('name: redirect', 'options: https://cdn.example.com'),
      [
        'middleware.storage[0].options: must be a mapping, got "https://cdn.example.com"',
        'middleware.storage[0].options.baseurl: is required',
      ],
    ],
    [
      'the cloudfront middleware',
      storageMiddleware(
        'name: cloudfront',
        'options:',
        '  baseurl: https://d111111abcdef8.cloudfront.net/',
        '  privatekey: /path/to/pem',
        '  keypairid: KEYPAIRID',
      ),
      [
        'middleware.storage[0].name: the cloudfront storage middleware (CloudFront URLs signed with an AWS ' +
          'key pair) is not supported; Berth refuses to start rather than send downloads around the CDN ' +
          '(use redirect for an unsigned CDN)',
      ],
    ],
    [
      'an unknown middleware',
      storageMiddleware('name: rewrite', 'options:', '  scheme: https'),
      ['middleware.storage[0].name: unsupported storage middleware "rewrite" (Berth has: redirect)'],
    ],
    [
      'a middleware name in another case (registry:2 names are case-sensitive)',
      storageMiddleware('name: Redirect', 'options:', '  baseurl: https://cdn.example.com'),
      ['middleware.storage[0].name: unsupported storage middleware "Redirect" (Berth has: redirect)'],
    ],
    [
      'an entry without a name',
      storageMiddleware('options:', '  baseurl: https://cdn.example.com'),
      ['middleware.storage[0].name: is required (one of: redirect)'],
    ],
    [
      'an empty entry',
      `${MINIMAL}middleware:\n  storage:\n    -\n`,
      ['middleware.storage[0]: must be a mapping with a name and options (e.g. name: redirect)'],
    ],
    [
      'an entry that is a string',
      `${MINIMAL}middleware:\n  storage:\n    - redirect\n`,
      ['middleware.storage[0]: must be a mapping, got "redirect"'],
    ],
    [
      'storage that is a mapping, not a list',
      `${MINIMAL}middleware:\n  storage:\n    name: redirect\n`,
      ['middleware.storage: must be a list, got a mapping'],
    ],
  ])('%s', async (_, yaml, expected) => {
    expect(await issuesOf(yaml)).toEqual(expected);
  });

  it('names the second entry by its index', async () => {
    const issues = await issuesOf(
      `${MINIMAL}middleware:\n  storage:\n` +
        '    - name: redirect\n      options:\n        baseurl: https://cdn.example.com\n' +
        '    - name: redirect\n      options:\n        baseurl: /relative\n',
    );
    expect(issues).toEqual([
      'middleware.storage[1].options.baseurl: must be an absolute http(s) URL such as ' +
        '"https://cdn.example.com/registry", got "/relative"',
    ]);
  });

  it('refuses every registry:2 storage middleware Berth does not have', async () => {
    for (const [name, entry] of Object.entries(STORAGE_MIDDLEWARES)) {
      if (entry.available) continue;
      expect(await issuesOf(storageMiddleware(`name: ${name}`))).toEqual([
        `middleware.storage[0].name: ${entry.reason}`,
      ]);
    }
  });
});

describe('middleware.storage from REGISTRY_MIDDLEWARE_* variables', () => {
  it('builds the entry from indexed variables', async () => {
    const { config, warnings } = await parse(MINIMAL, {
      REGISTRY_MIDDLEWARE_STORAGE_0_NAME: 'redirect',
      REGISTRY_MIDDLEWARE_STORAGE_0_OPTIONS_BASEURL: 'https://cdn.example.com/registry',
    });
    expect(config.middleware.storage).toEqual([
      { name: 'redirect', options: { baseUrl: 'https://cdn.example.com/registry' } },
    ]);
    expect(warnings).toEqual([
      'middleware.storage[0].options.baseurl: blob URLs start with "/registry" before the storage path, ' +
        'as in registry v3 (registry:2 2.8 ignored the path of baseurl) ' +
        '(from REGISTRY_MIDDLEWARE_STORAGE_0_OPTIONS_BASEURL)',
    ]);
  });

  it('overrides the baseurl of an entry in the file', async () => {
    const { config } = await parse(
      storageMiddleware('name: redirect', 'options:', '  baseurl: https://old.example.com'),
      { REGISTRY_MIDDLEWARE_STORAGE_0_OPTIONS_BASEURL: 'https://new.example.com:8443/r/' },
    );
    expect(config.middleware.storage).toEqual([
      { name: 'redirect', options: { baseUrl: 'https://new.example.com:8443/r/' } },
    ]);
  });

  it('takes the whole list as YAML', async () => {
    const { config } = await parse(MINIMAL, {
      REGISTRY_MIDDLEWARE_STORAGE: '[{name: redirect, options: {baseurl: "https://cdn.example.com"}}]',
    });
    expect(config.middleware.storage).toEqual([
      { name: 'redirect', options: { baseUrl: 'https://cdn.example.com' } },
    ]);
  });

  it('names the variable when its value is invalid', async () => {
    expect(
      await issuesOf(MINIMAL, {
        REGISTRY_MIDDLEWARE_STORAGE_0_NAME: 'redirect',
        REGISTRY_MIDDLEWARE_STORAGE_0_OPTIONS_BASEURL: 'cdn.example.com',
      }),
    ).toEqual([
      'middleware.storage[0].options.baseurl: must be an absolute http(s) URL such as ' +
        '"https://cdn.example.com/registry", got "cdn.example.com" ' +
        '(from REGISTRY_MIDDLEWARE_STORAGE_0_OPTIONS_BASEURL)',
    ]);
    expect(await issuesOf(MINIMAL, { REGISTRY_MIDDLEWARE_STORAGE_0_NAME: 'cloudfront' })).toEqual([
      `middleware.storage[0].name: ${(STORAGE_MIDDLEWARES.cloudfront as { reason: string }).reason} ` +
        '(from REGISTRY_MIDDLEWARE_STORAGE_0_NAME)',
    ]);
  });

  it('turns redirects off with REGISTRY_STORAGE_REDIRECT_DISABLE', async () => {
    const { config, warnings } = await parse(
      storageMiddleware('name: redirect', 'options:', '  baseurl: https://cdn.example.com'),
      { REGISTRY_STORAGE_REDIRECT_DISABLE: 'true' },
    );
    expect(config.storage.redirect).toBe(false);
    expect(warnings).toEqual([
      'storage.redirect.disable: blobs are served directly: the redirect storage middleware has no effect ' +
        '(as in registry:2) (from REGISTRY_STORAGE_REDIRECT_DISABLE)',
    ]);
  });
});
