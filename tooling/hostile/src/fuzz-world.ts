/**
 * The registry the fuzzer attacks, and what it knows about it: seeded images in a repository
 * the fuzzer may only read (`fuzz/protected`: every request that could change it is one that
 * must be rejected, so any change there is data lost), a playground (`fuzz/play`) where valid
 * writes happen, and the upload sessions it holds there, each with the bytes the server must
 * have accepted so far.
 */

import { type HasEndpoint, locationPath, RegistryClient } from './client.ts';
import {
  type Blob,
  blobOf,
  configBlob,
  imageManifest,
  type ManifestBytes,
  manifestBytes,
  OCI_INDEX,
} from './oci.ts';
import type { Rng } from './rng.ts';

/** An image the world pushed. */
export interface SeedImage {
  readonly repo: string;
  readonly tag: string;
  readonly manifest: ManifestBytes;
  readonly config: Blob;
  readonly layers: readonly Blob[];
}

/** An upload session the fuzzer holds, and what the server must have stored for it. */
export interface UploadModel {
  readonly repo: string;
  readonly uuid: string;
  /** The freshest location (path and query). */
  location: string;
  /** Earlier locations, oldest first (stale for PATCH/PUT, still fine for GET). */
  readonly stale: string[];
  /** The accepted chunks. */
  readonly chunks: Buffer[];
  size: number;
}

/** The fuzzer's model of the registry. */
export class FuzzWorld {
  readonly rng: Rng;
  /** The valid `Authorization` header (auth mode), or `undefined`. */
  readonly authorization: string | undefined;
  readonly protectedRepo = 'fuzz/protected';
  readonly playRepo = 'fuzz/play';
  readonly otherRepo = 'fuzz/other';
  readonly escapeMarker = 'hostile-escape';
  readonly protectedImages: SeedImage[] = [];
  protectedIndex: { readonly tag: string; readonly manifest: ManifestBytes } | undefined;
  /** Every blob of `fuzz/protected`. */
  readonly protectedBlobs: Blob[] = [];
  /** Blobs linked into `fuzz/play`, usable in manifests pushed there. */
  readonly playBlobs: Blob[] = [];
  playConfig: Blob | undefined;
  playImage: SeedImage | undefined;
  /** Open upload sessions in `fuzz/play`. */
  readonly uploads: UploadModel[] = [];
  /** Tags of `fuzz/play` the fuzzer set (digest) or deleted (`null`). */
  readonly playTags: Map<string, string | null> = new Map();
  /** Blobs the fuzzer completed (201), to be served back at the end. */
  readonly completed: { readonly repo: string; readonly blob: Blob }[] = [];
  #escapes = 0;
  #words = 0;

  constructor(rng: Rng, authorization: string | undefined) {
    this.rng = rng;
    this.authorization = authorization;
  }

  /** The protected tags, sorted (what `tags/list` must answer). */
  get protectedTags(): string[] {
    return [
      ...this.protectedImages.map((image) => image.tag),
      ...(this.protectedIndex ? [this.protectedIndex.tag] : []),
    ].sort();
  }

  /** A fresh marker name for path-escape attempts (searched for outside the root afterwards). */
  escapeName(): string {
    return `${this.escapeMarker}-${++this.#escapes}`;
  }

  /** A fresh word (unique within the run). */
  word(): string {
    return `${this.rng.word(5)}${(++this.#words).toString(36)}`;
  }

  /** A client for the seeding and the checks. */
  client(server: HasEndpoint): RegistryClient {
    return new RegistryClient(
      server,
      this.authorization === undefined ? {} : { authorization: this.authorization },
    );
  }

