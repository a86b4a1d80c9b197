import { digestOf } from '@berth/digest';
import { MediaType } from '@berth/manifest';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { isRegistryError } from './errors.ts';
import { createRegistry } from './registry.ts';
import { bytes, chunked, countingDriver, descriptorOf, filesOf, textOf } from './test-support/stores.ts';

const V2 = '/docker/registry/v2';

describe('createRegistry', () => {
  it('validates repository names and builds repositories without I/O', () => {
    const { driver, counts } = countingDriver(createInMemoryDriver());
    const registry = createRegistry({ driver, deleteEnabled: true, redirect: false });
    expect(registry.options.deleteEnabled).toBe(true);
    expect(registry.options.redirect).toBe(false);
    const repo = registry.repository('library/alpine');
    expect(repo.name).toBe('library/alpine');
    expect(Object.keys(counts)).toEqual([]);
    for (const bad of ['', 'UPPER', 'a//b', '../x', 'a/', '_a', 'a'.repeat(256)]) {
      try {
        registry.repository(bad);
        expect.unreachable(bad);
      } catch (err) {
        expect(isRegistryError(err) && err.code).toBe('NAME_INVALID');
      }
    }
  });

  it('writes exactly registry:2 layout for a pushed image', async () => {
    const driver = createInMemoryDriver();
    const repo = createRegistry({ driver }).repository('library/alpine');
    const config = bytes('{"architecture":"amd64","os":"linux"}');
    const layer = bytes('layer tarball');
    for (const blob of [config, layer]) {
      const upload = await repo.uploads.create();
      await upload.append(chunked(blob, 5));
      await upload.complete(digestOf(blob));
    }
    const manifest = bytes(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.DockerManifest,
        config: descriptorOf(config, MediaType.DockerImageConfig),
        layers: [descriptorOf(layer, MediaType.DockerLayerTarGzip)],
      }),
    );
    const { digest } = await repo.manifests.put(manifest, {
      mediaType: MediaType.DockerManifest,
      tags: ['latest'],
    });

    const hex = (d: string) => d.slice('sha256:'.length);
    const c = hex(digestOf(config));
    const l = hex(digestOf(layer));
    const m = hex(digest);
    const r = `${V2}/repositories/library/alpine`;
    const links: Record<string, string> = {
      [`${r}/_layers/sha256/${c}/link`]: `sha256:${c}`,
      [`${r}/_layers/sha256/${l}/link`]: `sha256:${l}`,
      [`${r}/_manifests/revisions/sha256/${m}/link`]: `sha256:${m}`,
      [`${r}/_manifests/tags/latest/current/link`]: `sha256:${m}`,
      [`${r}/_manifests/tags/latest/index/sha256/${m}/link`]: `sha256:${m}`,
    };
    const data = [c, l, m].map((h) => `${V2}/blobs/sha256/${h.slice(0, 2)}/${h}/data`);
    expect(await filesOf(driver)).toEqual([...data, ...Object.keys(links)].sort());
    for (const [path, content] of Object.entries(links)) expect(await textOf(driver, path)).toBe(content);
    expect(await textOf(driver, data[2]!)).toBe(new TextDecoder().decode(manifest));
    expect(await textOf(driver, data[0]!)).toBe(new TextDecoder().decode(config));
  });

  it('keeps Berth additions in paths registry:2 ignores', async () => {
    const driver = createInMemoryDriver();
    const registry = createRegistry({ driver });
    const repo = registry.repository('r');
    const upload = await repo.uploads.create({ algorithm: 'sha512' });
    await upload.append(chunked(bytes('partial')));
    const empty = bytes('{}');
    const u2 = await repo.uploads.create();
    await u2.append(chunked(empty));
    await u2.complete(digestOf(empty));
    const subject = descriptorOf(bytes('subject'), MediaType.OciManifest);
    await repo.manifests.put(
      bytes(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: descriptorOf(empty, MediaType.OciEmpty),
          layers: [],
          subject,
        }),
      ),
      {},
    );
    const berth = (await filesOf(driver)).filter(
      (path) =>
        !/\/(_layers|_manifests\/(revisions|tags))\//.test(path) &&
        !path.startsWith(`${V2}/blobs/`) &&
        !path.endsWith('/startedat'),
    );
    expect(berth.length).toBeGreaterThan(0);
    for (const path of berth)
      expect(path).toMatch(new RegExp(`^${V2}/repositories/r/(_uploads/[^/]+/)?_berth/`));
  });
});
