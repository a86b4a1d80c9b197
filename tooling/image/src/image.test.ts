/**
 * End to end: build the image twice (the second time compressing every layer again) and once
 * more from the layer cache, compare the digests, push it into a running Berth with skopeo, pull
 * it back, unpack the pulled layers into a root filesystem, run the server from that root
 * filesystem as the image's user (`unshare --root`, util-linux's chroot, with no namespaces and
 * no mounts), and push and pull an image through it.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  e2eSkipReason,
  freePort,
  type RunningServer,
  reachableBlobs,
  skopeo,
  startBerth,
  startProcessServer,
  which,
  writeOciLayout,
} from '@berth/test-servers';
import { afterAll, describe, expect, it } from 'vitest';
import { type BuiltImage, buildImage, mib } from './build.ts';
import { run } from './exec.ts';
import { extractImage } from './rootfs.ts';
import { buildSystemLayer, DATA_DIR, USER } from './system.ts';
import { tarStream } from './tar.ts';

/** Tools besides skopeo, with the Debian package that has them. */
const systemTools: Record<string, string> = {
  unshare: 'util-linux',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  'dpkg-query': 'dpkg',
};

/** Why this file must be skipped, or `undefined`; under CI a missing tool or privilege throws (as `e2eSkipReason`). */
function skipReason(): string | undefined {
  const problems: string[] = [];
  const missing = Object.keys(systemTools).filter((tool) => which(tool) === undefined);
  if (missing.length > 0) {
    problems.push(
      `${missing.join(', ')} not installed (apt-get install -y --no-install-recommends ${[
        ...new Set(missing.map((tool) => systemTools[tool])),
      ].join(' ')})`,
    );
  }
  if (process.getuid?.() !== 0)
    problems.push('unshare --root (chroot) and unpacking files owned by the image user need root');
  if (problems.length > 0 && process.env.CI) {
    throw new Error(`CI is set, so end-to-end tests may not be skipped, but ${problems.join('; ')}`);
  }
  return e2eSkipReason(['skopeo']) ?? (problems.length > 0 ? problems.join('; ') : undefined);
}

const skip = skipReason();
const temporary: string[] = [];
const servers: RunningServer[] = [];

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `berth-image-${name}-`));
  temporary.push(dir);
  return dir;
}

/** Downloads (.deb files, a Node.js when .tools has none that fits) and layers, shared by the tests of this file. */
let sharedCache: string | undefined;
const cache = (): string => {
  sharedCache ??= tempDir('cache');
  return sharedCache;
};

afterAll(async () => {
  for (const server of servers.reverse()) await server.stop();
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** Bytes of regular files and number of entries below `dir`, not following symlinks (the unpacked image, less metadata). */
function treeSize(dir: string): { bytes: number; entries: number } {
  let bytes = 0;
  let entries = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    entries++;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = treeSize(path);
      bytes += inner.bytes;
      entries += inner.entries;
    } else if (entry.isFile()) {
      bytes += lstatSync(path).size;
    }
  }
  return { bytes, entries };
}

function layerDigests(image: BuiltImage): string[] {
  return image.layers.map((layer) => `${layer.name} ${layer.digest} ${layer.diffId}`);
}

