/** The validated configuration: registry:2's `config.yml` schema, typed, with every default filled in. */
import type { AccessRule } from '@berth/registry-core';

/** `log.level`. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** `log.formatter`. `logstash` is JSON with `@timestamp`, `@version` and `message`. */
export type LogFormatter = 'json' | 'text' | 'logstash';

/** `http.tls.clientauth`. */
export type ClientAuth =
  | 'request-client-cert'
  | 'require-any-client-cert'
  | 'verify-client-cert-if-given'
  | 'require-and-verify-client-cert';

/** `http.tls.minimumtls`. */
export type MinimumTls = 'tls1.0' | 'tls1.1' | 'tls1.2' | 'tls1.3';

export interface LogConfig {
  /** @default 'info' */
  readonly level: LogLevel;
  /** @default 'json' (registry:2 defaults to `text`) */
  readonly formatter: LogFormatter;
  /** Static fields added to every line. */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly accessLog: { readonly disabled: boolean };
}

export interface StorageDriverConfig {
  /** The `storage.<name>` key, e.g. `filesystem`. */
  readonly name: string;
  /** The driver's options as returned by its factory's `parseParameters`. */
  readonly options: unknown;
}

/** One `middleware.storage` entry that is applied. */
export interface StorageMiddlewareConfig {
  /** The entry's `name`, e.g. `redirect`. */
  readonly name: string;
  /** The entry's `options` as returned by the middleware factory's `parseParameters`. */
  readonly options: unknown;
}

/** `middleware`. Only storage middleware is supported; `registry` and `repository` are ignored. */
export interface MiddlewareConfig {
  /**
   * `middleware.storage`, without entries marked `disabled: true`: applied in order, each
   * wrapping the driver built so far (the last entry is the outermost).
   */
  readonly storage: readonly StorageMiddlewareConfig[];
}

export interface UploadPurgingConfig {
  /** @default true */
  readonly enabled: boolean;
  /** Uploads older than this are deleted. @default 168h */
  readonly ageMs: number;
  /** Time between runs. @default 24h */
  readonly intervalMs: number;
  /** Log what would be purged without deleting. @default false */
  readonly dryRun: boolean;
}

/** `storage.cache.blobdescriptor` (or the deprecated `layerinfo`); `none` when unset. */
export type BlobDescriptorCacheKind = 'inmemory' | 'redis';

/** `storage.cache`: the blob descriptor cache. */
export interface StorageCacheConfig {
  /** Which cache keeps blob descriptors; `redis` uses {@link BerthConfig.redis}. @default 'none' */
  readonly blobDescriptor: BlobDescriptorCacheKind | 'none';
  /**
   * `storage.cache.blobdescriptorsize`: the most entries the `inmemory` cache keeps;
   * `Infinity` when configured as 0 or less (no limit, as in registry v3). @default 10000
   */
  readonly blobDescriptorSize: number;
}

export interface StorageConfig {
  readonly driver: StorageDriverConfig;
  /** `storage.delete.enabled`. @default false */
  readonly deleteEnabled: boolean;
  /** `!storage.redirect.disable`. @default true */
  readonly redirect: boolean;
  readonly maintenance: {
    readonly uploadPurging: UploadPurgingConfig;
    /** `storage.maintenance.readonly.enabled`. @default false */
    readonly readOnly: boolean;
  };
  /** `storage.tag.concurrencylimit`, when set. */
  readonly tagConcurrencyLimit: number | undefined;
  /** `storage.cache`. */
  readonly cache: StorageCacheConfig;
}

/**
 * How the Redis addresses are used, as go-redis' `NewUniversalClient` decides: `sentinel` with
 * `redis.mastername` (the addresses are Sentinels), `cluster` with several addresses (cluster
 * seed nodes), else `single`.
 */
export type RedisTopology = 'single' | 'sentinel' | 'cluster';

/** `redis.tls`: TLS to Redis. Present when TLS is on. */
export interface RedisTlsConfig {
  /** `redis.tls.certificate`: PEM client certificate (chain); set together with `key`. */
  readonly certificate: string | undefined;
  /** `redis.tls.key`: PEM private key of `certificate`. */
  readonly key: string | undefined;
  /**
   * `redis.tls.clientcas`: PEM bundles of CAs trusted, besides the system's, to verify the Redis
   * server's certificate.
   */
  readonly rootCAs: readonly string[];
}

