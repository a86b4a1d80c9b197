import type { Algorithm } from '@berth/digest';

/**
 * Where everything lives in the storage driver — byte for byte registry:2's layout, so either
 * registry can serve the other's data:
 *
 * ```
 * /docker/registry/v2/
 *   blobs/<alg>/<first 2 hex>/<hex>/data                         blob content (CAS)
 *   _berth/gc/quarantine/<alg>/<hex>                             Berth: blob data `berth gc` set
 *                                                                aside (restored or deleted before
 *                                                                the run ends)
 *   repositories/<name>/
 *     _layers/<alg>/<hex>/link                                   blob linked into the repo
 *     _manifests/revisions/<alg>/<hex>/link                      manifest revision in the repo
 *     _manifests/tags/<tag>/current/link                         digest the tag points at
 *     _manifests/tags/<tag>/index/<alg>/<hex>/link               every digest the tag ever had
 *     _uploads/<id>/data                                         upload in progress
 *     _uploads/<id>/startedat                                    RFC 3339 start time
 *     _uploads/<id>/hashstates/<alg>/<offset>                    saved hash state at offset
 *     _uploads/<id>/_berth/algorithm                             Berth: upload's digest algorithm
 *                                                                (only when not sha256)
 *     _uploads/<id>/_berth/hashstates/<alg>/<offset>             Berth: resumable hash state
 *                                                                after <offset> bytes
 *     _uploads/<id>/_berth/digests/<alg>/<offset>                Berth: digest of the first
 *                                                                <offset> bytes
 *     _uploads/<id>/_berth/claims/<claim>                        Berth: a request writing to the
 *                                                                upload (see upload-claims.ts)
 *     _berth/referrers/<alg>/<hex>/<ref alg>/<ref hex>/link      Berth: referrer of a subject
 *     _berth/referrers-scanned                                   Berth: manifest revisions already
 *                                                                checked for a `subject` (one
 *                                                                digest a line)
 * ```
 *
 * A link file holds the digest as text. `_berth` is Berth's own: registry:2 skips directories
 * starting with `_` that it does not know, and no repository name component can start with `_`.
 * Berth never writes registry:2's `hashstates/` (registry:2 would fail to unmarshal Berth's
 * hash-state format); its own states live under `_uploads/<id>/_berth/`, which registry:2 ignores.
 */
export const ROOT = '/docker/registry/v2';

/** Everything {@link pathFor} can name. */
export type PathSpec =
  | { kind: 'blobs' }
  | { kind: 'blob'; algorithm: Algorithm; encoded: string }
  | { kind: 'blobData'; algorithm: Algorithm; encoded: string }
  | { kind: 'gcQuarantine' }
  | { kind: 'gcQuarantineBlob'; algorithm: Algorithm; encoded: string }
  | { kind: 'repositories' }
  | { kind: 'repository'; name: string }
  | { kind: 'layerLink'; name: string; algorithm: Algorithm; encoded: string }
  | { kind: 'layers'; name: string }
  | { kind: 'manifestRevisions'; name: string }
  | { kind: 'manifestRevisionsOf'; name: string; algorithm: Algorithm }
  | { kind: 'manifestRevision'; name: string; algorithm: Algorithm; encoded: string }
  | { kind: 'manifestRevisionLink'; name: string; algorithm: Algorithm; encoded: string }
  | { kind: 'tags'; name: string }
  | { kind: 'tag'; name: string; tag: string }
  | { kind: 'tagCurrentLink'; name: string; tag: string }
  | { kind: 'tagIndex'; name: string; tag: string }
  | { kind: 'tagIndexEntryLink'; name: string; tag: string; algorithm: Algorithm; encoded: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'uploadData'; name: string; id: string }
  | { kind: 'uploadStartedAt'; name: string; id: string }
  | { kind: 'uploadHashStates'; name: string; id: string; algorithm: Algorithm }
  | { kind: 'uploadHashState'; name: string; id: string; algorithm: Algorithm; offset: number }
  | { kind: 'berthUploadAlgorithm'; name: string; id: string }
  | { kind: 'berthHashStates'; name: string; id: string; algorithm: Algorithm }
  | { kind: 'berthHashState'; name: string; id: string; algorithm: Algorithm; offset: number }
  | { kind: 'berthUploadDigest'; name: string; id: string; algorithm: Algorithm; offset: number }
  | { kind: 'berthUploadClaims'; name: string; id: string }
  | { kind: 'berthUploadClaim'; name: string; id: string; claim: string }
  | { kind: 'referrers'; name: string; algorithm: Algorithm; encoded: string }
  | { kind: 'referrersScanRecord'; name: string }
  | {
      kind: 'referrerLink';
      name: string;
      algorithm: Algorithm;
      encoded: string;
      referrerAlgorithm: Algorithm;
      referrerEncoded: string;
    };

