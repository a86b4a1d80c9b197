import { describe, expect, it } from 'vitest';
import { type PathSpec, pathFor } from './paths.ts';

const hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ref = 'a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3';
const repo = '/docker/registry/v2/repositories/library/alpine';

const table: Array<[PathSpec, string]> = [
  [{ kind: 'blobs' }, '/docker/registry/v2/blobs'],
  [{ kind: 'blob', algorithm: 'sha256', encoded: hex }, `/docker/registry/v2/blobs/sha256/e3/${hex}`],
  [
    { kind: 'blobData', algorithm: 'sha256', encoded: hex },
    `/docker/registry/v2/blobs/sha256/e3/${hex}/data`,
  ],
  [{ kind: 'gcQuarantine' }, '/docker/registry/v2/_berth/gc/quarantine'],
  [
    { kind: 'gcQuarantineBlob', algorithm: 'sha256', encoded: hex },
    `/docker/registry/v2/_berth/gc/quarantine/sha256/${hex}`,
  ],
  [{ kind: 'repositories' }, '/docker/registry/v2/repositories'],
  [{ kind: 'repository', name: 'library/alpine' }, repo],
  [{ kind: 'layers', name: 'library/alpine' }, `${repo}/_layers`],
  [
    { kind: 'layerLink', name: 'library/alpine', algorithm: 'sha256', encoded: hex },
    `${repo}/_layers/sha256/${hex}/link`,
  ],
  [{ kind: 'manifestRevisions', name: 'library/alpine' }, `${repo}/_manifests/revisions`],
  [
    { kind: 'manifestRevisionsOf', name: 'library/alpine', algorithm: 'sha512' },
    `${repo}/_manifests/revisions/sha512`,
  ],
  [
    { kind: 'manifestRevision', name: 'library/alpine', algorithm: 'sha256', encoded: hex },
    `${repo}/_manifests/revisions/sha256/${hex}`,
  ],
  [
    { kind: 'manifestRevisionLink', name: 'library/alpine', algorithm: 'sha256', encoded: hex },
    `${repo}/_manifests/revisions/sha256/${hex}/link`,
  ],
  [{ kind: 'tags', name: 'library/alpine' }, `${repo}/_manifests/tags`],
  [{ kind: 'tag', name: 'library/alpine', tag: 'v1.0' }, `${repo}/_manifests/tags/v1.0`],
  [
    { kind: 'tagCurrentLink', name: 'library/alpine', tag: 'latest' },
    `${repo}/_manifests/tags/latest/current/link`,
  ],
  [{ kind: 'tagIndex', name: 'library/alpine', tag: 'latest' }, `${repo}/_manifests/tags/latest/index`],
  [
    { kind: 'tagIndexEntryLink', name: 'library/alpine', tag: 'latest', algorithm: 'sha256', encoded: hex },
    `${repo}/_manifests/tags/latest/index/sha256/${hex}/link`,
  ],
  [{ kind: 'uploads', name: 'library/alpine' }, `${repo}/_uploads`],
  [{ kind: 'upload', name: 'library/alpine', id: 'u-1' }, `${repo}/_uploads/u-1`],
  [{ kind: 'uploadData', name: 'library/alpine', id: 'u-1' }, `${repo}/_uploads/u-1/data`],
  [{ kind: 'uploadStartedAt', name: 'library/alpine', id: 'u-1' }, `${repo}/_uploads/u-1/startedat`],
  [
    { kind: 'uploadHashStates', name: 'library/alpine', id: 'u-1', algorithm: 'sha256' },
    `${repo}/_uploads/u-1/hashstates/sha256`,
  ],
  [
    { kind: 'uploadHashState', name: 'library/alpine', id: 'u-1', algorithm: 'sha512', offset: 1024 },
    `${repo}/_uploads/u-1/hashstates/sha512/1024`,
  ],
  [
    { kind: 'berthUploadAlgorithm', name: 'library/alpine', id: 'u-1' },
    `${repo}/_uploads/u-1/_berth/algorithm`,
  ],
  [
    { kind: 'berthHashStates', name: 'library/alpine', id: 'u-1', algorithm: 'sha256' },
    `${repo}/_uploads/u-1/_berth/hashstates/sha256`,
  ],
  [
    { kind: 'berthHashState', name: 'library/alpine', id: 'u-1', algorithm: 'sha256', offset: 5242880 },
    `${repo}/_uploads/u-1/_berth/hashstates/sha256/5242880`,
  ],
  [
    { kind: 'berthUploadDigest', name: 'library/alpine', id: 'u-1', algorithm: 'sha512', offset: 0 },
    `${repo}/_uploads/u-1/_berth/digests/sha512/0`,
  ],
  [{ kind: 'berthUploadClaims', name: 'library/alpine', id: 'u-1' }, `${repo}/_uploads/u-1/_berth/claims`],
  [
    { kind: 'berthUploadClaim', name: 'library/alpine', id: 'u-1', claim: '1765000000000-ab12' },
    `${repo}/_uploads/u-1/_berth/claims/1765000000000-ab12`,
  ],
  [
    { kind: 'referrers', name: 'library/alpine', algorithm: 'sha256', encoded: hex },
    `${repo}/_berth/referrers/sha256/${hex}`,
  ],
  [{ kind: 'referrersScanRecord', name: 'library/alpine' }, `${repo}/_berth/referrers-scanned`],
  [
    {
      kind: 'referrerLink',
      name: 'library/alpine',
      algorithm: 'sha256',
      encoded: hex,
      referrerAlgorithm: 'sha256',
      referrerEncoded: ref,
    },
    `${repo}/_berth/referrers/sha256/${hex}/sha256/${ref}/link`,
  ],
];

describe('pathFor', () => {
  it.each(table)('%o', (spec, expected) => {
    expect(pathFor(spec)).toBe(expected);
  });

  it('names every kind of path exactly once in the table', () => {
    const kinds = new Set(table.map(([spec]) => spec.kind));
    expect(kinds.size).toBe(table.length);
  });
});
