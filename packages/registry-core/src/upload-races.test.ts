import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf } from '@berth/digest';
import { createFilesystemDriver } from '@berth/storage-driver-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRegistryError } from './errors.ts';
import { createRegistry } from './registry.ts';
import { chunked, expectSameBytes, randomBytes, readAll, tempDir } from './test-support/stores.ts';
import type { Registry, Upload } from './types.ts';

const NAME = 'team/race';
const ROUNDS = 6;

type Op = (upload: Upload) => Promise<unknown>;

const patch =
  (data: Uint8Array): Op =>
  (upload) =>
    upload.append(chunked(data, 64 * 1024), 0);
const putWhole =
  (data: Uint8Array): Op =>
  (upload) =>
    upload.complete(digestOf(data), { source: chunked(data, 64 * 1024), expectedStart: 0 });
const cancel: Op = (upload) => upload.cancel();

const a = randomBytes(600_000, 1);
const b = randomBytes(450_000, 2);

/** Pairs of writes that must not both succeed on one upload. */
const pairs: [string, Op, Op][] = [
  ['PATCH / PATCH (different bodies)', patch(a), patch(b)],
  ['PATCH / PATCH (same body)', patch(a), patch(a)],
  ['PATCH / PUT with the whole blob', patch(a), putWhole(b)],
  ['PUT / PUT (different blobs)', putWhole(a), putWhole(b)],
  ['PUT / PUT (same blob)', putWhole(a), putWhole(a)],
  ['DELETE / PUT', cancel, putWhole(a)],
];

/** Every file under `dir` whose path shows an upload or a pending or temporary write. */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter(
    (entry) => entry.includes('_uploads/') || /#(pending|tmp)-/.test(entry),
  );
}

/** Blob files whose content does not hash to their path. */
async function corruptBlobs(dir: string): Promise<string[]> {
  const blobs = join(dir, 'docker/registry/v2/blobs/sha256');
  const bad: string[] = [];
  const entries = await readdir(blobs, { recursive: true }).catch(() => [] as string[]);
  for (const entry of entries) {
    const match = /^[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(entry);
    if (match === null) continue;
    const hex = createHash('sha256')
      .update(await readFile(join(blobs, entry)))
      .digest('hex');
    if (hex !== match[1]) bad.push(entry);
  }
  return bad;
}

describe.each([
  ['one process', false],
  ['two processes on one filesystem root', true],
] as const)('concurrent writes to one upload: %s', (_, twoProcesses) => {
  let root: string;
  let remove: () => Promise<void>;
  let left: Registry;
  let right: Registry;

  beforeEach(async () => {
    ({ dir: root, remove } = await tempDir('races'));
    left = createRegistry({ driver: createFilesystemDriver({ rootdirectory: root, fsync: false }) });
    right = twoProcesses
      ? createRegistry({ driver: createFilesystemDriver({ rootdirectory: root, fsync: false }) })
      : left;
  });
  afterEach(async () => {
    await remove();
  });

  it.each(pairs)(
    '%s: at most one succeeds, the other is refused, nothing is left',
    async (_, first, second) => {
      for (let round = 0; round < ROUNDS; round++) {
        const started = await left.repository(NAME).uploads.create();
        const state = { offset: 0, startedAt: started.startedAt };
        const [mine, theirs] = await Promise.all([
          left.repository(NAME).uploads.get(started.uuid, state),
          right.repository(NAME).uploads.get(started.uuid, state),
        ]);
        // Alternate which one starts first, so both orders are raced.
        const ops = round % 2 === 0 ? [first(mine), second(theirs)] : [second(theirs), first(mine)];
        const results = await Promise.allSettled(ops);
        const succeeded = results.filter((result) => result.status === 'fulfilled');
        expect(succeeded.length).toBeLessThanOrEqual(1);
        for (const result of results) {
          if (result.status === 'rejected') {
            const code = isRegistryError(result.reason) ? result.reason.code : String(result.reason);
            expect(['RANGE_INVALID', 'BLOB_UPLOAD_UNKNOWN']).toContain(code);
          }
        }

        // An upload still there holds exactly the bytes of the PATCH that succeeded (if any): it
        // completes with their digest.
        const current = await left
          .repository(NAME)
          .uploads.get(started.uuid, { startedAt: started.startedAt })
          .catch(() => undefined);
        if (current !== undefined) {
          const expected = current.size === 0 ? new Uint8Array(0) : current.size === a.byteLength ? a : b;
          expect(current.size).toBe(expected.byteLength);
          const done = await current.complete(digestOf(expected));
          expectSameBytes(await readAll(await left.repository(NAME).blobs.open(done.digest)), expected);
        }
        expect(await leftovers(root)).toEqual([]);
        expect(await corruptBlobs(root)).toEqual([]);
      }
    },
  );
});
