import type { Descriptor } from './descriptor.ts';
import type { Manifest } from './manifest.ts';

/** How a manifest refers to the content a {@link Reference} points at. */
export type ReferenceRole = 'config' | 'layer' | 'manifest' | 'subject';

/** One outgoing reference of a manifest. */
export interface Reference {
  /** `config` and `layer` point at blobs, `manifest` at child manifests of an index, `subject` at the referred manifest. */
  role: ReferenceRole;
  /** The descriptor as it appears in the manifest. */
  descriptor: Descriptor;
}

/**
 * Lists every descriptor a manifest refers to, in document order: config, layers, index children, then
 * subject. A registry uses this to check that referenced blobs and manifests exist before accepting a
 * push (except `subject`, which may dangle) and to maintain reference counts for garbage collection.
 * Never throws.
 *
 * @example
 * ```ts
 * for (const { role, descriptor } of references(manifest)) {
 *   if (role === 'subject') continue;
 *   if (!(await exists(descriptor.digest))) throw new Error(`missing ${role} ${descriptor.digest}`);
 * }
 * ```
 */
export function references(manifest: Manifest): Reference[] {
  const out: Reference[] = [];
  switch (manifest.kind) {
    case 'oci-manifest':
    case 'docker-manifest':
      out.push({ role: 'config', descriptor: manifest.config });
      for (const descriptor of manifest.layers) out.push({ role: 'layer', descriptor });
      break;
    case 'oci-index':
    case 'docker-manifest-list':
      for (const descriptor of manifest.manifests) out.push({ role: 'manifest', descriptor });
      break;
  }
  const subject = subjectOf(manifest);
  if (subject !== undefined) out.push({ role: 'subject', descriptor: subject });
  return out;
}

/**
 * The `subject` of an OCI manifest or index (the manifest it refers to, for the referrers API), or
 * `undefined` when it has none. Docker manifests never have a subject. Never throws.
 */
export function subjectOf(manifest: Manifest): Descriptor | undefined {
  return manifest.kind === 'oci-manifest' || manifest.kind === 'oci-index' ? manifest.subject : undefined;
}

/**
 * The artifact type the referrers API reports for a manifest: its `artifactType` if set; otherwise, for
 * an image manifest, its config's `mediaType`; otherwise (an index or manifest list without
 * `artifactType`) `undefined`. Never throws.
 *
 * @example
 * ```ts
 * artifactTypeOf(signature); // 'application/vnd.dev.cosign.artifact.sig.v1+json'
 * artifactTypeOf(image); // 'application/vnd.oci.image.config.v1+json'
 * ```
 */
export function artifactTypeOf(manifest: Manifest): string | undefined {
  switch (manifest.kind) {
    case 'oci-manifest':
      return manifest.artifactType ?? manifest.config.mediaType;
    case 'docker-manifest':
      return manifest.config.mediaType;
    case 'oci-index':
      return manifest.artifactType;
    case 'docker-manifest-list':
      return undefined;
  }
}
