/**
 * Keys and key ids: loading signing keys (PEM or JWK), the algorithm a key signs with, and the
 * two key ids registry:2 looks trusted keys up by — the RFC 7638 JWK thumbprint (registry v3)
 * and libtrust's fingerprint (registry 2.x and token servers built for it).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { TokenError } from './errors.ts';

/** Algorithms registry:2 accepts by default (`signingalgorithms` unset). */
export const DEFAULT_SIGNING_ALGORITHMS: readonly string[] = [
  'EdDSA',
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

/** The algorithms a token may be signed with here (registry:2's list plus jose's `Ed25519`). */
export const KNOWN_SIGNING_ALGORITHMS: readonly string[] = [...DEFAULT_SIGNING_ALGORITHMS, 'Ed25519'];

const CURVE_ALGORITHMS: Readonly<Record<string, string>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/**
 * Whether `key` can verify (or sign) with `alg`: HS256/384/512 only with a secret key, RS… and PS… with RSA,
 * ES… with the matching curve, EdDSA/Ed25519 with an Edwards key.
 */
export function keyFitsAlgorithm(key: KeyObject, alg: string): boolean {
  if (alg.startsWith('HS')) return key.type === 'secret';
  if (key.type === 'secret') return false;
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (alg.startsWith('ES'))
    return type === 'ec' && CURVE_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''] === alg;
  if (alg === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  if (alg === 'Ed25519') return type === 'ed25519';
  return false;
}

/** The algorithm Berth signs with for a private key: RS256, ES256/384/512 or EdDSA. */
export function signingAlgorithmFor(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'ec': {
      const alg = CURVE_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg === undefined) {
        throw new TokenError(
          'KEY_INVALID',
          `unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve ?? '?'}`,
        );
      }
      return alg;
    }
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new TokenError(
        'KEY_INVALID',
        `unsupported signing key type ${key.asymmetricKeyType ?? key.type} (use RSA, EC P-256/P-384/P-521 or Ed25519)`,
      );
  }
}

/** A signing key as loaded from configuration. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** `RS256`, `ES256`, `EdDSA`, …; a JWK's `alg` wins when it fits the key. */
  readonly algorithm: string;
}

/**
 * Reads a private key from PEM (PKCS#8, PKCS#1 or SEC1) or from a JWK (JSON with `d`).
 * @throws {TokenError} `KEY_INVALID`
 */
export function parseSigningKey(text: string): SigningKey {
  const trimmed = text.trim();
  let privateKey: KeyObject;
  let jwkAlg: string | undefined;
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as JsonWebKey & { alg?: unknown };
      if (typeof jwk.d !== 'string') throw new Error('the JWK has no private part ("d")');
      jwkAlg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
      privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    } else {
      privateKey = createPrivateKey(trimmed);
    }
  } catch (error) {
    throw new TokenError('KEY_INVALID', `not a private key (PEM or JWK): ${(error as Error).message}`, {
      cause: error,
    });
  }
  const publicKey = createPublicKey(privateKey);
  let algorithm = signingAlgorithmFor(privateKey);
  if (jwkAlg !== undefined) {
    if (!keyFitsAlgorithm(publicKey, jwkAlg) || !KNOWN_SIGNING_ALGORITHMS.includes(jwkAlg)) {
      throw new TokenError('KEY_INVALID', `the JWK's alg ${jwkAlg} does not fit its key`);
    }
    algorithm = jwkAlg;
  }
  return { privateKey, publicKey, algorithm };
}

/** The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key: registry v3's key id. */
export async function jwkThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(key), 'sha256');
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * libtrust's key id (registry 2.x, docker_auth): the first 240 bits of the SHA-256 of the DER
 * SubjectPublicKeyInfo, base32, in groups of four separated by `:`.
 */
export function libtrustKeyId(key: KeyObject): string {
  const digest = createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest()
    .subarray(0, 30);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.match(/.{4}/g)!.join(':');
}

/** A JSON Web Key Set. */
export interface JsonWebKeySet {
  readonly keys: readonly (JsonWebKey & { kid?: string })[];
}

/**
 * The keys of a JWKS by `kid` (public keys; `oct` keys become secret keys for HS*).
 * @throws {TokenError} `KEY_INVALID`
 */
export function jwksKeys(jwks: unknown): Map<string, KeyObject> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new TokenError('KEY_INVALID', 'a JWKS is {"keys": [...]}');
  const out = new Map<string, KeyObject>();
  keys.forEach((jwk: JsonWebKey & { kid?: unknown }, i) => {
    try {
      const key =
        jwk.kty === 'oct'
          ? createSecretKey(Buffer.from(String(jwk.k ?? ''), 'base64url'))
          : createPublicKey({ key: { ...jwk, d: undefined }, format: 'jwk' });
      out.set(typeof jwk.kid === 'string' ? jwk.kid : `#${i}`, key);
    } catch (error) {
      throw new TokenError('KEY_INVALID', `JWKS key ${i}: ${(error as Error).message}`, { cause: error });
    }
  });
  return out;
}

/** True when `value` is a `KeyObject`. */
export function isKeyObject(value: unknown): value is KeyObject {
  return value instanceof KeyObject;
}
