/**
 * containerd's mirror parameter (`?ns=<host>`, OCI distribution-spec "Registry Proxying"): a
 * request for `library/alpine?ns=docker.io` is served from the mirror mounted for `docker.io`
 * and answered with `OCI-Namespace: docker.io`.
 */
import type { RegistryAppEnv } from '@berth/registry-core';
import type { MiddlewareHandler } from 'hono';
import type { Mirror } from './mirror.ts';

/**
 * The hono middleware for `?ns=`, to run before access control (which then sees the mirrored
 * repository's local name). A host no mount names is ignored, as a registry that does not
 * proxy ignores the parameter: a client never picks what Berth dials.
 */
export function namespaceMiddleware(
  mirror: Pick<Mirror, 'namespaceName'>,
): MiddlewareHandler<RegistryAppEnv> {
  return async (c, next) => {
    const ns = c.req.query('ns');
    const route = c.get('route');
    if (ns === undefined || ns === '' || !('name' in route)) return next();
    const name = mirror.namespaceName(route.name, ns);
    if (name === undefined) return next();
    c.set('route', { ...route, name });
    await next();
    c.res.headers.set('OCI-Namespace', ns);
  };
}