/**
 * Connection pool bounds, from registry 2.8's `redis.pool` or registry v3's go-redis keys
 * (`undefined`: not configured).
 */
export interface RedisPoolConfig {
  /** v3 `poolsize`: the connections kept per node. */
  readonly size: number | undefined;
  /** v3 `minidleconns`. */
  readonly minIdle: number | undefined;
  /** 2.8 `pool.maxidle`, v3 `maxidleconns`. */
  readonly maxIdle: number | undefined;
  /** 2.8 `pool.maxactive`, v3 `maxactiveconns` (0: no limit). */
  readonly maxActive: number | undefined;
  /** 2.8 `pool.idletimeout`, v3 `connmaxidletime`: idle connections are closed after this. */
  readonly idleTimeoutMs: number | undefined;
  /** v3 `connmaxlifetime`: connections are closed after this age. */
  readonly maxLifetimeMs: number | undefined;
}

/**
 * `redis`: the Redis server(s) the registry uses (the `redis` blob descriptor cache). Read from
 * registry 2.8's keys (`addr`, `pool.*`, `tls.enabled`) or registry v3's (go-redis'
 * `UniversalOptions`: `addrs`, `username`, `mastername`, …, `tls.certificate`).
 */
export interface RedisConfig {
  /** `host:port` of the server, the cluster seed nodes, or the Sentinels (`redis.addr` or `redis.addrs`). */
  readonly addrs: readonly string[];
  readonly topology: RedisTopology;
  /** `redis.username` (Redis 6 ACL user). */
  readonly username: string | undefined;
  /** `redis.password`. Never put it in a message or a log line. */
  readonly password: string | undefined;
  /** `redis.db`; always 0 for a cluster. @default 0 */
  readonly db: number;
  /** `redis.mastername`: the Sentinel master set. */
  readonly masterName: string | undefined;
  /** `redis.sentinelusername`, to authenticate to the Sentinels. */
  readonly sentinelUsername: string | undefined;
  /** `redis.sentinelpassword`. Never put it in a message or a log line. */
  readonly sentinelPassword: string | undefined;
  /** `redis.clientname`: sent with `CLIENT SETNAME`. */
  readonly clientName: string | undefined;
  /** `redis.dialtimeout`; `undefined` when unset or 0 (the client's default). */
  readonly dialTimeoutMs: number | undefined;
  /** `redis.readtimeout`; `undefined` when unset or 0. */
  readonly readTimeoutMs: number | undefined;
  /** `redis.writetimeout`; `undefined` when unset or 0. */
  readonly writeTimeoutMs: number | undefined;
  /** v3 `maxretries`: retries of a failed command (`-1` in the file, no retries, is 0). */
  readonly maxRetries: number | undefined;
  /** v3 `maxredirects`: `MOVED`/`ASK` redirections followed in a cluster (`-1` is 0). */
  readonly maxRedirects: number | undefined;
  readonly pool: RedisPoolConfig;
  /** `undefined`: plain TCP. */
  readonly tls: RedisTlsConfig | undefined;
}

export interface TlsConfig {
  /** Path of the PEM certificate (chain). */
  readonly certificate: string;
  /** Path of the PEM private key. */
  readonly key: string;
  /** Paths of PEM bundles of CAs that sign client certificates. */
  readonly clientCAs: readonly string[];
  /** Client certificate policy; `require-and-verify-client-cert` when `clientcas` is set. */
  readonly clientAuth: ClientAuth | undefined;
  /** @default 'tls1.2' */
  readonly minimumTls: MinimumTls;
  /** OpenSSL names of `http.tls.ciphersuites` (given as Go/IANA names), or empty for Node's default. */
  readonly cipherSuites: readonly string[];
}

export interface HttpConfig {
  /** `host:port` for tcp, a socket path for unix. @default ':5000' */
  readonly addr: string;
  /** @default 'tcp' */
  readonly net: 'tcp' | 'unix';
  /** `''` or `/path` (no trailing slash). */
  readonly prefix: string;
  /** Externally reachable base URL used in `Location` headers. */
  readonly host: string | undefined;
  /** HMAC key of upload state; random (with a warning) when unset. */
  readonly secret: string | undefined;
  /** @default false */
  readonly relativeUrls: boolean;
  /** Grace period for in-flight requests on SIGTERM/SIGINT; 0 stops at once. @default 0 */
  readonly drainTimeoutMs: number;
  /** Extra response headers (`http.headers`). */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly tls: TlsConfig | undefined;
  /** `http.debug.addr`: a second listener serving `/debug/health` (and the metrics). */
  readonly debugAddr: string | undefined;
  /**
   * `http.debug.prometheus`: Prometheus metrics on the debug listener at `path` (default
   * `/metrics`); `enabled` only with `http.debug.addr`.
   */
  readonly metrics: { readonly enabled: boolean; readonly path: string };
}

