/**
 * `auth` and `berth.auth` → the registry app's access-control middleware and, when enabled, the
 * built-in token issuer served beside `/v2/`. Reads the files the configuration names
 * (htpasswd, root bundle, JWKS, signing key, certificate); problems stop the start with a
 * {@link StartupError} naming the key.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BcryptPool, type Htpasswd, isHtpasswdError, openHtpasswd } from '@berth/auth-htpasswd';
import {
  createTokenAccessController,
  createTokenIssuer,
  createTokenVerifier,
  generateSigningKey,
  isTokenError,
  parseCertificates,
  parseSigningKey,
  type SigningKey,
  type TokenIssuer,
  type TrustedKey,
} from '@berth/auth-token';
import {
  type AccessController,
  type AccessPolicy,
  allowAuthenticatedPolicy,
  createAccessPolicy,
  createAuthMiddleware,
  createBasicAccessController,
  createSillyAccessController,
  type RegistryAppEnv,
} from '@berth/registry-core';
import type { MiddlewareHandler } from 'hono';
import { formatDuration } from '../config/duration.ts';
import type { BerthConfig, IssuerConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { StartupError } from './errors.ts';

/** The token endpoint, as the server mounts it. */
export interface MountedIssuer {
  /** The request path it answers (`berth.auth.issuer.path`). */
  readonly path: string;
  handle(request: Request, remoteAddress: string | undefined): Promise<Response>;
}

/** What {@link createAccessControl} builds. */
export interface AccessControl {
  /** For `createRegistryApp({ middleware })`; `undefined` with `auth: none`. */
  readonly middleware: MiddlewareHandler<RegistryAppEnv> | undefined;
  readonly issuer: MountedIssuer | undefined;
  /** Stops the bcrypt workers. */
  close(): Promise<void>;
}

