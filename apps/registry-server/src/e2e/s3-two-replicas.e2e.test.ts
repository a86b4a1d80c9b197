/**
 * Two Berth processes on one radosgw bucket, as two replicas behind a load balancer: a chunked
 * upload started on one is continued and finished on the other (the pending multipart upload,
 * its tail object and the hash state all come from the bucket), and the blob and a manifest
 * that uses it can be pulled from both. Nothing here needs skopeo.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type RunningRadosgw, type RunningServer, startRadosgw } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchManual, s3Bucket, startBerthOnRadosgw } from './s3-support.ts';

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

/** GET through the redirect, checking that there is one and that it leads to radosgw. */
async function pull(server: RunningServer, rgw: RunningRadosgw, digest: string): Promise<Uint8Array> {
  const response = await fetchManual(`${server.url}/v2/${repository}/blobs/${digest}`);
  await response.body?.cancel();
  expect(response.status).toBe(307);
  const location = new URL(response.headers.get('location')!);
  expect(location.origin).toBe(rgw.endpoint);
  expect(location.searchParams.has('X-Amz-Signature')).toBe(true);
  const direct = await fetchManual(location);
  expect(direct.status).toBe(200);
  return new Uint8Array(await direct.arrayBuffer());
}

/** What radosgw's bucket index holds: object keys, and the parts of unfinished multipart uploads. */
async function bucketEntries(rgw: RunningRadosgw, bucket: string): Promise<string[]> {
  const listed = JSON.parse(await rgw.admin(['bucket', 'list', `--bucket=${bucket}`])) as { name: string }[];
  return listed.map((entry) => entry.name);
}

describe('two Berth replicas on one radosgw bucket', () => {
  let rgw: RunningRadosgw;
  let bucket: string;
  let first: RunningServer;
  let second: RunningServer;

  beforeAll(async () => {
    bucket = s3Bucket('replicas');
    rgw = await startRadosgw({ buckets: [bucket] });
    [first, second] = await Promise.all([startBerthOnRadosgw(rgw, bucket), startBerthOnRadosgw(rgw, bucket)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await rgw?.stop();
  });

  it('a chunked upload started on one replica is finished on the other; both serve the blob', async () => {
    const content = new Uint8Array(randomBytes(13 * MiB + 12_345));
    const digest = digestOf(content);
    // Chunk boundaries that are not part boundaries (parts are 5 MiB): every PATCH leaves a tail
    // object that the other replica has to pick up.
    const cuts = [0, 3 * MiB + 1, 7 * MiB + 77, 11 * MiB, content.byteLength];

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
    // Pending in the bucket: a multipart upload with two 5 MiB parts, and a tail object.
    const pending = await bucketEntries(rgw, bucket);
    expect(pending.filter((name) => /^_multipart_.*\/data\.[^.]+\.\d+$/.test(name))).toHaveLength(2);
    expect(pending.filter((name) => name.includes('/!berth/tails/'))).toHaveLength(1);

    // The first replica reports the upload's progress ...
    const status = await fetchManual(on(first, location));
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${cuts.at(-2)! - 1}`);
    // ... and the second finishes it with the last chunk.
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
      expect(head.headers.get('content-length')).toBe(String(content.byteLength));
      const bytes = await pull(replica, rgw, digest);
      expect(bytes.byteLength).toBe(content.byteLength);
      expect(digestOf(bytes)).toBe(digest);
    }
    // Nothing of the upload is left: no multipart parts, no tail objects, no _uploads entries.
    const after = await bucketEntries(rgw, bucket);
    expect(after.filter((name) => name.startsWith('_multipart_') || name.includes('!berth'))).toEqual([]);
    expect(after.filter((name) => name.includes('/_uploads/'))).toEqual([]);
    expect(after).toContain(
      `registry/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`,
    );
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
    expect(digestOf(await pull(first, rgw, configDigest))).toBe(configDigest);
    const tags = await fetchManual(`${first.url}/v2/${repository}/tags/list`);
    expect(await tags.json()).toEqual({ name: repository, tags: ['v1'] });
  });
});
