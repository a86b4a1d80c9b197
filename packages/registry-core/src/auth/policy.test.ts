import { describe, expect, it } from 'vitest';
import type { AccessRecord } from './access.ts';
import {
  AccessPolicyError,
  allowAuthenticatedPolicy,
  compileRepositoryGlob,
  createAccessPolicy,
} from './policy.ts';

const repo = (name: string) => ({ type: 'repository', name });
const actions = (set: ReadonlySet<string>): string[] => [...set].sort();

describe('compileRepositoryGlob', () => {
  it.each<[string, string, boolean]>([
    ['library/alpine', 'library/alpine', true],
    ['library/alpine', 'library/alpine2', false],
    ['public/*', 'public/x', true],
    ['public/*', 'public/x/y', false],
    ['public/*', 'public', false],
    ['public/*', 'public/', true],
    ['apps/**', 'apps/x', true],
    ['apps/**', 'apps/x/y/z', true],
    ['apps/**', 'apps', false],
    ['apps/**', 'appsx/y', false],
    ['**', 'anything/at/all', true],
    ['*', 'top', true],
    ['*', 'a/b', false],
    ['team-?/app', 'team-a/app', true],
    ['team-?/app', 'team-ab/app', false],
    ['team-?/app', 'team-//app', false],
    ['*/cache', 'x/cache', true],
    ['**/cache', 'x/y/cache', true],
    ['a.b', 'axb', false],
    ['a.b', 'a.b', true],
    ['users/*-dev', 'users/bob-dev', true],
  ])('%j ~ %j → %s', (pattern, name, matches) => {
    expect(compileRepositoryGlob(pattern).test(name)).toBe(matches);
  });

  it.each(['', 'Library/alpine', 'a b', 'a[b]', 'a:b'])('rejects %j', (pattern) => {
    expect(() => compileRepositoryGlob(pattern, 'rules[0].repositories[0]')).toThrow(AccessPolicyError);
  });
});

