/**
 * Two Berth processes on one bucket of the GCS emulator, as two replicas behind a load balancer:
 * a chunked upload started on one is continued and finished on the other (the pending write
 * resumes from its part objects, the hash state from storage), and the blob is pulled from both.
 * Nothing here needs skopeo. Settings forced by the emulator: see `gcs-support.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type GcsEmulatorServer, type RunningServer, startGcsEmulator } from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchManual, gcsBucket, startBerthOnGcsEmulator } from './gcs-support.ts';

const MiB = 1024 * 1024;
const repository = 'e2e/gcs-replicas';

function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The same request path on another replica (Location headers name the replica that answered). */
function on(server: RunningServer, location: string): string {
  const url = new URL(location, server.url);
  return `${server.url}${url.pathname}${url.search}`;
}

describe('two Berth replicas on one bucket of the GCS emulator (64 MiB chunks, no redirects)', () => {
  let emulator: GcsEmulatorServer;
  let first: RunningServer;
  let second: RunningServer;

  beforeAll(async () => {
    const bucket = gcsBucket('replicas');
    emulator = await startGcsEmulator({ bucket });
    [first, second] = await Promise.all([
      startBerthOnGcsEmulator(emulator, bucket),
      startBerthOnGcsEmulator(emulator, bucket),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await emulator?.stop();
  });

  it('a chunked upload started on one replica is finished on the other; both serve the blob', async () => {
    const content = new Uint8Array(randomBytes(9 * MiB + 12_345));
    const digest = digestOf(content);
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
    const status = await fetchManual(on(second, location));
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${cuts.at(-2)! - 1}`);
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
      expect(head.headers.get('content-length')).toBe(String(content.byteLength));
      const get = await fetchManual(`${replica.url}/v2/${repository}/blobs/${digest}`);
      expect(get.status).toBe(200);
      expect(digestOf(new Uint8Array(await get.arrayBuffer()))).toBe(digest);
    }
  }, 60_000);
});
