/**
 * HTTP Basic authentication against a {@link CredentialVerifier} (an htpasswd file), with an
 * optional {@link AccessPolicy} deciding per-repository access and anonymous pulls.
 */
import type { AccessRecord } from './access.ts';
import type { AccessController, AccessDecision, CredentialVerifier } from './controller.ts';
import { type AccessPolicy, allowAuthenticatedPolicy } from './policy.ts';

/** An `Authorization` header, parsed as Basic credentials. */
export type BasicAuthorization =
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses `Authorization: Basic <base64(user:password)>` as Go's `Request.BasicAuth` does: the
 * scheme is case-insensitive, the payload strict base64 with a `:` (the user name ends at the
 * first one; either part may be empty). Anything else with a header present is `malformed`.
 */
export function parseBasicAuthorization(header: string | undefined): BasicAuthorization {
  if (header === undefined || header === '') return { kind: 'none' };
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return { kind: 'malformed' };
  const payload = header.slice(6);
  if (!BASE64.test(payload)) return { kind: 'malformed' };
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(payload, 'base64'));
  } catch {
    return { kind: 'malformed' };
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'malformed' };
  return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Options of {@link createBasicAccessController}. */
export interface BasicAccessControllerOptions {
  /** The `realm` of the `Basic` challenge (`auth.htpasswd.realm`). */
  readonly realm: string;
  readonly verifier: CredentialVerifier;
  /**
   * Who may do what. Default: registry:2's behaviour, every authenticated user may do
   * everything and anonymous callers nothing.
   */
  readonly policy?: AccessPolicy;
}

/**
 * The access controller of `auth.htpasswd`:
 *
 * - No credentials (or empty ones: `Basic Og==`, which skopeo sends when it has none): the
 *   request is let through anonymously when it needs access and the policy grants anonymous
 *   callers all of it; otherwise (and always for `/v2/`) it is challenged with `Basic realm=…`.
 * - Malformed `Authorization` or wrong credentials: challenged (401).
 * - Too many failures from this client for this user: `throttle` (429).
 * - Valid credentials: granted when the policy allows every record, else `deny` (403), so the
 *   client does not ask for the password again.
 *
 * @example
 * ```ts
 * const controller = createBasicAccessController({ realm: 'Berth', verifier: htpasswd, policy });
 * const app = createRegistryApp({ registry, secret, middleware: [createAuthMiddleware(controller)] });
 * ```
 */
export function createBasicAccessController(options: BasicAccessControllerOptions): AccessController {
  const policy = options.policy ?? allowAuthenticatedPolicy();
  const challenge: AccessDecision = {
    outcome: 'challenge',
    challenge: { scheme: 'Basic', realm: options.realm },
  };
  const decide = (user: string, records: readonly AccessRecord[]): AccessDecision => {
    const denied = policy.missing(user, records);
    return denied.length === 0 ? { outcome: 'grant', user } : { outcome: 'deny', user, denied };
  };
  return {
    async authorize(request, records) {
      const auth = parseBasicAuthorization(request.header('authorization'));
      if (auth.kind === 'malformed') return challenge;
      if (auth.kind === 'none' || (auth.username === '' && auth.password === '')) {
        if (records.length > 0 && policy.missing(undefined, records).length === 0) {
          return { outcome: 'grant', user: undefined };
        }
        return challenge;
      }
      const check = await options.verifier.verify(auth.username, auth.password, {
        remoteAddress: request.remoteAddress,
      });
      switch (check.outcome) {
        case 'valid':
          return decide(auth.username, records);
        case 'throttled':
          return { outcome: 'throttle', retryAfterSeconds: check.retryAfterSeconds };
        default:
          return challenge;
      }
    },
  };
}
