/**
 * `berth gc` while skopeo pushes to the same running Berth, then every pushed image pulled back
 * with its digests verified.
 *
 * What makes it meaningful is the grace window. Everything on disk before a round is aged two
 * hours, and GC runs with `--grace 60s`: longer than any push here takes (so the blobs a push
 * uploads before its manifest are protected, as in production), much shorter than the age of
 * the garbage. The pushes *re-push images whose manifests were deleted*: their blobs are old,
 * unreferenced garbage GC is about to delete, and skopeo finds them already in the repository
 * (HEAD → 200) and uploads nothing — so nothing young protects them; only GC's final check
 * (content is set aside, and put back if a push refers to it again) does. Each round also
 * deletes garbage nobody re-pushes, which must be gone at the end, and pushes brand-new images.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  e2eSkipReason,
  type OciLayout,
  type OciLayoutSpec,
  type RunningServer,
  startBerth,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  age,
  berthProcess,
  blobsOf,
  blobsOnDisk,
  copy,
  deleteManifest,
  type GcJson,
  gcJson,
  pullAndVerify,
  tempDir,
} from './support.ts';

const HOUR = 60 * 60 * 1000;
const ROUNDS = 3;
/**
 * When each round's pushes start: `start` ms after the `berth gc` process is spawned (around
 * its scan and mark), or `aside` ms after GC has started setting garbage aside (during its
 * settle time, before its final check).
 */
const PUSHES: readonly { readonly from: 'start' | 'aside'; readonly ms: number }[] = [
  { from: 'start', ms: 300 },
  { from: 'start', ms: 700 },
  { from: 'aside', ms: 0 },
  { from: 'aside', ms: 200 },
  { from: 'aside', ms: 600 },
  { from: 'aside', ms: 1200 },
];

const skip = e2eSkipReason(['skopeo']);

describe.skipIf(skip)(`berth gc while skopeo pushes${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let layout: OciLayout;
  let server: RunningServer;
  let root: string;

  beforeAll(async () => {
    work = await tempDir('gc-concurrent');
    root = join(work.path, 'root');
    const images: NonNullable<OciLayoutSpec['images']> = {};
    const platform = { os: 'linux', architecture: 'amd64' };
    for (let k = 0; k < ROUNDS; k++) {
      images[`junk${k}`] = { platform, layers: [{ size: 250_000, seed: `junk-${k}` }] };
      for (let i = 0; i < PUSHES.length; i++) {
        images[`again${k}-${i}`] = {
          platform,
          layers: [
            { size: 100_000 + i, seed: `again-${k}-${i}-0` },
            { size: 10_000 + i, seed: `again-${k}-${i}-1`, format: 'tar+gzip' },
          ],
        };
        images[`fresh${k}-${i}`] = { platform, layers: [{ size: 20_000 + i, seed: `fresh-${k}-${i}` }] };
      }
    }
    layout = await writeOciLayout(join(work.path, 'source'), { images });
    server = await startBerth({ rootDirectory: root });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await work?.remove();
  });

  it('every image pushed while gc runs pulls back intact; the garbage nobody re-pushed is gone', async () => {
    const docker = (ref: string) => `docker://${server.host}/${ref}`;
    const src = (ref: string) => `oci:${layout.dir}:${ref}`;
    const pushed = new Map<string, string>(); // reference → layout image
    const reports: GcJson[] = [];
    const retries: string[] = [];

    /** A push as a CI job does it: retried when it fails (a push racing with GC may fail cleanly). */
    const push = async (image: string, reference: string): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await copy(src(image), docker(reference));
          pushed.set(reference, image);
          return;
        } catch (err) {
          if (attempt === 3) throw err;
          retries.push(
            `${reference}: ${
              String((err as Error).message)
                .split('\n')
                .find((l) => /error|unknown/i.test(l)) ?? ''
            }`,
          );
        }
      }
    };

    const quarantine = join(root, 'docker/registry/v2/_berth/gc/quarantine');
    /** Resolves once GC has started setting content aside. */
    const setAside = async (): Promise<void> => {
      while (
        !(await stat(quarantine).then(
          () => true,
          () => false,
        ))
      )
        await sleep(10);
    };

    for (let k = 0; k < ROUNDS; k++) {
      // Garbage: images whose manifests are deleted; their blobs stay linked in the repos.
      for (let i = 0; i < PUSHES.length; i++) {
        await copy(src(`again${k}-${i}`), docker(`race:gone${k}-${i}`));
        await deleteManifest(server, 'race', layout.images[`again${k}-${i}`]!.descriptor.digest);
      }
      await copy(src(`junk${k}`), docker(`junk:j${k}`));
      await deleteManifest(server, 'junk', layout.images[`junk${k}`]!.descriptor.digest);
      await age(root, 2 * HOUR);

      const gc = gcJson(server.configFile, '--delete-untagged', '--grace', '60s', '--settle', '2s');
      const aside = setAside();
      const pushes = PUSHES.map(async ({ from, ms }, i) => {
        if (from === 'aside') await aside;
        await sleep(ms);
        // A deleted image again (its blobs are in the repository: skopeo uploads nothing unless
        // GC has set them aside)…
        await push(`again${k}-${i}`, `race:again${k}-${i}`);
        // …and a new one.
        await push(`fresh${k}-${i}`, `fresh${k}:v${i}`);
      });
      const [report] = await Promise.all([gc, ...pushes]);
      reports.push(report);
    }
    // One more run with nothing pushing, to collect what the racing runs had to keep.
    reports.push(await gcJson(server.configFile, '--delete-untagged', '--grace', '60s', '--settle', '0s'));

    // Everything pushed pulls back, every digest verified.
    let n = 0;
    for (const [reference, image] of pushed) {
      await pullAndVerify(server, join(work.path, `pull-${++n}`), reference, blobsOf(layout.images[image]!));
    }
    // The junk is gone; nothing is corrupt or missing.
    const onDisk = new Set(await blobsOnDisk(root));
    for (let k = 0; k < ROUNDS; k++) {
      for (const blob of blobsOf(layout.images[`junk${k}`]!)) expect(onDisk.has(blob.digest)).toBe(false);
    }
    const verify = await berthProcess(['verify', server.configFile]);
    expect({ code: verify.code, stdout: verify.stdout }).toEqual({
      code: 0,
      stdout: expect.stringMatching(/no problems\.\n$/),
    });
    const restored = reports.reduce((sum, r) => sum + r.restored.blobs.length, 0);
    console.log(
      `berth gc concurrent e2e: ${pushed.size} pushes (${retries.length} retried${retries.length > 0 ? `: ${retries.join('; ')}` : ''}), ${reports.length} gc runs, ` +
        `${restored} blobs put back by the final check, ` +
        `${reports.reduce((sum, r) => sum + r.bytesReclaimed, 0)} bytes reclaimed`,
    );
    expect(pushed.size).toBe(ROUNDS * PUSHES.length * 2);
    // Pushes landed while content was set aside, and the final check put it back.
    expect(restored).toBeGreaterThan(0);
  }, 180_000);
});
