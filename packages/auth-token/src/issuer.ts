/**
 * Berth's built-in token issuer: the endpoint registry:2 leaves to an external auth server.
 * It speaks the Docker token protocol (`GET <realm>?service=…&scope=…`, Basic credentials or
 * none) and its OAuth2 form (`POST` with `grant_type=password`, which containerd tries first),
 * authenticates users with a {@link CredentialVerifier} (an htpasswd file), and signs short-lived
 * JWTs granting the intersection of the requested scopes and the access rules.
 */
import { generateKeyPairSync, type KeyObject, randomUUID, type X509Certificate } from 'node:crypto';
import {
  type AccessPolicy,
  type ClientInfo,
  type CredentialVerifier,
  isValidRepositoryName,
  parseBasicAuthorization,
  parseScopes,
  quoteParam,
  type ResourceActions,
} from '@berth/registry-core';
import { SignJWT } from 'jose';
import { TokenError } from './errors.ts';
import { jwkThumbprint, type SigningKey, signingAlgorithmFor } from './keys.ts';
import type { TrustedKey } from './verifier.ts';

/** Options of {@link createTokenIssuer}. */
export interface TokenIssuerOptions {
  /** The `aud` of the tokens: the registry's `auth.token.service`. */
  readonly service: string;
  /** The `iss` of the tokens: the registry's `auth.token.issuer`. */
  readonly issuer: string;
  /** The key tokens are signed with; see `parseSigningKey` / {@link generateSigningKey}. */
  readonly signingKey: SigningKey;
  /**
   * The certificate chain of the signing key (leaf first), sent as `x5c` so verifiers with the
   * CA in their `rootcertbundle` (registry:2 included) accept the tokens.
   */
  readonly certificates?: readonly X509Certificate[];
  /** Token lifetime. @default 300 (5 minutes) */
  readonly expiresInSeconds?: number;
  /** Checks user names and passwords; without it only anonymous tokens are issued. */
  readonly verifier?: CredentialVerifier;
  /** What each caller may be granted. */
  readonly policy: AccessPolicy;
  /** The realm of the `Basic` challenge answered to bad credentials. @default 'Berth token issuer' */
  readonly realm?: string;
  /** Called for every token issued (for the server's log). */
  readonly onIssued?: (event: { user: string | undefined; access: readonly ResourceActions[] }) => void;
  /** The clock, in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** A signed token and what it grants. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly issuedAt: Date;
  readonly access: readonly ResourceActions[];
}

/** See {@link createTokenIssuer}. */
export interface TokenIssuer {
  /** The `kid` of the tokens: the RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  readonly algorithm: string;
  readonly publicKey: KeyObject;
  /** The key for a verifier's `trustedKeys`, so a registry in the same process accepts the tokens. */
  readonly trustedKey: TrustedKey;
  /** Signs a token for `user` (`undefined`: anonymous) with the granted part of `requested`. */
  issue(user: string | undefined, requested: readonly ResourceActions[]): Promise<IssuedToken>;
  /** Answers a token request (`GET` or `POST`). */
  handle(request: Request, client: ClientInfo): Promise<Response>;
}

/** An ephemeral ES256 key, for an issuer configured without `signingkey`. */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, algorithm: 'ES256' };
}

const MAX_FORM_BYTES = 64 * 1024;

/**
 * False for access to a `repository` (of any class) whose name is not a valid repository name.
 * Checked on what the policy grants, so no token is ever signed for `bob/../alice`, whichever
 * {@link AccessPolicy} is plugged in: registry:2's token servers grant nothing for such a name.
 */
function isGrantable(entry: ResourceActions): boolean {
  return entry.type !== 'repository' || isValidRepositoryName(entry.name);
}

class RequestProblem extends Error {
  readonly status: number;
  readonly oauthError: string;
  readonly headers: Record<string, string>;
  constructor(status: number, oauthError: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.oauthError = oauthError;
    this.headers = headers;
  }
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...NO_STORE, ...headers },
  });
}

