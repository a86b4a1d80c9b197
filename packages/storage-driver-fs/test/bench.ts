// Throughput measurements behind the figures in README.md. Not a test; run from the package
// directory with
//   node --conditions=@berth/source test/bench.ts <write|read|walk|list|tags|small|all> [runs]
// Uses a temporary directory under os.tmpdir() (set TMPDIR to measure another disk).
import { execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { walkFallback } from '@berth/storage-driver';
import { createFilesystemDriver } from '../src/index.ts';
import { makeTempDir, removeTempDir } from '../src/test-support/tmp.ts';

const GiB = 1024 * 1024 * 1024;
const CHUNK = 64 * 1024;
const [what = 'all', runsArg = '5'] = process.argv.slice(2);
const runs = Number(runsArg);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function mibPerSecond(bytes: number, ms: number): number {
  return Math.round(bytes / 1024 / 1024 / (ms / 1000));
}

async function measure(label: string, fn: () => Promise<number>, unit = 'MiB/s'): Promise<void> {
  const results: number[] = [];
  for (let i = 0; i < runs; i++) results.push(await fn());
  console.log(
    `${label.padEnd(58)} median ${String(median(results)).padStart(6)} ${unit}  (min ${Math.min(...results)}, max ${Math.max(...results)}, ${runs} runs)`,
  );
}

const parent = await makeTempDir('bench');
const root = join(parent, 'registry');
try {
  if (what === 'write' || what === 'all') {
    const chunk = Buffer.alloc(CHUNK);
    randomFillSync(chunk);
    for (const fsync of [false, true]) {
      const driver = createFilesystemDriver({ rootdirectory: root, fsync });
      let peakRss = 0;
      await measure(`driver writer, 1 GiB in 64 KiB chunks, commit (fsync ${fsync})`, async () => {
        const started = performance.now();
        const writer = await driver.writer('/blob/data');
        for (let written = 0; written < GiB; written += CHUNK) {
          await writer.write(chunk);
          if (written % (64 * 1024 * 1024) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
        await writer.commit();
        const ms = performance.now() - started;
        await driver.delete('/blob');
        return mibPerSecond(GiB, ms);
      });
      console.log(`  peak RSS during the writes: ${Math.round(peakRss / 1024 / 1024)} MiB`);
    }
    // The raw limits: plain positional writes through one FileHandle, 64 KiB and 1 MiB each.
    for (const size of [CHUNK, 1024 * 1024]) {
      const buffer = Buffer.alloc(size);
      randomFillSync(buffer);
      await measure(`raw fs FileHandle.write, ${size / 1024} KiB per call, no fsync`, async () => {
        await mkdir(root, { recursive: true });
        const file = join(root, 'raw');
        const started = performance.now();
        const handle = await open(file, 'w');
        for (let position = 0; position < GiB; position += size)
          await handle.write(buffer, 0, size, position);
        await handle.close();
        const ms = performance.now() - started;
        await rm(file);
        return mibPerSecond(GiB, ms);
      });
    }
    for (const bs of ['64K', '1M']) {
      await measure(`dd if=/dev/zero bs=${bs} (1 GiB), no fsync`, async () => {
        await mkdir(root, { recursive: true });
        const file = join(root, 'dd');
        const count = bs === '64K' ? GiB / CHUNK : 1024;
        const started = performance.now();
        execFileSync('dd', ['if=/dev/zero', `of=${file}`, `bs=${bs}`, `count=${count}`], { stdio: 'ignore' });
        const ms = performance.now() - started;
        await rm(file);
        return mibPerSecond(GiB, ms);
      });
    }
    await measure('dd if=/dev/zero bs=1M (1 GiB), conv=fsync', async () => {
      await mkdir(root, { recursive: true });
      const file = join(root, 'dd');
      const started = performance.now();
      execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=1024', 'conv=fsync'], {
        stdio: 'ignore',
      });
      const ms = performance.now() - started;
      await rm(file);
      return mibPerSecond(GiB, ms);
    });
  }

  if (what === 'read' || what === 'all') {
    const driver = createFilesystemDriver({ rootdirectory: root, fsync: false });
    const writer = await driver.writer('/blob/data');
    const chunk = Buffer.alloc(1024 * 1024);
    randomFillSync(chunk);
    for (let written = 0; written < GiB; written += chunk.byteLength) await writer.write(chunk);
    await writer.commit();
    let peakRss = 0;
    await measure('driver reader, 1 GiB (page cache warm)', async () => {
      const started = performance.now();
      let total = 0;
      for await (const part of await driver.reader('/blob/data')) {
        total += (part as Buffer).byteLength;
        if (total % (64 * 1024 * 1024) < (part as Buffer).byteLength) {
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
      }
      if (total !== GiB) throw new Error(`read ${total} bytes`);
      return mibPerSecond(GiB, performance.now() - started);
    });
    console.log(`  peak RSS during the reads: ${Math.round(peakRss / 1024 / 1024)} MiB`);
    await measure('driver reader, 8 concurrent streams of 1 GiB (aggregate)', async () => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for await (const _ of await driver.reader('/blob/data')) {
            // drain
          }
        }),
      );
      return mibPerSecond(8 * GiB, performance.now() - started);
    });
    await measure(
      'driver reader, CPU time per GiB read (one stream)',
      async () => {
        const before = process.cpuUsage();
        for await (const _ of await driver.reader('/blob/data')) {
          // drain
        }
        const used = process.cpuUsage(before);
        return Math.round((used.user + used.system) / 1000);
      },
      'ms',
    );
    await measure('dd of=/dev/null bs=1M (page cache warm)', async () => {
      const started = performance.now();
      execFileSync('dd', [`if=${join(root, 'blob/data')}`, 'of=/dev/null', 'bs=1M'], { stdio: 'ignore' });
      return mibPerSecond(GiB, performance.now() - started);
    });
    await driver.delete('/blob');
  }

  if (what === 'walk' || what === 'list' || what === 'all') {
    // A registry-shaped tree: 20,000 blobs at blobs/sha256/<2 hex>/<64 hex>/data.
    const driver = createFilesystemDriver({ rootdirectory: root, fsync: false });
    const blobs = join(root, 'docker/registry/v2/blobs/sha256');
    for (let i = 0; i < 20_000; i++) {
      const digest = createHash('sha256').update(String(i)).digest('hex');
      const dir = join(blobs, digest.slice(0, 2), digest);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'data'), 'x');
    }
    let entries = 0;
    await measure(
      'walk of 20,000 blobs, native',
      async () => {
        const started = performance.now();
        entries = 0;
        for await (const _ of driver.walk('/')) entries++;
        return Math.round(performance.now() - started);
      },
      'ms',
    );
    console.log(`  entries: ${entries}`);
    await measure(
      'walk of 20,000 blobs, walkFallback (list + stat)',
      async () => {
        const started = performance.now();
        let count = 0;
        for await (const _ of walkFallback(driver, '/')) count++;
        if (count !== entries) throw new Error(`walkFallback saw ${count} entries, native ${entries}`);
        return Math.round(performance.now() - started);
      },
      'ms',
    );
    await measure(
      'list of blobs/sha256/<each of 256 prefixes>',
      async () => {
        const started = performance.now();
        for (const prefix of await driver.list('/docker/registry/v2/blobs/sha256')) await driver.list(prefix);
        return Math.round(performance.now() - started);
      },
      'ms',
    );
    await measure(
      'readdir (withFileTypes) of the same 256 directories',
      async () => {
        const started = performance.now();
        for (const prefix of await readdir(blobs))
          await readdir(join(blobs, prefix), { withFileTypes: true });
        return Math.round(performance.now() - started);
      },
      'ms',
    );
    await driver.delete('/docker');
  }

  if (what === 'tags' || what === 'all') {
    // What tags/list reads: one directory with a child directory per tag, each holding
    // `current/link` (and, as in registry:2, `index/sha256/<digest>/link`).
    const driver = createFilesystemDriver({ rootdirectory: root, fsync: false });
    const tagsPath = '/docker/registry/v2/repositories/library/app/_manifests/tags';
    const tags = join(root, tagsPath);
    for (let i = 0; i < 500; i++) {
      const digest = createHash('sha256').update(String(i)).digest('hex');
      const tag = join(tags, `v1.${i}`);
      await mkdir(join(tag, 'current'), { recursive: true });
      await writeFile(join(tag, 'current', 'link'), `sha256:${digest}`);
      await mkdir(join(tag, 'index', 'sha256', digest), { recursive: true });
      await writeFile(join(tag, 'index', 'sha256', digest, 'link'), `sha256:${digest}`);
    }
    const repeat = 20;
    const perCall = (ms: number): number => Math.round((ms / repeat) * 100) / 100;
    await measure(
      'list of a tags directory with 500 tags (per call)',
      async () => {
        const started = performance.now();
        for (let i = 0; i < repeat; i++) {
          if ((await driver.list(tagsPath)).length !== 500) throw new Error('expected 500 tags');
        }
        return perCall(performance.now() - started);
      },
      'ms',
    );
    await measure(
      'readdir (withFileTypes) of the same directory (per call)',
      async () => {
        const started = performance.now();
        for (let i = 0; i < repeat; i++) await readdir(tags, { withFileTypes: true });
        return perCall(performance.now() - started);
      },
      'ms',
    );
    await driver.delete('/docker');
  }

  if (what === 'small') {
    // Small commits into new directories, the registry's metadata traffic: putContent of a link
    // file, and an upload (startedat, a write closed, resumed, committed, then the upload
    // directory purged). Microseconds per operation.
    const count = 500;
    for (const fsync of [false, true]) {
      const driver = createFilesystemDriver({ rootdirectory: root, fsync });
      const body = Buffer.alloc(4096, 1);
      await measure(
        `putContent of a link in a new directory, fsync ${fsync} (per call)`,
        async () => {
          const started = performance.now();
          for (let i = 0; i < count; i++) {
            await driver.putContent(`/docker/registry/v2/repositories/app/_layers/sha256/${i}/link`, body);
          }
          const us = Math.round(((performance.now() - started) * 1000) / count);
          await driver.delete('/docker');
          return us;
        },
        'µs',
      );
      await measure(
        `upload: startedat, write+close, append+commit, purge, fsync ${fsync} (per upload)`,
        async () => {
          const started = performance.now();
          for (let i = 0; i < count; i++) {
            const upload = `/docker/registry/v2/repositories/app/_uploads/${i}`;
            await driver.putContent(`${upload}/startedat`, body);
            const first = await driver.writer(`${upload}/data`);
            await first.write(body);
            await first.close();
            const resumed = await driver.writer(`${upload}/data`, { append: true });
            await resumed.write(body);
            await resumed.commit();
            await driver.delete(upload);
          }
          return Math.round(((performance.now() - started) * 1000) / count);
        },
        'µs',
      );
      await driver.delete('/docker').catch(() => {});
    }
  }
} finally {
  await removeTempDir(parent);
}