  /** Pushes the seed content: two images and an index in `fuzz/protected`, one image in `fuzz/play`. */
  async seed(server: HasEndpoint): Promise<void> {
    const client = this.client(server);
    const push = async (repo: string, tag: string, layers: number): Promise<SeedImage> => {
      const config = configBlob(`${repo}:${tag}:${this.rng.hex(8)}`);
      const blobs = Array.from({ length: layers }, () => blobOf(this.rng.bytes(this.rng.int(2_000, 64_000))));
      for (const [i, blob] of [config, ...blobs].entries()) {
        const outcome = await client.pushBlob(
          repo,
          blob.bytes,
          i % 2 === 0 ? 'monolithic' : 'chunked',
          16_384,
        );
        if (outcome.kind !== 'response' || outcome.response.status !== 201) {
          throw new Error(`seeding ${repo}: blob push failed: ${JSON.stringify(outcome)}`);
        }
      }
      const manifest = imageManifest(config, blobs);
      await client.expect([201], 'PUT', `/v2/${repo}/manifests/${tag}`, {
        headers: [['Content-Type', manifest.mediaType]],
        body: manifest.bytes,
      });
      return { repo, tag, manifest, config, layers: blobs };
    };
    for (const tag of ['v1', 'v2']) {
      const image = await push(this.protectedRepo, tag, 2);
      this.protectedImages.push(image);
      this.protectedBlobs.push(image.config, ...image.layers);
    }
    const index = manifestBytes(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: this.protectedImages.map((image) => ({
          mediaType: image.manifest.mediaType,
          digest: image.manifest.digest,
          size: image.manifest.bytes.length,
          platform: { os: 'linux', architecture: image.tag === 'v1' ? 'amd64' : 'arm64' },
        })),
      },
      OCI_INDEX,
    );
    await client.expect([201], 'PUT', `/v2/${this.protectedRepo}/manifests/multi`, {
      headers: [['Content-Type', OCI_INDEX]],
      body: index.bytes,
    });
    this.protectedIndex = { tag: 'multi', manifest: index };
    const play = await push(this.playRepo, 'base', 3);
    this.playImage = play;
    this.playConfig = play.config;
    this.playBlobs.push(play.config, ...play.layers);
    this.playTags.set('base', play.manifest.digest);
    // One open session in the other repository, so `_state` tokens from there exist.
    await client.startUpload(this.otherRepo);
  }

  /** Starts an upload in `fuzz/play` and adds it to {@link uploads}. */
  async openUpload(server: HasEndpoint): Promise<UploadModel | undefined> {
    const outcome = await this.client(server).send('POST', `/v2/${this.playRepo}/blobs/uploads/`);
    if (outcome.kind !== 'response' || outcome.response.status !== 202) return undefined;
    const model = this.trackUpload(outcome.response.headers.get('location'));
    return model;
  }

  /** Adds an upload session from a `202` response's `Location` to {@link uploads}. */
  trackUpload(location: string | undefined): UploadModel | undefined {
    if (location === undefined) return undefined;
    const path = locationPath(location);
    const match = /^\/v2\/(.+)\/blobs\/uploads\/([^/?]+)\?/.exec(path);
    if (!match || match[1] !== this.playRepo) return undefined;
    const model: UploadModel = {
      repo: match[1],
      uuid: match[2]!,
      location: path,
      stale: [],
      chunks: [],
      size: 0,
    };
    this.uploads.push(model);
    return model;
  }

  /** Forgets an upload (completed, cancelled, or in an unknown state). */
  dropUpload(model: UploadModel): void {
    const i = this.uploads.indexOf(model);
    if (i >= 0) this.uploads.splice(i, 1);
  }

  /** Records a `202` to a PATCH that appended `accepted`. */
  accepted(model: UploadModel, accepted: Buffer, location: string | undefined): void {
    model.chunks.push(accepted);
    model.size += accepted.length;
    // A location only goes stale when the upload grows (its `_state` carries the offset).
    if (location !== undefined && accepted.length > 0) {
      model.stale.push(model.location);
      model.location = locationPath(location);
    }
  }

  /** The bytes an upload holds. */
  bytesOf(model: UploadModel): Buffer {
    return Buffer.concat(model.chunks);
  }
}
