/**
 * `auth` (registry:2's access controllers) and `berth.auth` (Berth's token issuer, groups and
 * per-repository rules). Only shapes are checked here; files (htpasswd, keys, certificates) are
 * read when the server starts.
 */
import {
  type AccessRule,
  compileRepositoryGlob,
  createAccessPolicy,
  isValidRepositoryName,
  REPOSITORY_ACTIONS,
} from '@berth/registry-core';
import type { Section } from './reader.ts';
import { sectionOf } from './reader.ts';
import type {
  AuthConfig,
  BerthAuthConfig,
  BerthSectionConfig,
  IssuerConfig,
  TokenAuthConfig,
} from './types.ts';

/** registry:2's default `signingalgorithms` and jose's extra name for Ed25519. */
const SIGNING_ALGORITHMS: readonly string[] = [
  'EdDSA',
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
];

const AUTH_TYPES = ['none', 'silly', 'htpasswd', 'token'] as const;

/** Defaults of the `berth.auth.issuer` keys. */
export const ISSUER_DEFAULTS: {
  readonly path: string;
  readonly realm: string;
  readonly expirationMs: number;
} = {
  path: '/auth/token',
  realm: 'Berth token issuer',
  expirationMs: 5 * 60_000,
};

function required(section: Section, key: string, why: string): string {
  const value = section.string(key);
  if (value === undefined || value === '') {
    section.diagnostics.error(section.at(key), `is required ${why}`);
    return '';
  }
  return value;
}

/** Reads `auth`: exactly one of `none`, `silly`, `htpasswd`, `token`. */
export function readAuth(root: Section, issuerEnabled: boolean): AuthConfig {
  const diag = root.diagnostics;
  const auth = root.section('auth');
  const types = auth.keys();
  if (types.length === 0) {
    auth.finish();
    return { type: 'none' };
  }
  if (types.length > 1) {
    auth.accept(...types);
    diag.error(auth.path, `exactly one auth type may be configured, found ${types.join(', ')}`);
    return { type: 'none' };
  }
  const type = types[0]!;
  if (!(AUTH_TYPES as readonly string[]).includes(type)) {
    auth.accept(type);
    diag.error(auth.at(type), `unknown auth type (use ${AUTH_TYPES.join(', ')})`);
    return { type: 'none' };
  }
  const options = auth.section(type);
  auth.finish();
  let config: AuthConfig;
  switch (type) {
    case 'none':
      config = { type: 'none' };
      break;
    case 'silly':
      diag.warn(
        auth.at(type),
        'silly authentication lets any request with an Authorization header through (development only)',
      );
      config = {
        type: 'silly',
        realm: required(options, 'realm', 'for silly auth'),
        service: required(options, 'service', 'for silly auth'),
      };
      break;
    case 'htpasswd':
      config = {
        type: 'htpasswd',
        realm: required(options, 'realm', 'for htpasswd auth (the realm of the Basic challenge)'),
        path: required(options, 'path', 'for htpasswd auth (the bcrypt htpasswd file)'),
      };
      break;
    default:
      config = readToken(options, issuerEnabled);
  }
  options.finish();
  return config;
}

function readToken(token: Section, issuerEnabled: boolean): TokenAuthConfig {
  const diag = token.diagnostics;
  const autoRedirect = token.boolean('autoredirect', false);
  const autoRedirectPath = token.string('autoredirectpath') || '/auth/token';
  if (!autoRedirectPath.startsWith('/')) {
    diag.error(
      token.at('autoredirectpath'),
      `must be a path starting with "/", got ${JSON.stringify(autoRedirectPath)}`,
    );
  }
  const realm = token.string('realm') || undefined;
  if (realm === undefined && !autoRedirect && !issuerEnabled) {
    diag.error(
      token.at('realm'),
      'is required for token auth (the token endpoint), unless autoredirect or berth.auth.issuer is enabled',
    );
  }
  const service = required(token, 'service', 'for token auth (the audience of the tokens)');
  const issuer = required(token, 'issuer', 'for token auth (the issuer of the tokens)');
  const rootCertBundle = token.string('rootcertbundle') || undefined;
  const jwks = token.string('jwks') || undefined;
  if (rootCertBundle === undefined && jwks === undefined && !issuerEnabled) {
    diag.error(
      token.path,
      'token auth needs rootcertbundle and/or jwks (the keys tokens are signed with), or berth.auth.issuer',
    );
  }
  let signingAlgorithms: string[] | undefined;
  if (token.raw('signingalgorithms') !== undefined) {
    signingAlgorithms = [];
    token.strings('signingalgorithms').forEach((alg, i) => {
      if (SIGNING_ALGORITHMS.includes(alg)) signingAlgorithms!.push(alg);
      else
        diag.error(
          [...token.at('signingalgorithms'), String(i)],
          `unsupported signing algorithm ${JSON.stringify(alg)} (use ${SIGNING_ALGORITHMS.join(', ')})`,
        );
    });
    if (signingAlgorithms.length === 0) signingAlgorithms = undefined;
  }
  return {
    type: 'token',
    realm,
    service,
    issuer,
    rootCertBundle,
    jwks,
    signingAlgorithms,
    autoRedirect,
    autoRedirectPath,
  };
}

