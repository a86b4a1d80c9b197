import {
  type AccessController,
  type AccessRecord,
  type AuthRequest,
  type Challenge,
  type ResourceActions,
  scopeParam,
} from '@berth/registry-core';
import { isTokenError } from './errors.ts';
import type { TokenClaims, TokenVerifier } from './verifier.ts';

/** Options of {@link createTokenAccessController}: `auth.token` of registry:2. */
export interface TokenAccessControllerOptions {
  /** `realm`: the token endpoint clients are sent to. Ignored with `autoRedirect`. */
  readonly realm?: string;
  /** `service`, echoed in the challenge. */
  readonly service: string;
  /**
   * `autoredirect`: build the realm from the request instead, as
   * `<X-Forwarded-Proto or https>://<Host><autoRedirectPath>`. @default false
   */
  readonly autoRedirect?: boolean;
  /** `autoredirectpath`. @default '/auth/token' */
  readonly autoRedirectPath?: string;
  /**
   * The scheme of an auto-redirect realm when the request carries no `X-Forwarded-Proto`.
   * @default 'https' (registry:2)
   */
  readonly defaultScheme?: 'http' | 'https';
  readonly verifier: TokenVerifier;
  /** Told why a presented token was refused (for the server's debug log). */
  readonly onInvalidToken?: (error: Error) => void;
}

/** True when the token's `access` claim holds `record` (`*` among the actions grants every action). */
export function accessAllows(access: readonly ResourceActions[], record: AccessRecord): boolean {
  return access.some(
    (entry) =>
      entry.type === record.type &&
      entry.name === record.name &&
      (entry.actions.includes(record.action) || entry.actions.includes('*')),
  );
}

function autoRealm(request: AuthRequest, path: string, scheme: string): string {
  const proto = request.header('x-forwarded-proto')?.split(',')[0]?.trim() || scheme;
  const host = request.header('host') ?? new URL(request.url).host;
  return `${proto}://${host}${path}`;
}

/**
 * registry:2's `auth.token` access controller. A request needs `Authorization: Bearer <jwt>`
 * (scheme case-insensitive) whose `access` claim covers every access record; otherwise it is
 * challenged with `Bearer realm=…,service=…,scope=…` — plus `error="invalid_token"` when the
 * token was refused, or `error="insufficient_scope"` when it does not cover the request. The
 * grant's user is the token's `sub`.
 *
 * @example
 * ```ts
 * const controller = createTokenAccessController({ realm: 'https://auth.example.com/token', service: 'registry', verifier });
 * ```
 */
export function createTokenAccessController(options: TokenAccessControllerOptions): AccessController {
  const path = options.autoRedirectPath ?? '/auth/token';
  return {
    async authorize(request, records) {
      const challenge = (error?: 'invalid_token' | 'insufficient_scope'): Challenge => ({
        scheme: 'Bearer',
        realm:
          options.autoRedirect === true
            ? autoRealm(request, path, options.defaultScheme ?? 'https')
            : (options.realm ?? ''),
        service: options.service,
        scope: scopeParam(records),
        ...(error === undefined ? {} : { error }),
      });
      const header = request.header('authorization') ?? '';
      const space = header.indexOf(' ');
      const scheme = space < 0 ? header : header.slice(0, space);
      const token = space < 0 ? '' : header.slice(space + 1);
      if (scheme.toLowerCase() !== 'bearer' || token === '') {
        return { outcome: 'challenge', challenge: challenge() };
      }
      let claims: TokenClaims;
      try {
        claims = await options.verifier.verify(token);
      } catch (error) {
        if (!isTokenError(error)) throw error;
        options.onInvalidToken?.(error);
        return { outcome: 'challenge', challenge: challenge('invalid_token') };
      }
      if (!records.every((record) => accessAllows(claims.access, record))) {
        return { outcome: 'challenge', challenge: challenge('insufficient_scope') };
      }
      return { outcome: 'grant', user: claims.subject === '' ? undefined : claims.subject };
    },
  };
}
