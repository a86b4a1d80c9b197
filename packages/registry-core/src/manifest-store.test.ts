import { digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { isRegistryError, type RegistryError } from './errors.ts';
import { foreignUrlsAllowed } from './manifest-store.ts';
import { pathFor } from './paths.ts';
import { createRegistry } from './registry.ts';
import {
  bytes,
  codeOf,
  countingDriver,
  descriptorOf,
  ociManifest,
  pushBlob,
  pushImage,
  textOf,
} from './test-support/stores.ts';
import type { RegistryOptions } from './types.ts';

const NAME = 'library/m';

function setup(options: Partial<Omit<RegistryOptions, 'driver'>> = {}) {
  const { driver, counts } = countingDriver(createInMemoryDriver());
  const registry = createRegistry({ driver, ...options });
  return { driver, counts, registry, repo: registry.repository(NAME) };
}

async function errorOf(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (err) {
    if (isRegistryError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

const json = (value: unknown) => bytes(JSON.stringify(value));

describe('manifest store: put', () => {
  it('stores the bytes as a blob, links the revision and sets the tags', async () => {
    const { driver, repo } = setup();
    const { bytes: manifest, digest } = await pushImage(repo, 'img', { tags: ['latest', 'v1'] });
    expect(digest).toBe(digestOf(manifest));
    const hex = digest.slice(7);
    expect(await driver.getContent(pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: hex }))).toEqual(
      Buffer.from(manifest),
    );
    expect(
      await textOf(
        driver,
        pathFor({ kind: 'manifestRevisionLink', name: NAME, algorithm: 'sha256', encoded: hex }),
      ),
    ).toBe(digest);
    expect(await repo.tags.resolve('latest')).toBe(digest);
    expect(await repo.tags.resolve('v1')).toBe(digest);
    expect(await repo.manifests.exists(digest)).toBe(true);
    const stored = await repo.manifests.get(digest);
    expect(stored.digest).toBe(digest);
    expect(stored.mediaType).toBe(MediaType.OciManifest);
    expect(Buffer.from(stored.bytes).equals(Buffer.from(manifest))).toBe(true);
    expect(stored.manifest.kind).toBe('oci-manifest');
  });

  it('returns the digest, the subject and the tags', async () => {
    const { repo } = setup();
    const subject = await pushImage(repo, 'subject');
    const empty = bytes('{}');
    await pushBlob(repo, empty);
    const referrer = json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.sig',
      config: descriptorOf(empty, MediaType.OciEmpty),
      layers: [],
      subject: descriptorOf(subject.bytes, MediaType.OciManifest),
    });
    const result = await repo.manifests.put(referrer, { mediaType: MediaType.OciManifest, tags: ['sig'] });
    expect(result).toEqual({ digest: digestOf(referrer), subject: subject.digest, tags: ['sig'] });
    const plainResult = await repo.manifests.put(subject.bytes, {});
    expect(plainResult).toEqual({ digest: subject.digest, tags: [] });
  });

  it('accepts a manifest whose subject does not exist (yet)', async () => {
    const { repo } = setup();
    const empty = bytes('{}');
    await pushBlob(repo, empty);
    const referrer = json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: descriptorOf(empty, MediaType.OciEmpty),
      layers: [],
      subject: descriptorOf(bytes('not pushed'), MediaType.OciManifest),
    });
    const result = await repo.manifests.put(referrer, {});
    expect(result.subject).toBe(digestOf(bytes('not pushed')));
  });

  it('maps parse errors to MANIFEST_INVALID (413 when too large)', async () => {
    const { repo } = setup({ manifestMaxSize: 100 });
    const invalid = await errorOf(
      repo.manifests.put(
        bytes(
          '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}'.slice(
            0,
            99,
          ),
        ),
        {},
      ),
    );
    expect(invalid.code).toBe('MANIFEST_INVALID');
    expect(invalid.status).toBe(400);
    expect(invalid.detail).toEqual({ pointer: '' });

    const big = await errorOf(repo.manifests.put(new Uint8Array(101), {}));
    expect(big.code).toBe('MANIFEST_INVALID');
    expect(big.status).toBe(413);
    expect(big.detail).toEqual({ size: 101, limit: 100 });

    const { repo: repo2 } = setup();
    const pointer = await errorOf(
      repo2.manifests.put(
        json({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: { mediaType: 'x/y' },
          layers: [],
        }),
        {},
      ),
    );
    expect(pointer.code).toBe('MANIFEST_INVALID');
    expect(pointer.detail).toEqual({ pointer: '/config/digest' });
    expect(pointer.message).toContain('digest');

    const unsupported = await errorOf(
      repo2.manifests.put(json({ schemaVersion: 1 }), {
        mediaType: 'application/vnd.docker.distribution.manifest.v1+json',
      }),
    );
    expect(unsupported.code).toBe('MANIFEST_INVALID');
    expect(unsupported.status).toBe(400);
  });

  it('checks the expected digest (with its algorithm) and the tags', async () => {
    const { repo } = setup();
    const { bytes: manifest } = await pushImage(repo, 'img');
    expect(await codeOf(repo.manifests.put(manifest, { expectedDigest: digestOf(bytes('x')) }))).toBe(
      'DIGEST_INVALID',
    );
    const sha512 = digestOf(manifest, 'sha512');
    expect((await repo.manifests.put(manifest, { expectedDigest: sha512 })).digest).toBe(sha512);
    expect((await repo.manifests.get(sha512)).digest).toBe(sha512);
    expect(await codeOf(repo.manifests.put(manifest, { tags: ['ok', 'not ok'] }))).toBe('TAG_INVALID');
    expect(await codeOf(repo.tags.resolve('ok'))).toBe('MANIFEST_UNKNOWN');
  });

  it('lists every missing blob once, in document order', async () => {
    const { repo } = setup();
    const config = bytes('config');
    const layers = [bytes('l0'), bytes('l1'), bytes('l0')];
    await pushBlob(repo, layers[1]!);
    const err = await errorOf(repo.manifests.put(ociManifest(config, layers), {}));
    expect(err.code).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(err.status).toBe(400);
    expect(err.entries).toEqual([
      { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: digestOf(config) },
      { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: digestOf(layers[0]!) },
    ]);
    // blobs of another repository do not count
    const other = setup().registry.repository('other');
    expect(await codeOf(other.manifests.put(ociManifest(layers[1]!, []), {}))).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('skips the checks when validation is disabled', async () => {
    const { repo } = setup({ validation: { disabled: true } });
    const result = await repo.manifests.put(ociManifest(bytes('c'), [bytes('l')]), {});
    expect((await repo.manifests.get(result.digest)).digest).toBe(result.digest);
  });

  it('skips the reference check for one put with skipReferenceCheck (a pull-through cache fill)', async () => {
    const { repo } = setup();
    const manifest = ociManifest(bytes('c'), [bytes('l')]);
    expect(await codeOf(repo.manifests.put(manifest, {}))).toBe('MANIFEST_BLOB_UNKNOWN');
    const result = await repo.manifests.put(manifest, { skipReferenceCheck: true });
    expect((await repo.manifests.get(result.digest)).digest).toBe(result.digest);
  });

  it('requires index children to be manifests of this repository, per validation.indexes', async () => {
    const { registry, repo } = setup();
    const amd = await pushImage(repo, 'amd64');
    const missing = ociManifest(bytes('c'), []);
    const index = json({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        descriptorOf(amd.bytes, MediaType.OciManifest, { platform: { os: 'linux', architecture: 'amd64' } }),
        descriptorOf(missing, MediaType.OciManifest, { platform: { os: 'linux', architecture: 'arm64' } }),
      ],
    });
    const err = await errorOf(repo.manifests.put(index, {}));
    expect(err.code).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(err.detail).toBe(digestOf(missing));
    // a blob with the child's digest is not a manifest
    await pushBlob(repo, missing);
    expect(await codeOf(repo.manifests.put(index, {}))).toBe('MANIFEST_BLOB_UNKNOWN');
    // the child in another repository does not count either
    expect(await codeOf(registry.repository('other').manifests.put(index, {}))).toBe('MANIFEST_BLOB_UNKNOWN');

    const none = createRegistry({
      driver: createInMemoryDriver(),
      validation: { indexes: { platforms: 'none' } },
    });
    expect((await none.repository(NAME).manifests.put(index, {})).digest).toBe(digestOf(index));

    const list = createRegistry({
      driver: createInMemoryDriver(),
      validation: { indexes: { platforms: 'list', platformList: [{ os: 'linux', architecture: 'amd64' }] } },
    });
    const listRepo = list.repository(NAME);
    expect(await codeOf(listRepo.manifests.put(index, {}))).toBe('MANIFEST_BLOB_UNKNOWN'); // amd64 missing there
    await pushImage(listRepo, 'amd64');
    expect((await listRepo.manifests.put(index, {})).digest).toBe(digestOf(index)); // arm64 not required
  });

  it('lets foreign layers with allowed urls be absent, and refuses the others', async () => {
    const foreign = bytes('windows base layer');
    const config = bytes('{"os":"windows"}');
    const manifest = (urls: string[]) =>
      json({
        schemaVersion: 2,
        mediaType: MediaType.DockerManifest,
        config: descriptorOf(config, MediaType.DockerImageConfig),
        layers: [descriptorOf(foreign, MediaType.DockerForeignLayerTarGzip, { urls })],
      });
    const good = manifest(['https://mcr.example.com/layer']);

    const strict = setup(); // neither allow nor deny: nothing allowed (registry:2)
    await pushBlob(strict.repo, config);
    const refused = await errorOf(strict.repo.manifests.put(good, {}));
    expect(refused.code).toBe('MANIFEST_INVALID');
    expect(refused.status).toBe(400);
    expect(refused.detail).toEqual({ pointer: '/layers/0/urls/0', url: 'https://mcr.example.com/layer' });
    // pushing the layer does not make a refused URL acceptable
    await pushBlob(strict.repo, foreign);
    expect(await codeOf(strict.repo.manifests.put(good, {}))).toBe('MANIFEST_INVALID');

    const allowing = setup({
      validation: { urls: { allow: [/^https:\/\/mcr\.example\.com\//], deny: [/evil/] } },
    });
    await pushBlob(allowing.repo, config);
    expect((await allowing.repo.manifests.put(good, {})).digest).toBe(digestOf(good));
    const denied = manifest(['https://mcr.example.com/evil']);
    expect(await codeOf(allowing.repo.manifests.put(denied, {}))).toBe('MANIFEST_INVALID');
    // without urls, a foreign layer must be pushed like any layer
    expect(await codeOf(allowing.repo.manifests.put(manifest([]), {}))).toBe('MANIFEST_BLOB_UNKNOWN');
    // a normal layer type with allowed urls is still checked
    const normal = json({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: descriptorOf(config, MediaType.DockerImageConfig),
      layers: [descriptorOf(foreign, MediaType.DockerLayerTarGzip, { urls: ['https://mcr.example.com/x'] })],
    });
    expect(await codeOf(allowing.repo.manifests.put(normal, {}))).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('refuses urls on ordinary layers and the config unless validation.manifests.urls allows them', async () => {
    const config = bytes('config');
    const layer = bytes('layer');
    const withUrls = (where: 'config' | 'layer', urls: string[]) =>
      json({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: descriptorOf(config, MediaType.OciConfig, where === 'config' ? { urls } : {}),
        layers: [descriptorOf(layer, MediaType.OciLayerTarGzip, where === 'layer' ? { urls } : {})],
      });
    const metadata = 'http://169.254.169.254/latest/meta-data/';

    const strict = setup();
    await pushBlob(strict.repo, config);
    await pushBlob(strict.repo, layer);
    const err = await errorOf(strict.repo.manifests.put(withUrls('layer', [metadata]), {}));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toMatch(/^invalid URL on layer 0: /);
    expect(err.detail).toEqual({ pointer: '/layers/0/urls/0', url: metadata });
    const onConfig = await errorOf(strict.repo.manifests.put(withUrls('config', [metadata]), {}));
    expect(onConfig.message).toMatch(/^invalid URL on the config: /);
    expect(onConfig.detail).toEqual({ pointer: '/config/urls/0', url: metadata });
    expect(await codeOf(strict.repo.tags.resolve('latest'))).toBe('MANIFEST_UNKNOWN');

    const allowing = setup({ validation: { urls: { allow: [/^https:\/\/cdn\.example\.com\//] } } });
    await pushBlob(allowing.repo, config);
    await pushBlob(allowing.repo, layer);
    const ok = withUrls('layer', ['https://cdn.example.com/l']);
    expect((await allowing.repo.manifests.put(ok, {})).digest).toBe(digestOf(ok));
    expect(await codeOf(allowing.repo.manifests.put(withUrls('layer', [metadata]), {}))).toBe(
      'MANIFEST_INVALID',
    );

    // the URL check runs before the reference check, and not at all with validation disabled
    expect(await codeOf(setup().repo.manifests.put(withUrls('layer', [metadata]), {}))).toBe(
      'MANIFEST_INVALID',
    );
    const off = setup({ validation: { disabled: true } });
    expect((await off.repo.manifests.put(withUrls('config', [metadata]), {})).digest).toBeDefined();
  });

  it('applies registry:2 URL rules', () => {
    const validation = { urls: { allow: [/^https?:\/\/ok\//g], deny: [/bad/] } };
    expect(foreignUrlsAllowed(['https://ok/a', 'http://ok/b'], validation)).toBe(true);
    expect(foreignUrlsAllowed(['https://ok/a', 'https://ok/a'], validation)).toBe(true); // /g state reset
    expect(foreignUrlsAllowed([], validation)).toBe(false);
    expect(foreignUrlsAllowed(['ftp://ok/a'], validation)).toBe(false);
    expect(foreignUrlsAllowed(['https://ok/a#frag'], validation)).toBe(false);
    expect(foreignUrlsAllowed(['https://ok/bad'], validation)).toBe(false);
    expect(foreignUrlsAllowed(['https://other/a'], validation)).toBe(false);
    expect(foreignUrlsAllowed(['not a url'], validation)).toBe(false);
    expect(foreignUrlsAllowed(['https://anything/'], { urls: { deny: [/bad/] } })).toBe(true);
    expect(foreignUrlsAllowed(['https://anything/'], undefined)).toBe(false);
  });
});

describe('manifest store: get, exists, delete', () => {
  it('answers MANIFEST_UNKNOWN for manifests not linked here', async () => {
    const { registry, repo } = setup();
    const { digest } = await pushImage(repo, 'img');
    const other = registry.repository('other');
    expect(await codeOf(other.manifests.get(digest))).toBe('MANIFEST_UNKNOWN');
    expect(await other.manifests.exists(digest)).toBe(false);
    expect(await codeOf(other.manifests.delete(digest))).toBe('MANIFEST_UNKNOWN');
    expect(await codeOf(repo.manifests.get(digestOf(bytes('nothing'))))).toBe('MANIFEST_UNKNOWN');
    expect(await codeOf(repo.manifests.get('sha256:bad' as typeof digest))).toBe('DIGEST_INVALID');
  });

  it('answers MANIFEST_UNKNOWN when the content is gone or unservable', async () => {
    const driver = createInMemoryDriver();
    const repo = createRegistry({ driver }).repository(NAME);
    const { digest } = await pushImage(repo, 'img');
    const fresh = createRegistry({ driver }).repository(NAME); // empty cache
    await driver.putContent(
      pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: digest.slice(7) }),
      bytes('{"schemaVersion":1}'),
    );
    expect(await codeOf(fresh.manifests.get(digest))).toBe('MANIFEST_UNKNOWN');
    await driver.delete(pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: digest.slice(7) }));
    expect(await codeOf(createRegistry({ driver }).repository(NAME).manifests.get(digest))).toBe(
      'MANIFEST_UNKNOWN',
    );
    expect(await createRegistry({ driver }).repository(NAME).manifests.exists(digest)).toBe(false);
  });

  it('serves repeated gets from the parsed-manifest cache', async () => {
    const { counts, repo } = setup();
    const { digest } = await pushImage(repo, 'img');
    const before = counts.getContent ?? 0;
    for (let i = 0; i < 5; i++) await repo.manifests.get(digest);
    expect((counts.getContent ?? 0) - before).toBe(5); // the revision link, each time; never the content
  });

  it('determines the media type of each kind from the stored bytes', async () => {
    const { driver, repo } = setup();
    const config = bytes('{}');
    const layer = bytes('layer');
    await pushBlob(repo, config);
    await pushBlob(repo, layer);
    const docker = json({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: descriptorOf(config, MediaType.DockerImageConfig),
      layers: [descriptorOf(layer, MediaType.DockerLayerTarGzip)],
    });
    const oci = json({ schemaVersion: 2, config: descriptorOf(config, MediaType.OciConfig), layers: [] }); // no mediaType
    const { digest: dockerDigest } = await repo.manifests.put(docker, {
      mediaType: MediaType.DockerManifest,
    });
    const { digest: ociDigest } = await repo.manifests.put(oci, { mediaType: MediaType.OciManifest });
    const list = json({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifestList,
      manifests: [
        descriptorOf(docker, MediaType.DockerManifest, { platform: { os: 'linux', architecture: 'amd64' } }),
      ],
    });
    const { digest: listDigest } = await repo.manifests.put(list, {});
    const fresh = createRegistry({ driver }).repository(NAME); // an empty cache: parses what is stored
    expect((await fresh.manifests.get(dockerDigest)).mediaType).toBe(MediaType.DockerManifest);
    expect((await fresh.manifests.get(ociDigest)).mediaType).toBe(MediaType.OciManifest);
    expect((await fresh.manifests.get(listDigest)).mediaType).toBe(MediaType.DockerManifestList);
    expect((await fresh.manifests.get(listDigest)).manifest.kind).toBe('docker-manifest-list');
  });

  it('deletes the revision link, the tags pointing at it and its referrer entry', async () => {
    const { driver, repo } = setup();
    const subject = await pushImage(repo, 'subject', { tags: ['keep'] });
    const empty = bytes('{}');
    await pushBlob(repo, empty);
    const referrer = json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: descriptorOf(empty, MediaType.OciEmpty),
      layers: [],
      subject: descriptorOf(subject.bytes, MediaType.OciManifest),
    });
    const { digest } = await repo.manifests.put(referrer, { tags: ['a', 'b'] });
    await repo.tags.set('keep', subject.digest);
    expect(await repo.referrers.list(subject.digest)).toHaveLength(1);

    await repo.manifests.delete(digest);
    expect(await codeOf(repo.manifests.get(digest))).toBe('MANIFEST_UNKNOWN');
    expect(await repo.tags.list()).toEqual(['keep']);
    expect(await repo.referrers.list(subject.digest)).toEqual([]);
    const referrersDir = pathFor({
      kind: 'referrers',
      name: NAME,
      algorithm: 'sha256',
      encoded: subject.digest.slice(7),
    });
    expect(await codeOf(driver.stat(referrersDir))).toBe('PATH_NOT_FOUND');
    // the content stays for GC
    expect(
      (await driver.stat(pathFor({ kind: 'blobData', algorithm: 'sha256', encoded: digest.slice(7) }))).size,
    ).toBe(referrer.byteLength);
    expect(await codeOf(repo.manifests.delete(digest))).toBe('MANIFEST_UNKNOWN');
  });
});
