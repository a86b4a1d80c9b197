/**
 * Two Berth processes on one azurite container, as two replicas behind a load balancer: a
 * chunked upload started on one is continued and finished on the other (the pending block-blob
 * write resumes from its block list, the hash state from storage), and the blob and a manifest
 * that uses it can be pulled from both. Nothing here needs skopeo.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type AzuriteServer, type RunningServer, startAzurite } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureContainer, fetchManual, startBerthOnAzurite } from './azure-support.ts';

const MiB = 1024 * 1024;
const repository = 'e2e/replicas';

function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The same request path on another replica (Location headers name the replica that answered). */
function on(server: RunningServer, location: string): string {
  const url = new URL(location, server.url);
  return `${server.url}${url.pathname}${url.search}`;
}

/** GET through the redirect, checking that there is one and that it leads to azurite. */
async function pull(server: RunningServer, azurite: AzuriteServer, digest: string): Promise<Uint8Array> {
  const response = await fetchManual(`${server.url}/v2/${repository}/blobs/${digest}`);
  await response.body?.cancel();
  expect(response.status).toBe(307);
  const location = response.headers.get('location')!;
  expect(location.startsWith(`${azurite.blobEndpoint}/`)).toBe(true);
  const direct = await fetchManual(location);
  expect(direct.status).toBe(200);
  return new Uint8Array(await direct.arrayBuffer());
}

describe('two Berth replicas on one azurite container', () => {
  let azurite: AzuriteServer;
  let first: RunningServer;
  let second: RunningServer;

  beforeAll(async () => {
    azurite = await startAzurite();
    const container = azureContainer('replicas');
    [first, second] = await Promise.all([
      startBerthOnAzurite(azurite, container),
      startBerthOnAzurite(azurite, container),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await azurite?.stop();
  });

  it('a chunked upload started on one replica is finished on the other; both serve the blob', async () => {
    const content = new Uint8Array(randomBytes(9 * MiB + 12_345));
    const digest = digestOf(content);
    // Chunk boundaries that are not block boundaries: each replica leaves a partial block.
    const cuts = [0, 3 * MiB + 1, 5 * MiB + 77, 7 * MiB, content.byteLength];

    const started = await fetchManual(`${first.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    expect(started.status).toBe(202);
    let location = started.headers.get('location')!;
    for (let i = 0; i + 1 < cuts.length - 1; i++) {
      const replica = i % 2 === 0 ? first : second;
      const [start, end] = [cuts[i]!, cuts[i + 1]!];
      const patch = await fetchManual(on(replica, location), {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}` },
        body: content.subarray(start, end),
      });
      expect(patch.status, await patch.clone().text()).toBe(202);
      expect(patch.headers.get('range')).toBe(`0-${end - 1}`);
      location = patch.headers.get('location')!;
    }
    // The other replica reports the upload's progress ...
    const status = await fetchManual(on(second, location));
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${cuts.at(-2)! - 1}`);
    // ... and finishes it with the last chunk.
    const last = cuts.at(-2)!;
    const put = await fetchManual(`${on(second, location)}&digest=${encodeURIComponent(digest)}`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${last}-${content.byteLength - 1}`,
      },
      body: content.subarray(last),
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);

    for (const replica of [first, second]) {
      const head = await fetchManual(`${replica.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('docker-content-digest')).toBe(digest);
      const bytes = await pull(replica, azurite, digest);
      expect(bytes.byteLength).toBe(content.byteLength);
      expect(digestOf(bytes)).toBe(digest);
    }
  }, 60_000);

  it('a manifest pushed to one replica is pulled from the other', async () => {
    const config = new TextEncoder().encode(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const configDigest = digestOf(config);
    const upload = await fetchManual(
      `${second.url}/v2/${repository}/blobs/uploads/?digest=${encodeURIComponent(configDigest)}`,
      { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: config },
    );
    expect(upload.status).toBe(201);
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: configDigest,
          size: config.byteLength,
        },
        layers: [],
      }),
    );
    const put = await fetchManual(`${second.url}/v2/${repository}/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    expect(put.status, await put.clone().text()).toBe(201);
    const get = await fetchManual(`${first.url}/v2/${repository}/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(get.status).toBe(200);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(manifest);
    expect(digestOf(await pull(first, azurite, configDigest))).toBe(configDigest);
    const tags = await fetchManual(`${first.url}/v2/${repository}/tags/list`);
    expect(await tags.json()).toEqual({ name: repository, tags: ['v1'] });
  });
});
