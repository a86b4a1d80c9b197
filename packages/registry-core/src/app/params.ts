import { type Digest, parseDigest } from '@berth/digest';
import { RegistryError } from '../errors.ts';
import { isValidTag } from '../names.ts';

/**
 * Parses a digest from a path or query parameter.
 * @throws {RegistryError} `DIGEST_INVALID` (400) when it is malformed or uses an algorithm other
 * than sha256/sha512 (the spec: "if the client provided digest is invalid or uses an unsupported
 * algorithm, the registry SHOULD respond with 400").
 */
export function parseDigestParam(value: string, what = 'digest'): Digest {
  try {
    return parseDigest(value).digest;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RegistryError('DIGEST_INVALID', `invalid ${what}: ${reason}`, { [what]: value });
  }
}

/** A manifest reference from the path: a digest, a tag, or neither. */
export type ManifestReference =
  | { readonly kind: 'digest'; readonly digest: Digest }
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'invalid'; readonly value: string };

/**
 * Classifies `<reference>`. A `:` is never part of a tag, so a reference with one is a digest
 * or an error: `DIGEST_INVALID` (400), never a tag lookup that 404s misleadingly, never a 500.
 * Anything else that is not a valid tag is `invalid`; the handler decides the answer per method.
 * @throws {RegistryError} `DIGEST_INVALID`
 */
export function parseReference(value: string): ManifestReference {
  if (value.includes(':')) return { kind: 'digest', digest: parseDigestParam(value) };
  if (isValidTag(value)) return { kind: 'tag', tag: value };
  return { kind: 'invalid', value };
}

/**
 * Parses the `n` page-size parameter: absent or empty → `undefined` (as registry:2, which
 * ignores `n=`); a non-negative integer → its value.
 * @throws {RegistryError} `PAGINATION_NUMBER_INVALID` (400) for anything else.
 */
export function parsePageSize(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', undefined, { n: value });
  }
  return Number(value);
}
