/**
 * Hand-written manifests shaped like real-world pushes. Digests are made up (only their syntax matters,
 * except where `data` is embedded). Each factory returns a fresh object so tests can mutate it.
 */

/** A JSON value as produced by `JSON.parse`. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A mutable JSON object. */
export type JsonObject = { [key: string]: Json };

const D = {
  config: 'sha256:d764b07c5e454b62bbdd2202c6cc04368b340c5bd60345beb7664bb74d24466a',
  layer1: 'sha256:e9b109f1013ac90f0adcc9c6235aa425e1983dec69e04b9f225d156269621abb',
  layer2: 'sha256:32452ae11291666cf97fbb3afb6aef25985009d3fa440094355c1faaa0fecf4f',
  layer3: 'sha256:7d53cbe7baaafe11d3e74cc4ba34bb7a13e2d285b49f2c9096e851a29ae50f68',
  amd64: 'sha256:3a1cfbbeaec1b5e9eda08efed08a69b8a8f727320f519db20e6d03f76ce13db7',
  arm64: 'sha256:ec8adb7557c1161a2c8e1cac070d275edc285afbbd515564510cdedd2ea5615c',
  armv7: 'sha256:2588763f452bd72cb3d09a17d6747ba84fa548f81535b02b9a4306f4b70c4bd8',
  windows: 'sha256:78517a2cb233b029adf27d6f62a82969ade97bbc084f9097a25e8fd00ad55583',
  attestation: 'sha256:2b680a4a89a5f7c2eddd91ffb10ab591d9ed977e1db08bdc0809f85fee918445',
  subject: 'sha256:e0ae5662878106a0e846687441c328b378eefa82a4609ef694039e7ba383fff1',
  signature: 'sha256:bc48f735d0db8298229dc9e4abd2b0f9446c166381a09e3e7b11c3c5bd5e6bf1',
  sbom: 'sha256:7736406b70d24676f7cd6933cf08efaa35bea58e442968b0a8e518fe35d0d27d',
  foreign: 'sha256:3ac89ef451d8c7917daf38f8507a86f24d8b364180b17107b243fbb995545c5f',
} as const;

/** The made-up digests used by the fixtures. */
export const DIGESTS: typeof D = D;

/** A Docker schema2 image manifest with three gzip layers, as `docker push` sends it. */
export function dockerManifest(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: 7023,
      digest: D.config,
    },
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 29124568, digest: D.layer1 },
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 41385345, digest: D.layer2 },
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 628, digest: D.layer3 },
    ],
  };
}

/** A Docker schema2 Windows image manifest whose base layer is a foreign layer with `urls`. */
export function dockerWindowsManifest(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1916, digest: D.config },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        size: 1501261574,
        digest: D.foreign,
        urls: [`https://mcr.microsoft.com/v2/windows/servercore/blobs/${D.foreign}`],
      },
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1126, digest: D.layer1 },
    ],
  };
}

/** A Docker manifest list covering linux/amd64, linux/arm/v7, linux/arm64/v8 and a Windows build. */
export function dockerManifestList(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [
      {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 1570,
        digest: D.amd64,
        platform: { architecture: 'amd64', os: 'linux' },
      },
      {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 1570,
        digest: D.armv7,
        platform: { architecture: 'arm', os: 'linux', variant: 'v7' },
      },
      {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 1570,
        digest: D.arm64,
        platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
      },
      {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 1357,
        digest: D.windows,
        platform: { architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.5576' },
      },
    ],
  };
}

/** An OCI image manifest for a runnable image, with zstd and gzip layers and annotations. */
export function ociManifest(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D.config, size: 4731 },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D.layer1, size: 3623807 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: D.layer2, size: 1089 },
    ],
    annotations: {
      'org.opencontainers.image.created': '2024-05-01T10:00:00Z',
      'org.opencontainers.image.source': 'https://github.com/example/app',
    },
  };
}

/** A multi-arch OCI index as `docker buildx` pushes it, including attestation manifests. */
export function ociIndex(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: D.amd64,
        size: 1055,
        platform: { architecture: 'amd64', os: 'linux' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: D.arm64,
        size: 1055,
        platform: { architecture: 'arm64', os: 'linux' },
      },
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: D.attestation,
        size: 566,
        annotations: {
          'vnd.docker.reference.digest': D.amd64,
          'vnd.docker.reference.type': 'attestation-manifest',
        },
        platform: { architecture: 'unknown', os: 'unknown' },
      },
    ],
    annotations: { 'org.opencontainers.image.ref.name': 'v1.2.3' },
  };
}

/** A cosign-style signature stored as an OCI artifact: empty config, `artifactType`, `subject`. */
export function cosignSignature(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    config: {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
    },
    layers: [
      {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: D.signature,
        size: 242,
        annotations: {
          'dev.cosignproject.cosign/signature':
            'MEUCIQDhZ1rWQf0kJx1ipxUE3n1JTrHpOY0wGQ2Qb5Y0MZ0CRgIgZ4z1yIAv3uVKkJvQnJ6Bbh1PZkM6Ylrj9sJxSiVBJ4Y=',
        },
      },
    ],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D.subject, size: 1055 },
    annotations: { 'org.opencontainers.image.created': '2024-05-01T10:05:00Z' },
  };
}

/**
 * An SBOM artifact that uses the empty descriptor (with its `data` embedded) as config, plus an
 * unknown top-level field that must be tolerated.
 */
export function sbomArtifact(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/spdx+json',
    config: {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      size: 2,
      data: 'e30=',
    },
    layers: [{ mediaType: 'application/spdx+json', digest: D.sbom, size: 40213 }],
    subject: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: D.subject, size: 1609 },
    'x-vendor-extension': { anything: [1, 2, 3] },
  };
}

/** An OCI index used as an artifact (a bundle of attestations) with `artifactType` and `subject`. */
export function ociArtifactIndex(): JsonObject {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    artifactType: 'application/vnd.example.bundle.v1',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: D.signature,
        size: 700,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      },
    ],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D.subject, size: 1055 },
  };
}

/** Serializes a fixture the way most clients do (pretty-printed JSON, UTF-8). */
export function encode(value: unknown, indent = 3): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, indent));
}
