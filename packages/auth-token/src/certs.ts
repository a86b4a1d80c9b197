/** X.509 for tokens: root bundles, and `x5c` chains verified up to one of their roots. */

import type { KeyObject } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { TokenError } from './errors.ts';

/**
 * The certificates of a PEM bundle (`rootcertbundle`, a signing certificate chain).
 * @throws {TokenError} `KEY_INVALID` when a `CERTIFICATE` block cannot be parsed.
 */
export function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TokenError('KEY_INVALID', `certificate ${i + 1} of the bundle: ${(error as Error).message}`, {
        cause: error,
      });
    }
  });
}

function validAt(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Verifies an `x5c` chain (base64 DER, leaf first) against `roots`, as Go's `x509.Verify` does
 * for registry:2: every certificate used must be valid now, intermediates must be CAs, and the
 * chain must end at (or be signed by) a root. Extra certificates in `x5c` are ignored.
 *
 * @returns the leaf's public key.
 * @throws {TokenError} `TOKEN_MALFORMED` (not base64 DER) or `TOKEN_CHAIN_UNTRUSTED`.
 */
export function verifyCertificateChain(
  x5c: unknown,
  roots: readonly X509Certificate[],
  now: Date = new Date(),
): KeyObject {
  if (!Array.isArray(x5c) || x5c.length === 0)
    throw new TokenError('TOKEN_MALFORMED', 'x5c must be a non-empty list');
  const certs = x5c.map((entry, i) => {
    if (typeof entry !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(entry)) {
      throw new TokenError('TOKEN_MALFORMED', `x5c[${i}] is not base64`);
    }
    try {
      return new X509Certificate(Buffer.from(entry, 'base64'));
    } catch (error) {
      throw new TokenError('TOKEN_MALFORMED', `x5c[${i}] is not a certificate`, { cause: error });
    }
  });
  const leaf = certs[0]!;
  if (roots.length === 0)
    throw new TokenError('TOKEN_CHAIN_UNTRUSTED', 'no root certificates are configured');
  if (!validAt(leaf, now))
    throw new TokenError('TOKEN_CHAIN_UNTRUSTED', 'the signing certificate is expired or not yet valid');
  const intermediates = certs.slice(1);
  const used = new Set<X509Certificate>();
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (roots.some((root) => root.raw.equals(current.raw))) return leaf.publicKey;
    if (roots.some((root) => validAt(root, now) && issuedBy(current, root))) return leaf.publicKey;
    const next = intermediates.find(
      (cert) => !used.has(cert) && cert.ca && validAt(cert, now) && issuedBy(current, cert),
    );
    if (next === undefined) break;
    used.add(next);
    current = next;
  }
  throw new TokenError('TOKEN_CHAIN_UNTRUSTED', 'the x5c certificate chain does not lead to a trusted root');
}
