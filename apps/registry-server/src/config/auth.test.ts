import { describe, expect, it } from 'vitest';
import { isConfigError } from './errors.ts';
import { type LoadedConfig, parseConfig } from './load.ts';

const BASE = 'version: 0.1\nstorage: inmemory\n';

function parse(yaml: string, env: Record<string, string> = {}): Promise<LoadedConfig> {
  return parseConfig(`${BASE}${yaml}`, { env });
}

async function issuesOf(yaml: string, env: Record<string, string> = {}): Promise<string[]> {
  try {
    await parse(yaml, env);
  } catch (error) {
    if (isConfigError(error)) return [...error.issues];
    throw error;
  }
  return [];
}

describe('auth (registry:2)', () => {
  it('none, absent, or empty', async () => {
    expect((await parse('')).config.auth).toEqual({ type: 'none' });
    expect((await parse('auth:\n  none:\n')).config.auth).toEqual({ type: 'none' });
  });

  it('htpasswd', async () => {
    const { config } = await parse(
      'auth:\n  htpasswd:\n    realm: Registry Realm\n    path: /auth/htpasswd\n',
    );
    expect(config.auth).toEqual({ type: 'htpasswd', realm: 'Registry Realm', path: '/auth/htpasswd' });
  });

  it('htpasswd from REGISTRY_AUTH* variables', async () => {
    const { config } = await parse('', {
      REGISTRY_AUTH: 'htpasswd',
      REGISTRY_AUTH_HTPASSWD_REALM: 'Env Realm',
      REGISTRY_AUTH_HTPASSWD_PATH: '/etc/htpasswd',
    });
    expect(config.auth).toEqual({ type: 'htpasswd', realm: 'Env Realm', path: '/etc/htpasswd' });
  });

  it('token with every key', async () => {
    const { config } = await parse(
      [
        'auth:',
        '  token:',
        '    realm: https://auth.example.com/token',
        '    service: registry.example.com',
        '    issuer: auth.example.com',
        '    rootcertbundle: /certs/bundle.pem',
        '    jwks: /certs/jwks.json',
        '    signingalgorithms: [RS256, ES256]',
        '    autoredirect: false',
        '',
      ].join('\n'),
    );
    expect(config.auth).toEqual({
      type: 'token',
      realm: 'https://auth.example.com/token',
      service: 'registry.example.com',
      issuer: 'auth.example.com',
      rootCertBundle: '/certs/bundle.pem',
      jwks: '/certs/jwks.json',
      signingAlgorithms: ['RS256', 'ES256'],
      autoRedirect: false,
      autoRedirectPath: '/auth/token',
    });
  });

  it('silly (with a warning)', async () => {
    const { config, warnings } = await parse('auth: silly\n', {
      REGISTRY_AUTH_SILLY_REALM: 'r',
      REGISTRY_AUTH_SILLY_SERVICE: 's',
    });
    expect(config.auth).toEqual({ type: 'silly', realm: 'r', service: 's' });
    expect(warnings.some((w) => w.startsWith('auth.silly: silly authentication'))).toBe(true);
  });

  it('warns about unknown keys', async () => {
    const { warnings } = await parse('auth:\n  htpasswd:\n    realm: r\n    path: /p\n    pth: /q\n');
    expect(warnings).toContain('auth.htpasswd.pth: unknown key (ignored)');
  });

  it.each([
    ['auth:\n  htpasswd:\n    path: /p\n', 'auth.htpasswd.realm: is required'],
    ['auth:\n  htpasswd: {}\n', 'auth.htpasswd.path: is required'],
    ['auth:\n  ldap: {}\n', 'auth.ldap: unknown auth type (use none, silly, htpasswd, token)'],
    ['auth:\n  silly: {}\n', 'auth.silly.realm: is required'],
    [
      'auth:\n  token:\n    service: s\n    issuer: i\n    rootcertbundle: /b\n',
      'auth.token.realm: is required',
    ],
    ['auth:\n  token:\n    realm: r\n    issuer: i\n    jwks: /j\n', 'auth.token.service: is required'],
    ['auth:\n  token:\n    realm: r\n    service: s\n    jwks: /j\n', 'auth.token.issuer: is required'],
    [
      'auth:\n  token:\n    realm: r\n    service: s\n    issuer: i\n',
      'auth.token: token auth needs rootcertbundle and/or jwks',
    ],
    [
      'auth:\n  token:\n    realm: r\n    service: s\n    issuer: i\n    jwks: /j\n    signingalgorithms: [none]\n',
      'auth.token.signingalgorithms[0]: unsupported signing algorithm "none"',
    ],
    [
      'auth:\n  token:\n    realm: r\n    service: s\n    issuer: i\n    jwks: /j\n    autoredirect: maybe\n',
      'auth.token.autoredirect: must be true or false',
    ],
  ])('%j → %s', async (yaml, message) => {
    const issues = await issuesOf(yaml);
    expect(
      issues.find((issue) => issue.startsWith(message)),
      issues.join('\n'),
    ).toBeDefined();
  });

  it('token auth needs no realm with autoredirect', async () => {
    const { config } = await parse(
      'auth:\n  token:\n    autoredirect: true\n    service: s\n    issuer: i\n    jwks: /j\n',
    );
    expect(config.auth).toMatchObject({ type: 'token', realm: undefined, autoRedirect: true });
  });
});

