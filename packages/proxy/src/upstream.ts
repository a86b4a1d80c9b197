/**
 * The client of one upstream registry, as a pull-through cache needs it: manifest and blob
 * `GET`/`HEAD` over the OCI distribution API, with the upstream's auth handled the way
 * docker/containerd do it.
 *
 * - **Auth** is learned from the upstream's first `401`: none, `Basic` (the configured
 *   credentials), or `Bearer` (a token from the challenge's `realm` for `service` and
 *   `scope=repository:<name>:pull` — never `push`), then sent up front on every later request,
 *   so that a pull costs no extra round trip. A token is reused for its scope until shortly
 *   before it expires (`expires_in`, default 60 s); concurrent requests for one scope share one
 *   token fetch. A token the upstream refuses (401 again) is fetched once more, then the request
 *   fails with `UPSTREAM_UNAUTHORIZED`.
 * - **Credentials** go only to the upstream's own host or its registrable domain (the realm of
 *   Docker Hub is `auth.docker.io`); a realm elsewhere gets the token request without them.
 * - **Redirects** (`307` of a blob `GET` to object storage) are followed for `GET`/`HEAD`, up to
 *   five, without `Authorization` to any other origin.
 * - **Failures** are {@link UpstreamError}s with string codes: unreachable (refused, reset, no
 *   answer within `headerTimeoutMs`), 429 with `Retry-After`, 5xx. A `404` is an answer, not an
 *   error: the caller decides what is unknown.
 *
 * Nothing is cached here but the auth state (in memory, per process: a replica that restarts
 * learns it again with its first request). Bodies are never read: the caller gets the stream.
 */
import { parseChallenges } from './challenge.ts';
import { mayReceiveCredentials, sameOrigin } from './credentials.ts';
import { UpstreamError } from './errors.ts';

/** A user name and password (or token) for the upstream. */
export interface UpstreamCredentials {
  readonly username: string;
  readonly password: string;
}

