import type { Context, MiddlewareHandler } from 'hono';
import type { RegistryAppEnv } from '../app/env.ts';
import { RegistryError } from '../errors.ts';
import { type AccessRecord, accessDetail, accessRecordsFor } from './access.ts';
import { formatChallenge } from './challenge.ts';
import type { AccessController, AuthRequest } from './controller.ts';

/** What a request was granted, for handlers and logs. */
export interface AccessGrant {
  /** The authenticated user, or `undefined` for an anonymous caller. */
  readonly user: string | undefined;
  /** The records the request needed (all granted). */
  readonly records: readonly AccessRecord[];
}

const grants = new WeakMap<Request, AccessGrant>();

/** The grant of a request that passed {@link createAuthMiddleware}, or `undefined`. */
export function accessGrantOf(request: Request): AccessGrant | undefined {
  return grants.get(request);
}

/** The {@link AuthRequest} view of a hono request. */
export function authRequestOf(c: Context<RegistryAppEnv>): AuthRequest {
  return {
    method: c.req.method,
    url: c.req.url,
    header: (name) => c.req.header(name),
    remoteAddress: c.env?.incoming?.socket?.remoteAddress,
  };
}

/**
 * The registry app's access-control middleware (for `createRegistryApp({ middleware })`): derives
 * the access records of the request from its route (`accessRecordsFor()`), asks `controller`,
 * and answers as registry:2 does:
 *
 * - challenge → `401 UNAUTHORIZED`, `WWW-Authenticate` from the challenge, the access records as
 *   `detail` (`[{"Type","Class","Name","Action"}]`);
 * - deny → `403 DENIED` with the records the caller lacks;
 * - throttle → `429 TOOMANYREQUESTS` with `Retry-After`;
 * - grant → the request proceeds; {@link accessGrantOf} tells who it was.
 *
 * @example
 * ```ts
 * const app = createRegistryApp({ registry, secret, middleware: [createAuthMiddleware(controller)] });
 * ```
 */
export function createAuthMiddleware(controller: AccessController): MiddlewareHandler<RegistryAppEnv> {
  return async (c, next) => {
    const records = accessRecordsFor(c.get('route'), c.req.method, (name) => c.req.query(name));
    const decision = await controller.authorize(authRequestOf(c), records);
    switch (decision.outcome) {
      case 'grant':
        grants.set(c.req.raw, { user: decision.user, records });
        await next();
        return;
      case 'challenge':
        throw new RegistryError('UNAUTHORIZED', undefined, accessDetail(records), {
          headers: { 'WWW-Authenticate': formatChallenge(decision.challenge) },
        });
      case 'deny':
        throw new RegistryError('DENIED', undefined, accessDetail(decision.denied));
      case 'throttle': {
        const seconds = Math.max(1, Math.ceil(decision.retryAfterSeconds));
        throw new RegistryError(
          'TOOMANYREQUESTS',
          'too many failed authentication attempts; try again later',
          { retryAfterSeconds: seconds },
          { headers: { 'Retry-After': String(seconds) } },
        );
      }
    }
  };
}