/** Whether `berth.auth.issuer` is present and not disabled (read before `auth`, which depends on it). */
export function issuerEnabled(root: Section): boolean {
  const berth = root.value?.berth;
  const auth = (berth as { auth?: unknown } | null | undefined)?.auth;
  const issuer = (auth as { issuer?: unknown } | null | undefined)?.issuer;
  if (issuer === undefined || issuer === null || typeof issuer !== 'object' || Array.isArray(issuer))
    return false;
  const enabled = (issuer as { enabled?: unknown }).enabled;
  return !(enabled === false || (typeof enabled === 'string' && /^(false|no|off|n)$/i.test(enabled.trim())));
}

/** Reads `berth.auth` from the `berth` section (which the caller finishes). */
export function readBerth(berth: Section, auth: AuthConfig): BerthSectionConfig {
  const authSection = berth.section('auth');
  const result = readBerthAuth(authSection, auth);
  authSection.finish();
  return { auth: result };
}

function readBerthAuth(section: Section, auth: AuthConfig): BerthAuthConfig {
  const diag = section.diagnostics;
  const errorsBefore = diag.errors.length;
  const groups = readGroups(section);
  const rules = readRules(section);
  const shapeErrors = diag.errors.length > errorsBefore;
  const issuer = readIssuer(section.section('issuer'), auth);
  if (rules !== undefined && !shapeErrors) {
    try {
      createAccessPolicy({ rules, groups });
    } catch (error) {
      const policyPath = (error as { path?: unknown }).path;
      if (typeof policyPath !== 'string') throw error;
      const message = (error as Error).message.slice(policyPath.length + 2);
      diag.error([...section.path, ...policyPath.split(/[.[\]]+/).filter((s) => s !== '')], message);
    }
  }
  if (rules !== undefined) {
    if (auth.type !== 'htpasswd' && issuer === undefined) {
      diag.warn(
        section.at('rules'),
        `ignored: rules apply with auth.htpasswd or berth.auth.issuer (auth is ${auth.type})`,
      );
    }
  }
  return { issuer, groups, rules };
}

function readGroups(section: Section): Record<string, string[]> {
  const diag = section.diagnostics;
  const raw = section.map('groups');
  const groups: Record<string, string[]> = {};
  if (raw === undefined) return groups;
  const groupsSection = sectionOf(diag, section.at('groups'), raw);
  for (const name of groupsSection.keys()) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      groupsSection.accept(name);
      diag.error(groupsSection.at(name), 'a group name is letters, digits and . _ -');
      continue;
    }
    groups[name] = groupsSection.strings(name);
  }
  groupsSection.finish();
  return groups;
}

const RULE_ACTIONS: readonly string[] = [...REPOSITORY_ACTIONS, '*'];

