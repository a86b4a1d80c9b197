import type { Descriptor, PlatformDescriptor } from './descriptor.ts';
import type { MediaType } from './media-types.ts';

/** Fields shared by every parsed manifest. */
interface ManifestBase {
  /** Always 2: schema1 manifests are not supported. */
  schemaVersion: 2;
  /**
   * The exact bytes that were parsed (the same `Uint8Array` instance, not a copy). A registry must store
   * and serve these bytes unchanged, since the manifest digest is computed over them.
   */
  raw: Uint8Array;
}

/** An OCI image manifest (`application/vnd.oci.image.manifest.v1+json`): an image or an artifact. */
export interface OciImageManifest extends ManifestBase {
  kind: 'oci-manifest';
  mediaType: typeof MediaType.OciManifest;
  /** Artifact type, when the manifest describes an artifact rather than a runnable image. */
  artifactType?: string;
  /** The configuration blob (or {@link EMPTY_DESCRIPTOR} for artifacts without one). */
  config: Descriptor;
  /** Layers, base first. May be empty. */
  layers: Descriptor[];
  /** The manifest this one refers to (signatures, SBOMs, attestations: the referrers API). */
  subject?: Descriptor;
  /** Arbitrary string metadata. */
  annotations?: Record<string, string>;
}

/** An OCI image index (`application/vnd.oci.image.index.v1+json`): a multi-platform image or a set of manifests. */
export interface OciImageIndex extends ManifestBase {
  kind: 'oci-index';
  mediaType: typeof MediaType.OciIndex;
  /** Artifact type, when the index describes an artifact. */
  artifactType?: string;
  /** Child manifests, each optionally carrying a `platform`. */
  manifests: Descriptor[];
  /** The manifest this one refers to (referrers API). */
  subject?: Descriptor;
  /** Arbitrary string metadata. */
  annotations?: Record<string, string>;
}

/** A Docker image manifest, schema 2 (`application/vnd.docker.distribution.manifest.v2+json`). */
export interface DockerManifest extends ManifestBase {
  kind: 'docker-manifest';
  mediaType: typeof MediaType.DockerManifest;
  /** The image configuration blob. */
  config: Descriptor;
  /** Layers, base first. */
  layers: Descriptor[];
}

/** A Docker manifest list (`application/vnd.docker.distribution.manifest.list.v2+json`). */
export interface DockerManifestList extends ManifestBase {
  kind: 'docker-manifest-list';
  mediaType: typeof MediaType.DockerManifestList;
  /** Child manifests, each with its platform. */
  manifests: PlatformDescriptor[];
}

/** A parsed, validated manifest; discriminate on `kind`. */
export type Manifest = OciImageManifest | OciImageIndex | DockerManifest | DockerManifestList;

/** The two multi-manifest kinds: an OCI index or a Docker manifest list. */
export type ManifestIndex = OciImageIndex | DockerManifestList;

/** The `kind` discriminator of {@link Manifest}. */
export type ManifestKind = Manifest['kind'];