async function readConfigFile(path: string, key: string): Promise<string> {
  try {
    return await readFile(resolve(path), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new StartupError(`${key}: cannot read ${path}: ${why}`);
  }
}

function policyOf(config: BerthConfig): AccessPolicy {
  const { rules, groups } = config.berth.auth;
  return rules === undefined ? allowAuthenticatedPolicy() : createAccessPolicy({ rules, groups });
}

/**
 * Builds the access control of `config`. Logs what it set up; the htpasswd file's reloads and
 * problems are logged as they happen.
 * @throws {StartupError}
 */
export async function createAccessControl(
  config: BerthConfig,
  logger: Logger,
  options: { readonly tls: boolean },
): Promise<AccessControl> {
  const auth = config.auth;
  const issuerConfig = config.berth.auth.issuer;
  const policy = policyOf(config);
  let pool: BcryptPool | undefined;
  const files = new Map<string, Htpasswd>();

  const htpasswdAt = async (path: string, key: string): Promise<Htpasswd> => {
    const absolute = resolve(path);
    const known = files.get(absolute);
    if (known !== undefined) return known;
    pool ??= new BcryptPool();
    let htpasswd: Htpasswd;
    try {
      htpasswd = await openHtpasswd({
        path: absolute,
        pool,
        onEvent(event) {
          switch (event.type) {
            case 'reloaded':
              logger.info('htpasswd file reloaded', { path: absolute, users: event.users });
              for (const warning of event.warnings) logger.warn(`htpasswd ${absolute}: ${warning}`);
              break;
            case 'reload-failed':
              logger.error('htpasswd file not reloaded: keeping the previous users', {
                path: absolute,
                err: event.error.message,
              });
              break;
            case 'missing':
              logger.warn('htpasswd file missing: keeping the previous users', { path: absolute });
              break;
          }
        },
      });
    } catch (error) {
      if (isHtpasswdError(error)) throw new StartupError(`${key}: ${error.message}`);
      throw error;
    }
    for (const warning of htpasswd.warnings) logger.warn(`htpasswd ${absolute}: ${warning}`);
    logger.info('htpasswd file loaded', { path: absolute, users: htpasswd.users, bcryptWorkers: pool.size });
    files.set(absolute, htpasswd);
    return htpasswd;
  };

  const close = async (): Promise<void> => {
    await pool?.close();
  };

  try {
    let issuer: TokenIssuer | undefined;
    if (issuerConfig !== undefined) issuer = await createIssuer(issuerConfig, policy, logger, htpasswdAt);

    let controller: AccessController | undefined;
    switch (auth.type) {
      case 'none':
        break;
      case 'silly':
        controller = createSillyAccessController({ realm: auth.realm, service: auth.service });
        logger.warn('auth: silly (any Authorization header is accepted; development only)');
        break;
      case 'htpasswd':
        controller = createBasicAccessController({
          realm: auth.realm,
          verifier: await htpasswdAt(auth.path, 'auth.htpasswd.path'),
          policy,
        });
        logger.info('auth: htpasswd', {
          rules: config.berth.auth.rules?.length ?? 'none (any user may do anything)',
        });
        break;
      case 'token': {
        const trustedKeys: TrustedKey[] = [];
        if (issuer !== undefined && issuerConfig !== undefined) {
          if (issuerConfig.service === auth.service && issuerConfig.issuer === auth.issuer)
            trustedKeys.push(issuer.trustedKey);
        }
        const rootCertificates =
          auth.rootCertBundle === undefined
            ? undefined
            : await loadWith('auth.token.rootcertbundle', auth.rootCertBundle, parseCertificates);
        const jwks =
          auth.jwks === undefined
            ? undefined
            : await loadWith('auth.token.jwks', auth.jwks, (text) => {
                try {
                  return JSON.parse(text) as unknown;
                } catch (error) {
                  throw new StartupError(`auth.token.jwks: not JSON: ${(error as Error).message}`);
                }
              });
        const jwksCount = Array.isArray((jwks as { keys?: unknown } | undefined)?.keys)
          ? (jwks as { keys: unknown[] }).keys.length
          : 0;
        if ((rootCertificates?.length ?? 0) === 0 && jwksCount === 0 && trustedKeys.length === 0) {
          throw new StartupError(
            'auth.token: token auth requires at least one token signing key (rootcertbundle or jwks)',
          );
        }
        let verifier: Awaited<ReturnType<typeof createTokenVerifier>>;
        try {
          verifier = await createTokenVerifier({
            issuer: auth.issuer,
            service: auth.service,
            ...(rootCertificates === undefined ? {} : { rootCertificates }),
            ...(jwks === undefined ? {} : { jwks }),
            trustedKeys,
            ...(auth.signingAlgorithms === undefined ? {} : { algorithms: auth.signingAlgorithms }),
          });
        } catch (error) {
          if (isTokenError(error)) throw new StartupError(`auth.token: ${error.message}`);
          throw error;
        }
        // With the built-in issuer and no realm, point clients at it on the host they used.
        const derived = auth.realm === undefined && !auth.autoRedirect && issuerConfig !== undefined;
        controller = createTokenAccessController({
          service: auth.service,
          verifier,
          ...(auth.realm === undefined ? {} : { realm: auth.realm }),
          autoRedirect: auth.autoRedirect || derived,
          autoRedirectPath: derived ? issuerConfig.path : auth.autoRedirectPath,
          ...(derived ? { defaultScheme: options.tls ? 'https' : 'http' } : {}),
          onInvalidToken(error) {
            logger.debug('bearer token refused', {
              reason: (error as { code?: string }).code,
              err: error.message,
            });
          },
        });
        logger.info('auth: token', {
          service: auth.service,
          issuer: auth.issuer,
          realm: derived
            ? `<request host>${issuerConfig.path}`
            : (auth.realm ?? `<request host>${auth.autoRedirectPath}`),
          rootCertificates: rootCertificates?.length ?? 0,
          jwksKeys: jwksCount,
          builtInIssuer: trustedKeys.length > 0,
        });
        break;
      }
    }

    return {
      middleware: controller === undefined ? undefined : createAuthMiddleware(controller),
      issuer:
        issuer === undefined || issuerConfig === undefined
          ? undefined
          : {
              path: issuerConfig.path,
              handle: (request, remoteAddress) => issuer.handle(request, { remoteAddress }),
            },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function loadWith<T>(key: string, path: string, parse: (text: string) => T): Promise<T> {
  const text = await readConfigFile(path, key);
  try {
    return parse(text);
  } catch (error) {
    if (isTokenError(error)) throw new StartupError(`${key}: ${error.message}`);
    throw error;
  }
}

async function createIssuer(
  config: IssuerConfig,
  policy: AccessPolicy,
  logger: Logger,
  htpasswdAt: (path: string, key: string) => Promise<Htpasswd>,
): Promise<TokenIssuer> {
  let signingKey: SigningKey;
  if (config.signingKey === undefined) {
    signingKey = generateSigningKey();
    logger.warn(
      'berth.auth.issuer: no signingkey configured: generated a random one. Tokens stop working at restart ' +
        'and on other replicas; set berth.auth.issuer.signingkey to a PEM or JWK private key file',
    );
  } else {
    signingKey = await loadWith('berth.auth.issuer.signingkey', config.signingKey, parseSigningKey);
  }
  const certificates =
    config.certificate === undefined
      ? undefined
      : await loadWith('berth.auth.issuer.certificate', config.certificate, parseCertificates);
  const verifier =
    config.htpasswd === undefined
      ? undefined
      : await htpasswdAt(config.htpasswd, 'berth.auth.issuer.htpasswd');
  try {
    const issuer = await createTokenIssuer({
      service: config.service,
      issuer: config.issuer,
      signingKey,
      ...(certificates === undefined ? {} : { certificates }),
      expiresInSeconds: Math.floor(config.expirationMs / 1000),
      ...(verifier === undefined ? {} : { verifier }),
      policy,
      realm: config.realm,
      onIssued(event) {
        logger.debug('token issued', {
          user: event.user ?? '(anonymous)',
          access: event.access.map((entry) => `${entry.type}:${entry.name}:${entry.actions.join(',')}`),
        });
      },
    });
    logger.info('token issuer enabled', {
      path: config.path,
      service: config.service,
      issuer: config.issuer,
      algorithm: issuer.algorithm,
      kid: issuer.kid,
      expiration: formatDuration(config.expirationMs),
    });
    return issuer;
  } catch (error) {
    if (isTokenError(error)) throw new StartupError(`berth.auth.issuer.certificate: ${error.message}`);
    throw error;
  }
}