/**
 * The storage path of `spec`. Callers validate names, tags, digests and upload ids first;
 * the storage driver rejects anything that is still not a valid path.
 *
 * @example
 * ```ts
 * pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: 'abcd…' });
 * // '/docker/registry/v2/blobs/sha256/ab/abcd…/data'
 * ```
 */
export function pathFor(spec: PathSpec): string {
  switch (spec.kind) {
    case 'blobs':
      return `${ROOT}/blobs`;
    case 'blob':
      return `${ROOT}/blobs/${spec.algorithm}/${spec.encoded.slice(0, 2)}/${spec.encoded}`;
    case 'blobData':
      return `${ROOT}/blobs/${spec.algorithm}/${spec.encoded.slice(0, 2)}/${spec.encoded}/data`;
    case 'gcQuarantine':
      return `${ROOT}/_berth/gc/quarantine`;
    case 'gcQuarantineBlob':
      return `${ROOT}/_berth/gc/quarantine/${spec.algorithm}/${spec.encoded}`;
    case 'repositories':
      return `${ROOT}/repositories`;
    case 'repository':
      return `${ROOT}/repositories/${spec.name}`;
    case 'layers':
      return `${ROOT}/repositories/${spec.name}/_layers`;
    case 'layerLink':
      return `${ROOT}/repositories/${spec.name}/_layers/${spec.algorithm}/${spec.encoded}/link`;
    case 'manifestRevisions':
      return `${ROOT}/repositories/${spec.name}/_manifests/revisions`;
    case 'manifestRevisionsOf':
      return `${ROOT}/repositories/${spec.name}/_manifests/revisions/${spec.algorithm}`;
    case 'manifestRevision':
      return `${ROOT}/repositories/${spec.name}/_manifests/revisions/${spec.algorithm}/${spec.encoded}`;
    case 'manifestRevisionLink':
      return `${ROOT}/repositories/${spec.name}/_manifests/revisions/${spec.algorithm}/${spec.encoded}/link`;
    case 'tags':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags`;
    case 'tag':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags/${spec.tag}`;
    case 'tagCurrentLink':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags/${spec.tag}/current/link`;
    case 'tagIndex':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags/${spec.tag}/index`;
    case 'tagIndexEntryLink':
      return `${ROOT}/repositories/${spec.name}/_manifests/tags/${spec.tag}/index/${spec.algorithm}/${spec.encoded}/link`;
    case 'uploads':
      return `${ROOT}/repositories/${spec.name}/_uploads`;
    case 'upload':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}`;
    case 'uploadData':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/data`;
    case 'uploadStartedAt':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/startedat`;
    case 'uploadHashStates':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/hashstates/${spec.algorithm}`;
    case 'uploadHashState':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/hashstates/${spec.algorithm}/${spec.offset}`;
    case 'berthUploadAlgorithm':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/_berth/algorithm`;
    case 'berthHashStates':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/_berth/hashstates/${spec.algorithm}`;
    case 'berthHashState':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/_berth/hashstates/${spec.algorithm}/${spec.offset}`;
    case 'berthUploadDigest':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/_berth/digests/${spec.algorithm}/${spec.offset}`;
    case 'berthUploadClaims':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/_berth/claims`;
    case 'berthUploadClaim':
      return `${ROOT}/repositories/${spec.name}/_uploads/${spec.id}/_berth/claims/${spec.claim}`;
    case 'referrers':
      return `${ROOT}/repositories/${spec.name}/_berth/referrers/${spec.algorithm}/${spec.encoded}`;
    case 'referrersScanRecord':
      return `${ROOT}/repositories/${spec.name}/_berth/referrers-scanned`;
    case 'referrerLink':
      return `${ROOT}/repositories/${spec.name}/_berth/referrers/${spec.algorithm}/${spec.encoded}/${spec.referrerAlgorithm}/${spec.referrerEncoded}/link`;
  }
}
