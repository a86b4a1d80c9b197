/**
 * Test certificates made with the machine's `openssl` (Node cannot create X.509 certificates):
 * a CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Why TLS tests cannot run here, or `undefined` when `openssl` is available. Under CI (`CI` set
 * and not `false`) nothing may be skipped: a missing `openssl` throws, so the test file fails
 * naming the package to install, as the skopeo and registry:2 tests do (`e2eSkipReason`).
 *
 * @example
 * ```ts
 * const skip = opensslMissing();
 * describe.skipIf(skip)(`TLS${skip ? ` (skipped: ${skip})` : ''}`, () => { … });
 * ```
 */
export function opensslMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore', env });
    return undefined;
  } catch {
    const reason = 'openssl is missing (apt-get install -y --no-install-recommends openssl)';
    if (env.CI !== undefined && env.CI !== '' && env.CI !== 'false') {
      throw new Error(`CI is set, so the TLS tests may not be skipped, but ${reason}`);
    }
    return reason;
  }
}

export interface TestCerts {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** PEM contents by the same names. */
  readonly pem: Record<'caCert' | 'clientCert' | 'clientKey', Buffer>;
}

/** Writes the certificates into `dir`. */
export function makeCerts(dir: string): TestCerts {
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=berth test CA',
  );
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    writeExt(dir, 'server.ext', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
  );
  run('req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=berth test client');
  run(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'client.pem',
    '-days',
    '2',
    '-extfile',
    writeExt(dir, 'client.ext', 'extendedKeyUsage=clientAuth\n'),
  );
  const path = (name: string): string => join(dir, name);
  return {
    caCert: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server.key'),
    clientCert: path('client.pem'),
    clientKey: path('client.key'),
    pem: {
      caCert: readFileSync(path('ca.pem')),
      clientCert: readFileSync(path('client.pem')),
      clientKey: readFileSync(path('client.key')),
    },
  };
}

function writeExt(dir: string, name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}