/** Options of {@link createUpstream}. */
export interface UpstreamOptions {
  /** The upstream's base URL (`proxy.remoteurl`), e.g. `https://registry-1.docker.io`. */
  readonly url: string;
  /**
   * Credentials, or a function that returns them when they are needed (a credential helper's
   * current secret). None: anonymous pulls.
   */
  readonly credentials?: UpstreamCredentials | (() => Promise<UpstreamCredentials | undefined>);
  /** How long to wait for the upstream's response headers. @default 30000 */
  readonly headerTimeoutMs?: number;
  /** @default 5 */
  readonly maxRedirects?: number;
  /** `User-Agent` of every request. @default 'berth-proxy' */
  readonly userAgent?: string;
  /**
   * The `fetch` to use (e.g. one that counts requests). @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
}

/** One answer of the upstream (after auth and redirects). */
export interface UpstreamResponse {
  /** `200`, `206`, `404`, or `416`; other statuses are thrown as {@link UpstreamError}s. */
  readonly status: number;
  readonly headers: Headers;
  /** The body (`null` for `HEAD`): the caller consumes or cancels it. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

/** Options of one request. */
export interface UpstreamRequestOptions {
  /** @default 'GET' */
  readonly method?: 'GET' | 'HEAD';
  /** `Accept` (manifests: the media types the client accepts). */
  readonly accept?: string;
  /** `Range` (blobs), forwarded as is. */
  readonly range?: string;
  readonly signal?: AbortSignal;
}

/** Counters of an {@link Upstream} (for metrics and tests). */
export interface UpstreamStats {
  /** Requests sent to the upstream's registry API (redirect hops and token requests excluded). */
  readonly requests: number;
  /** Requests sent to the token endpoint. */
  readonly tokenRequests: number;
}

/** A client of one upstream registry. */
export interface Upstream {
  /** The upstream's base URL. */
  readonly url: URL;
  readonly stats: UpstreamStats;
  /** `GET /v2/`: resolves once the upstream answers it (after auth); rejects when it cannot. */
  ping(signal?: AbortSignal): Promise<void>;
  /** `GET`/`HEAD /v2/<name>/manifests/<reference>` with `pull` scope for `name`. */
  manifest(name: string, reference: string, options?: UpstreamRequestOptions): Promise<UpstreamResponse>;
  /** `GET /v2/<name>/tags/list` (`n`, `last`); 200 and 404 are answers. */
  tags(
    name: string,
    query?: { readonly n?: number; readonly last?: string },
    options?: Pick<UpstreamRequestOptions, 'signal'>,
  ): Promise<UpstreamResponse>;
  /** `GET /v2/<name>/referrers/<digest>` (`artifactType`); 200 and 404 are answers. */
  referrers(
    name: string,
    digest: string,
    query?: { readonly artifactType?: string },
    options?: Pick<UpstreamRequestOptions, 'signal'>,
  ): Promise<UpstreamResponse>;
  /** `GET`/`HEAD /v2/<name>/blobs/<digest>` (following redirects), with `pull` scope for `name`. */
  blob(name: string, digest: string, options?: UpstreamRequestOptions): Promise<UpstreamResponse>;
}

/** What the upstream asked for, learned from its last challenge. */
type AuthScheme =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'none' }
  | { readonly kind: 'basic' }
  | { readonly kind: 'bearer'; readonly realm: URL; readonly service: string | undefined };

interface CachedToken {
  readonly token: string;
  /** When to stop using it (a margin before the upstream's expiry). */
  readonly refreshAt: number;
}

/** A token's lifetime when the token endpoint does not say (the Docker token spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;

const isAbort = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');

/** `Retry-After` in seconds (delta-seconds or an HTTP date), if present and sensible. */
export function retryAfterSeconds(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** The pull scope of a repository, as in the Docker token spec. */
export const pullScope = (name: string): string => `repository:${name}:pull`;

/**
 * A client of the upstream at `options.url`.
 *
 * @throws {UpstreamError} `UPSTREAM_INVALID_OPTIONS` for a URL that is not http(s) or has a path
 * other than `/`, a query or credentials in it
 *
 * @example
 * ```ts
 * const hub = createUpstream({ url: 'https://registry-1.docker.io' });
 * const head = await hub.manifest('library/alpine', 'latest', { method: 'HEAD', accept });
 * head.status; // 200
 * head.headers.get('docker-content-digest');
 * ```
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch (cause) {
    throw new UpstreamError(
      'UPSTREAM_INVALID_OPTIONS',
      `upstream url ${JSON.stringify(options.url)} is not a URL`,
      {
        cause,
      },
    );
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new UpstreamError(
      'UPSTREAM_INVALID_OPTIONS',
      `upstream url must be http or https, got ${base.protocol}`,
    );
  }
  if (base.username !== '' || base.password !== '' || base.search !== '' || base.hash !== '') {
    throw new UpstreamError(
      'UPSTREAM_INVALID_OPTIONS',
      'upstream url must not carry credentials, a query or a fragment (give credentials separately)',
    );
  }
  if (base.pathname !== '/' && base.pathname !== '') {
    throw new UpstreamError(
      'UPSTREAM_INVALID_OPTIONS',
      `upstream url must be the registry's root, got path ${JSON.stringify(base.pathname)}`,
    );
  }
  const origin = new URL(base.origin);
  const doFetch = options.fetch ?? globalThis.fetch;
  const headerTimeoutMs = options.headerTimeoutMs ?? 30_000;
  const maxRedirects = options.maxRedirects ?? 5;
  const userAgent = options.userAgent ?? 'berth-proxy';
  const stats = { requests: 0, tokenRequests: 0 };
  let scheme: AuthScheme = { kind: 'unknown' };
  const tokens = new Map<string, CachedToken>();
  const fetchingTokens = new Map<string, Promise<string>>();

  const credentials = async (): Promise<UpstreamCredentials | undefined> =>
    typeof options.credentials === 'function' ? options.credentials() : options.credentials;
  const basic = (c: UpstreamCredentials): string =>
    `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  const describe = (url: URL): string => `${url.origin}${url.pathname}`;

  /** `fetch` with a bound on the wait for headers; network failures become UpstreamErrors. */
  async function send(url: URL, init: RequestInit, what: string): Promise<Response> {
    const timeout = AbortSignal.timeout(headerTimeoutMs);
    const callerSignal = init.signal ?? undefined;
    const signal = callerSignal === undefined ? timeout : AbortSignal.any([callerSignal, timeout]);
    try {
      return await doFetch(url, { ...init, signal, redirect: 'manual' });
    } catch (error) {
      if (callerSignal?.aborted) throw error;
      const reason = isAbort(error)
        ? `no answer within ${headerTimeoutMs} ms`
        : String(
            (error as { cause?: { code?: string; message?: string } }).cause?.code ??
              (error as Error).message,
          );
      throw new UpstreamError(
        'UPSTREAM_UNREACHABLE',
        `upstream ${base.host}: ${what} ${describe(url)}: ${reason}`,
        {
          cause: error,
        },
      );
    }
  }

  /** A token for `scope` from the realm (shared by concurrent callers; cached until near expiry). */
  function token(
    scope: string,
    realm: URL,
    service: string | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const cached = tokens.get(scope);
    if (cached !== undefined && cached.refreshAt > Date.now()) return Promise.resolve(cached.token);
    let pending = fetchingTokens.get(scope);
    if (pending === undefined) {
      pending = fetchToken(scope, realm, service, signal).finally(() => fetchingTokens.delete(scope));
      fetchingTokens.set(scope, pending);
    }
    return pending;
  }

  async function fetchToken(
    scope: string,
    realm: URL,
    service: string | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const url = new URL(realm);
    if (service !== undefined) url.searchParams.set('service', service);
    // No scope: a token for `/v2/` itself (the ping).
    if (scope !== '') url.searchParams.append('scope', scope);
    const headers: Record<string, string> = { 'user-agent': userAgent, accept: 'application/json' };
    const given = mayReceiveCredentials(origin, url) ? await credentials() : undefined;
    if (given !== undefined) headers.authorization = basic(given);
    stats.tokenRequests++;
    const started = Date.now();
    const response = await send(
      url,
      { headers, ...(signal === undefined ? {} : { signal }) },
      'token request',
    );
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new UpstreamError(
        'UPSTREAM_UNAUTHORIZED',
        `upstream ${base.host}: the token endpoint ${describe(url)} refused ${given === undefined ? 'an anonymous request' : `user ${JSON.stringify(given.username)}`} (HTTP ${response.status})`,
        { status: response.status },
      );
    }
    if (response.status === 429) {
      await response.body?.cancel();
      throw new UpstreamError(
        'UPSTREAM_TOO_MANY_REQUESTS',
        `upstream ${base.host}: token endpoint: HTTP 429`,
        {
          status: 429,
          ...optionalRetryAfter(response),
        },
      );
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new UpstreamError(
        'UPSTREAM_ERROR',
        `upstream ${base.host}: the token endpoint ${describe(url)} answered HTTP ${response.status}`,
        { status: response.status },
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch (cause) {
      throw new UpstreamError(
        'UPSTREAM_INVALID_RESPONSE',
        `upstream ${base.host}: the token endpoint sent no JSON`,
        {
          cause,
        },
      );
    }
    const value = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
    if (typeof value !== 'string' || value === '') {
      throw new UpstreamError(
        'UPSTREAM_INVALID_RESPONSE',
        `upstream ${base.host}: the token endpoint sent no token`,
      );
    }
    const seconds =
      typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0
        ? body.expires_in
        : DEFAULT_TOKEN_SECONDS;
    const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : Number.NaN;
    // Clocks differ: never trust an issue time in the future or long ago more than our own.
    const from = Number.isNaN(issued) ? started : Math.min(Math.max(issued, started - 60_000), started);
    const lifetimeMs = seconds * 1000;
    tokens.set(scope, { token: value, refreshAt: from + lifetimeMs - Math.min(30_000, lifetimeMs / 10) });
    return value;
  }

  /** The `Authorization` to send up front for `scope`, from what the upstream asked last time. */
  async function authorization(scope: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    switch (scheme.kind) {
      case 'unknown':
      case 'none':
        return undefined;
      case 'basic': {
        const given = await credentials();
        return given === undefined ? undefined : basic(given);
      }
      case 'bearer':
        return `Bearer ${await token(scope ?? '', scheme.realm, scheme.service, signal)}`;
    }
  }

  /** Learns the scheme from a 401's challenge; returns the challenge's scope, if it names one. */
  function learn(response: Response): { scope: string | undefined } {
    const header = response.headers.get('www-authenticate');
    const challenges = header === null ? [] : parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer !== undefined) {
      const realm = bearer.params.realm;
      let url: URL;
      try {
        url = new URL(realm ?? '');
      } catch (cause) {
        throw new UpstreamError(
          'UPSTREAM_INVALID_RESPONSE',
          `upstream ${base.host}: Bearer challenge without a usable realm (${JSON.stringify(realm)})`,
          { cause },
        );
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new UpstreamError('UPSTREAM_INVALID_RESPONSE', `upstream ${base.host}: realm must be http(s)`);
      }
      scheme = { kind: 'bearer', realm: url, service: bearer.params.service };
      return { scope: bearer.params.scope };
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      scheme = { kind: 'basic' };
      return { scope: undefined };
    }
    throw new UpstreamError(
      'UPSTREAM_UNAUTHORIZED',
      `upstream ${base.host}: HTTP 401 without a Bearer or Basic challenge`,
      { status: 401 },
    );
  }

  /**
   * One registry API request: auth (up front when known, else after the first 401), redirects
   * (GET/HEAD), status mapping.
   */
  async function request(
    path: string,
    scope: string | undefined,
    options: UpstreamRequestOptions & { readonly statuses: ReadonlySet<number> },
  ): Promise<UpstreamResponse> {
    const method = options.method ?? 'GET';
    const signal = options.signal;
    const url = new URL(path, origin);
    const what = `${method}`;
    const headers = (auth: string | undefined): Record<string, string> => ({
      'user-agent': userAgent,
      ...(options.accept === undefined ? {} : { accept: options.accept }),
      ...(options.range === undefined ? {} : { range: options.range }),
      ...(auth === undefined ? {} : { authorization: auth }),
    });
    const init = (auth: string | undefined): RequestInit => ({
      method,
      headers: headers(auth),
      ...(signal === undefined ? {} : { signal }),
    });

    let auth = await authorization(scope, signal);
    stats.requests++;
    let response = await send(url, init(auth), what);
    for (let attempt = 0; response.status === 401 && attempt < 2; attempt++) {
      await response.body?.cancel();
      const before = scheme.kind;
      const challenged = learn(response);
      if (scheme.kind === 'bearer') {
        // A token that was refused is not used again; a challenge's own scope wins.
        tokens.delete(scope ?? '');
        if (challenged.scope !== undefined && challenged.scope !== scope) tokens.delete(challenged.scope);
        auth = `Bearer ${await token(challenged.scope ?? scope ?? '', scheme.realm, scheme.service, signal)}`;
      } else {
        const given = await credentials();
        if (given === undefined || before === 'basic') {
          throw new UpstreamError(
            'UPSTREAM_UNAUTHORIZED',
            `upstream ${base.host}: ${method} ${describe(url)} needs ${given === undefined ? 'credentials (none configured)' : 'other credentials (Basic auth refused)'}`,
            { status: 401 },
          );
        }
        auth = basic(given);
      }
      stats.requests++;
      response = await send(url, init(auth), what);
    }
    if (response.status === 401) {
      await response.body?.cancel();
      throw new UpstreamError(
        'UPSTREAM_UNAUTHORIZED',
        `upstream ${base.host}: ${method} ${describe(url)} refused the credentials (HTTP 401)`,
        { status: 401 },
      );
    }
    if (scheme.kind === 'unknown' && response.status < 400) scheme = { kind: 'none' };

    let current = url;
    for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
      const location = response.headers.get('location');
      await response.body?.cancel();
      if (location === null) {
        throw new UpstreamError(
          'UPSTREAM_INVALID_RESPONSE',
          `upstream ${base.host}: HTTP ${response.status} without Location for ${describe(current)}`,
          { status: response.status },
        );
      }
      if (hops >= maxRedirects) {
        throw new UpstreamError(
          'UPSTREAM_INVALID_RESPONSE',
          `upstream ${base.host}: more than ${maxRedirects} redirects`,
        );
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (cause) {
        throw new UpstreamError('UPSTREAM_INVALID_RESPONSE', `upstream ${base.host}: bad redirect Location`, {
          cause,
        });
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new UpstreamError(
          'UPSTREAM_INVALID_RESPONSE',
          `upstream ${base.host}: redirect to ${next.protocol}`,
        );
      }
      // The token (or Basic credentials) stays with the upstream's origin: storage URLs carry
      // their own signature.
      current = next;
      response = await send(
        current,
        init(sameOrigin(origin, current) ? auth : undefined),
        `${what} (redirected)`,
      );
    }

    if (options.statuses.has(response.status)) {
      if (method === 'HEAD') await response.body?.cancel();
      return {
        status: response.status,
        headers: response.headers,
        body: method === 'HEAD' ? null : response.body,
        url: current.href,
      };
    }
    await response.body?.cancel();
    if (response.status === 429) {
      throw new UpstreamError(
        'UPSTREAM_TOO_MANY_REQUESTS',
        `upstream ${base.host}: ${method} ${describe(url)}: HTTP 429 (rate limited)`,
        { status: 429, ...optionalRetryAfter(response) },
      );
    }
    if (response.status === 403) {
      throw new UpstreamError(
        'UPSTREAM_UNAUTHORIZED',
        `upstream ${base.host}: ${method} ${describe(url)}: HTTP 403`,
        {
          status: 403,
        },
      );
    }
    throw new UpstreamError(
      'UPSTREAM_ERROR',
      `upstream ${base.host}: ${method} ${describe(current)}: HTTP ${response.status}`,
      { status: response.status, ...optionalRetryAfter(response) },
    );
  }

  const ANSWERS = new Set([200, 206, 404, 416]);
  const encodeName = (name: string): string => name.split('/').map(encodeURIComponent).join('/');
  // Tags and digests are sent as they are (`sha256:…`, not `sha256%3A…`); anything else encoded.
  const encodeReference = (reference: string): string =>
    /^[A-Za-z0-9_.:+=-]+$/.test(reference) ? reference : encodeURIComponent(reference);

  return {
    url: origin,
    get stats() {
      return { ...stats };
    },
    async ping(signal) {
      const response = await request('/v2/', undefined, {
        statuses: new Set([200]),
        ...(signal === undefined ? {} : { signal }),
      });
      await response.body?.cancel();
    },
    manifest(name, reference, requestOptions = {}) {
      return request(`/v2/${encodeName(name)}/manifests/${encodeReference(reference)}`, pullScope(name), {
        ...requestOptions,
        statuses: ANSWERS,
      });
    },
    tags(name, query = {}, requestOptions = {}) {
      const search = new URLSearchParams();
      if (query.n !== undefined) search.set('n', String(query.n));
      if (query.last !== undefined && query.last !== '') search.set('last', query.last);
      const suffix = search.size === 0 ? '' : `?${search}`;
      return request(`/v2/${encodeName(name)}/tags/list${suffix}`, pullScope(name), {
        ...requestOptions,
        method: 'GET',
        statuses: ANSWERS,
      });
    },
    referrers(name, digest, query = {}, requestOptions = {}) {
      const suffix =
        query.artifactType === undefined
          ? ''
          : `?${new URLSearchParams({ artifactType: query.artifactType })}`;
      return request(
        `/v2/${encodeName(name)}/referrers/${encodeReference(digest)}${suffix}`,
        pullScope(name),
        {
          ...requestOptions,
          method: 'GET',
          accept: 'application/vnd.oci.image.index.v1+json',
          statuses: ANSWERS,
        },
      );
    },
    blob(name, digest, requestOptions = {}) {
      return request(`/v2/${encodeName(name)}/blobs/${encodeReference(digest)}`, pullScope(name), {
        ...requestOptions,
        statuses: ANSWERS,
      });
    },
  };
}

function optionalRetryAfter(response: Response): { retryAfterSeconds?: number } {
  const seconds = retryAfterSeconds(response.headers.get('retry-after'));
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}