describe.skipIf(skip)(`the Berth image${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('is reproducible, survives a push and pull, and serves from its own root filesystem', {
    timeout: 240_000,
  }, async () => {
    const timings: Record<string, number> = {};
    const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await work();
      } finally {
        timings[what] = Math.round(performance.now() - started);
      }
    };
    const started = performance.now();
    const cacheDir = cache();
    const out = tempDir('out');
    const logs: string[] = [];
    const log = (line: string): void => {
      logs.push(line);
    };

    // Build 1: nothing cached but the Node.js binary when .tools has it. Build 2: the downloads
    // are reused, but every layer is compressed again. Build 3: from the layer cache. When the
    // sources changed between two builds (someone editing the tree), the pair is built again:
    // only builds of the same sources must agree.
    let first = await timed('build 1 (cold)', () => buildImage({ out: join(out, 'a'), cacheDir, log }));
    // The same source identity for the later builds, should someone commit meanwhile.
    const same = {
      env: { SOURCE_DATE_EPOCH: String(first.source.epoch) },
      version: first.imageConfig.config.Labels['org.opencontainers.image.version']!,
      ...(first.source.revision === undefined ? {} : { revision: first.source.revision }),
    };
    let second = await timed('build 2 (no layer cache)', () =>
      buildImage({ out: join(out, 'b'), cacheDir, layerCache: false, log, ...same }),
    );
    for (let retry = 1; retry <= 2 && second.sourceDigest !== first.sourceDigest; retry++) {
      console.log(
        `sources changed between builds 1 and 2 (the tree is being edited): building both again (${retry})`,
      );
      first = await buildImage({ out: join(out, 'a'), cacheDir, log, ...same });
      second = await buildImage({ out: join(out, 'b'), cacheDir, layerCache: false, log, ...same });
    }
    expect(second.sourceDigest).toBe(first.sourceDigest);
    expect(second.layers.map((layer) => layer.cached)).toEqual([false, false, false]);
    expect(layerDigests(second)).toEqual(layerDigests(first));
    expect(second.config.digest).toBe(first.config.digest);
    expect(second.manifest.digest).toBe(first.manifest.digest);
    const third = await timed('build 3 (layer cache)', () =>
      buildImage({ out: join(out, 'a'), cacheDir, tag: 'again', log, ...same }),
    );
    if (third.sourceDigest === first.sourceDigest) {
      expect(third.layers.map((layer) => layer.cached)).toEqual([true, true, true]);
      expect(third.manifest.digest).toBe(first.manifest.digest);
    } else {
      console.log('sources changed before build 3 (the tree is being edited): its digest is not compared');
    }
    expect(readdirSync(join(out, 'a', 'blobs', 'sha256')).sort()).toEqual(
      [
        ...new Set(
          [first, third]
            .flatMap((image) => [image.manifest, image.config, ...image.layers])
            .map((blob) => blob.digest.slice(7)),
        ),
      ].sort(),
    );

    const { config } = first.imageConfig;
    expect(config.User).toBe(`${USER.uid}:${USER.gid}`);
    expect(config.ExposedPorts).toEqual({ '5000/tcp': {} });
    expect(config.Volumes).toEqual({ [DATA_DIR]: {} });
    expect(config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/dist/main.js']);
    expect(config.Cmd).toEqual(['/etc/docker/registry/config.yml']);
    expect(config.StopSignal).toBe('SIGTERM');
    expect(config.Env.some((entry) => entry.startsWith('PATH='))).toBe(true);
    expect(config.Labels['berth.node.version']).toBe(first.node.version);
    expect(config.Labels['org.opencontainers.image.created']).toBe(first.imageConfig.created);
    expect(new Date(first.imageConfig.created).getTime()).toBe(first.source.epoch * 1000);
    expect(first.libraries).toContain('/lib64/ld-linux-x86-64.so.2');

    // Push into a running Berth, check the manifest it serves, pull it back into a new layout.
    const registry = await timed('start Berth', () =>
      startBerth({ rootDirectory: join(tempDir('registry'), 'data') }),
    );
    servers.push(registry);
    const remote = `docker://${registry.host}/berth/server:test`;
    await timed('skopeo push', () =>
      skopeo(
        ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${first.layout}:latest`, remote],
        {
          timeoutMs: 120_000,
        },
      ),
    );
    const served = await skopeo(['inspect', '--raw', '--tls-verify=false', remote]);
    expect(`sha256:${createHash('sha256').update(served.stdout).digest('hex')}`).toBe(first.manifest.digest);
    const pulled = join(tempDir('pulled'), 'layout');
    await timed('skopeo pull', () =>
      skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', remote, `oci:${pulled}:test`], {
        timeoutMs: 120_000,
      }),
    );
    const pulledBlobs = await reachableBlobs(pulled, 'test');
    const builtBlobs = await reachableBlobs(first.layout, 'latest');
    expect(pulledBlobs.map((blob) => blob.digest)).toEqual(builtBlobs.map((blob) => blob.digest));
    expect(pulledBlobs[0]!.digest).toBe(first.manifest.digest);

    // Unpack the pulled layers in order; the extractor checks each diff ID.
    const rootfs = join(tempDir('rootfs'), 'root');
    const unpacked = await timed('unpack', () => extractImage(pulled, 'test', rootfs));
    expect(unpacked.layers.map((layer) => layer.diffId)).toEqual(first.imageConfig.rootfs.diff_ids);
    const size = treeSize(rootfs);
    expect(statSync(join(rootfs, DATA_DIR.slice(1))).uid).toBe(USER.uid);
    expect(statSync(join(rootfs, 'usr/local/bin/node')).uid).toBe(0);

    // As a runtime would: the image's user, working directory and environment, nothing else.
    const unshare = which('unshare')!;
    const asImage = [
      '--root',
      rootfs,
      '--wd',
      config.WorkingDir,
      '--setgid',
      `${USER.gid}`,
      '--setuid',
      `${USER.uid}`,
      '--',
    ];
    const imageEnv = Object.fromEntries(
      config.Env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
    // Every module of the server and its packages loads (the cloud SDKs are imported lazily by
    // the server, so serving from the filesystem alone would not show a missing dependency).
    const loaded = await timed('load every module', () =>
      run(
        unshare,
        [
          ...asImage,
          config.Entrypoint[0]!,
          '--input-type=module',
          '-e',
          `import { readdirSync } from 'node:fs';
           const files = [];
           const walk = (dir) => { for (const e of readdirSync(dir, { withFileTypes: true })) {
             const p = dir + '/' + e.name; if (e.isDirectory()) walk(p); else if (p.endsWith('.js')) files.push(p); } };
           walk('/app/dist');
           for (const pkg of readdirSync('/app/node_modules/@berth')) walk('/app/node_modules/@berth/' + pkg + '/dist');
           for (const file of files) if (file !== '${config.Entrypoint[1]}') await import(file);
           console.log(files.length - 1);`,
        ],
        { env: imageEnv, timeoutMs: 60_000 },
      ),
    );
    expect(Number(loaded.stdout.toString())).toBeGreaterThan(100);

    const port = await freePort();
    const server = await timed('start the server from the rootfs', () =>
      startProcessServer({
        name: 'Berth from its image',
        command: unshare,
        args: [...asImage, ...config.Entrypoint, ...config.Cmd],
        env: { ...imageEnv, REGISTRY_HTTP_ADDR: `127.0.0.1:${port}` },
        port,
        configFile: join(rootfs, config.Cmd[0]!),
      }),
    );
    servers.push(server);

    const small = join(tempDir('small'), 'layout');
    const layout = await writeOciLayout(small, {
      images: {
        v1: {
          platform: { os: 'linux', architecture: 'amd64' },
          layers: [{ size: 300_000, seed: 'image-test', format: 'tar+gzip' }],
        },
      },
    });
    const through = `docker://${server.host}/team/app:v1`;
    await timed('push and pull through it', async () => {
      await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${small}:v1`, through]);
      await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', through, `oci:${small}-back:v1`]);
    });
    const back = await reachableBlobs(`${small}-back`, 'v1');
    expect(back.map((blob) => blob.digest)).toEqual(
      (await reachableBlobs(small, 'v1')).map((blob) => blob.digest),
    );
    expect(back[0]!.digest).toBe(layout.images.v1!.descriptor.digest);
    // The blobs landed in the volume, written by the image's user.
    const layer = layout.images.v1!.layers[0]!.digest.slice(7);
    const data = join(
      rootfs,
      DATA_DIR.slice(1),
      'docker/registry/v2/blobs/sha256',
      layer.slice(0, 2),
      layer,
      'data',
    );
    expect(statSync(data).uid).toBe(USER.uid);

    await timed('stop (SIGTERM)', () => server.stop());
    expect(server.logs()).toMatch(/"msg":"listening"/);
    timings.total = Math.round(performance.now() - started);

    console.log(
      [
        `image ${first.manifest.digest} (Node.js ${first.node.version}; ${first.debian.map((pkg) => `${pkg.name}=${pkg.version}`).join(' ')})`,
        ...first.layers.map(
          (layer) =>
            `  ${layer.name.padEnd(6)} ${layer.digest}  ${mib(layer.size).padStart(9)} gzipped, ${mib(layer.contentBytes).padStart(9)} of files, ${layer.entries} entries`,
        ),
        `  compressed layers ${mib(first.compressedBytes)}; unpacked root filesystem ${mib(size.bytes)} in ${size.entries} entries`,
        `  builds: 1 and 2 (every layer compressed again) ${second.manifest.digest === first.manifest.digest ? 'same' : 'DIFFERENT'} digest, 3 (layer cache) ${third.manifest.digest === first.manifest.digest ? 'same' : 'different sources'}`,
        `  runtime: unshare --root (util-linux ${(await run('unshare', ['--version'])).stdout.toString().trim().split(' ').pop()}), uid ${USER.uid}, no namespaces, no mounts`,
        `  timings (ms): ${Object.entries(timings)
          .map(([what, ms]) => `${what} ${ms}`)
          .join(', ')}`,
      ].join('\n'),
    );
    expect(timings.total).toBeLessThan(240_000);
  });

  it('gets the same system layer from downloaded packages and from the installed files', {
    timeout: 60_000,
  }, async () => {
    const cacheDir = join(cache(), 'debs');
    const digest = async (installedOnly: boolean): Promise<string> => {
      const { tree, packages } = await buildSystemLayer({ cacheDir, installedOnly });
      expect(new Set(packages.map((pkg) => pkg.origin)).size).toBe(1);
      const hash = createHash('sha256');
      for await (const chunk of tarStream(tree.entries(), 0)) hash.update(chunk);
      return hash.digest('hex');
    };
    expect(await digest(true)).toBe(await digest(false));
  });
});
