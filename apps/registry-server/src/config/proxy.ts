/**
 * The pull-through cache's configuration:
 *
 * - `proxy` (registry:2's section): one upstream, every repository mirrored from it.
 * - `berth.proxy`: the spool directory, the `proxy:` mirror's freshness window and containerd
 *   `?ns=` hosts, or instead a list of `upstreams` mounted under repository-name prefixes, with
 *   every other repository local.
 *
 * Only shapes are checked here: nothing contacts an upstream, and a credential helper first
 * runs when a pull needs it. Passwords are never put into a message.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MountTable } from '@berth/proxy';
import { formatPath } from './raw.ts';
import { type BareNumber, type Section, sectionOf } from './reader.ts';
import type { ProxyConfig, ProxyCredentialsConfig, ProxyUpstreamConfig } from './types.ts';

/** Defaults of the proxy keys. */
export const PROXY_DEFAULTS: {
  readonly ttlMs: number;
  readonly cacheWriteTimeoutMs: number;
  readonly freshnessMs: number;
  readonly spoolDirectory: string;
} = {
  ttlMs: 168 * 3_600_000,
  cacheWriteTimeoutMs: 5 * 60_000,
  freshnessMs: 0,
  spoolDirectory: join(tmpdir(), 'berth-proxy'),
};

/** A repository-name prefix: name components separated by `/` (registry-core's grammar). */
const PREFIX = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A registry host as containerd names it in `?ns=`: a DNS name, optionally with a port. */
const HOST = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/;

/**
 * Reads `proxy` and `berth.proxy` (`settings`, a section of the caller's `berth` section).
 * @returns `undefined` when no upstream is configured.
 */
export function readProxy(root: Section, settings: Section): ProxyConfig | undefined {
  const diag = root.diagnostics;
  const proxy = root.section('proxy');
  const remote = proxy.string('remoteurl');
  const mirrorsAll = remote !== undefined && remote !== '';

  const spoolDirectory = settings.string('spooldirectory') || PROXY_DEFAULTS.spoolDirectory;
  const freshnessMs = settings.duration('freshness', PROXY_DEFAULTS.freshnessMs, { bareNumber: 'reject' });
  const namespaces = readNamespaces(settings);
  const listed = settings.raw('upstreams') !== undefined;
  const items = settings.list('upstreams');

  const upstreams: ProxyUpstreamConfig[] = [];
  if (mirrorsAll) {
    upstreams.push(
      readUpstream(proxy, {
        key: 'proxy',
        prefix: '',
        bareNumber: 'nanoseconds',
        freshnessMs,
        namespaces,
      }),
    );
    if (listed) {
      diag.error(
        proxy.at('remoteurl'),
        'cannot be combined with berth.proxy.upstreams: mirror every repository from one upstream ' +
          '(proxy.remoteurl), or list the upstreams under prefixes (berth.proxy.upstreams)',
      );
    }
  } else if (proxy.present) {
    proxy.accept(...proxy.keys());
    diag.warn(proxy.path, 'ignored: no proxy.remoteurl');
  }

  if (!mirrorsAll) {
    for (const item of items) {
      const entry = sectionOf(diag, item.path, item.value);
      if (entry.value === undefined) {
        if (item.value === undefined || item.value === null) diag.error(item.path, 'must be a mapping');
        continue;
      }
      const upstream = readEntry(entry);
      if (upstream !== undefined) upstreams.push(upstream);
    }
    if (upstreams.length === items.length) checkMounts(settings, upstreams);
    for (const key of ['freshness', 'namespaces'] as const) {
      if (settings.raw(key) !== undefined && listed) {
        diag.warn(
          settings.at(key),
          `ignored: it applies to the proxy.remoteurl mirror (set ${key} per upstream)`,
        );
      }
    }
  }
  if (upstreams.length === 0) {
    if (settings.present && !listed) {
      diag.warn(settings.path, 'ignored: no proxy.remoteurl and no berth.proxy.upstreams');
    }
    settings.finish();
    return undefined;
  }
  settings.finish();
  return { upstreams, spoolDirectory };
}

