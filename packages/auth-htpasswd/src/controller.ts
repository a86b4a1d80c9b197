import { type AccessController, type AccessPolicy, createBasicAccessController } from '@berth/registry-core';
import { type Htpasswd, type HtpasswdOptions, openHtpasswd } from './htpasswd.ts';

/** Options of {@link createHtpasswdAccessController}: `auth.htpasswd` plus Berth's rules. */
export interface HtpasswdAccessControllerOptions extends HtpasswdOptions {
  /** `auth.htpasswd.realm`, sent in the `Basic realm="…"` challenge. */
  readonly realm: string;
  /**
   * Per-repository rules (`berth.auth.rules`), which may also let anonymous callers pull.
   * Default: registry:2's behaviour, any user in the file may do everything.
   */
  readonly policy?: AccessPolicy;
}

/** The access controller of `auth.htpasswd`, with its file. */
export interface HtpasswdAccessController extends AccessController {
  readonly htpasswd: Htpasswd;
  /** Stops the bcrypt workers. */
  close(): Promise<void>;
}

/**
 * registry:2's `auth.htpasswd` access controller: Basic credentials checked against the file,
 * plus Berth's optional rules (see `createBasicAccessController` in `@berth/registry-core`).
 * @throws {HtpasswdError} when the file cannot be read or holds a non-bcrypt entry.
 *
 * @example
 * ```ts
 * const controller = await createHtpasswdAccessController({ realm: 'Berth', path: '/etc/berth/htpasswd' });
 * const app = createRegistryApp({ registry, secret, middleware: [createAuthMiddleware(controller)] });
 * ```
 */
export async function createHtpasswdAccessController(
  options: HtpasswdAccessControllerOptions,
): Promise<HtpasswdAccessController> {
  const htpasswd = await openHtpasswd(options);
  const controller = createBasicAccessController({
    realm: options.realm,
    verifier: htpasswd,
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  });
  return {
    htpasswd,
    authorize: (request, records) => controller.authorize(request, records),
    close: () => htpasswd.close(),
  };
}
