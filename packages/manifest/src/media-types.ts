import type { Descriptor } from './descriptor.ts';

/**
 * Media types a registry meets in manifests and descriptors: the OCI image-spec types and the Docker
 * image-manifest v2 (and legacy schema1) types.
 *
 * @example
 * ```ts
 * if (manifest.config.mediaType === MediaType.DockerImageConfig) { ... }
 * ```
 */
export const MediaType = {
  /** OCI image manifest. */
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  /** OCI image index (multi-platform image or list of artifacts). */
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  /** OCI image configuration. */
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  /** OCI layer, uncompressed tar. */
  OciLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  /** OCI layer, gzip-compressed tar. */
  OciLayerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  /** OCI layer, zstd-compressed tar. */
  OciLayerTarZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  /** OCI non-distributable layer, uncompressed tar (deprecated by the OCI image spec). */
  OciLayerNondistributableTar: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  /** OCI non-distributable layer, gzip-compressed tar (deprecated by the OCI image spec). */
  OciLayerNondistributableTarGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  /** OCI non-distributable layer, zstd-compressed tar (deprecated by the OCI image spec). */
  OciLayerNondistributableTarZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  /** The OCI empty JSON blob `{}`, used as a placeholder config or layer by artifacts. */
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  /** A bare OCI content descriptor. */
  OciDescriptor: 'application/vnd.oci.descriptor.v1+json',
  /** Docker image manifest, schema 2. */
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  /** Docker manifest list (multi-platform), schema 2. */
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** Docker container image configuration. */
  DockerImageConfig: 'application/vnd.docker.container.image.v1+json',
  /** Docker layer, gzip-compressed tar. */
  DockerLayerTarGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** Docker foreign layer (fetched from `urls`, e.g. Windows base layers). */
  DockerForeignLayerTarGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** Docker plugin configuration. */
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
  /** Docker schema1 manifest, unsigned (unsupported). */
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  /** Docker schema1 manifest, signed with JWS (unsupported). */
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Any of the media types listed in {@link MediaType}. */
export type MediaType = (typeof MediaType)[keyof typeof MediaType];

/** The four manifest media types {@link parseManifest} accepts. */
export type ManifestMediaType =
  | typeof MediaType.OciManifest
  | typeof MediaType.OciIndex
  | typeof MediaType.DockerManifest
  | typeof MediaType.DockerManifestList;

/** The manifest media types {@link parseManifest} accepts, in a stable order (OCI first). */
export const MANIFEST_MEDIA_TYPES: readonly ManifestMediaType[] = Object.freeze([
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
]);

/**
 * Tells whether `value` is exactly one of the four supported manifest media types (no parameters, exact
 * case). Docker schema1 types are not supported and return `false`.
 *
 * @example
 * ```ts
 * isManifestMediaType('application/vnd.oci.image.index.v1+json'); // true
 * isManifestMediaType('application/vnd.oci.image.config.v1+json'); // false
 * ```
 */
export function isManifestMediaType(value: unknown): value is ManifestMediaType {
  return (
    value === MediaType.OciManifest ||
    value === MediaType.OciIndex ||
    value === MediaType.DockerManifest ||
    value === MediaType.DockerManifestList
  );
}

/**
 * The OCI "empty descriptor": it points at the two-byte JSON blob `{}` and is what artifacts without a
 * meaningful config (or without layers) use in their place. Frozen.
 */
export const EMPTY_DESCRIPTOR: Readonly<Descriptor> = Object.freeze({
  mediaType: MediaType.OciEmpty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
});

const RESTRICTED_NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const MEDIA_TYPE_SHAPE = new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}$`);

/**
 * Tells whether `value` has the RFC 6838 `type/subtype` shape (section 4.2 restricted names, no
 * parameters). This is a syntax check only; the type need not be registered or known.
 */
export function isMediaTypeString(value: unknown): value is string {
  return typeof value === 'string' && MEDIA_TYPE_SHAPE.test(value);
}
