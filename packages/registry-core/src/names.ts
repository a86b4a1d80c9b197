import { RegistryError } from './errors.ts';

/** registry:2's limit on the total length of a repository name. */
export const MAX_NAME_LENGTH = 255;

// One path component of a repository name: lowercase alphanumerics separated by `.`, `_`,
// `__` or runs of `-` (OCI distribution spec).
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** True when `name` is a valid repository name (`library/alpine`, `a.b/c-d/e__f`). */
export function isValidRepositoryName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  for (const component of name.split('/')) {
    if (!COMPONENT.test(component)) return false;
  }
  return true;
}

/**
 * Throws `NAME_INVALID` unless `name` is a valid repository name. Valid names can never escape
 * the storage root: no empty, `.` or `..` components, no uppercase, no `%`.
 * @throws {RegistryError} `NAME_INVALID`
 */
export function assertRepositoryName(name: string): void {
  if (!isValidRepositoryName(name)) {
    const why =
      name.length > MAX_NAME_LENGTH
        ? `longer than ${MAX_NAME_LENGTH} characters`
        : 'must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)*';
    throw new RegistryError('NAME_INVALID', `invalid repository name: ${why}`, { name });
  }
}

/** True when `tag` is a valid tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