export interface ValidationConfig {
  /** `validation.disabled` (and the deprecated `validation.enabled`). @default false */
  readonly disabled: boolean;
  /**
   * URL patterns for the `urls` of image manifests' configs and layers. Both empty means no URL
   * is allowed (registry:2).
   */
  readonly urls: { readonly allow: readonly RegExp[]; readonly deny: readonly RegExp[] };
  readonly indexes: {
    /** @default 'all' */
    readonly platforms: 'all' | 'none' | 'list';
    readonly platformList: readonly { readonly os: string; readonly architecture: string }[];
  };
}

/** What every configured health check has: how often it runs and when it counts as failing. */
export interface HealthCheckTiming {
  /** `interval`. @default 10s */
  readonly intervalMs: number;
  /** `threshold`: consecutive failures before the check fails. @default 1 */
  readonly threshold: number;
}

export interface HealthConfig {
  readonly storageDriver: HealthCheckTiming & {
    /** @default false */
    readonly enabled: boolean;
  };
  /** `health.file[]`: each fails while its `file` exists (how operators drain a node). */
  readonly files: readonly (HealthCheckTiming & { readonly file: string })[];
  /** `health.http[]`: each `HEAD`s `uri` and fails unless it answers `statusCode`. */
  readonly http: readonly (HealthCheckTiming & {
    readonly uri: string;
    /** `headers`, sent with the `HEAD`. */
    readonly headers: Readonly<Record<string, readonly string[]>>;
    /** @default 200 */
    readonly statusCode: number;
    /** `timeout`. @default the interval */
    readonly timeoutMs: number;
  })[];
  /** `health.tcp[]`: each fails unless a TCP connection to `addr` opens. */
  readonly tcp: readonly (HealthCheckTiming & {
    readonly addr: string;
    /** `timeout`. @default the interval */
    readonly timeoutMs: number;
  })[];
}

/** The whole validated configuration. */
export interface BerthConfig {
  readonly version: '0.1';
  readonly log: LogConfig;
  readonly storage: StorageConfig;
  /** `middleware` (storage middleware only). */
  readonly middleware: MiddlewareConfig;
  readonly http: HttpConfig;
  /** `catalog.maxentries`. @default 1000 */
  readonly catalogMaxEntries: number;
  /** `tags.maxtags`. @default 1000 */
  readonly tagsMaxTags: number;
  readonly validation: ValidationConfig;
  readonly health: HealthConfig;
  /** `auth`: which access controller guards the registry. */
  readonly auth: AuthConfig;
  /** Berth's own keys (`berth:`). */
  readonly berth: BerthSectionConfig;
  /** `redis`, when it names a server. */
  readonly redis: RedisConfig | undefined;
  /**
   * The pull-through cache: `proxy.remoteurl` (every repository mirrored from one upstream) or
   * `berth.proxy.upstreams` (upstreams under repository-name prefixes, local repositories
   * beside them); `undefined` when neither is configured.
   */
  readonly proxy: ProxyConfig | undefined;
}

/** `auth`: one of registry:2's access controllers, or `none`. */
export type AuthConfig =
  | { readonly type: 'none' }
  | {
      /** `auth.silly`: any `Authorization` header passes (development only). */
      readonly type: 'silly';
      readonly realm: string;
      readonly service: string;
    }
  | {
      /** `auth.htpasswd`: Basic authentication against a bcrypt htpasswd file. */
      readonly type: 'htpasswd';
      readonly realm: string;
      /** The file, resolved against the working directory. */
      readonly path: string;
    }
  | TokenAuthConfig;

