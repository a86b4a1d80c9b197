/**
 * Per-repository access rules: who (users, groups, anonymous callers, any authenticated user)
 * may do what (pull, push, delete) where (repository globs), and who may list the catalog.
 *
 * Semantics: a caller gets the **union** of the actions of every rule that matches both the
 * caller and the repository. There are no deny rules, so the order of the rules does not
 * matter and adding a rule can only grant more. A rule for `anonymous` callers applies to
 * everyone (a logged-in user can always do what an anonymous one can).
 *
 * Repository globs match whole names: `*` is any run of characters other than `/` (one path
 * component or part of one), `**` is any run of characters including `/` (so `apps/**` is
 * everything below `apps/`, but not `apps` itself), `?` is one character other than `/`;
 * everything else matches itself. Only valid repository names match anything: a scope for
 * `bob/../alice` or `Bob/x` is granted nothing, whatever the rules.
 */
import { isValidRepositoryName } from '../names.ts';
import type { AccessRecord, AccessResource, ResourceActions } from './access.ts';
import { REPOSITORY_ACTIONS } from './access.ts';

/** One rule. */
export interface AccessRule {
  /** Repository globs the rule is about (see the module comment). */
  readonly repositories?: readonly string[];
  /** Grants `registry:catalog:*` (listing every repository name with `/v2/_catalog`). */
  readonly catalog?: boolean;
  /** User names the rule applies to. */
  readonly users?: readonly string[];
  /** Groups (defined in {@link AccessPolicyOptions.groups}) the rule applies to. */
  readonly groups?: readonly string[];
  /** Applies to every caller, including those without credentials. */
  readonly anonymous?: boolean;
  /** Applies to every authenticated user. */
  readonly authenticated?: boolean;
  /** `pull`, `push`, `delete`, or `*` for all three. Required with `repositories`. */
  readonly actions?: readonly string[];
}

/** Options of {@link createAccessPolicy}. */
export interface AccessPolicyOptions {
  readonly rules: readonly AccessRule[];
  /** Group name → user names. */
  readonly groups?: Readonly<Record<string, readonly string[]>>;
}

/** A rule set that cannot be used; `path` names the offending entry (`rules[2].actions[0]`). */
export class AccessPolicyError extends Error {
  override readonly name: 'AccessPolicyError' = 'AccessPolicyError';
  readonly code: 'ACCESS_POLICY_INVALID' = 'ACCESS_POLICY_INVALID';
  /** `rules[<i>].<key>[<j>]` or `groups.<name>`. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** Decides, for a caller (`undefined` = anonymous), which actions it has on a resource. */
export interface AccessPolicy {
  /** The actions `user` has on `resource` (`*` alone for the catalog). */
  actionsFor(user: string | undefined, resource: AccessResource): ReadonlySet<string>;
  /** The records `user` does not have (empty: everything is allowed). */
  missing(user: string | undefined, records: readonly AccessRecord[]): AccessRecord[];
  /**
   * The intersection of what is requested and what `user` has: per resource, the requested
   * actions that are allowed (`*` on a repository asks for pull, push and delete). Resources
   * with nothing granted are left out.
   */
  grant(user: string | undefined, requested: readonly ResourceActions[]): ResourceActions[];
}

const GLOB_CHARS = /^[a-z0-9._\-/*?]+$/;

/**
 * Compiles a repository glob (see the module comment) to an anchored regular expression.
 * @throws {AccessPolicyError} for an empty pattern or characters no repository name contains.
 */
export function compileRepositoryGlob(pattern: string, path: string = 'pattern'): RegExp {
  if (pattern === '') throw new AccessPolicyError(path, 'empty repository pattern');
  if (!GLOB_CHARS.test(pattern)) {
    throw new AccessPolicyError(
      path,
      `invalid repository pattern ${JSON.stringify(pattern)}: repository names are lower case ` +
        'letters, digits and . _ - /, with * ** ? as wildcards',
    );
  }
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*') {
      if (pattern[i + 1] === '*') {
        source += '.*';
        while (pattern[i + 1] === '*') i++;
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.\\^$+()[\]{}|-]/g, (c) => `\\${c}`);
    }
  }
  return new RegExp(`^${source}$`);
}

interface CompiledRule {
  readonly repositories: readonly RegExp[];
  readonly catalog: boolean;
  readonly users: ReadonlySet<string>;
  readonly groups: readonly string[];
  readonly anonymous: boolean;
  readonly authenticated: boolean;
  readonly actions: ReadonlySet<string>;
}

const KNOWN_ACTIONS = new Set<string>([...REPOSITORY_ACTIONS, '*']);