describe('createAccessPolicy', () => {
  const policy = createAccessPolicy({
    groups: { ci: ['jenkins', 'gitlab'], admins: ['root'] },
    rules: [
      { repositories: ['public/**'], anonymous: true, actions: ['pull'] },
      { repositories: ['apps/**', 'public/**'], groups: ['ci'], actions: ['pull', 'push'] },
      { repositories: ['**'], groups: ['admins'], actions: ['*'] },
      { repositories: ['home/alice/*'], users: ['alice'], actions: ['pull', 'push', 'delete'] },
      { repositories: ['shared/*'], authenticated: true, actions: ['pull'] },
      { catalog: true, groups: ['admins'] },
    ],
  });

  it('grants anonymous callers only what anonymous rules allow', () => {
    expect(actions(policy.actionsFor(undefined, repo('public/x')))).toEqual(['pull']);
    expect(actions(policy.actionsFor(undefined, repo('apps/x')))).toEqual([]);
    expect(actions(policy.actionsFor(undefined, repo('shared/x')))).toEqual([]);
  });

  it('applies anonymous rules to authenticated users too', () => {
    expect(actions(policy.actionsFor('alice', repo('public/x')))).toEqual(['pull']);
  });

  it('takes the union of every matching rule (order does not matter)', () => {
    expect(actions(policy.actionsFor('jenkins', repo('public/x')))).toEqual(['pull', 'push']);
    expect(actions(policy.actionsFor('jenkins', repo('apps/a/b')))).toEqual(['pull', 'push']);
    const reversed = createAccessPolicy({
      groups: { ci: ['jenkins'] },
      rules: [
        { repositories: ['apps/**', 'public/**'], groups: ['ci'], actions: ['pull', 'push'] },
        { repositories: ['public/**'], anonymous: true, actions: ['pull'] },
      ],
    });
    expect(actions(reversed.actionsFor('jenkins', repo('public/x')))).toEqual(['pull', 'push']);
  });

  it('matches users, groups and authenticated', () => {
    expect(actions(policy.actionsFor('alice', repo('home/alice/x')))).toEqual(['delete', 'pull', 'push']);
    expect(actions(policy.actionsFor('bob', repo('home/alice/x')))).toEqual([]);
    expect(actions(policy.actionsFor('bob', repo('shared/x')))).toEqual(['pull']);
    expect(actions(policy.actionsFor('root', repo('any/thing')))).toEqual(['delete', 'pull', 'push']);
  });

  it('grants the catalog only by a catalog rule', () => {
    const catalog = { type: 'registry', name: 'catalog' };
    expect(actions(policy.actionsFor('root', catalog))).toEqual(['*']);
    expect(actions(policy.actionsFor('jenkins', catalog))).toEqual([]);
    expect(actions(policy.actionsFor(undefined, catalog))).toEqual([]);
    expect(actions(policy.actionsFor('root', { type: 'registry', name: 'other' }))).toEqual([]);
    expect(actions(policy.actionsFor('root', { type: 'plugin', name: 'x' }))).toEqual([]);
  });

  it('missing() lists the records not allowed', () => {
    const records: AccessRecord[] = [
      { type: 'repository', name: 'public/x', action: 'pull' },
      { type: 'repository', name: 'public/x', action: 'push' },
    ];
    expect(policy.missing(undefined, records)).toEqual([records[1]]);
    expect(policy.missing('gitlab', records)).toEqual([]);
  });

  it('grant() intersects the requested scopes with the rules', () => {
    expect(
      policy.grant('jenkins', [
        { type: 'repository', name: 'apps/web', actions: ['pull', 'push', 'delete'] },
        { type: 'repository', name: 'private/x', actions: ['pull'] },
        { type: 'registry', name: 'catalog', actions: ['*'] },
      ]),
    ).toEqual([{ type: 'repository', name: 'apps/web', actions: ['pull', 'push'] }]);
    expect(
      policy.grant(undefined, [{ type: 'repository', name: 'public/a', actions: ['pull', 'push'] }]),
    ).toEqual([{ type: 'repository', name: 'public/a', actions: ['pull'] }]);
    expect(policy.grant('root', [{ type: 'registry', name: 'catalog', actions: ['*'] }])).toEqual([
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('grant() expands * on a repository to the allowed actions and keeps a class', () => {
    expect(policy.grant('jenkins', [{ type: 'repository', name: 'apps/x', actions: ['*'] }])).toEqual([
      { type: 'repository', name: 'apps/x', actions: ['pull', 'push'] },
    ]);
    expect(
      policy.grant(undefined, [{ type: 'repository', class: 'plugin', name: 'public/p', actions: ['pull'] }]),
    ).toEqual([{ type: 'repository', class: 'plugin', name: 'public/p', actions: ['pull'] }]);
  });

  it.each<[string, Parameters<typeof createAccessPolicy>[0], string]>([
    ['no repositories', { rules: [{ users: ['a'], actions: ['pull'] }] }, 'rules[0]: needs repositories'],
    [
      'bad action',
      { rules: [{ repositories: ['a'], users: ['a'], actions: ['read'] }] },
      'rules[0].actions[0]',
    ],
    ['no actions', { rules: [{ repositories: ['a'], users: ['a'] }] }, 'rules[0].actions'],
    ['nobody', { rules: [{ repositories: ['a'], actions: ['pull'] }] }, 'rules[0]: applies to nobody'],
    [
      'unknown group',
      { rules: [{ repositories: ['a'], groups: ['x'], actions: ['pull'] }] },
      'rules[0].groups[0]: unknown group "x"',
    ],
    [
      'bad glob',
      { rules: [{ repositories: ['A'], anonymous: true, actions: ['pull'] }] },
      'rules[0].repositories[0]',
    ],
  ])('rejects %s', (_label, options, message) => {
    expect(() => createAccessPolicy(options)).toThrow(message);
  });
});

describe('allowAuthenticatedPolicy (registry:2 without rules)', () => {
  const policy = allowAuthenticatedPolicy();
  it('lets any authenticated user do anything, anonymous callers nothing', () => {
    expect(actions(policy.actionsFor('u', repo('x/y')))).toEqual(['delete', 'pull', 'push']);
    expect(actions(policy.actionsFor('u', { type: 'registry', name: 'catalog' }))).toEqual(['*']);
    expect(actions(policy.actionsFor(undefined, repo('x/y')))).toEqual([]);
  });
});

describe('invalid repository names', () => {
  const policy = createAccessPolicy({
    rules: [
      { repositories: ['bob/**'], users: ['bob'], actions: ['*'] },
      { repositories: ['**'], anonymous: true, actions: ['pull'] },
    ],
  });
  const invalid = [
    'bob/../alice/secret',
    'bob/./x',
    'bob//x',
    'Bob/x',
    'bob/x/',
    '/bob/x',
    'bob/%2e%2e/x',
    'bob/..',
    `bob/${'a'.repeat(252)}`,
  ];

  it.each(invalid.map((name) => [name.length > 255 ? 'a 256-character name' : name, name]))(
    '%s matches no rule, not even ** or bob/**',
    (_label, name) => {
      expect(actions(policy.actionsFor('bob', repo(name)))).toEqual([]);
      expect(actions(policy.actionsFor(undefined, repo(name)))).toEqual([]);
      expect(actions(policy.actionsFor('bob', { type: 'repository', class: 'plugin', name }))).toEqual([]);
      const record: AccessRecord = { type: 'repository', name, action: 'pull' };
      expect(policy.missing('bob', [record])).toEqual([record]);
      expect(allowAuthenticatedPolicy().actionsFor('bob', repo(name)).size).toBe(0);
    },
  );

  it('grant() drops them and keeps the valid scopes of the same request', () => {
    expect(
      policy.grant('bob', [
        ...invalid.map((name) => ({ type: 'repository', name, actions: ['pull', 'push'] })),
        ...invalid.map((name) => ({ type: 'repository', class: 'plugin', name, actions: ['pull'] })),
        { type: 'repository', name: 'bob/app', actions: ['*'] },
        { type: 'repository', class: 'plugin', name: 'bob/p', actions: ['pull'] },
      ]),
    ).toEqual([
      { type: 'repository', name: 'bob/app', actions: ['pull', 'push', 'delete'] },
      { type: 'repository', class: 'plugin', name: 'bob/p', actions: ['pull'] },
    ]);
    expect(
      policy.grant('bob', [{ type: 'repository', name: `bob/${'a'.repeat(251)}`, actions: ['pull'] }]),
    ).toHaveLength(1); // 255 characters is still a name
  });
});