async function readForm(request: Request): Promise<URLSearchParams> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new RequestProblem(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_FORM_BYTES) throw new RequestProblem(413, 'invalid_request', 'the form is too large');
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader !== undefined) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_FORM_BYTES) {
        await reader.cancel();
        throw new RequestProblem(413, 'invalid_request', 'the form is too large');
      }
      chunks.push(value);
    }
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Creates the issuer. Mount {@link TokenIssuer.handle} at the path the registry's realm
 * points to (Berth's server: `berth.auth.issuer.path`, default `/auth/token`).
 *
 * Requests:
 * - `GET ?service=<service>&scope=<scope>&scope=…` with `Authorization: Basic …` or none
 *   (anonymous). Answer: `{token, access_token, expires_in, issued_at}`.
 * - `POST` form `grant_type=password&username=…&password=…&service=…&scope=<scopes separated by
 *   spaces>`. Answer: `{access_token, token_type, expires_in, issued_at, scope}`. Refresh tokens
 *   are not issued; `grant_type=refresh_token` is answered `unsupported_grant_type`.
 *
 * Bad credentials are answered 401 (with a `Basic` challenge) for `GET` and 400 `invalid_grant`
 * for `POST`; too many failures 429 with `Retry-After`. A valid caller always gets a token —
 * with only what it may have, possibly nothing — so the registry answers the request itself
 * (`insufficient_scope`). A scope whose name is not a valid repository name
 * (`repository:bob/../alice:pull`) is granted nothing; the other scopes of the request still are.
 *
 * @example
 * ```ts
 * const issuer = await createTokenIssuer({ service: 'registry', issuer: 'berth', signingKey, verifier: htpasswd, policy });
 * // in the server's fetch: if (url.pathname === '/auth/token') return issuer.handle(request, { remoteAddress });
 * ```
 */
export async function createTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const { signingKey } = options;
  const kid = await jwkThumbprint(signingKey.publicKey);
  const algorithm = signingKey.algorithm ?? signingAlgorithmFor(signingKey.privateKey);
  const certificates = options.certificates ?? [];
  if (certificates.length > 0 && (await jwkThumbprint(certificates[0]!.publicKey)) !== kid) {
    throw new TokenError('KEY_INVALID', 'the first certificate is not the certificate of the signing key');
  }
  const x5c = certificates.map((cert) => cert.raw.toString('base64'));
  const expiresIn = Math.max(1, Math.floor(options.expiresInSeconds ?? 300));
  const now = options.now ?? Date.now;
  const realm = options.realm ?? 'Berth token issuer';

  const issue = async (
    user: string | undefined,
    requested: readonly ResourceActions[],
  ): Promise<IssuedToken> => {
    const access = options.policy.grant(user, requested).filter(isGrantable);
    const issuedAtMs = now();
    const iat = Math.floor(issuedAtMs / 1000);
    const token = await new SignJWT({
      access: access.map((entry) => ({
        type: entry.type,
        ...(entry.class === undefined ? {} : { class: entry.class }),
        name: entry.name,
        actions: [...entry.actions],
      })),
    })
      .setProtectedHeader({ alg: algorithm, typ: 'JWT', kid, ...(x5c.length > 0 ? { x5c } : {}) })
      .setIssuer(options.issuer)
      .setSubject(user ?? '')
      .setAudience(options.service)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + expiresIn)
      .setJti(randomUUID())
      .sign(signingKey.privateKey);
    options.onIssued?.({ user, access });
    return { token, expiresIn, issuedAt: new Date(iat * 1000), access };
  };

  /** The authenticated user, `undefined` for anonymous; throws a RequestProblem otherwise. */
  const authenticate = async (
    username: string,
    password: string,
    client: ClientInfo,
    badStatus: number,
  ): Promise<string | undefined> => {
    if (username === '' && password === '') return undefined;
    const challenge = { 'WWW-Authenticate': `Basic realm=${quoteParam(realm)}` };
    if (options.verifier === undefined) {
      throw new RequestProblem(
        badStatus,
        'invalid_grant',
        'this issuer has no users',
        badStatus === 401 ? challenge : {},
      );
    }
    const check = await options.verifier.verify(username, password, client);
    if (check.outcome === 'valid') return username;
    if (check.outcome === 'throttled') {
      const seconds = Math.max(1, Math.ceil(check.retryAfterSeconds));
      throw new RequestProblem(429, 'slow_down', 'too many failed authentication attempts; try again later', {
        'Retry-After': String(seconds),
      });
    }
    throw new RequestProblem(
      badStatus,
      'invalid_grant',
      'invalid username or password',
      badStatus === 401 ? challenge : {},
    );
  };

  const checkService = (service: string | null): void => {
    if (service !== null && service !== '' && service !== options.service) {
      throw new RequestProblem(400, 'invalid_request', `unknown service ${JSON.stringify(service)}`);
    }
  };

  const handleGet = async (request: Request, client: ClientInfo): Promise<Response> => {
    const url = new URL(request.url);
    checkService(url.searchParams.get('service'));
    const auth = parseBasicAuthorization(request.headers.get('authorization') ?? undefined);
    if (auth.kind === 'malformed') {
      throw new RequestProblem(401, 'invalid_client', 'malformed Authorization header', {
        'WWW-Authenticate': `Basic realm=${quoteParam(realm)}`,
      });
    }
    const user =
      auth.kind === 'basic' ? await authenticate(auth.username, auth.password, client, 401) : undefined;
    const issued = await issue(user, parseScopes(url.searchParams.getAll('scope')));
    return jsonResponse(200, {
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt.toISOString(),
    });
  };

  const handlePost = async (request: Request, client: ClientInfo): Promise<Response> => {
    const form = await readForm(request);
    checkService(form.get('service'));
    const grantType = form.get('grant_type');
    if (grantType === null || grantType === '')
      throw new RequestProblem(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'password') {
      throw new RequestProblem(
        400,
        'unsupported_grant_type',
        `grant_type ${JSON.stringify(grantType)} is not supported (use password)`,
      );
    }
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    if (username === '') throw new RequestProblem(400, 'invalid_request', 'username is required');
    const user = await authenticate(username, password, client, 400);
    const issued = await issue(user, parseScopes(form.getAll('scope')));
    return jsonResponse(200, {
      access_token: issued.token,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt.toISOString(),
      scope: issued.access
        .map(
          (entry) =>
            `${entry.class ? `${entry.type}(${entry.class})` : entry.type}:${entry.name}:${entry.actions.join(',')}`,
        )
        .join(' '),
    });
  };

  return {
    kid,
    algorithm,
    publicKey: signingKey.publicKey,
    trustedKey: { kid, key: signingKey.publicKey },
    issue,
    async handle(request, client) {
      const method = request.method.toUpperCase();
      try {
        if (method === 'GET' || method === 'HEAD') return await handleGet(request, client);
        if (method === 'POST') return await handlePost(request, client);
        return jsonResponse(
          405,
          {
            errors: [
              { code: 'UNSUPPORTED', message: `method ${method} is not allowed on the token endpoint` },
            ],
          },
          { Allow: 'GET, POST' },
        );
      } catch (error) {
        if (!(error instanceof RequestProblem)) throw error;
        if (method === 'POST') {
          return jsonResponse(
            error.status,
            { error: error.oauthError, error_description: error.message },
            error.headers,
          );
        }
        const code =
          error.status === 401 ? 'UNAUTHORIZED' : error.status === 429 ? 'TOOMANYREQUESTS' : 'DENIED';
        return jsonResponse(error.status, { errors: [{ code, message: error.message }] }, error.headers);
      }
    },
  };
}