const ISSUER_YAML = [
  'auth:',
  '  token:',
  '    service: registry.test',
  '    issuer: berth',
  'berth:',
  '  auth:',
  '    issuer:',
  '      htpasswd: /etc/berth/htpasswd',
  '      signingkey: /etc/berth/key.pem',
  '',
].join('\n');

describe('berth.auth.issuer', () => {
  it('takes service and issuer from auth.token and fills defaults; token auth then needs no keys or realm', async () => {
    const { config } = await parse(ISSUER_YAML);
    expect(config.berth.auth.issuer).toEqual({
      path: '/auth/token',
      service: 'registry.test',
      issuer: 'berth',
      htpasswd: '/etc/berth/htpasswd',
      realm: 'Berth token issuer',
      signingKey: '/etc/berth/key.pem',
      certificate: undefined,
      expirationMs: 300_000,
    });
    expect(config.auth).toMatchObject({
      type: 'token',
      realm: undefined,
      rootCertBundle: undefined,
      jwks: undefined,
    });
  });

  it('reads every key, also from REGISTRY_BERTH_* variables', async () => {
    const { config } = await parse(ISSUER_YAML, {
      REGISTRY_BERTH_AUTH_ISSUER_PATH: '/token',
      REGISTRY_BERTH_AUTH_ISSUER_EXPIRATION: '90s',
      REGISTRY_BERTH_AUTH_ISSUER_CERTIFICATE: '/etc/berth/cert.pem',
      REGISTRY_BERTH_AUTH_ISSUER_REALM: 'Tokens',
    });
    expect(config.berth.auth.issuer).toMatchObject({
      path: '/token',
      expirationMs: 90_000,
      certificate: '/etc/berth/cert.pem',
      realm: 'Tokens',
    });
  });

  it('uses auth.htpasswd.path for its users by default', async () => {
    const { config, warnings } = await parse(
      'auth:\n  htpasswd:\n    realm: r\n    path: /h\nberth:\n  auth:\n    issuer:\n      service: s\n      issuer: i\n',
    );
    expect(config.berth.auth.issuer?.htpasswd).toBe('/h');
    expect(warnings).toContain(
      'berth.auth.issuer: the registry itself does not use the issued tokens (auth is htpasswd, not token)',
    );
  });

  it('is off with enabled: false', async () => {
    const issues = await issuesOf(
      'auth:\n  token:\n    service: s\n    issuer: i\nberth:\n  auth:\n    issuer:\n      enabled: false\n',
    );
    expect(issues.some((issue) => issue.startsWith('auth.token.realm: is required'))).toBe(true);
  });

  it('warns without users', async () => {
    const { warnings } = await parse(
      'auth:\n  token:\n    service: s\n    issuer: i\nberth:\n  auth:\n    issuer: {}\n',
    );
    expect(warnings).toContain(
      'berth.auth.issuer.htpasswd: not set: the issuer has no users and issues anonymous tokens only',
    );
  });

  it.each([
    [`${ISSUER_YAML}      path: /v2/token\n`, 'berth.auth.issuer.path: must be a path outside /v2/'],
    [`${ISSUER_YAML}      path: token\n`, 'berth.auth.issuer.path: must be a path'],
    [
      `${ISSUER_YAML}      service: other\n`,
      'berth.auth.issuer.service: is "other" but auth.token.service is "registry.test"',
    ],
    [
      `${ISSUER_YAML}      issuer: other\n`,
      'berth.auth.issuer.issuer: is "other" but auth.token.issuer is "berth"',
    ],
    [`${ISSUER_YAML}      expiration: 0s\n`, 'berth.auth.issuer.expiration: must be at least 1s'],
    [`${ISSUER_YAML}      expiration: 300\n`, 'berth.auth.issuer.expiration: must be a duration string'],
    ['berth:\n  auth:\n    issuer: {}\n', 'berth.auth.issuer.service: is required'],
    [
      'auth:\n  token:\n    service: s\n    issuer: i\nberth:\n  auth:\n    issuer:\n      certificate: /c\n',
      'berth.auth.issuer.certificate: needs berth.auth.issuer.signingkey',
    ],
  ])('%j → %s', async (yaml, message) => {
    const issues = await issuesOf(yaml);
    expect(
      issues.find((issue) => issue.startsWith(message)),
      issues.join('\n'),
    ).toBeDefined();
  });
});