function readRules(section: Section): AccessRule[] | undefined {
  const diag = section.diagnostics;
  if (section.raw('rules') === undefined) return undefined;
  const rules: AccessRule[] = [];
  for (const item of section.list('rules')) {
    const rule = sectionOf(diag, item.path, item.value);
    if (rule.value === undefined) {
      diag.error(
        item.path,
        'a rule is a mapping (repositories, users, groups, anonymous, authenticated, actions, catalog)',
      );
      continue;
    }
    const repositories = rule.strings('repositories');
    repositories.forEach((pattern, i) => {
      try {
        compileRepositoryGlob(pattern);
      } catch (error) {
        diag.error(
          [...rule.at('repositories'), String(i)],
          (error as Error).message.replace(/^pattern: /, ''),
        );
      }
      if (!/[*?]/.test(pattern) && !isValidRepositoryName(pattern) && /^[a-z0-9._\-/]+$/.test(pattern)) {
        diag.warn(
          [...rule.at('repositories'), String(i)],
          `matches no valid repository name: ${JSON.stringify(pattern)}`,
        );
      }
    });
    const actions = rule.strings('actions');
    const badAction = actions.findIndex((action) => !RULE_ACTIONS.includes(action));
    const out: AccessRule = {
      repositories,
      catalog: rule.boolean('catalog', false),
      users: rule.strings('users'),
      groups: rule.strings('groups'),
      anonymous: rule.boolean('anonymous', false),
      authenticated: rule.boolean('authenticated', false),
      actions: badAction < 0 ? actions : actions.filter((action) => RULE_ACTIONS.includes(action)),
    };
    if (badAction >= 0) {
      diag.error(
        [...rule.at('actions'), String(badAction)],
        `unknown action ${JSON.stringify(actions[badAction])} (use pull, push, delete or *)`,
      );
    }
    rule.finish();
    rules.push(out);
  }
  return rules;
}

function readIssuer(issuer: Section, auth: AuthConfig): IssuerConfig | undefined {
  const diag = issuer.diagnostics;
  if (issuer.value === undefined) {
    issuer.finish();
    return undefined;
  }
  const enabled = issuer.boolean('enabled', true);
  const path = issuer.string('path') || ISSUER_DEFAULTS.path;
  const token = auth.type === 'token' ? auth : undefined;
  const serviceText = issuer.string('service') || undefined;
  const issuerText = issuer.string('issuer') || undefined;
  const htpasswdText = issuer.string('htpasswd') || undefined;
  const realm = issuer.string('realm') || ISSUER_DEFAULTS.realm;
  const signingKey = issuer.string('signingkey') || undefined;
  const certificate = issuer.string('certificate') || undefined;
  const expirationMs = issuer.duration('expiration', ISSUER_DEFAULTS.expirationMs, {
    bareNumber: 'reject',
    min: 1000,
  });
  issuer.finish();
  if (!enabled) return undefined;

  if (!path.startsWith('/') || path === '/' || /^\/v2(\/|$)/.test(path) || path.startsWith('/debug/')) {
    diag.error(
      issuer.at('path'),
      `must be a path outside /v2/ and /debug/, such as /auth/token, got ${JSON.stringify(path)}`,
    );
  }
  if (token?.autoRedirect && token.autoRedirectPath !== path) {
    diag.warn(
      ['auth', 'token', 'autoredirectpath'],
      `is ${JSON.stringify(token.autoRedirectPath)} but the built-in issuer is served at ${JSON.stringify(path)}`,
    );
  }
  const pick = (key: 'service' | 'issuer', own: string | undefined): string => {
    const fromToken = token?.[key];
    if (own !== undefined && fromToken !== undefined && fromToken !== '' && own !== fromToken) {
      diag.error(
        issuer.at(key),
        `is ${JSON.stringify(own)} but auth.token.${key} is ${JSON.stringify(fromToken)}: the registry would refuse every token`,
      );
    }
    const value = own ?? fromToken;
    if (value === undefined || value === '') {
      diag.error(issuer.at(key), `is required (or set auth.token.${key})`);
      return '';
    }
    return value;
  };
  const service = pick('service', serviceText);
  const issuerName = pick('issuer', issuerText);
  const htpasswd = htpasswdText ?? (auth.type === 'htpasswd' ? auth.path : undefined);
  if (htpasswd === undefined) {
    diag.warn(issuer.at('htpasswd'), 'not set: the issuer has no users and issues anonymous tokens only');
  }
  if (certificate !== undefined && signingKey === undefined) {
    diag.error(issuer.at('certificate'), 'needs berth.auth.issuer.signingkey (the key of the certificate)');
  }
  if (auth.type !== 'token') {
    diag.warn(
      issuer.path,
      `the registry itself does not use the issued tokens (auth is ${auth.type}, not token)`,
    );
  }
  return {
    path,
    service,
    issuer: issuerName,
    htpasswd,
    realm,
    signingKey,
    certificate,
    expirationMs,
  };
}
