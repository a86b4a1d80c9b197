/**
 * The access-control contract: an {@link AccessController} decides, for one request and the
 * access records it needs, whether to let it through (a grant, with the caller's identity), to
 * challenge it (401 with `WWW-Authenticate`), to deny it (403), or to throttle it (429).
 * The registry app asks it through {@link createAuthMiddleware}.
 */
import type { AccessRecord } from './access.ts';

/** What an access controller may read of a request. */
export interface AuthRequest {
  /** `GET`, `PUT`, … (upper case). */
  readonly method: string;
  /** The absolute URL of the request, as the app sees it. */
  readonly url: string;
  /** A request header (case-insensitive), or `undefined`. */
  header(name: string): string | undefined;
  /** The address of the peer (for per-client throttling), when known. */
  readonly remoteAddress: string | undefined;
}

/** A `WWW-Authenticate` challenge. */
export type Challenge =
  | {
      readonly scheme: 'Basic';
      readonly realm: string;
    }
  | {
      readonly scheme: 'Bearer';
      readonly realm: string;
      readonly service?: string;
      /** The `scope` parameter; see `scopeParam()`. Omitted when empty. */
      readonly scope?: string;
      readonly error?: 'invalid_token' | 'insufficient_scope';
    };

/** The decision of an {@link AccessController}. */
export type AccessDecision =
  | {
      readonly outcome: 'grant';
      /** The authenticated user, or `undefined` for an anonymous caller a rule lets through. */
      readonly user: string | undefined;
    }
  | {
      /** `401 UNAUTHORIZED` with the challenge and the access records as detail. */
      readonly outcome: 'challenge';
      readonly challenge: Challenge;
    }
  | {
      /** `403 DENIED`: the caller is authenticated but may not do this. */
      readonly outcome: 'deny';
      readonly user: string | undefined;
      /** The records the caller lacks. */
      readonly denied: readonly AccessRecord[];
    }
  | {
      /** `429 TOOMANYREQUESTS` with `Retry-After`. */
      readonly outcome: 'throttle';
      readonly retryAfterSeconds: number;
    };

/**
 * Decides whether a request may have the access it needs. registry:2's `auth.AccessController`.
 *
 * Implementations must answer a missing, malformed or unverifiable `Authorization` header with
 * a `challenge` (never by throwing): the middleware renders whatever is thrown as a 500.
 */
export interface AccessController {
  /**
   * @param records - what the request needs (see `accessRecordsFor()`); empty for `/v2/`,
   * which still needs an authenticated caller.
   */
  authorize(request: AuthRequest, records: readonly AccessRecord[]): Promise<AccessDecision>;
}

/** Where a credential check comes from. */
export interface ClientInfo {
  /** The peer address; failures are counted per user and address. */
  readonly remoteAddress: string | undefined;
}

/** The result of a {@link CredentialVerifier}. */
export type CredentialCheck =
  | { readonly outcome: 'valid' }
  | { readonly outcome: 'invalid' }
  | {
      /** Too many failures (or too much work queued): answer 429 without checking. */
      readonly outcome: 'throttled';
      readonly retryAfterSeconds: number;
    };

/** Checks a user name and password (an htpasswd file, a directory, …). */
export interface CredentialVerifier {
  verify(username: string, password: string, client: ClientInfo): Promise<CredentialCheck>;
}
