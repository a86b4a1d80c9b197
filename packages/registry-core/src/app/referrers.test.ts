import { type Digest, digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { describe, expect, it } from 'vitest';
import {
  type App,
  blob,
  expectError,
  json,
  pushBlob,
  pushManifest,
  pushOciImage,
  setup,
} from '../test-support/http.ts';

interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: {
    mediaType: string;
    digest: string;
    size: number;
    artifactType?: string;
    annotations?: Record<string, string>;
  }[];
}

/** Pushes an artifact manifest referring to `subject`. */
async function pushReferrer(app: App, name: string, subject: Digest, artifactType: string, note: string) {
  const empty = blob('{}');
  await pushBlob(app, name, empty.bytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType,
    config: { mediaType: MediaType.OciEmpty, digest: empty.digest, size: 2 },
    layers: [{ mediaType: MediaType.OciEmpty, digest: empty.digest, size: 2 }],
    subject: { mediaType: MediaType.OciManifest, digest: subject, size: 1 },
    annotations: { 'org.example.note': note },
  };
  return pushManifest(app, name, digestOf(new TextEncoder().encode(JSON.stringify(manifest))), manifest);
}

async function referrers(app: App, path: string) {
  const res = await app.request(path);
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toBe(MediaType.OciIndex);
  return { res, body: await json<Index>(res) };
}

describe('GET /v2/<name>/referrers/<digest>', () => {
  it('lists the referrers of a manifest as an OCI index, with artifactType and annotations', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const sbom = await pushReferrer(app, 'lib/app', image.digest, 'application/vnd.example.sbom', 'sbom');
    const sig = await pushReferrer(app, 'lib/app', image.digest, 'application/vnd.example.sig', 'sig');
    const { res, body } = await referrers(app, `/v2/lib/app/referrers/${image.digest}`);
    expect(res.headers.get('oci-filters-applied')).toBeNull();
    expect(body.schemaVersion).toBe(2);
    expect(body.mediaType).toBe(MediaType.OciIndex);
    const byDigest = Object.fromEntries(body.manifests.map((d) => [d.digest, d]));
    expect(Object.keys(byDigest).sort()).toEqual([sbom.digest, sig.digest].sort());
    expect(byDigest[sbom.digest]).toMatchObject({
      mediaType: MediaType.OciManifest,
      size: sbom.bytes.byteLength,
      artifactType: 'application/vnd.example.sbom',
      annotations: { 'org.example.note': 'sbom' },
    });
  });

  it('?artifactType= filters and says so with OCI-Filters-Applied', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const sbom = await pushReferrer(app, 'lib/app', image.digest, 'application/vnd.example.sbom', 'sbom');
    await pushReferrer(app, 'lib/app', image.digest, 'application/vnd.example.sig', 'sig');
    const { res, body } = await referrers(
      app,
      `/v2/lib/app/referrers/${image.digest}?artifactType=${encodeURIComponent('application/vnd.example.sbom')}`,
    );
    expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(body.manifests.map((d) => d.digest)).toEqual([sbom.digest]);
  });

  it('an unknown subject or repository → 200 with an empty list (never 404)', async () => {
    const { app } = setup();
    const unknown = digestOf(new TextEncoder().encode('nothing refers to me'));
    for (const path of [`/v2/lib/app/referrers/${unknown}`, `/v2/no/such/repo/referrers/${unknown}`]) {
      const { body } = await referrers(app, path);
      expect(body).toEqual({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    }
  });

  it('lists referrers of a subject that was never pushed', async () => {
    const { app } = setup();
    const missing = digestOf(new TextEncoder().encode('pushed later, maybe'));
    const ref = await pushReferrer(app, 'lib/app', missing, 'application/vnd.example.sig', 'early');
    const { body } = await referrers(app, `/v2/lib/app/referrers/${missing}`);
    expect(body.manifests.map((d) => d.digest)).toEqual([ref.digest]);
  });

  it.each([
    'sha256:abc',
    'latest',
    'sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855',
  ])('a malformed digest %s → 400 DIGEST_INVALID', async (digest) => {
    const { app } = setup();
    await expectError(await app.request(`/v2/lib/app/referrers/${digest}`), 400, 'DIGEST_INVALID');
  });

  it('pages with ?n= and a Link that keeps the filter, ordered by digest', async () => {
    const { app } = setup({ app: { referrersMaxEntries: 2 } });
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const pushed: string[] = [];
    for (let i = 0; i < 5; i++) {
      pushed.push(
        (await pushReferrer(app, 'lib/app', image.digest, 'application/vnd.example.sig', `s${i}`)).digest,
      );
    }
    const seen: string[] = [];
    let path: string | undefined =
      `/v2/lib/app/referrers/${image.digest}?artifactType=application%2Fvnd.example.sig`;
    while (path !== undefined) {
      const { res, body } = await referrers(app, path);
      expect(body.manifests.length).toBeLessThanOrEqual(2);
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      seen.push(...body.manifests.map((d) => d.digest));
      const link = res.headers.get('link');
      path = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)![1];
      if (path !== undefined) expect(path).toContain('artifactType=application%2Fvnd.example.sig');
    }
    expect(seen).toEqual([...pushed].sort());
    const one = await referrers(app, `/v2/lib/app/referrers/${image.digest}?n=1`);
    expect(one.body.manifests).toHaveLength(1);
    await expectError(
      await app.request(`/v2/lib/app/referrers/${image.digest}?n=-1`),
      400,
      'PAGINATION_NUMBER_INVALID',
    );
  });

  it('deleting a referrer removes it from the list', async () => {
    const { app } = setup();
    const image = await pushOciImage(app, 'lib/app', 'v1');
    const ref = await pushReferrer(app, 'lib/app', image.digest, 'application/vnd.example.sig', 'gone');
    expect((await app.request(`/v2/lib/app/manifests/${ref.digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await referrers(app, `/v2/lib/app/referrers/${image.digest}`)).body.manifests).toEqual([]);
  });
});