function compileRule(rule: AccessRule, index: number, groups: ReadonlyMap<string, unknown>): CompiledRule {
  const at = `rules[${index}]`;
  const repositories = (rule.repositories ?? []).map((pattern, i) =>
    compileRepositoryGlob(pattern, `${at}.repositories[${i}]`),
  );
  const catalog = rule.catalog === true;
  if (repositories.length === 0 && !catalog) {
    throw new AccessPolicyError(at, 'needs repositories (or catalog: true)');
  }
  const actions = new Set<string>();
  (rule.actions ?? []).forEach((action, i) => {
    if (!KNOWN_ACTIONS.has(action)) {
      throw new AccessPolicyError(
        `${at}.actions[${i}]`,
        `unknown action ${JSON.stringify(action)} (use pull, push, delete or *)`,
      );
    }
    if (action === '*') for (const each of REPOSITORY_ACTIONS) actions.add(each);
    else actions.add(action);
  });
  if (repositories.length > 0 && actions.size === 0) {
    throw new AccessPolicyError(`${at}.actions`, 'needs at least one action (pull, push, delete or *)');
  }
  (rule.groups ?? []).forEach((group, i) => {
    if (!groups.has(group))
      throw new AccessPolicyError(`${at}.groups[${i}]`, `unknown group ${JSON.stringify(group)}`);
  });
  const anonymous = rule.anonymous === true;
  const authenticated = rule.authenticated === true;
  if (!anonymous && !authenticated && (rule.users ?? []).length === 0 && (rule.groups ?? []).length === 0) {
    throw new AccessPolicyError(at, 'applies to nobody: set users, groups, anonymous or authenticated');
  }
  return {
    repositories,
    catalog,
    users: new Set(rule.users ?? []),
    groups: [...(rule.groups ?? [])],
    anonymous,
    authenticated,
    actions,
  };
}

/**
 * Compiles a rule set.
 * @throws {AccessPolicyError} naming the first invalid entry.
 *
 * @example
 * ```ts
 * const policy = createAccessPolicy({
 *   groups: { ci: ['jenkins'] },
 *   rules: [
 *     { repositories: ['public/**'], anonymous: true, actions: ['pull'] },
 *     { repositories: ['apps/**'], groups: ['ci'], actions: ['pull', 'push'] },
 *     { catalog: true, users: ['admin'] },
 *   ],
 * });
 * policy.actionsFor(undefined, { type: 'repository', name: 'public/x' }); // Set {'pull'}
 * ```
 */
export function createAccessPolicy(options: AccessPolicyOptions): AccessPolicy {
  const groupMembers = new Map<string, ReadonlySet<string>>();
  for (const [name, users] of Object.entries(options.groups ?? {})) {
    if (!Array.isArray(users)) throw new AccessPolicyError(`groups.${name}`, 'must be a list of user names');
    groupMembers.set(name, new Set(users));
  }
  const rules = options.rules.map((rule, i) => compileRule(rule, i, groupMembers));

  const applies = (rule: CompiledRule, user: string | undefined): boolean => {
    if (rule.anonymous) return true;
    if (user === undefined) return false;
    if (rule.authenticated || rule.users.has(user)) return true;
    return rule.groups.some((group) => groupMembers.get(group)?.has(user) === true);
  };

  const actionsFor = (user: string | undefined, resource: AccessResource): ReadonlySet<string> => {
    const out = new Set<string>();
    if (resource.type === 'registry') {
      if (resource.name === 'catalog' && rules.some((rule) => rule.catalog && applies(rule, user)))
        out.add('*');
      return out;
    }
    if (resource.type !== 'repository') return out;
    // Globs match text, so `bob/**` would match `bob/../alice`: only real names can match.
    if (!isValidRepositoryName(resource.name)) return out;
    for (const rule of rules) {
      if (rule.actions.size === 0 || !applies(rule, user)) continue;
      if (!rule.repositories.some((glob) => glob.test(resource.name))) continue;
      for (const action of rule.actions) out.add(action);
    }
    return out;
  };

  return {
    actionsFor,
    missing(user, records) {
      const cache = new Map<string, ReadonlySet<string>>();
      return records.filter((record) => {
        const key = `${record.type}\u0000${record.name}`;
        let allowed = cache.get(key);
        if (allowed === undefined) {
          allowed = actionsFor(user, record);
          cache.set(key, allowed);
        }
        return !allowed.has(record.action);
      });
    },
    grant(user, requested) {
      const out: ResourceActions[] = [];
      for (const entry of requested) {
        const allowed = actionsFor(user, entry);
        if (allowed.size === 0) continue;
        const wanted =
          entry.type === 'repository' && entry.actions.includes('*')
            ? [...REPOSITORY_ACTIONS]
            : entry.actions;
        const actions = [...new Set(wanted)].filter((action) => allowed.has(action));
        if (actions.length > 0) out.push({ ...entry, actions });
      }
      return out;
    },
  };
}

/**
 * registry:2's behaviour when no rules are configured: every authenticated user may do
 * everything (catalog included), anonymous callers nothing.
 */
export function allowAuthenticatedPolicy(): AccessPolicy {
  return createAccessPolicy({
    rules: [{ repositories: ['**'], catalog: true, authenticated: true, actions: ['*'] }],
  });
}
