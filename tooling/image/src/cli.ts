#!/usr/bin/env node
/**
 * `pnpm image [--out DIR] [--tag NAME] …` (also `./berth image`): builds the Berth server's OCI
 * image as an OCI image layout and prints its layers, sizes and digest. See README.md.
 */
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildImage, mib } from './build.ts';

const USAGE = `usage: pnpm image [options]        (also: ./berth image [options])

Builds the Berth server's container image, without Docker, as an OCI image layout.

  --out DIR          the layout directory (default .image/berth-oci)
  --tag NAME         its tag in the layout (default latest): oci:DIR:NAME
  --node VERSION     Node.js version, exact or a major (default: the running Node when it is 24.x, else 24)
  --version TEXT     org.opencontainers.image.version (default: git describe --tags --always --dirty)
  --cache DIR        downloads and compressed layers (default .image/cache)
  --no-cache         compress every layer again (downloads are still reused)
  --gzip-level N     1-9 (default 6)
  --installed-packages
                     take the system layer's files from the installed Debian packages
                     (checked against dpkg's md5sums) instead of apt-get download
  -h, --help         this text

SOURCE_DATE_EPOCH (seconds) sets the timestamps; otherwise the commit time is used.
`;

/** Where the user ran the command: pnpm runs scripts in the root and says where it was invoked. */
function invocationDirectory(): string {
  const initCwd = process.env.INIT_CWD;
  return process.env.npm_lifecycle_event === 'image' && initCwd ? initCwd : process.cwd();
}

async function main(): Promise<void> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse().values;
  } catch (error) {
    process.stderr.write(`berth image: ${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const cwd = invocationDirectory();
  const at = (path: string | undefined): string | undefined =>
    path === undefined ? undefined : resolve(cwd, path);
  const image = await buildImage({
    ...(values.out === undefined ? {} : { out: at(values.out)! }),
    ...(values.cache === undefined ? {} : { cacheDir: at(values.cache)! }),
    ...(values.tag === undefined ? {} : { tag: values.tag }),
    ...(values.node === undefined ? {} : { nodeVersion: values.node }),
    ...(values.version === undefined ? {} : { version: values.version }),
    ...(values['gzip-level'] === undefined ? {} : { gzipLevel: Number(values['gzip-level']) }),
    layerCache: !values['no-cache'],
    installedPackagesOnly: values['installed-packages'] ?? false,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const shown = relative(cwd, image.layout) || '.';
  process.stdout.write(
    [
      '',
      `${image.manifest.digest}  oci:${shown}:${image.tag}`,
      ...image.layers.map(
        (layer) => `  ${layer.name.padEnd(6)} ${layer.digest}  ${mib(layer.size).padStart(9)}`,
      ),
      `  ${mib(image.compressedBytes)} to pull, ${mib(image.contentBytes)} unpacked; Node.js ${image.node.version}`,
      '',
      'Load it into a container runtime:',
      `  skopeo copy oci:${shown}:${image.tag} docker-daemon:berth:${image.tag}`,
      `  podman pull oci:${shown}:${image.tag}`,
      '',
    ].join('\n'),
  );
}

function parse() {
  return parseArgs({
    options: {
      out: { type: 'string' },
      tag: { type: 'string' },
      node: { type: 'string' },
      version: { type: 'string' },
      cache: { type: 'string' },
      'no-cache': { type: 'boolean' },
      'gzip-level': { type: 'string' },
      'installed-packages': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`berth image: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
