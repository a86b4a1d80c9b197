/**
 * What a stored manifest refers to, read once per digest for a whole GC run (manifests are
 * content-addressed, so one parse serves every repository holding the same digest).
 */
import { type Digest, isDigest } from '@berth/digest';
import { DEFAULT_MAX_MANIFEST_SIZE, type Manifest, parseManifest, references } from '@berth/manifest';
import { isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { digestParts } from '../links.ts';
import { pathFor } from '../paths.ts';
import { createLimiter } from './limiter.ts';

/** The outgoing references of one manifest, as GC uses them. */
export interface ManifestRefs {
  /**
   * `ok`: parsed. `missing`: no content in the blob store (nor in GC's quarantine).
   * `lenient`: not a manifest Berth can parse (e.g. a Docker schema1 manifest left by an old
   * registry:2) but JSON: every digest anywhere in it is taken as a reference, to be safe.
   * `unreadable`: not JSON at all; it refers to nothing.
   */
  readonly status: 'ok' | 'missing' | 'lenient' | 'unreadable';
  /** Size of the manifest content in bytes (0 when missing). */
  readonly size: number;
  /** The manifest's media type, when parsed. */
  readonly mediaType?: string;
  /** Blobs it needs: its config and layers (and, when `lenient`, every digest found). */
  readonly blobs: readonly Digest[];
  /** Layers of {@link blobs} that may legitimately be absent: foreign layers with `urls`. */
  readonly external: readonly Digest[];
  /** Manifests it needs: an index's children (and, when `lenient`, every digest found). */
  readonly children: readonly Digest[];
  /** The manifest it refers to as a referrer (`subject`), if any. */
  readonly subject?: Digest;
}

const MISSING: ManifestRefs = { status: 'missing', size: 0, blobs: [], external: [], children: [] };
const decoder = new TextDecoder();

function canonical(digest: string): Digest | undefined {
  return isDigest(digest) ? digest : undefined;
}

/** Every string in a JSON value that is a valid digest. */
function digestsIn(value: unknown, out: Set<Digest>): void {
  if (typeof value === 'string') {
    const digest = canonical(value);
    if (digest !== undefined) out.add(digest);
  } else if (Array.isArray(value)) {
    for (const item of value) digestsIn(item, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) digestsIn(item, out);
  }
}

/**
 * The references of manifest content `bytes`. Never throws: content Berth cannot parse is
 * read leniently (see {@link ManifestRefs.status}).
 */
export function manifestRefsOf(bytes: Uint8Array): ManifestRefs {
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes, { maxSize: Math.max(bytes.byteLength, DEFAULT_MAX_MANIFEST_SIZE) });
  } catch {
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(bytes));
    } catch {
      return { status: 'unreadable', size: bytes.byteLength, blobs: [], external: [], children: [] };
    }
    const found = new Set<Digest>();
    digestsIn(json, found);
    const subjectValue = (json as { subject?: { digest?: unknown } } | null)?.subject?.digest;
    const subject = typeof subjectValue === 'string' ? canonical(subjectValue) : undefined;
    if (subject !== undefined) found.delete(subject);
    const all = [...found];
    return {
      status: 'lenient',
      size: bytes.byteLength,
      blobs: all,
      external: [],
      children: all,
      ...(subject === undefined ? {} : { subject }),
    };
  }
  const blobs: Digest[] = [];
  const external: Digest[] = [];
  const children: Digest[] = [];
  let subject: Digest | undefined;
  for (const { role, descriptor } of references(manifest)) {
    const digest = canonical(descriptor.digest);
    if (digest === undefined) continue;
    if (role === 'manifest') children.push(digest);
    else if (role === 'subject') subject = digest;
    else {
      blobs.push(digest);
      if (role === 'layer' && (descriptor.urls?.length ?? 0) > 0) external.push(digest);
    }
  }
  return {
    status: 'ok',
    size: bytes.byteLength,
    mediaType: manifest.mediaType,
    blobs,
    external,
    children,
    ...(subject === undefined ? {} : { subject }),
  };
}

/**
 * Reads and parses manifests by digest, each at most once, with bounded concurrency. Content
 * comes from the blob store, else from GC's quarantine (a manifest set aside by a GC run that
 * something started referring to again must still be understood).
 */
export class ManifestRefsCache {
  readonly #driver: StorageDriver;
  readonly #limit: ReturnType<typeof createLimiter>;
  readonly #refs = new Map<Digest, ManifestRefs>();
  readonly #pending = new Map<Digest, Promise<ManifestRefs>>();
  /** Called after each manifest read. */
  onLoad?: (loaded: number) => void;
  #loaded = 0;

  constructor(driver: StorageDriver, concurrency: number) {
    this.#driver = driver;
    this.#limit = createLimiter(concurrency);
  }

  /** The references of `digest` if already loaded. */
  get(digest: Digest): ManifestRefs | undefined {
    return this.#refs.get(digest);
  }

  /** How many manifests have been read. */
  get size(): number {
    return this.#refs.size;
  }

  /** Forgets `digest` (its content changed state, e.g. it was missing and may now exist). */
  forget(digest: Digest): void {
    this.#refs.delete(digest);
  }

  /** Loads every digest of `digests` not loaded yet. */
  async loadAll(digests: Iterable<Digest>): Promise<void> {
    const work: Promise<ManifestRefs>[] = [];
    for (const digest of digests) if (!this.#refs.has(digest)) work.push(this.load(digest));
    await Promise.all(work);
  }

  /** The references of `digest`, reading it if needed. */
  load(digest: Digest): Promise<ManifestRefs> {
    const known = this.#refs.get(digest);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.#pending.get(digest);
    if (pending === undefined) {
      pending = this.#limit(() => this.#read(digest)).then(
        (refs) => {
          this.#refs.set(digest, refs);
          this.#pending.delete(digest);
          this.#loaded++;
          this.onLoad?.(this.#loaded);
          return refs;
        },
        (err: unknown) => {
          this.#pending.delete(digest);
          throw err;
        },
      );
      this.#pending.set(digest, pending);
    }
    return pending;
  }

  async #read(digest: Digest): Promise<ManifestRefs> {
    const { algorithm, encoded } = digestParts(digest);
    for (const path of [
      pathFor({ kind: 'blobData', algorithm, encoded }),
      pathFor({ kind: 'gcQuarantineBlob', algorithm, encoded }),
    ]) {
      try {
        return manifestRefsOf(await this.#driver.getContent(path));
      } catch (err) {
        if (!isPathNotFound(err)) throw err;
      }
    }
    return MISSING;
  }
}