/** One entry of `berth.proxy.upstreams`, or `undefined` when its prefix is unusable. */
function readEntry(entry: Section): ProxyUpstreamConfig | undefined {
  const diag = entry.diagnostics;
  const text = entry.string('prefix');
  let prefix: string | undefined;
  if (text === undefined) {
    diag.error(
      entry.at('prefix'),
      'is required: the repository-name prefix the upstream is mounted under, such as dockerhub',
    );
  } else {
    prefix = text.trim().replace(/^\/+|\/+$/g, '');
    if (prefix !== '' && !PREFIX.test(prefix)) {
      diag.error(
        entry.at('prefix'),
        `must be a repository name prefix (lower-case name components separated by /), got ${JSON.stringify(text)}`,
      );
      prefix = undefined;
    }
  }
  const upstream = readUpstream(entry, {
    key: formatPath(entry.path),
    prefix: prefix ?? '',
    bareNumber: 'reject',
    freshnessMs: entry.duration('freshness', PROXY_DEFAULTS.freshnessMs, { bareNumber: 'reject' }),
    namespaces: readNamespaces(entry),
    library: entry.boolean('library', false),
  });
  return prefix === undefined ? undefined : upstream;
}

interface UpstreamOptions {
  readonly key: string;
  readonly prefix: string;
  /** How a bare number reads where a duration is expected (registry:2's keys: nanoseconds). */
  readonly bareNumber: BareNumber;
  readonly freshnessMs: number;
  readonly namespaces: readonly string[];
  readonly library?: boolean;
}

/** The keys one upstream shares with registry:2's `proxy` section; finishes `section`. */
function readUpstream(section: Section, options: UpstreamOptions): ProxyUpstreamConfig {
  const { bareNumber } = options;
  const remoteUrl = readRemoteUrl(section);
  const credentials = readCredentials(section, bareNumber);
  if (credentials?.type === 'basic' && remoteUrl !== undefined && plainOverNetwork(remoteUrl)) {
    section.diagnostics.warn(
      section.at('remoteurl'),
      'the upstream is plain http: its username and password cross the network unencrypted',
    );
  }
  const ttlMs = section.duration('ttl', PROXY_DEFAULTS.ttlMs, { bareNumber });
  const writeTimeoutMs = section.duration('cachewritetimeout', PROXY_DEFAULTS.cacheWriteTimeoutMs, {
    bareNumber,
  });
  section.finish();
  return {
    key: options.key,
    prefix: options.prefix,
    remoteUrl: remoteUrl ?? '',
    library: options.library ?? false,
    namespaces: options.namespaces,
    credentials,
    ttlMs,
    freshnessMs: options.freshnessMs,
    // Go's zero value: `cachewritetimeout: 0` is the default.
    cacheWriteTimeoutMs: writeTimeoutMs > 0 ? writeTimeoutMs : PROXY_DEFAULTS.cacheWriteTimeoutMs,
  };
}

/** `remoteurl`: the upstream registry's root, as an origin (`https://registry-1.docker.io`). */
function readRemoteUrl(section: Section): string | undefined {
  const diag = section.diagnostics;
  const path = section.at('remoteurl');
  const text = section.string('remoteurl')?.trim();
  if (text === undefined || text === '') {
    diag.error(path, 'is required: the upstream registry, such as https://registry-1.docker.io');
    return undefined;
  }
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.host === '') {
    diag.error(
      path,
      `must be the http(s) URL of the upstream registry, such as https://registry-1.docker.io, got ${JSON.stringify(text)}`,
    );
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    // The URL is not repeated: it holds a secret.
    diag.error(path, 'must not hold credentials: set username and password (or exec) instead');
    return undefined;
  }
  if (url.search !== '' || url.hash !== '') {
    diag.error(path, `must not have a query or a fragment, got ${JSON.stringify(text)}`);
    return undefined;
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    diag.error(
      path,
      `must be the registry's root URL, without a path (${JSON.stringify(url.origin)}), got ${JSON.stringify(text)}`,
    );
    return undefined;
  }
  return url.origin;
}

