/**
 * registry:2's `redirect` storage middleware: blob downloads are sent to a fixed base URL (a CDN
 * or any web server that serves the storage tree) instead of the driver's own URL.
 *
 * The URL for a storage path is the base URL's scheme and host, then its path, then the storage
 * path — as registry v3 builds it (`path.Join(basePath, path)`): the base path's empty segments
 * and trailing slash are dropped, and the storage path is the driver's, without the driver's
 * `rootdirectory`. registry:2 2.8 ignored the base URL's path; a base URL without a path gives the
 * same URL in both.
 */
import { InvalidParameterError, StorageDriverError } from './errors.ts';
import { stringParameter } from './parameters.ts';
import { assertValidPath } from './paths.ts';
import type { RedirectOptions, StorageDriver, StorageMiddlewareFactory } from './types.ts';

/** Options of {@link withRedirectMiddleware} (the `options` of a `redirect` middleware entry). */
export interface RedirectMiddlewareOptions {
  /**
   * `baseurl`: an absolute `http://` or `https://` URL with a host, optionally a port and a path
   * (`https://cdn.example.com:8443/registry`). No credentials, query or fragment.
   */
  readonly baseUrl: string;
}

/**
 * Checks a `baseurl` and returns it normalized: `scheme://host[:port]` followed by the path
 * without empty segments or a trailing slash (`''` for none).
 * @throws {InvalidParameterError} `baseurl`, saying what is wrong.
 */
export function normalizeRedirectBaseUrl(baseUrl: string): string {
  const text = baseUrl.trim();
  const example = '"https://cdn.example.com/registry"';
  if (!/^https?:\/\/[^/\\]/i.test(text) || !URL.canParse(text)) {
    throw new InvalidParameterError(
      'baseurl',
      `must be an absolute http(s) URL such as ${example}, got ${JSON.stringify(baseUrl)}`,
    );
  }
  const url = new URL(text);
  if (url.username !== '' || url.password !== '') {
    throw new InvalidParameterError('baseurl', 'must not contain credentials (user:password@)');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new InvalidParameterError(
      'baseurl',
      `must not have a query or fragment (registry:2 drops them), got ${JSON.stringify(baseUrl)}`,
    );
  }
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const path = segments.length === 0 ? '' : `/${segments.join('/')}`;
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * Wraps `driver` so that `redirectURL(path)` answers `baseUrl` joined with `path` (for GET and
 * HEAD alike, whatever `expiresIn`), and every other method is the driver's own. The URL is
 * built without touching the backend, so it is answered even for a path that does not exist —
 * the registry only asks for paths of blobs it has found.
 *
 * `redirectURL` still rejects an invalid path with `INVALID_PATH` and an aborted call with
 * `ABORTED`.
 *
 * @throws {InvalidParameterError} `baseurl` when the base URL is not an absolute http(s) URL.
 *
 * @example
 * ```ts
 * const driver = withRedirectMiddleware(fsDriver, { baseUrl: 'https://cdn.example.com/registry/' });
 * await driver.redirectURL('/docker/registry/v2/blobs/sha256/ab/ab12…/data');
 * // 'https://cdn.example.com/registry/docker/registry/v2/blobs/sha256/ab/ab12…/data'
 * ```
 */
export function withRedirectMiddleware(
  driver: StorageDriver,
  options: RedirectMiddlewareOptions,
): StorageDriver {
  const base = normalizeRedirectBaseUrl(options.baseUrl);
  return {
    name: driver.name,
    getContent: (path, opts) => driver.getContent(path, opts),
    putContent: (path, content, opts) => driver.putContent(path, content, opts),
    reader: (path, opts) => driver.reader(path, opts),
    writer: (path, opts) => driver.writer(path, opts),
    stat: (path, opts) => driver.stat(path, opts),
    list: (path, opts) => driver.list(path, opts),
    move: (source, destination, opts) => driver.move(source, destination, opts),
    delete: (path, opts) => driver.delete(path, opts),
    walk: (path, opts) => driver.walk(path, opts),
    async redirectURL(path: string, opts?: RedirectOptions): Promise<string | undefined> {
      if (opts?.signal?.aborted) {
        throw new StorageDriverError('ABORTED', `${driver.name}: operation on ${path} was aborted`, {
          path,
          driver: driver.name,
          cause: opts.signal.reason,
        });
      }
      assertValidPath(path);
      // Valid storage paths need no escaping; encoding each segment keeps that true by construction.
      return base + path.split('/').map(encodeURIComponent).join('/');
    },
  };
}

/**
 * The `redirect` storage middleware for the server's `middleware.storage` list.
 *
 * @example
 * ```ts
 * const options = redirectMiddlewareFactory.parseParameters({ baseurl: 'https://cdn.example.com' });
 * const driver = await redirectMiddlewareFactory.wrap(await filesystemDriverFactory.create(fsOptions), options);
 * ```
 */
export const redirectMiddlewareFactory: StorageMiddlewareFactory<RedirectMiddlewareOptions> = {
  name: 'redirect',
  parseParameters(raw) {
    const baseUrl = stringParameter(raw, 'baseurl', true);
    normalizeRedirectBaseUrl(baseUrl);
    return { baseUrl };
  },
  wrap: async (driver, options) => withRedirectMiddleware(driver, options),
};
