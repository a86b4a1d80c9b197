import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '@berth/digest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fill, type FillSink, startFill } from './fill.ts';

const MiB = 1024 * 1024;
const digestOf = (bytes: Uint8Array): Digest =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

/**
 * An upstream body that hands out `bytes` in `chunk`-sized pieces, only as far as `release()`
 * allowed, and counts how much was pulled from it.
 */
function controlledBody(bytes: Uint8Array, chunk = 64 * 1024) {
  let released = 0;
  let pulled = 0;
  let wake: (() => void) | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (pulled >= released && pulled < bytes.byteLength) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        if (pulled >= bytes.byteLength) {
          controller.close();
          return;
        }
        const end = Math.min(pulled + chunk, released, bytes.byteLength);
        // A copy: the fill must not depend on the upstream's buffers staying unchanged.
        controller.enqueue(bytes.slice(pulled, end));
        pulled = end;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    body,
    release(upTo: number) {
      released = Math.max(released, upTo);
      wake?.();
    },
    get pulled() {
      return pulled;
    },
  };
}

/** A sink keeping what it was given in memory; `gate` holds its first write back until opened. */
function memorySink(gate?: Promise<void>) {
  const chunks: Uint8Array[] = [];
  let committed = false;
  let aborted = false;
  const sink: FillSink = {
    async write(source) {
      for await (const chunk of source) {
        await gate;
        chunks.push(chunk);
      }
    },
    async commit() {
      committed = true;
    },
    async abort() {
      aborted = true;
    },
  };
  return {
    sink,
    bytes: () => Buffer.concat(chunks),
    get committed() {
      return committed;
    },
    get aborted() {
      return aborted;
    },
  };
}

async function readAll(stream: Readable): Promise<{ bytes: Buffer; pieces: number[] }> {
  const pieces: number[] = [];
  const parts: Buffer[] = [];
  for await (const piece of stream) {
    pieces.push((piece as Buffer).byteLength);
    parts.push(piece as Buffer);
  }
  return { bytes: Buffer.concat(parts), pieces };
}

const until = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('startFill', () => {
  let spoolDirectory: string;
  beforeEach(() => {
    spoolDirectory = mkdtempSync(join(tmpdir(), 'berth-fill-test-'));
  });
  afterEach(() => {
    rmSync(spoolDirectory, { recursive: true, force: true });
  });

  const start = (
    bytes: Uint8Array,
    body: ReadableStream<Uint8Array>,
    sink: FillSink,
    digest = digestOf(bytes),
  ) => startFill({ digest, size: bytes.byteLength, body, sink, spoolDirectory });

  it('a client that joins late gets every byte: the old ones from the spool file, the newest from memory', async () => {
    const blob = randomBytes(24 * MiB);
    const upstream = controlledBody(blob);
    const stored = memorySink();
    const fill: Fill = await start(blob, upstream.body, stored.sink);
    const early = readAll(await fill.read());
    upstream.release(20 * MiB);
    await until(() => fill.received === 20 * MiB, '20 MiB received');
    // 20 MiB in: more than the fill keeps in memory, so the start comes from the spool file.
    const late = readAll(await fill.read());
    upstream.release(blob.byteLength);
    const [first, second] = await Promise.all([early, late]);
    await fill.done;
    expect(first.bytes.equals(blob)).toBe(true);
    expect(second.bytes.equals(blob)).toBe(true);
    expect(stored.bytes().equals(blob)).toBe(true);
    expect(stored.committed).toBe(true);
    expect(fill.state).toBe('verified');
    expect(readdirSync(spoolDirectory)).toEqual([]);
  });

  it('while the fill runs, a client gets the body in pieces of 256 KiB or more, not chunk by chunk', async () => {
    const blob = randomBytes(4 * MiB + 1000);
    const upstream = controlledBody(blob, 16 * 1024);
    const fill = await start(blob, upstream.body, memorySink().sink);
    const reading = readAll(await fill.read());
    for (let at = 0; at <= blob.byteLength; at += 16 * 1024) {
      upstream.release(at);
      await new Promise((resolve) => setImmediate(resolve));
    }
    upstream.release(blob.byteLength);
    const { bytes, pieces } = await reading;
    expect(bytes.equals(blob)).toBe(true);
    // Every piece but the last (the tail once verified) is at least 256 KiB.
    expect(pieces.slice(0, -1).every((length) => length >= 256 * 1024)).toBe(true);
    expect(pieces.length).toBeLessThanOrEqual(Math.ceil(blob.byteLength / (256 * 1024)) + 1);
  });

  it('keeps reading the upstream while the sink is slow, but no more than 8 MiB ahead of it', async () => {
    const blob = randomBytes(32 * MiB);
    const upstream = controlledBody(blob);
    let open!: () => void;
    const stored = memorySink(
      new Promise<void>((resolve) => {
        open = resolve;
      }),
    );
    const fill = await start(blob, upstream.body, stored.sink);
    upstream.release(blob.byteLength);
    await until(() => upstream.pulled >= 8 * MiB, 'the read-ahead to fill up');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The sink holds its first chunk: the fill has read ahead of it, to its bound.
    expect(upstream.pulled).toBeLessThanOrEqual(8 * MiB + 2 * 64 * 1024);
    open();
    await fill.done;
    expect(stored.bytes().equals(blob)).toBe(true);
  });

  it('content that does not match the digest is never committed, and its readers fail', async () => {
    const blob = randomBytes(2 * MiB);
    const upstream = controlledBody(blob);
    const stored = memorySink();
    const fill = await start(blob, upstream.body, stored.sink, digestOf(randomBytes(16)));
    const reading = readAll(await fill.read());
    upstream.release(blob.byteLength);
    await expect(reading).rejects.toMatchObject({ code: 'FILL_DIGEST_MISMATCH' });
    await expect(fill.done).rejects.toMatchObject({ code: 'FILL_DIGEST_MISMATCH' });
    expect(stored.committed).toBe(false);
    expect(stored.aborted).toBe(true);
    expect(readdirSync(spoolDirectory)).toEqual([]);
  });

  it('more bytes than the upstream announced fail the fill with FILL_SIZE_MISMATCH', async () => {
    const blob = randomBytes(MiB);
    const upstream = controlledBody(blob);
    const stored = memorySink();
    const fill = await startFill({
      digest: digestOf(blob),
      size: blob.byteLength - 1,
      body: upstream.body,
      sink: stored.sink,
      spoolDirectory,
    });
    upstream.release(blob.byteLength);
    await expect(fill.done).rejects.toMatchObject({ code: 'FILL_SIZE_MISMATCH' });
    expect(stored.committed).toBe(false);
    await expect(fill.read()).rejects.toMatchObject({ code: 'FILL_SIZE_MISMATCH' });
  });
});
