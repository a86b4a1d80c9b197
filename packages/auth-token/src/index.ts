/**
 * Bearer tokens for Berth: registry:2's `auth.token` verification (x5c chains to a root bundle,
 * JWKS, trusted `kid`s) as an access controller, and a built-in token issuer with
 * per-repository access rules for deployments without an external auth server.
 */
export { parseCertificates, verifyCertificateChain } from './certs.ts';
export {
  accessAllows,
  createTokenAccessController,
  type TokenAccessControllerOptions,
} from './controller.ts';
export { isTokenError, TokenError, type TokenErrorCode } from './errors.ts';
export {
  createTokenIssuer,
  generateSigningKey,
  type IssuedToken,
  type TokenIssuer,
  type TokenIssuerOptions,
} from './issuer.ts';
export {
  DEFAULT_SIGNING_ALGORITHMS,
  type JsonWebKeySet,
  jwksKeys,
  jwkThumbprint,
  KNOWN_SIGNING_ALGORITHMS,
  keyFitsAlgorithm,
  libtrustKeyId,
  parseSigningKey,
  type SigningKey,
  signingAlgorithmFor,
} from './keys.ts';
export {
  createTokenVerifier,
  type TokenClaims,
  type TokenVerifier,
  type TokenVerifierOptions,
  type TrustedKey,
} from './verifier.ts';
