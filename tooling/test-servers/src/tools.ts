import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** The absolute path of executable `name` on `PATH` (or `name` itself if absolute), or `undefined`. */
export function which(name: string): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The Debian package that provides each executable the end-to-end tests use. */
const debianPackages: Record<string, string> = {
  skopeo: 'skopeo',
  'docker-registry': 'docker-registry',
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
};

/**
 * Why end-to-end tests that need `tools` must be skipped, or `undefined` when every tool is on
 * `PATH`. Under CI (`process.env.CI` set) nothing may be skipped: a missing tool throws instead,
 * so the test file fails with a message that names the Debian package to add to `.ci/apt-packages`.
 *
 * @example
 * ```ts
 * const skip = e2eSkipReason(['skopeo']);
 * describe.skipIf(skip)(`push and pull${skip ? ` (skipped: ${skip})` : ''}`, () => { … });
 * ```
 */
export function e2eSkipReason(tools: readonly string[]): string | undefined {
  const missing = tools.filter((tool) => which(tool) === undefined);
  if (missing.length === 0) return undefined;
  const packages = missing.map((tool) => debianPackages[tool] ?? tool).join(' ');
  const reason = `${missing.join(', ')} not installed (apt-get install -y --no-install-recommends ${packages})`;
  if (process.env.CI) {
    throw new Error(`CI is set, so end-to-end tests may not be skipped, but ${reason}`);
  }
  return reason;
}