/** Whether `origin` is plain http to a host other than this machine. */
function plainOverNetwork(origin: string): boolean {
  const url = new URL(origin);
  if (url.protocol !== 'http:') return false;
  return !/^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/.test(url.hostname);
}

/** `username`/`password`, or `exec` (which takes precedence, as in registry:2). */
function readCredentials(section: Section, bareNumber: BareNumber): ProxyCredentialsConfig | undefined {
  const diag = section.diagnostics;
  const username = section.string('username') || undefined;
  const password = section.string('password') || undefined;
  const exec = section.section('exec');
  if (exec.present) {
    const command = exec.string('command')?.trim();
    const lifetimeMs =
      exec.raw('lifetime') === undefined ? undefined : exec.duration('lifetime', 0, { bareNumber });
    exec.finish();
    for (const [key, value] of [
      ['username', username],
      ['password', password],
    ] as const) {
      if (value !== undefined) {
        diag.warn(section.at(key), `ignored: ${formatPath(exec.path)} takes precedence`);
      }
    }
    if (command === undefined || command === '') {
      diag.error(
        exec.at('command'),
        'is required with exec: a docker-credential-helper such as docker-credential-ecr-login',
      );
      return undefined;
    }
    return { type: 'exec', command, lifetimeMs: lifetimeMs === 0 ? undefined : lifetimeMs };
  }
  exec.finish();
  if (username !== undefined && password === undefined) {
    diag.error(section.at('password'), `is required with ${formatPath(section.at('username'))}`);
    return undefined;
  }
  if (password !== undefined && username === undefined) {
    diag.error(section.at('username'), `is required with ${formatPath(section.at('password'))}`);
    return undefined;
  }
  if (username === undefined || password === undefined) return undefined;
  return { type: 'basic', username, password };
}

/** `namespaces`: registry hosts, lower case. */
function readNamespaces(section: Section): string[] {
  const out: string[] = [];
  section.strings('namespaces').forEach((host, i) => {
    const lower = host.trim().toLowerCase();
    if (HOST.test(lower)) out.push(lower);
    else
      section.diagnostics.error(
        [...section.at('namespaces'), String(i)],
        `must be a registry host such as docker.io, got ${JSON.stringify(host)}`,
      );
  });
  return out;
}

/**
 * Prefixes that nest or repeat, `''` beside another upstream, a namespace given to two
 * upstreams: each an error naming the later entry's key.
 */
function checkMounts(settings: Section, upstreams: readonly ProxyUpstreamConfig[]): void {
  const diag = settings.diagnostics;
  const at = (i: number, key: string): string[] => [...settings.at('upstreams'), String(i), key];
  const errorsBefore = diag.errors.length;
  upstreams.forEach((upstream, j) => {
    if (upstream.prefix === '' && upstreams.length > 1) {
      diag.error(
        at(j, 'prefix'),
        "'' mirrors every repository and cannot be combined with other upstreams (use proxy.remoteurl for a mirror of everything)",
      );
      return;
    }
    for (let i = 0; i < j; i++) {
      const other = upstreams[i]!.prefix;
      const mine = upstream.prefix;
      if (other === '' || mine === '') continue;
      if (other === mine || mine.startsWith(`${other}/`) || other.startsWith(`${mine}/`)) {
        diag.error(
          at(j, 'prefix'),
          `${JSON.stringify(mine)} overlaps ${formatPath(at(i, 'prefix'))} ${JSON.stringify(other)}: ` +
            'a repository must belong to one upstream',
        );
        return;
      }
    }
  });
  const owner = new Map<string, number>();
  upstreams.forEach((upstream, j) => {
    for (const host of upstream.namespaces) {
      const first = owner.get(host);
      if (first === undefined) owner.set(host, j);
      else
        diag.error(
          at(j, 'namespaces'),
          `${host} is already mapped to ${formatPath([...settings.at('upstreams'), String(first)])}`,
        );
    }
  });
  if (diag.errors.length > errorsBefore) return;
  // The mirror's own check, should it refuse something the checks above let through.
  try {
    new MountTable(upstreams);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    diag.error(settings.at('upstreams'), error.message);
  }
}
