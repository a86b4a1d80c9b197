import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { isTokenError } from './errors.ts';
import { jwksKeys, keyFitsAlgorithm, libtrustKeyId, parseSigningKey, signingAlgorithmFor } from './keys.ts';

describe('parseSigningKey', () => {
  it.each<[string, () => string, string]>([
    [
      'RSA PKCS#8 PEM',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      'RS256',
    ],
    [
      'RSA PKCS#1 PEM',
      () =>
        generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ type: 'pkcs1', format: 'pem' })
          .toString(),
      'RS256',
    ],
    [
      'EC P-256 SEC1 PEM',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' })
          .privateKey.export({ type: 'sec1', format: 'pem' })
          .toString(),
      'ES256',
    ],
    [
      'EC P-384 PEM',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-384' })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      'ES384',
    ],
    [
      'Ed25519 PEM',
      () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      'EdDSA',
    ],
    [
      'EC JWK',
      () =>
        JSON.stringify(
          generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
        ),
      'ES256',
    ],
    [
      'RSA JWK with alg PS256',
      () =>
        JSON.stringify({
          ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
          alg: 'PS256',
        }),
      'PS256',
    ],
  ])('reads %s', (_label, make, algorithm) => {
    const key = parseSigningKey(make());
    expect(key.algorithm).toBe(algorithm);
    expect(key.publicKey.type).toBe('public');
  });

  it.each<[string, string]>([
    ['garbage', 'not a key'],
    [
      'a public key',
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
    ],
    [
      'a public JWK',
      JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })),
    ],
    [
      'a JWK whose alg does not fit',
      JSON.stringify({
        ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
        alg: 'RS256',
      }),
    ],
    [
      'an X25519 key',
      generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ],
    [
      'an EC secp256k1 key',
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    ],
  ])('rejects %s', (_label, text) => {
    let error: unknown;
    try {
      parseSigningKey(text);
    } catch (e) {
      error = e;
    }
    expect(isTokenError(error, 'KEY_INVALID')).toBe(true);
  });
});

describe('keyFitsAlgorithm', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const ed = generateKeyPairSync('ed25519').publicKey;
  it.each<[string, boolean, ReturnType<typeof createPublicKey>]>([
    ['ES256', true, ec],
    ['ES384', false, ec],
    ['RS256', false, ec],
    ['HS256', false, ec],
    ['RS256', true, rsa],
    ['PS512', true, rsa],
    ['HS512', false, rsa],
    ['EdDSA', true, ed],
    ['Ed25519', true, ed],
    ['ES256', false, ed],
  ])('%s on the key: %s', (alg, fits, key) => {
    expect(keyFitsAlgorithm(key, alg)).toBe(fits);
  });

  it('signingAlgorithmFor picks the algorithm of a key', () => {
    expect(signingAlgorithmFor(generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey)).toBe('ES512');
  });
});

describe('libtrustKeyId', () => {
  it('is 48 base32 characters in groups of 4, stable for a key', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const id = libtrustKeyId(key);
    expect(id).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(libtrustKeyId(createPublicKey(key.export({ type: 'spki', format: 'pem' })))).toBe(id);
  });

  it('matches the fingerprint computed independently (SHA-256 of the DER SPKI, 30 bytes, base32)', () => {
    const pem = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYD54V/vp+54P9DXarYqx4MPcm+HK
RIQzNasYSoRQHQ/6S6Ps8tpMcT+KvIIC8W/e9k0W7Cm72M1P9jU7SLf/vg==
-----END PUBLIC KEY-----`;
    expect(libtrustKeyId(createPublicKey(pem))).toBe(
      'L76K:QQFN:YT7U:X7NP:43BJ:VTFS:3BLR:FJDW:V4LZ:XXKS:LK3C:CKWC',
    );
  });
});

describe('jwksKeys', () => {
  it('maps kids to keys, oct keys to secrets, and drops private parts', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keys = jwksKeys({
      keys: [
        { ...pair.privateKey.export({ format: 'jwk' }), kid: 'ec' },
        { kty: 'oct', k: Buffer.from('secret').toString('base64url'), kid: 'hs' },
        { ...(await exportJWK(pair.publicKey)) },
      ],
    });
    expect(keys.get('ec')?.type).toBe('public');
    expect(keys.get('hs')?.type).toBe('secret');
    expect(keys.get('#2')?.type).toBe('public');
  });

  it('rejects what is no JWKS', () => {
    expect(() => jwksKeys({})).toThrow('a JWKS is');
    expect(() => jwksKeys({ keys: [{ kty: 'EC' }] })).toThrow('JWKS key 0');
  });
});
