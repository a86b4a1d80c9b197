import { describe, expect, it } from 'vitest';
import { mayReceiveCredentials, registrableDomain, sameOrigin } from './credentials.ts';

describe('registrableDomain', () => {
  it.each([
    ['registry-1.docker.io', 'docker.io'],
    ['auth.docker.io', 'docker.io'],
    ['ghcr.io', 'ghcr.io'],
    ['a.b.example.co.uk', 'example.co.uk'],
    ['localhost', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '::1'],
    ['Registry.Example.COM.', 'example.com'],
  ])('%s → %s', (host, domain) => {
    expect(registrableDomain(host)).toBe(domain);
  });
});

describe('mayReceiveCredentials', () => {
  const hub = new URL('https://registry-1.docker.io');
  it('the upstream itself and hosts of its registrable domain, over https', () => {
    expect(mayReceiveCredentials(hub, new URL('https://registry-1.docker.io/v2/'))).toBe(true);
    expect(mayReceiveCredentials(hub, new URL('https://auth.docker.io/token'))).toBe(true);
  });
  it('never another domain, a look-alike, plain http elsewhere, or another scheme', () => {
    expect(mayReceiveCredentials(hub, new URL('https://auth.evil.io/token'))).toBe(false);
    expect(mayReceiveCredentials(hub, new URL('https://docker.io.evil.com/token'))).toBe(false);
    expect(mayReceiveCredentials(hub, new URL('http://auth.docker.io/token'))).toBe(false);
    expect(mayReceiveCredentials(hub, new URL('ftp://auth.docker.io/token'))).toBe(false);
  });
  it('a plain-http upstream only on its own host and port', () => {
    const local = new URL('http://127.0.0.1:5000');
    expect(mayReceiveCredentials(local, new URL('http://127.0.0.1:5000/auth/token'))).toBe(true);
    expect(mayReceiveCredentials(local, new URL('http://127.0.0.1:5001/auth/token'))).toBe(false);
    expect(mayReceiveCredentials(local, new URL('http://localhost:5000/auth/token'))).toBe(false);
    expect(mayReceiveCredentials(local, new URL('https://127.0.0.2/token'))).toBe(false);
  });
});

describe('sameOrigin', () => {
  it('scheme, host and port must all match', () => {
    const up = new URL('https://ghcr.io');
    expect(sameOrigin(up, new URL('https://ghcr.io/v2/x/blobs/sha256:a'))).toBe(true);
    expect(sameOrigin(up, new URL('https://pkg-containers.githubusercontent.com/x'))).toBe(false);
    expect(sameOrigin(up, new URL('http://ghcr.io/x'))).toBe(false);
    expect(sameOrigin(up, new URL('https://ghcr.io:8443/x'))).toBe(false);
  });
});