/** `auth.token`: bearer tokens from a token server (external, or Berth's built-in issuer). */
export interface TokenAuthConfig {
  readonly type: 'token';
  /** The token endpoint clients are sent to; unset with `autoredirect` or the built-in issuer. */
  readonly realm: string | undefined;
  /** The `aud` tokens must carry. */
  readonly service: string;
  /** The `iss` tokens must carry. */
  readonly issuer: string;
  /** PEM bundle of root certificates (`x5c` chains end there; their keys are trusted by `kid`). */
  readonly rootCertBundle: string | undefined;
  /** JSON Web Key Set file (keys trusted by `kid`). */
  readonly jwks: string | undefined;
  /** Accepted algorithms; `undefined` is registry:2's default list. */
  readonly signingAlgorithms: readonly string[] | undefined;
  /** Build the realm from the request's host. @default false */
  readonly autoRedirect: boolean;
  /** @default '/auth/token' */
  readonly autoRedirectPath: string;
}

/** `berth.auth.issuer`: Berth's built-in token issuer. */
export interface IssuerConfig {
  /** Where the endpoint is served, beside `/v2/`. @default '/auth/token' */
  readonly path: string;
  /** The `aud` of the tokens (default `auth.token.service`). */
  readonly service: string;
  /** The `iss` of the tokens (default `auth.token.issuer`). */
  readonly issuer: string;
  /** The htpasswd file of the users who can log in (default `auth.htpasswd.path`); none: anonymous tokens only. */
  readonly htpasswd: string | undefined;
  /** `realm` of the `Basic` challenge answered to bad credentials. @default 'Berth token issuer' */
  readonly realm: string;
  /** Private key file (PEM or JWK); unset: a random key per start (tokens die with the process). */
  readonly signingKey: string | undefined;
  /** PEM certificate chain of the signing key, sent as `x5c`. */
  readonly certificate: string | undefined;
  /** Token lifetime. @default 5 minutes */
  readonly expirationMs: number;
}

/** `berth.auth`. */
export interface BerthAuthConfig {
  readonly issuer: IssuerConfig | undefined;
  /** `berth.auth.groups`: group name → user names. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /**
   * `berth.auth.rules`; `undefined` when not configured (registry:2's behaviour: every
   * authenticated user may do everything, anonymous callers nothing).
   */
  readonly rules: readonly AccessRule[] | undefined;
}

/** `berth`: Berth's own keys. */
export interface BerthSectionConfig {
  readonly auth: BerthAuthConfig;
}

/**
 * How the mirror authenticates to an upstream: `proxy.username`/`proxy.password`, or a
 * docker-credential-helper (`proxy.exec`), which takes precedence. Never put a password in a
 * message or a log line.
 */
export type ProxyCredentialsConfig =
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | {
      readonly type: 'exec';
      /** `exec.command`: the helper's executable, run as `<command> get`. */
      readonly command: string;
      /** `exec.lifetime`: how long an answer is reused; `undefined`: for the process's lifetime. */
      readonly lifetimeMs: number | undefined;
    };

/** One upstream of the pull-through cache (`proxy`, or an entry of `berth.proxy.upstreams`). */
export interface ProxyUpstreamConfig {
  /** Where it was configured, for messages: `proxy` or `berth.proxy.upstreams[<i>]`. */
  readonly key: string;
  /**
   * Repositories under `<prefix>/` are mirrored (without slashes at either end); `''` mirrors
   * every repository (`proxy.remoteurl`).
   */
  readonly prefix: string;
  /** The upstream registry's root URL, e.g. `https://registry-1.docker.io` (no path, no trailing slash). */
  readonly remoteUrl: string;
  /** Single-segment names get `library/` upstream (`dockerhub/alpine` → `library/alpine`). @default false */
  readonly library: boolean;
  /** containerd `?ns=` hosts (lower case) answered from this upstream. */
  readonly namespaces: readonly string[];
  /** `undefined`: anonymous pulls. */
  readonly credentials: ProxyCredentialsConfig | undefined;
  /** `ttl`: how long a cached entry lives after its last use; `0` never expires. @default 168h */
  readonly ttlMs: number;
  /** Within this long of the last upstream check, a tag is served without asking. @default 0 */
  readonly freshnessMs: number;
  /** `cachewritetimeout`: how long a fill no client reads may still run. @default 5m */
  readonly cacheWriteTimeoutMs: number;
}

/** The pull-through cache (`proxy` and `berth.proxy`). */
export interface ProxyConfig {
  /** The mounts: one with prefix `''` for `proxy.remoteurl`, else `berth.proxy.upstreams`. */
  readonly upstreams: readonly ProxyUpstreamConfig[];
  /**
   * `berth.proxy.spooldirectory`: where fills are spooled while clients stream them (created
   * when missing; relative to the working directory). @default `<os tmpdir>/berth-proxy`
   */
  readonly spoolDirectory: string;
}
