import { MediaType } from '@berth/manifest';
import { describe, expect, it } from 'vitest';
import { type App, blob, expectError, json, pushBlob, pushManifest, setup } from '../test-support/http.ts';
import type { RegistryOptions } from '../types.ts';

// Descriptor `urls` let clients fetch content from somewhere other than the registry, so a
// pushed image manifest may only carry URLs that `validation.manifests.urls` allows.

const NAME = 'lib/app';
const SSRF = 'http://169.254.169.254/latest/meta-data/';
const ALLOWED = 'https://layers.example.com/base.tar.gz';
const encoder = new TextEncoder();

type Validation = NonNullable<RegistryOptions['validation']>;

const allowing: Validation = {
  urls: { allow: [/^https:\/\/layers\.example\.com\//], deny: [/\/evil/] },
};

function app(validation?: Validation): App {
  return setup(validation === undefined ? {} : { registry: { validation } }).app;
}

/** Pushes the config and layer blobs and returns a manifest over them (nothing pushed yet). */
async function image(
  target: App,
  options: {
    layerType?: string;
    layerUrls?: string[];
    configUrls?: string[];
    docker?: boolean;
    pushLayer?: boolean;
  } = {},
) {
  const docker = options.docker === true;
  const config = blob(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const layer = blob('layer bytes');
  await pushBlob(target, NAME, config.bytes);
  if (options.pushLayer !== false) await pushBlob(target, NAME, layer.bytes);
  return {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
    config: {
      mediaType: docker ? MediaType.DockerImageConfig : MediaType.OciConfig,
      digest: config.digest,
      size: config.bytes.byteLength,
      ...(options.configUrls === undefined ? {} : { urls: options.configUrls }),
    },
    layers: [
      {
        mediaType: options.layerType ?? (docker ? MediaType.DockerLayerTarGzip : MediaType.OciLayerTarGzip),
        digest: layer.digest,
        size: layer.bytes.byteLength,
        ...(options.layerUrls === undefined ? {} : { urls: options.layerUrls }),
      },
    ],
  };
}

async function put(target: App, manifest: { mediaType: string }, reference = 'v1'): Promise<Response> {
  return target.request(`/v2/${NAME}/manifests/${reference}`, {
    method: 'PUT',
    body: encoder.encode(JSON.stringify(manifest)),
    headers: { 'Content-Type': manifest.mediaType },
  });
}

/** Asserts a 400 MANIFEST_INVALID in the OCI envelope, naming the offending URL. */
async function expectRefused(res: Response, pointer: string, url: string): Promise<void> {
  const body = (await res.clone().json()) as { errors: { code: string; message: string; detail: unknown }[] };
  await expectError(res, 400, 'MANIFEST_INVALID');
  expect(body.errors).toHaveLength(1);
  expect(body.errors[0]!.detail).toMatchObject({ pointer, url });
}

describe('PUT manifest: descriptor urls', () => {
  it.each([
    MediaType.OciLayerTar,
    MediaType.OciLayerTarGzip,
    MediaType.OciLayerTarZstd,
    'application/vnd.example.custom.layer',
  ])('an OCI %s layer with urls and no urls config → 400 MANIFEST_INVALID', async (layerType) => {
    const target = app();
    const res = await put(target, await image(target, { layerType, layerUrls: [SSRF] }));
    await expectRefused(res, '/layers/0/urls/0', SSRF);
    expect((await target.request(`/v2/${NAME}/manifests/v1`)).status).toBe(404);
  });

  it('a Docker schema2 layer with urls and no urls config → 400 MANIFEST_INVALID', async () => {
    const target = app();
    const res = await put(target, await image(target, { docker: true, layerUrls: [SSRF] }));
    await expectRefused(res, '/layers/0/urls/0', SSRF);
  });

  it('an allowed URL on an ordinary layer → 201 (the layer itself must still be pushed)', async () => {
    const target = app(allowing);
    const manifest = await image(target, { layerUrls: [ALLOWED] });
    const res = await put(target, manifest);
    expect(res.status, await res.clone().text()).toBe(201);
    const docker = await image(target, { docker: true, layerUrls: [ALLOWED, `${ALLOWED}?mirror=2`] });
    expect((await put(target, docker, 'docker')).status).toBe(201);

    const absent = app(allowing);
    const missing = await put(absent, await image(absent, { layerUrls: [ALLOWED], pushLayer: false }));
    await expectError(missing, 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('refuses URLs that match no allow pattern or match a deny pattern', async () => {
    const target = app(allowing);
    await expectRefused(
      await put(target, await image(target, { layerUrls: [SSRF] })),
      '/layers/0/urls/0',
      SSRF,
    );
    const denied = 'https://layers.example.com/evil/x';
    await expectRefused(
      await put(target, await image(target, { layerUrls: [ALLOWED, denied] })),
      '/layers/0/urls/1',
      denied,
    );
    // deny alone: everything else is allowed (registry:2)
    const denyOnly = app({ urls: { deny: [/^http:\/\/169\.254\./] } });
    await expectRefused(
      await put(denyOnly, await image(denyOnly, { layerUrls: [SSRF] })),
      '/layers/0/urls/0',
      SSRF,
    );
    expect((await put(denyOnly, await image(denyOnly, { layerUrls: [ALLOWED] }))).status).toBe(201);
  });

  it.each([
    'ftp://layers.example.com/base.tar.gz',
    'file:///etc/passwd',
    'https://layers.example.com/base.tar.gz#frag',
    'not a url',
  ])('refuses %j even when an allow pattern matches it', async (url) => {
    const target = app({ urls: { allow: [/.*/] } });
    await expectRefused(
      await put(target, await image(target, { layerUrls: [url] })),
      '/layers/0/urls/0',
      url,
    );
  });

  it('refuses a config descriptor with urls (and accepts an allowed one)', async () => {
    const strict = app();
    await expectRefused(
      await put(strict, await image(strict, { configUrls: [SSRF] })),
      '/config/urls/0',
      SSRF,
    );
    const target = app(allowing);
    await expectRefused(
      await put(target, await image(target, { configUrls: [SSRF] })),
      '/config/urls/0',
      SSRF,
    );
    expect((await put(target, await image(target, { configUrls: [ALLOWED] }))).status).toBe(201);
  });

  it('an empty urls list is no URL', async () => {
    const target = app();
    expect((await put(target, await image(target, { layerUrls: [] }))).status).toBe(201);
  });

  it('validation.disabled skips the URL check, as before', async () => {
    const target = app({ disabled: true });
    expect((await put(target, await image(target, { layerUrls: [SSRF], configUrls: [SSRF] }))).status).toBe(
      201,
    );
  });

  describe('non-distributable (foreign) layers, unchanged', () => {
    const foreignTypes = [
      MediaType.DockerForeignLayerTarGzip,
      MediaType.OciLayerNondistributableTar,
      MediaType.OciLayerNondistributableTarGzip,
      MediaType.OciLayerNondistributableTarZstd,
    ];

    it.each(foreignTypes)('%s with an allowed URL need not be pushed', async (layerType) => {
      const target = app(allowing);
      const res = await put(
        target,
        await image(target, { layerType, layerUrls: [ALLOWED], pushLayer: false }),
      );
      expect(res.status, await res.clone().text()).toBe(201);
    });

    it.each(foreignTypes)('%s with a URL that is not allowed → 400 MANIFEST_INVALID', async (layerType) => {
      for (const validation of [undefined, allowing]) {
        const target = app(validation);
        // refused even when the layer was pushed: clients would still fetch the URL
        const res = await put(target, await image(target, { layerType, layerUrls: [SSRF] }));
        await expectRefused(res, '/layers/0/urls/0', SSRF);
      }
    });

    it.each(foreignTypes)('%s without urls must be pushed like any layer', async (layerType) => {
      const target = app(allowing);
      const missing = await put(target, await image(target, { layerType, pushLayer: false }));
      await expectError(missing, 400, 'MANIFEST_BLOB_UNKNOWN');
      expect((await put(target, await image(target, { layerType }))).status).toBe(201);
    });
  });

  it('an image index is unaffected', async () => {
    const target = app();
    const child = await pushManifest(target, NAME, 'child', await image(target));
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          mediaType: MediaType.OciManifest,
          digest: child.digest,
          size: child.bytes.byteLength,
          urls: [SSRF],
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    const res = await put(target, index, 'index');
    expect(res.status, await res.clone().text()).toBe(201);
    const pulled = await target.request(`/v2/${NAME}/manifests/index`, {
      headers: { Accept: MediaType.OciIndex },
    });
    expect(await json(pulled)).toEqual(index);
  });
});
