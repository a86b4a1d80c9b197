/**
 * Test certificates made with the machine's `openssl` (Node cannot create X.509 certificates):
 * a root CA, an intermediate CA, a leaf signed by the intermediate, a leaf signed directly by
 * the root, a "CA" without the CA flag with a leaf under it, and a second, untrusted root with
 * its own leaf. All EC P-256, valid for 30 days from now.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  readonly cert: X509Certificate;
  readonly pem: string;
  readonly key: KeyObject;
  /** base64 DER, as in `x5c`. */
  readonly der: string;
}

export interface TestPki {
  readonly root: Issued;
  readonly intermediate: Issued;
  readonly leaf: Issued;
  readonly directLeaf: Issued;
  readonly notCa: Issued;
  readonly underNotCa: Issued;
  readonly otherRoot: Issued;
  readonly otherLeaf: Issued;
}

/** Why the PKI tests cannot run, or `undefined`. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl not found on PATH';
  }
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pki-'));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(
    join(dir, 'ca.ext'),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
  );
  writeFileSync(
    join(dir, 'leaf.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n',
  );
  const read = (name: string): Issued => {
    const pem = readFileSync(join(dir, `${name}.pem`), 'utf8');
    const cert = new X509Certificate(pem);
    return {
      cert,
      pem,
      key: createPrivateKey(readFileSync(join(dir, `${name}.key`))),
      der: cert.raw.toString('base64'),
    };
  };
  const selfSigned = (name: string): void => {
    run(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '30',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  };
  const signed = (name: string, by: string, ext: 'ca' | 'leaf'): void => {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${by}.pem`,
      '-CAkey',
      `${by}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '30',
      '-extfile',
      `${ext}.ext`,
    );
  };
  try {
    selfSigned('root');
    signed('intermediate', 'root', 'ca');
    signed('leaf', 'intermediate', 'leaf');
    signed('directLeaf', 'root', 'leaf');
    signed('notCa', 'root', 'leaf');
    signed('underNotCa', 'notCa', 'leaf');
    selfSigned('otherRoot');
    signed('otherLeaf', 'otherRoot', 'leaf');
    return {
      root: read('root'),
      intermediate: read('intermediate'),
      leaf: read('leaf'),
      directLeaf: read('directLeaf'),
      notCa: read('notCa'),
      underNotCa: read('underNotCa'),
      otherRoot: read('otherRoot'),
      otherLeaf: read('otherLeaf'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
