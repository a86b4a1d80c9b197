/** `http.tls` → `node:https` server options, with registry:2's client certificate modes. */
import { readFile } from 'node:fs/promises';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { MinimumTls, TlsConfig } from '../config/types.ts';
import { StartupError } from './errors.ts';

const TLS_VERSIONS: Readonly<Record<MinimumTls, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'>> = {
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

async function readPem(path: string, key: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new StartupError(`${key}: cannot read ${path}: ${why}`);
  }
}

/** Reads the certificate, key and client CAs named by `tls`. @throws {StartupError} */
export async function httpsOptions(tls: TlsConfig): Promise<HttpsServerOptions> {
  const options: HttpsServerOptions = {
    cert: await readPem(tls.certificate, 'http.tls.certificate'),
    key: await readPem(tls.key, 'http.tls.key'),
    minVersion: TLS_VERSIONS[tls.minimumTls],
  };
  if (tls.cipherSuites.length > 0) options.ciphers = tls.cipherSuites.join(':');
  if (tls.clientCAs.length > 0) {
    options.ca = await Promise.all(tls.clientCAs.map((path, i) => readPem(path, `http.tls.clientcas[${i}]`)));
  }
  switch (tls.clientAuth) {
    case undefined:
      break;
    case 'require-and-verify-client-cert':
      options.requestCert = true;
      options.rejectUnauthorized = true;
      break;
    default:
      // Verified (or not) per connection in enforceClientAuth.
      options.requestCert = true;
      options.rejectUnauthorized = false;
  }
  return options;
}

/**
 * The client certificate modes Node has no option for: `require-any-client-cert` (a certificate,
 * verified or not) and `verify-client-cert-if-given` (none, or a verified one).
 */
export function enforceClientAuth(server: HttpsServer, tls: TlsConfig): void {
  const mode = tls.clientAuth;
  if (mode !== 'require-any-client-cert' && mode !== 'verify-client-cert-if-given') return;
  server.on('secureConnection', (socket: TLSSocket) => {
    const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
    if (mode === 'require-any-client-cert' ? !presented : presented && !socket.authorized) socket.destroy();
  });
}
