import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setup } from '../test-support/http.ts';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;

/** `SIZE` bytes as a stream of 1 MiB chunks (one reused buffer: the driver copies what it keeps). */
function source(chunk: Uint8Array): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= SIZE) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

describe('memory', () => {
  it('streams a 256 MiB blob GET with flat memory (RSS growth far below the blob size)', async () => {
    const { app } = setup();
    const chunk = new Uint8Array(MiB);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
    const expected = createHash('sha256');
    for (let i = 0; i < SIZE / MiB; i++) expected.update(chunk);
    const digest = `sha256:${expected.digest('hex')}`;

    const put = await app.request(`/v2/big/blob/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: source(chunk),
      headers: { 'Content-Type': 'application/octet-stream' },
      duplex: 'half',
    } as RequestInit);
    expect(put.status, await put.clone().text()).toBe(201);

    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const started = performance.now();
    const res = await app.request(`/v2/big/blob/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(SIZE));
    const reader = res.body!.getReader();
    const hash = createHash('sha256');
    let received = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.byteLength;
      peak = Math.max(peak, process.memoryUsage.rss());
    }
    const seconds = (performance.now() - started) / 1000;
    expect(received).toBe(SIZE);
    expect(`sha256:${hash.digest('hex')}`).toBe(digest);
    const growth = peak - baseline;
    console.info(
      `256 MiB GET: RSS growth ${(growth / MiB).toFixed(1)} MiB, ${(SIZE / MiB / seconds).toFixed(0)} MiB/s in-process`,
    );
    expect(growth).toBeLessThan(32 * MiB);
  });
});
