/**
 * Bearer token verification as registry:2's `auth.token` does it (registry/auth/token/token.go),
 * on jose: the signing key comes from the header's `x5c` chain (verified to the root bundle), an
 * embedded `jwk` (only if trusted itself or by its own chain), or a `kid` naming a trusted key;
 * then `iss`, `aud` (a string or a list), `exp` (required) and `nbf` with 60 s of leeway.
 */
import { createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import type { ResourceActions } from '@berth/registry-core';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { parseCertificates, verifyCertificateChain } from './certs.ts';
import { isTokenError, TokenError } from './errors.ts';
import {
  DEFAULT_SIGNING_ALGORITHMS,
  jwksKeys,
  jwkThumbprint,
  KNOWN_SIGNING_ALGORITHMS,
  keyFitsAlgorithm,
  libtrustKeyId,
} from './keys.ts';

/** A key trusted by id, besides the root certificates and the JWKS. */
export interface TrustedKey {
  readonly kid: string;
  readonly key: KeyObject;
}

/** Options of {@link createTokenVerifier}: `auth.token` of registry:2. */
export interface TokenVerifierOptions {
  /** `issuer`: the `iss` every token must carry. */
  readonly issuer: string;
  /** `service`: must be the `aud` (or one of them). */
  readonly service: string;
  /** `rootcertbundle`: PEM text, or parsed certificates. Their keys are also trusted by `kid`. */
  readonly rootCertificates?: string | readonly X509Certificate[];
  /** `jwks`: a JSON Web Key Set (parsed), whose keys are trusted by their `kid`. */
  readonly jwks?: unknown;
  /** More trusted keys (e.g. the built-in issuer's). */
  readonly trustedKeys?: readonly TrustedKey[];
  /** `signingalgorithms`; default registry:2's list (EdDSA, HS*, RS*, ES*, PS*). `none` is never accepted. */
  readonly algorithms?: readonly string[];
  /** Clock skew allowed on `exp` and `nbf`, in seconds. @default 60 */
  readonly leewaySeconds?: number;
  /** The clock. @default () => new Date() */
  readonly now?: () => Date;
}

/** The claims of a verified token. */
export interface TokenClaims {
  readonly issuer: string;
  /** `sub`: the user (empty for anonymous tokens). */
  readonly subject: string;
  readonly audience: readonly string[];
  readonly expiresAt: number;
  /** The `access` claim: exactly what the token grants. */
  readonly access: readonly ResourceActions[];
}

/** Verifies bearer tokens; see {@link createTokenVerifier}. */
export interface TokenVerifier {
  /** @throws {TokenError} with the reason as `code`. */
  verify(token: string): Promise<TokenClaims>;
}

function parseAccess(value: unknown): ResourceActions[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TokenError('TOKEN_CLAIMS_INVALID', 'the access claim must be a list');
  return value.map((entry: unknown, i) => {
    const e = entry as { type?: unknown; class?: unknown; name?: unknown; actions?: unknown } | null;
    if (
      e === null ||
      typeof e !== 'object' ||
      typeof e.type !== 'string' ||
      typeof e.name !== 'string' ||
      (e.actions !== undefined && e.actions !== null && !Array.isArray(e.actions)) ||
      (Array.isArray(e.actions) && e.actions.some((a) => typeof a !== 'string'))
    ) {
      throw new TokenError('TOKEN_CLAIMS_INVALID', `access[${i}] must be {type, name, actions: [strings]}`);
    }
    const actions = (e.actions ?? []) as string[];
    return typeof e.class === 'string' && e.class !== ''
      ? { type: e.type, class: e.class, name: e.name, actions }
      : { type: e.type, name: e.name, actions };
  });
}

/**
 * Creates a verifier. Trusted keys are: each root certificate's key under its RFC 7638
 * thumbprint and its libtrust key id, each JWKS key under its `kid`, and `trustedKeys`.
 * @throws {TokenError} `KEY_INVALID` for an unusable bundle or JWKS, or an unknown algorithm.
 *
 * @example
 * ```ts
 * const verifier = await createTokenVerifier({ issuer: 'auth.example.com', service: 'registry.example.com', rootCertificates: pem });
 * const claims = await verifier.verify(token); // or throws TokenError
 * ```
 */
export async function createTokenVerifier(options: TokenVerifierOptions): Promise<TokenVerifier> {
  const roots =
    typeof options.rootCertificates === 'string'
      ? parseCertificates(options.rootCertificates)
      : [...(options.rootCertificates ?? [])];
  const trusted = new Map<string, KeyObject>();
  for (const root of roots) {
    trusted.set(await jwkThumbprint(root.publicKey), root.publicKey);
    trusted.set(libtrustKeyId(root.publicKey), root.publicKey);
  }
  if (options.jwks !== undefined) for (const [kid, key] of jwksKeys(options.jwks)) trusted.set(kid, key);
  for (const { kid, key } of options.trustedKeys ?? []) trusted.set(kid, key);
  // Every trusted public key by its thumbprint, to recognise an embedded jwk whatever its kid.
  const byThumbprint = new Map<string, KeyObject>();
  for (const key of trusted.values()) {
    if (key.type === 'public') byThumbprint.set(await jwkThumbprint(key), key);
  }
  const algorithms = [...(options.algorithms ?? DEFAULT_SIGNING_ALGORITHMS)];
  for (const alg of algorithms) {
    if (!KNOWN_SIGNING_ALGORITHMS.includes(alg))
      throw new TokenError('KEY_INVALID', `unsupported signing algorithm ${alg}`);
  }
  const leeway = options.leewaySeconds ?? 60;
  const now = options.now ?? (() => new Date());

  const keyFromJwk = async (jwk: unknown, at: Date): Promise<KeyObject> => {
    if (typeof jwk !== 'object' || jwk === null)
      throw new TokenError('TOKEN_MALFORMED', 'the jwk header is not an object');
    const { x5c } = jwk as { x5c?: unknown };
    let embedded: KeyObject;
    try {
      const {
        d: _d,
        p: _p,
        q: _q,
        dp: _dp,
        dq: _dq,
        qi: _qi,
        k: _k,
        ...pub
      } = jwk as Record<string, unknown>;
      embedded = createPublicKey({ key: pub as never, format: 'jwk' });
    } catch (error) {
      throw new TokenError('TOKEN_MALFORMED', 'the jwk header is not a public key', { cause: error });
    }
    if (x5c !== undefined) {
      const leaf = verifyCertificateChain(x5c, roots, at);
      if ((await jwkThumbprint(leaf)) !== (await jwkThumbprint(embedded))) {
        throw new TokenError('TOKEN_KEY_UNTRUSTED', 'the jwk is not the key of its x5c leaf certificate');
      }
      return leaf;
    }
    // Without a chain, only a key we already trust is used (ours, not the embedded copy).
    const key = byThumbprint.get(await jwkThumbprint(embedded));
    if (key === undefined)
      throw new TokenError('TOKEN_KEY_UNTRUSTED', 'untrusted jwk with no certificate chain');
    return key;
  };

  const verify = async (token: string): Promise<TokenClaims> => {
    if (typeof token !== 'string' || token.split('.').length !== 3) {
      throw new TokenError('TOKEN_MALFORMED', 'a token has three dot-separated parts');
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw new TokenError('TOKEN_MALFORMED', 'the token header is not base64url JSON', { cause: error });
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none' || !algorithms.includes(alg)) {
      throw new TokenError(
        'TOKEN_ALGORITHM_REJECTED',
        `signing algorithm ${JSON.stringify(alg)} is not accepted`,
      );
    }
    const at = now();
    let key: KeyObject;
    if (header.x5c !== undefined) {
      key = verifyCertificateChain(header.x5c, roots, at);
    } else if (header.jwk !== undefined) {
      key = await keyFromJwk(header.jwk, at);
    } else if (typeof header.kid === 'string' && header.kid !== '') {
      const found = trusted.get(header.kid);
      if (found === undefined)
        throw new TokenError(
          'TOKEN_KEY_UNTRUSTED',
          `token signed by untrusted key ${JSON.stringify(header.kid)}`,
        );
      key = found;
    } else {
      throw new TokenError('TOKEN_KEY_UNTRUSTED', 'the token names no key (x5c, jwk or kid)');
    }
    if (!keyFitsAlgorithm(key, alg)) {
      throw new TokenError(
        'TOKEN_ALGORITHM_REJECTED',
        `algorithm ${alg} does not fit the ${key.asymmetricKeyType ?? key.type} key`,
      );
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer: options.issuer,
        audience: options.service,
        clockTolerance: leeway,
        requiredClaims: ['exp'],
        currentDate: at,
      }));
    } catch (error) {
      throw mapJoseError(error);
    }
    const aud = payload.aud;
    return {
      issuer: String(payload.iss),
      subject: typeof payload.sub === 'string' ? payload.sub : '',
      audience: Array.isArray(aud) ? aud.map(String) : [String(aud)],
      expiresAt: Number(payload.exp),
      access: parseAccess(payload.access),
    };
  };

  return {
    async verify(token) {
      try {
        return await verify(token);
      } catch (error) {
        if (isTokenError(error)) throw error;
        // Whatever else a crafted token provokes is still just a bad token.
        throw new TokenError('TOKEN_MALFORMED', `unreadable token: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
  };
}

function mapJoseError(error: unknown): TokenError {
  if (error instanceof joseErrors.JWTExpired)
    return new TokenError('TOKEN_EXPIRED', 'the token has expired', { cause: error });
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return new TokenError('TOKEN_ISSUER_INVALID', 'the token is from an untrusted issuer', {
          cause: error,
        });
      case 'aud':
        return new TokenError('TOKEN_AUDIENCE_INVALID', 'the token is meant for another service', {
          cause: error,
        });
      case 'nbf':
        return new TokenError('TOKEN_NOT_YET_VALID', 'the token is not valid yet', { cause: error });
      default:
        return new TokenError('TOKEN_CLAIMS_INVALID', `invalid ${error.claim} claim: ${error.reason}`, {
          cause: error,
        });
    }
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenError('TOKEN_SIGNATURE_INVALID', 'the token signature is invalid', { cause: error });
  }
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) {
    return new TokenError('TOKEN_MALFORMED', (error as Error).message, { cause: error });
  }
  return new TokenError(
    'TOKEN_SIGNATURE_INVALID',
    `the token cannot be verified: ${(error as Error).message}`,
    {
      cause: error,
    },
  );
}
