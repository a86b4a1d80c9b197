import { Readable } from 'node:stream';
import { type Digest, digestOf } from '@berth/digest';
import { isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { RegistryError } from './errors.ts';
import { digestParts } from './links.ts';
import { pathFor } from './paths.ts';
import type { BlobDescriptor, ByteRange } from './types.ts';

/** registry:2 does not record a blob's media type; blobs are served as this. */
export const BLOB_MEDIA_TYPE = 'application/octet-stream';

/**
 * The global, content-addressed blob store: `blobs/<alg>/<2 hex>/<hex>/data`, shared by every
 * repository. It knows nothing about repository links; see {@link LinkedBlobStore} for access.
 */
export interface BlobStore {
  /** @throws {RegistryError} `BLOB_UNKNOWN` */
  stat(digest: Digest): Promise<BlobDescriptor>;
  /** True when the blob's data exists. */
  exists(digest: Digest): Promise<boolean>;
  /**
   * A stream of the blob (whole, or `range`: inclusive start, exclusive end, clamped to the
   * blob). @throws {RegistryError} `BLOB_UNKNOWN`
   */
  open(digest: Digest, range?: ByteRange): Promise<Readable>;
  /** The driver's direct URL for the blob's data, or `undefined`. */
  redirectURL(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined>;
  /** The whole content of a (small) blob. @throws {RegistryError} `BLOB_UNKNOWN` */
  getContent(digest: Digest): Promise<Uint8Array>;
  /**
   * Stores small content (a manifest) under `digest` unless it is already there. The write is
   * atomic (`putContent`), so a reader never sees a partial blob.
   * @throws {RegistryError} `DIGEST_INVALID` when `content` does not hash to `digest`.
   */
  putContent(digest: Digest, content: Uint8Array): Promise<BlobDescriptor>;
  /** The storage path of the blob's data. */
  dataPath(digest: Digest): string;
}

function blobUnknown(digest: string, cause?: unknown): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', undefined, { digest }, { cause });
}

/**
 * Creates the global blob store over `driver`.
 *
 * @example
 * ```ts
 * const blobs = createBlobStore(driver);
 * const { size } = await blobs.stat(digest);
 * ```
 */
export function createBlobStore(driver: StorageDriver): BlobStore {
  const dataPath = (digest: Digest): string => {
    const { algorithm, encoded } = digestParts(digest);
    return pathFor({ kind: 'blobData', algorithm, encoded });
  };

  const stat = async (digest: Digest): Promise<BlobDescriptor> => {
    const path = dataPath(digest);
    try {
      const info = await driver.stat(path);
      if (info.isDir) throw blobUnknown(digest);
      return { digest, size: info.size, mediaType: BLOB_MEDIA_TYPE };
    } catch (err) {
      if (isPathNotFound(err)) throw blobUnknown(digest, err);
      throw err;
    }
  };

  return {
    dataPath,
    stat,

    async exists(digest) {
      try {
        await stat(digest);
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code === 'BLOB_UNKNOWN') return false;
        throw err;
      }
    },

    async open(digest, range) {
      const path = dataPath(digest);
      const start = range?.start ?? 0;
      let source: Readable;
      try {
        source = await driver.reader(path, { offset: start });
      } catch (err) {
        if (isPathNotFound(err)) throw blobUnknown(digest, err);
        throw err;
      }
      if (range === undefined || !Number.isFinite(range.end)) return source;
      return limitStream(source, Math.max(0, range.end - start));
    },

    async redirectURL(digest, method) {
      return driver.redirectURL(dataPath(digest), { method });
    },

    async getContent(digest) {
      try {
        return await driver.getContent(dataPath(digest));
      } catch (err) {
        if (isPathNotFound(err)) throw blobUnknown(digest, err);
        throw err;
      }
    },

    async putContent(digest, content) {
      const { algorithm } = digestParts(digest);
      const actual = digestOf(content, algorithm);
      if (actual !== digest) {
        throw new RegistryError('DIGEST_INVALID', `content has digest ${actual}, not ${digest}`, {
          expected: digest,
          actual,
        });
      }
      const path = dataPath(digest);
      try {
        const info = await driver.stat(path);
        if (!info.isDir && info.size === content.byteLength) {
          return { digest, size: info.size, mediaType: BLOB_MEDIA_TYPE };
        }
      } catch (err) {
        if (!isPathNotFound(err)) throw err;
      }
      await driver.putContent(path, content);
      return { digest, size: content.byteLength, mediaType: BLOB_MEDIA_TYPE };
    },
  };
}

/** `source` cut after `length` bytes (the source is destroyed once enough has been read). */
function limitStream(source: Readable, length: number): Readable {
  async function* limited(): AsyncGenerator<Uint8Array> {
    let remaining = length;
    if (remaining === 0) {
      source.destroy();
      return;
    }
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      if (chunk.byteLength >= remaining) {
        yield chunk.byteLength === remaining ? chunk : chunk.subarray(0, remaining);
        return; // leaving the loop destroys the source
      }
      remaining -= chunk.byteLength;
      yield chunk;
    }
  }
  return Readable.from(limited(), { objectMode: false });
}
