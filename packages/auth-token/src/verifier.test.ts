import { createHmac, createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTokenError, type TokenErrorCode } from './errors.ts';
import { jwkThumbprint, libtrustKeyId } from './keys.ts';
import { makePki, opensslMissing, type TestPki } from './test-support/pki.ts';
import { b64json, ISSUER, SERVICE, sign } from './test-support/tokens.ts';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from './verifier.ts';

const skip = opensslMissing();

async function rejection(verifier: TokenVerifier, token: string): Promise<TokenErrorCode | string> {
  try {
    await verifier.verify(token);
    return 'accepted';
  } catch (error) {
    return isTokenError(error) ? error.code : `unexpected: ${String(error)}`;
  }
}

describe.skipIf(skip)(`createTokenVerifier${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let pki: TestPki;
  let rsa: { privateKey: KeyObject; publicKey: KeyObject };
  let ed: { privateKey: KeyObject; publicKey: KeyObject };
  const secret = createSecretKey(Buffer.from('a shared secret of at least 32 bytes!!'));
  let verifier: TokenVerifier;
  let base: TokenVerifierOptions;

  beforeAll(async () => {
    pki = makePki();
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ed = generateKeyPairSync('ed25519');
    const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1' };
    const octJwk = { kty: 'oct', k: secret.export().toString('base64url'), kid: 'hmac-1' };
    base = {
      issuer: ISSUER,
      service: SERVICE,
      rootCertificates: pki.root.pem,
      jwks: { keys: [rsaJwk, octJwk] },
      trustedKeys: [{ kid: 'ed-1', key: ed.publicKey }],
    };
    verifier = await createTokenVerifier(base);
  });

  describe('accepts', () => {
    it('a kid that is the RFC 7638 thumbprint of a root certificate key (registry v3)', async () => {
      const kid = await jwkThumbprint(pki.root.cert.publicKey);
      const claims = await verifier.verify(await sign(pki.root.key, { header: { kid } }));
      expect(claims).toMatchObject({
        issuer: ISSUER,
        subject: 'alice',
        audience: [SERVICE],
        access: [{ type: 'repository', name: 'a/b', actions: ['pull'] }],
      });
    });

    it("a kid that is the root key's libtrust id (registry 2.x token servers)", async () => {
      const kid = libtrustKeyId(pki.root.cert.publicKey);
      expect(kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
      await expect(verifier.verify(await sign(pki.root.key, { header: { kid } }))).resolves.toBeDefined();
    });

    it('an x5c chain leaf → intermediate → root', async () => {
      const token = await sign(pki.leaf.key, { header: { x5c: [pki.leaf.der, pki.intermediate.der] } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('an x5c leaf signed by the root itself', async () => {
      const token = await sign(pki.directLeaf.key, { header: { x5c: [pki.directLeaf.der] } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('a JWKS key by kid (RS256)', async () => {
      const token = await sign(rsa.privateKey, { alg: 'RS256', header: { kid: 'rsa-1' } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('a PS256 token with an RSA key', async () => {
      const token = await sign(rsa.privateKey, { alg: 'PS256', header: { kid: 'rsa-1' } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('HS256 with a symmetric (oct) JWKS key', async () => {
      const token = await sign(secret, { alg: 'HS256', header: { kid: 'hmac-1' } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('a trusted key (the built-in issuer) with EdDSA', async () => {
      const token = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('an embedded jwk that is a trusted key', async () => {
      const jwk = await exportJWK(rsa.publicKey);
      const token = await sign(rsa.privateKey, { alg: 'RS256', header: { jwk } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('an embedded jwk with its own x5c chain to the root', async () => {
      const jwk = {
        ...(await exportJWK(pki.leaf.cert.publicKey)),
        x5c: [pki.leaf.der, pki.intermediate.der],
      };
      const token = await sign(pki.leaf.key, { header: { jwk } });
      await expect(verifier.verify(token)).resolves.toBeDefined();
    });

    it('aud as a list containing the service', async () => {
      const token = await sign(ed.privateKey, {
        alg: 'EdDSA',
        header: { kid: 'ed-1' },
        aud: ['other', SERVICE],
      });
      expect((await verifier.verify(token)).audience).toEqual(['other', SERVICE]);
    });

    it('exp and nbf within the 60 s leeway', async () => {
      const expired = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, expiresIn: -50 });
      await expect(verifier.verify(expired)).resolves.toBeDefined();
      const early = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, notBefore: 50 });
      await expect(verifier.verify(early)).resolves.toBeDefined();
    });

    it('a missing access claim as no access, and an empty sub as anonymous', async () => {
      const token = await sign(ed.privateKey, {
        alg: 'EdDSA',
        header: { kid: 'ed-1' },
        sub: '',
        claims: { access: undefined },
      });
      expect(await verifier.verify(token)).toMatchObject({ subject: '', access: [] });
    });
  });

  describe('rejects', () => {
    it('alg: none (an unsigned token)', async () => {
      const kid = await jwkThumbprint(pki.root.cert.publicKey);
      const payload = { iss: ISSUER, aud: SERVICE, sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 };
      for (const alg of ['none', 'None', 'NONE']) {
        const token = `${b64json({ alg, kid })}.${b64json(payload)}.`;
        expect(await rejection(verifier, token)).toBe('TOKEN_ALGORITHM_REJECTED');
      }
    });

    it('HS256 signed with a public key as the secret (algorithm confusion)', async () => {
      const kid = 'rsa-1';
      const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
      const header = b64json({ alg: 'HS256', kid });
      const payload = b64json({
        iss: ISSUER,
        aud: SERVICE,
        sub: 'x',
        exp: Math.floor(Date.now() / 1000) + 60,
      });
      const mac = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
      expect(await rejection(verifier, `${header}.${payload}.${mac}`)).toBe('TOKEN_ALGORITHM_REJECTED');
      // …also against a certificate key found by x5c.
      const x5cHeader = b64json({ alg: 'HS256', x5c: [pki.directLeaf.der] });
      const certPem = pki.directLeaf.cert.publicKey.export({ type: 'spki', format: 'pem' });
      const mac2 = createHmac('sha256', certPem).update(`${x5cHeader}.${payload}`).digest('base64url');
      expect(await rejection(verifier, `${x5cHeader}.${payload}.${mac2}`)).toBe('TOKEN_ALGORITHM_REJECTED');
    });

    it('an algorithm outside signingalgorithms', async () => {
      const strict = await createTokenVerifier({ ...base, algorithms: ['ES256'] });
      const token = await sign(rsa.privateKey, { alg: 'RS256', header: { kid: 'rsa-1' } });
      expect(await rejection(strict, token)).toBe('TOKEN_ALGORITHM_REJECTED');
    });

    it('an algorithm that does not fit the key (ES384 claimed for a P-256 key)', async () => {
      const header = b64json({ alg: 'RS256', x5c: [pki.directLeaf.der] });
      const payload = b64json({ iss: ISSUER, aud: SERVICE, exp: Math.floor(Date.now() / 1000) + 60 });
      expect(await rejection(verifier, `${header}.${payload}.c2ln`)).toBe('TOKEN_ALGORITHM_REJECTED');
    });

    it('an expired token (beyond the leeway)', async () => {
      const token = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, expiresIn: -61 });
      expect(await rejection(verifier, token)).toBe('TOKEN_EXPIRED');
    });

    it('a token not valid yet (nbf beyond the leeway)', async () => {
      const token = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, notBefore: 120 });
      expect(await rejection(verifier, token)).toBe('TOKEN_NOT_YET_VALID');
    });

    it('a token without exp', async () => {
      const token = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, expiresIn: null });
      expect(await rejection(verifier, token)).toBe('TOKEN_CLAIMS_INVALID');
    });

    it('the wrong audience', async () => {
      const token = await sign(ed.privateKey, {
        alg: 'EdDSA',
        header: { kid: 'ed-1' },
        aud: 'another-registry',
      });
      expect(await rejection(verifier, token)).toBe('TOKEN_AUDIENCE_INVALID');
      const list = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, aud: ['a', 'b'] });
      expect(await rejection(verifier, list)).toBe('TOKEN_AUDIENCE_INVALID');
    });

    it('the wrong issuer', async () => {
      const token = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, iss: 'evil' });
      expect(await rejection(verifier, token)).toBe('TOKEN_ISSUER_INVALID');
    });

    it('an x5c chain to an untrusted root', async () => {
      const token = await sign(pki.otherLeaf.key, {
        header: { x5c: [pki.otherLeaf.der, pki.otherRoot.der] },
      });
      expect(await rejection(verifier, token)).toBe('TOKEN_CHAIN_UNTRUSTED');
    });

    it('an x5c chain missing its intermediate', async () => {
      const token = await sign(pki.leaf.key, { header: { x5c: [pki.leaf.der] } });
      expect(await rejection(verifier, token)).toBe('TOKEN_CHAIN_UNTRUSTED');
    });

    it('an x5c chain through a certificate that is no CA', async () => {
      const token = await sign(pki.underNotCa.key, { header: { x5c: [pki.underNotCa.der, pki.notCa.der] } });
      expect(await rejection(verifier, token)).toBe('TOKEN_CHAIN_UNTRUSTED');
    });

    it('an x5c chain with an expired certificate', async () => {
      const later = new Date(Date.now() + 60 * 86_400_000);
      const future = await createTokenVerifier({ ...base, now: () => later });
      const token = await sign(pki.directLeaf.key, {
        header: { x5c: [pki.directLeaf.der] },
        now: Math.floor(later.getTime() / 1000),
      });
      expect(await rejection(future, token)).toBe('TOKEN_CHAIN_UNTRUSTED');
    });

    it('an x5c chain when no root bundle is configured', async () => {
      const noRoots = await createTokenVerifier({
        issuer: ISSUER,
        service: SERVICE,
        trustedKeys: base.trustedKeys!,
      });
      const token = await sign(pki.directLeaf.key, { header: { x5c: [pki.directLeaf.der] } });
      expect(await rejection(noRoots, token)).toBe('TOKEN_CHAIN_UNTRUSTED');
    });

    it('x5c entries that are not certificates', async () => {
      expect(await rejection(verifier, await sign(pki.leaf.key, { header: { x5c: ['!!!'] } }))).toBe(
        'TOKEN_MALFORMED',
      );
      expect(await rejection(verifier, await sign(pki.leaf.key, { header: { x5c: ['AAAA'] } }))).toBe(
        'TOKEN_MALFORMED',
      );
      expect(await rejection(verifier, await sign(pki.leaf.key, { header: { x5c: [] } }))).toBe(
        'TOKEN_MALFORMED',
      );
    });

    it('an unknown kid, and a token naming no key', async () => {
      expect(await rejection(verifier, await sign(pki.root.key, { header: { kid: 'nope' } }))).toBe(
        'TOKEN_KEY_UNTRUSTED',
      );
      expect(await rejection(verifier, await sign(pki.root.key))).toBe('TOKEN_KEY_UNTRUSTED');
    });

    it("an embedded jwk that is the attacker's own key", async () => {
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = { ...(await exportJWK(attacker.publicKey)), kid: 'ed-1' };
      expect(await rejection(verifier, await sign(attacker.privateKey, { header: { jwk } }))).toBe(
        'TOKEN_KEY_UNTRUSTED',
      );
    });

    it('an embedded jwk whose x5c leaf is another key', async () => {
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = { ...(await exportJWK(attacker.publicKey)), x5c: [pki.directLeaf.der] };
      expect(await rejection(verifier, await sign(attacker.privateKey, { header: { jwk } }))).toBe(
        'TOKEN_KEY_UNTRUSTED',
      );
    });

    it('a bad signature (payload changed after signing, or signed by another key)', async () => {
      const token = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' } });
      const [h, , s] = token.split('.');
      const forged = `${h}.${b64json({ iss: ISSUER, aud: SERVICE, sub: 'root', exp: 9_999_999_999, access: [] })}.${s}`;
      expect(await rejection(verifier, forged)).toBe('TOKEN_SIGNATURE_INVALID');
      const other = generateKeyPairSync('ed25519');
      expect(
        await rejection(verifier, await sign(other.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' } })),
      ).toBe('TOKEN_SIGNATURE_INVALID');
    });

    it.each(['', 'abc', 'a.b', 'a.b.c', '..', `${b64json('str')}.${b64json({})}.x`, 'e30.e30.e30.e30'])(
      'the malformed token %j',
      async (token) => {
        expect(await rejection(verifier, token)).toMatch(/^TOKEN_(MALFORMED|ALGORITHM_REJECTED)$/);
      },
    );

    it('an access claim of the wrong shape', async () => {
      for (const access of [
        'all',
        [{ type: 'repository' }],
        [{ type: 'repository', name: 'a', actions: 'pull' }],
      ]) {
        const token = await sign(ed.privateKey, { alg: 'EdDSA', header: { kid: 'ed-1' }, access });
        expect(await rejection(verifier, token)).toBe('TOKEN_CLAIMS_INVALID');
      }
    });
  });

  it('refuses unknown algorithms and broken JWKS at creation', async () => {
    await expect(
      createTokenVerifier({ issuer: 'i', service: 's', algorithms: ['XS256'] }),
    ).rejects.toMatchObject({
      code: 'KEY_INVALID',
    });
    await expect(
      createTokenVerifier({ issuer: 'i', service: 's', jwks: { keys: 'x' } }),
    ).rejects.toMatchObject({
      code: 'KEY_INVALID',
    });
  });
});