const RULES_YAML = [
  'auth:',
  '  htpasswd:',
  '    realm: r',
  '    path: /h',
  'berth:',
  '  auth:',
  '    groups:',
  '      ci: [jenkins, gitlab]',
  '    rules:',
  '      - repositories: ["public/**"]',
  '        anonymous: true',
  '        actions: [pull]',
  '      - repositories: ["apps/*"]',
  '        groups: [ci]',
  '        actions: [pull, push]',
  '      - catalog: true',
  '        users: [admin]',
  '',
].join('\n');

describe('berth.auth.rules and groups', () => {
  it('reads rules and groups', async () => {
    const { config, warnings } = await parse(RULES_YAML);
    expect(config.berth.auth.groups).toEqual({ ci: ['jenkins', 'gitlab'] });
    expect(config.berth.auth.rules).toEqual([
      {
        repositories: ['public/**'],
        catalog: false,
        users: [],
        groups: [],
        anonymous: true,
        authenticated: false,
        actions: ['pull'],
      },
      {
        repositories: ['apps/*'],
        catalog: false,
        users: [],
        groups: ['ci'],
        anonymous: false,
        authenticated: false,
        actions: ['pull', 'push'],
      },
      {
        repositories: [],
        catalog: true,
        users: ['admin'],
        groups: [],
        anonymous: false,
        authenticated: false,
        actions: [],
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it('an empty list is "nobody may do anything"', async () => {
    const { config } = await parse(
      'auth:\n  htpasswd:\n    realm: r\n    path: /h\nberth:\n  auth:\n    rules: []\n',
    );
    expect(config.berth.auth.rules).toEqual([]);
  });

  it('a rule can be changed by a REGISTRY_BERTH_AUTH_RULES_* variable', async () => {
    const { config } = await parse(RULES_YAML, { REGISTRY_BERTH_AUTH_RULES_0_ACTIONS: '[pull, push]' });
    expect(config.berth.auth.rules?.[0]?.actions).toEqual(['pull', 'push']);
  });

  it('warns that rules do nothing without htpasswd or the issuer', async () => {
    const { warnings } = await parse(
      'berth:\n  auth:\n    rules:\n      - repositories: [a]\n        anonymous: true\n        actions: [pull]\n',
    );
    expect(warnings).toContain(
      'berth.auth.rules: ignored: rules apply with auth.htpasswd or berth.auth.issuer (auth is none)',
    );
  });

  it('warns about unknown keys of a rule', async () => {
    const { warnings } = await parse(`${RULES_YAML}        role: admin\n`);
    expect(warnings).toContain('berth.auth.rules[2].role: unknown key (ignored)');
  });

  const rule = (body: string): string =>
    `auth:\n  htpasswd:\n    realm: r\n    path: /h\nberth:\n  auth:\n    groups:\n      ci: [a]\n    rules:\n      - ${body}\n`;
  it.each([
    [
      rule('repositories: ["Public/*"]\n        anonymous: true\n        actions: [pull]'),
      'berth.auth.rules[0].repositories[0]: invalid repository pattern "Public/*"',
    ],
    [
      rule('repositories: [a]\n        anonymous: true\n        actions: [read]'),
      'berth.auth.rules[0].actions[0]: unknown action "read"',
    ],
    [
      rule('repositories: [a]\n        anonymous: true'),
      'berth.auth.rules[0].actions: needs at least one action',
    ],
    [rule('repositories: [a]\n        actions: [pull]'), 'berth.auth.rules[0]: applies to nobody'],
    [
      rule('users: [a]\n        actions: [pull]'),
      'berth.auth.rules[0]: needs repositories (or catalog: true)',
    ],
    [
      rule('repositories: [a]\n        groups: [qa]\n        actions: [pull]'),
      'berth.auth.rules[0].groups[0]: unknown group "qa"',
    ],
    [
      rule('repositories: [a]\n        anonymous: sometimes\n        actions: [pull]'),
      'berth.auth.rules[0].anonymous: must be true or false',
    ],
    ['berth:\n  auth:\n    rules: everyone\n', 'berth.auth.rules: must be a list'],
    ['berth:\n  auth:\n    rules: [pull]\n', 'berth.auth.rules[0]: must be a mapping'],
    ['berth:\n  auth:\n    groups: [a]\n', 'berth.auth.groups: must be a mapping'],
    ['berth:\n  auth:\n    groups:\n      ci: {a: b}\n', 'berth.auth.groups.ci: must be a list of strings'],
  ])('%j → %s', async (yaml, message) => {
    const issues = await issuesOf(yaml);
    expect(
      issues.find((issue) => issue.startsWith(message)),
      issues.join('\n'),
    ).toBeDefined();
  });
});
