/**
 * `middleware`: registry:2's named hook points. `storage` entries wrap the storage driver (only
 * `redirect` exists in Berth); `registry` and `repository` middleware are accepted and ignored.
 * An entry whose middleware Berth does not have stops the start, as in registry:2 ("unable to
 * configure storage middleware").
 */
import { isStorageDriverError, normalizeRedirectBaseUrl } from '@berth/storage-driver';
import { middlewareEntry, STORAGE_MIDDLEWARES } from '../drivers.ts';
import { type Diagnostics, type Section, sectionOf } from './reader.ts';
import type { MiddlewareConfig, StorageMiddlewareConfig } from './types.ts';

/** Reads `middleware`, loading each configured storage middleware to check its options. */
export async function readMiddleware(root: Section): Promise<MiddlewareConfig> {
  const middleware = root.section('middleware');
  middleware.unsupported('registry', 'registry middleware is not supported yet (ignored)');
  middleware.unsupported('repository', 'repository middleware is not supported yet (ignored)');
  const storage: StorageMiddlewareConfig[] = [];
  for (const item of middleware.list('storage')) {
    const entry = await readStorageMiddleware(middleware.diagnostics, item.path, item.value);
    if (entry !== undefined) storage.push(entry);
  }
  middleware.finish();
  return { storage };
}

function supported(): string {
  return Object.entries(STORAGE_MIDDLEWARES)
    .filter(([, entry]) => entry.available)
    .map(([name]) => name)
    .join(', ');
}

async function readStorageMiddleware(
  diag: Diagnostics,
  path: readonly string[],
  value: unknown,
): Promise<StorageMiddlewareConfig | undefined> {
  if (value === null || value === undefined) {
    diag.error(path, 'must be a mapping with a name and options (e.g. name: redirect)');
    return undefined;
  }
  const entry = sectionOf(diag, path, value);
  if (entry.value === undefined) return undefined;
  const name = entry.string('name');
  const disabled = entry.boolean('disabled', false);
  const options = entry.map('options') ?? {};
  entry.finish();
  if (name === undefined || name === '') {
    diag.error(entry.at('name'), `is required (one of: ${supported()})`);
    return undefined;
  }
  if (disabled) {
    // registry:2 reads the flag but applies the middleware anyway; Berth does what it says.
    diag.warn(entry.at('disabled'), `the ${name} middleware is not applied (registry:2 would apply it)`);
    return undefined;
  }
  const known = middlewareEntry(name);
  if (known === undefined) {
    diag.error(
      entry.at('name'),
      `unsupported storage middleware ${JSON.stringify(name)} (Berth has: ${supported()})`,
    );
    return undefined;
  }
  if (!known.available) {
    diag.error(entry.at('name'), known.reason);
    return undefined;
  }
  for (const key of Object.keys(options)) {
    if (!known.parameters.includes(key)) {
      diag.warn([...entry.at('options'), key], `unknown key (ignored by the ${name} middleware)`);
    }
  }
  const factory = await known.load();
  try {
    const parsed = factory.parseParameters(options);
    if (name === 'redirect') warnAboutBasePath(diag, [...entry.at('options'), 'baseurl'], parsed);
    return { name, options: parsed };
  } catch (error) {
    if (!isStorageDriverError(error, 'INVALID_PARAMETER')) throw error;
    const parameter = (error as { parameter?: unknown }).parameter;
    if (typeof parameter !== 'string') {
      diag.error(entry.at('options'), error.message);
      return undefined;
    }
    const prefix = `${parameter}: `;
    const problem = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    diag.error([...entry.at('options'), parameter], problem);
    return undefined;
  }
}

/**
 * registry:2 2.8 builds redirect URLs from the base URL's scheme and host only; registry v3 and
 * Berth also put its path in front. A CDN set up for 2.8 would then miss every blob, so say so.
 */
function warnAboutBasePath(diag: Diagnostics, path: readonly string[], options: unknown): void {
  const baseUrl = (options as { baseUrl: string }).baseUrl;
  const basePath = new URL(normalizeRedirectBaseUrl(baseUrl)).pathname;
  if (basePath === '/') return;
  diag.warn(
    path,
    `blob URLs start with ${JSON.stringify(basePath)} before the storage path, as in registry v3 ` +
      '(registry:2 2.8 ignored the path of baseurl)',
  );
}
