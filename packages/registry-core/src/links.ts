import { type Algorithm, type Digest, isDigest, parseDigest } from '@berth/digest';
import { isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { RegistryError } from './errors.ts';
import { pathFor } from './paths.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Reads the link file at `path` (registry:2's `…/link`: the digest as text, written without
 * a newline; trailing whitespace is accepted). Resolves `undefined` when the link is missing
 * or does not hold a valid digest, so a corrupted link reads as "not there", never as a 500.
 */
export async function readLink(driver: StorageDriver, path: string): Promise<Digest | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await driver.getContent(path);
  } catch (err) {
    if (isPathNotFound(err)) return undefined;
    throw err;
  }
  if (bytes.length > 256) return undefined;
  const text = decoder.decode(bytes).trimEnd();
  return isDigest(text) ? text : undefined;
}

/** Writes a link file holding `digest`, byte for byte as registry:2 does (no newline). */
export async function writeLink(driver: StorageDriver, path: string, digest: Digest): Promise<void> {
  await driver.putContent(path, encoder.encode(digest));
}

/** The algorithm and hex of a digest, as {@link pathFor} wants them. */
export interface DigestParts {
  readonly algorithm: Algorithm;
  readonly encoded: string;
  readonly digest: Digest;
}

/**
 * Splits `digest` for use in a storage path, validating it on the way (a `Digest` typed value
 * may still come from an unchecked cast).
 * @throws {RegistryError} `DIGEST_INVALID`
 */
export function digestParts(digest: string): DigestParts {
  try {
    const parsed = parseDigest(digest);
    return { algorithm: parsed.algorithm, encoded: parsed.encoded, digest: parsed.digest };
  } catch (err) {
    throw new RegistryError(
      'DIGEST_INVALID',
      `invalid digest: ${JSON.stringify(digest)}`,
      { digest },
      {
        cause: err,
      },
    );
  }
}

/** Resolves `undefined` instead of rejecting when the path is missing. */
export async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (err) {
    if (isPathNotFound(err)) return undefined;
    throw err;
  }
}

/** The path of `digest`'s revision link in repository `name`. */
export function revisionLinkPath(name: string, digest: string): string {
  const { algorithm, encoded } = digestParts(digest);
  return pathFor({ kind: 'manifestRevisionLink', name, algorithm, encoded });
}

/** The path of the Berth referrers-index link of `referrer` under `subject` in `name`. */
export function referrerLinkPath(name: string, subject: string, referrer: string): string {
  const s = digestParts(subject);
  const r = digestParts(referrer);
  return pathFor({
    kind: 'referrerLink',
    name,
    algorithm: s.algorithm,
    encoded: s.encoded,
    referrerAlgorithm: r.algorithm,
    referrerEncoded: r.encoded,
  });
}
