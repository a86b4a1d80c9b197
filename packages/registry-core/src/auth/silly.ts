import { scopeParam } from './access.ts';
import type { AccessController } from './controller.ts';

/** Options of {@link createSillyAccessController} (`auth.silly`). */
export interface SillyAccessControllerOptions {
  readonly realm: string;
  readonly service: string;
}

/**
 * registry:2's `silly` access controller, for development only: any request with an
 * `Authorization` header (whatever it says) is granted; others get a `Bearer` challenge
 * echoing the realm, service and scope.
 */
export function createSillyAccessController(options: SillyAccessControllerOptions): AccessController {
  return {
    async authorize(request, records) {
      if ((request.header('authorization') ?? '') !== '') return { outcome: 'grant', user: undefined };
      return {
        outcome: 'challenge',
        challenge: {
          scheme: 'Bearer',
          realm: options.realm,
          service: options.service,
          scope: scopeParam(records),
        },
      };
    },
  };
}
