/**
 * The short-lived read cache (`CacheLimits.readCacheTtlMs`) seen from HTTP, with two replicas
 * (two registries, each with its own caches) sharing one storage driver.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../registry.ts';
import { blob, expectError, pushBlob, pushManifest, pushOciImage, SECRET } from '../test-support/http.ts';
import { createRegistryApp } from './create-app.ts';

const TTL = 80;

function replicas() {
  const driver = createInMemoryDriver();
  const make = () =>
    createRegistryApp({
      registry: createRegistry({ driver, deleteEnabled: true }, { readCacheTtlMs: TTL }),
      secret: SECRET,
    });
  return { a: make(), b: make() };
}

describe('read cache across replicas', () => {
  it('a tag moved on one replica is served by the other at once (tag links are never cached)', async () => {
    const { a, b } = replicas();
    const first = await pushOciImage(a, 'r/app', 'latest', { seed: 'one' });
    expect((await b.request('/v2/r/app/manifests/latest')).headers.get('docker-content-digest')).toBe(
      first.digest,
    );
    const second = await pushOciImage(a, 'r/app', 'latest', { seed: 'two' });
    const res = await b.request('/v2/r/app/manifests/latest');
    expect(res.headers.get('docker-content-digest')).toBe(second.digest);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(second.bytes);
  });

  it('a manifest deleted on this replica is gone at once; deleted on another, within the TTL', async () => {
    const { a, b } = replicas();
    const image = await pushOciImage(a, 'r/app', 'v1');
    const byDigest = `/v2/r/app/manifests/${image.digest}`;
    expect((await a.request(byDigest)).status).toBe(200);
    expect((await b.request(byDigest)).status).toBe(200);
    expect((await a.request(byDigest, { method: 'DELETE' })).status).toBe(202);
    await expectError(await a.request(byDigest), 404, 'MANIFEST_UNKNOWN');
    await expectError(await a.request('/v2/r/app/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    await sleep(TTL + 20);
    await expectError(await b.request(byDigest), 404, 'MANIFEST_UNKNOWN');
  });

  it('a blob unlinked on this replica is gone at once; unlinked on another, within the TTL', async () => {
    const { a, b } = replicas();
    const digest = await pushBlob(a, 'r/app', 'layer bytes');
    const path = `/v2/r/app/blobs/${digest}`;
    expect((await a.request(path, { method: 'HEAD' })).status).toBe(200);
    expect((await b.request(path, { method: 'HEAD' })).status).toBe(200);
    expect((await a.request(path, { method: 'DELETE' })).status).toBe(202);
    expect((await a.request(path, { method: 'HEAD' })).status).toBe(404);
    await expectError(await a.request(path), 404, 'BLOB_UNKNOWN');
    await sleep(TTL + 20);
    expect((await b.request(path, { method: 'HEAD' })).status).toBe(404);
  });

  it('a manifest push checks its references in storage, not in the read cache', async () => {
    const { a, b } = replicas();
    const config = blob('{"os":"linux"}');
    await pushBlob(a, 'r/app', config.bytes);
    const path = `/v2/r/app/blobs/${config.digest}`;
    expect((await b.request(path, { method: 'HEAD' })).status).toBe(200); // now in b's cache
    expect((await a.request(path, { method: 'DELETE' })).status).toBe(202);
    const res = await b.request('/v2/r/app/manifests/v1', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: config.digest,
          size: config.bytes.byteLength,
        },
        layers: [],
      }),
    });
    await expectError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
    // …and pushes again once the blob is back.
    await pushBlob(a, 'r/app', config.bytes);
    await pushManifest(b, 'r/app', 'v1', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.bytes.byteLength,
      },
      layers: [],
    });
  });
});
