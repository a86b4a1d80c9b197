import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

export const ISSUER = 'test-issuer';
export const SERVICE = 'test-registry';

export interface TokenSpec {
  readonly alg?: string;
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
  /** Seconds relative to now; `null` leaves `exp` out. @default 300 */
  readonly expiresIn?: number | null;
  /** Seconds relative to now for `nbf`. */
  readonly notBefore?: number;
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly sub?: string;
  readonly access?: unknown;
  /** The clock in seconds. */
  readonly now?: number;
}

/** Signs a registry token with `key`. */
export async function sign(key: KeyObject | Uint8Array, spec: TokenSpec = {}): Promise<string> {
  const now = spec.now ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: spec.iss ?? ISSUER,
    sub: spec.sub ?? 'alice',
    aud: spec.aud ?? SERVICE,
    iat: now,
    access: spec.access ?? [{ type: 'repository', name: 'a/b', actions: ['pull'] }],
    ...spec.claims,
  };
  if (spec.expiresIn !== null) payload.exp = now + (spec.expiresIn ?? 300);
  if (spec.notBefore !== undefined) payload.nbf = now + spec.notBefore;
  return new SignJWT(payload).setProtectedHeader({ alg: spec.alg ?? 'ES256', ...spec.header }).sign(key);
}

/** base64url of JSON. */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
