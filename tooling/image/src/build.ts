/**
 * `buildImage()`: the Berth server as an OCI image layout, three layers — system (glibc & co.
 * from Debian, users, CA bundle), node (the Node.js binary), app (the compiled server and its
 * production dependencies, the default config) — so a change to the server replaces only the
 * last. The same inputs give the same bytes: see README.md ("Reproducibility").
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_MAIN, buildAppLayer, CONFIG_PATH } from './app.ts';
import { type WrittenLayer, writeLayer } from './layer.ts';
import { defaultNodeVersion, obtainNode } from './node-binary.ts';
import { checkTag, type Descriptor, MediaType, prepareLayout, tagManifest, writeJsonBlob } from './oci.ts';
import { type SourceInfo, sourceInfo } from './source-info.ts';
import { buildSystemLayer, checkLibraries, DATA_DIR, USER } from './system.ts';
import { LayerTree } from './tree.ts';

/** The repository root (this file is `tooling/image/src/build.ts`). */
export const repoRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

/** The default config shipped at `/etc/docker/registry/config.yml`. */
export const defaultConfigFile: string = fileURLToPath(new URL('../config.yml', import.meta.url));

export interface BuildImageOptions {
  /** Repository root; default: the checkout this file is in. */
  root?: string;
  /** The OCI layout directory; default `<root>/.image/berth-oci`. */
  out?: string;
  /** Reference name in the layout (`oci:<out>:<tag>`); default `latest`. */
  tag?: string;
  /** Downloads (Node.js, .deb files) and compressed layers; default `<root>/.image/cache`. */
  cacheDir?: string;
  /** Reuse compressed layers whose tar is byte-identical; default true. */
  layerCache?: boolean;
  /** Node.js version (exact, or a major for the newest); default {@link defaultNodeVersion}. */
  nodeVersion?: string;
  /** `org.opencontainers.image.version`; default `git describe --tags --always --dirty`. */
  version?: string;
  /** `org.opencontainers.image.revision`; default `git rev-parse HEAD`. */
  revision?: string;
  /** gzip level of the layers; default 6 (9 saves 0.3 % for three times the time). */
  gzipLevel?: number;
  /** Build the system layer from the installed files instead of downloaded packages. */
  installedPackagesOnly?: boolean;
  /** Where `SOURCE_DATE_EPOCH` is read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

export type LayerName = 'system' | 'node' | 'app';

export interface BuiltLayer extends WrittenLayer {
  name: LayerName;
}

/** The image config (OCI image spec, `application/vnd.oci.image.config.v1+json`). */
export interface ImageConfig {
  created: string;
  architecture: 'amd64';
  os: 'linux';
  config: {
    User: string;
    ExposedPorts: Record<string, Record<string, never>>;
    Env: string[];
    Entrypoint: string[];
    Cmd: string[];
    Volumes: Record<string, Record<string, never>>;
    WorkingDir: string;
    Labels: Record<string, string>;
    StopSignal: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: Array<{ created: string; created_by: string; comment?: string }>;
}

export interface BuiltImage {
  layout: string;
  tag: string;
  /** skopeo's name for it: `oci:<layout>:<tag>`. */
  reference: string;
  manifest: Descriptor;
  config: Descriptor;
  imageConfig: ImageConfig;
  layers: BuiltLayer[];
  node: { version: string; origin: string };
  debian: Array<{ name: string; version: string; origin: string }>;
  /** Libraries `node` loads, as the loader resolves them inside the image. */
  libraries: string[];
  source: SourceInfo;
  /** Digest of the TypeScript sources compiled into the app layer (see `AppLayer.sourceDigest`). */
  sourceDigest: string;
  /** Sum of the gzipped layers. */
  compressedBytes: number;
  /** Sum of the regular files' bytes of all layers (the unpacked root filesystem, less metadata). */
  contentBytes: number;
  ms: number;
}

export async function buildImage(options: BuildImageOptions = {}): Promise<BuiltImage> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const root = resolve(options.root ?? repoRoot);
  const layout = resolve(options.out ?? join(root, '.image', 'berth-oci'));
  const cacheDir = resolve(options.cacheDir ?? join(root, '.image', 'cache'));
  const tag = options.tag ?? 'latest';
  const level = options.gzipLevel ?? 6;
  checkTag(tag);
  if (!Number.isInteger(level) || level < 1 || level > 9)
    throw new Error(`gzip level must be 1–9, got ${level}`);
  for (const dir of [layout, cacheDir]) await ignoreInGit(root, dir);

  const found = await sourceInfo(root, options.env ?? process.env);
  const source = options.revision === undefined ? found : { ...found, revision: options.revision };
  const created = new Date(source.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  log(`source: ${source.describe ?? 'no git'}; timestamps ${created} (${source.epochFrom})`);
  if (source.dirty)
    log('  the working tree has uncommitted changes: the image holds them, its revision label names HEAD');

  const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await work();
    log(`${what} (${Math.round(performance.now() - t)} ms)`);
    return result;
  };
  const [node, system, app] = await Promise.all([
    timed('node: found', () =>
      obtainNode({
        version: options.nodeVersion ?? defaultNodeVersion(),
        root,
        cacheDir: join(cacheDir, 'node'),
        log,
      }),
    ),
    timed('system: Debian packages read', () =>
      buildSystemLayer({
        cacheDir: join(cacheDir, 'debs'),
        installedOnly: options.installedPackagesOnly ?? false,
        log,
      }),
    ),
    timed('app: compiled and dependencies collected', () =>
      buildAppLayer({ root, configFile: defaultConfigFile }),
    ),
  ]);
  log(`  node ${node.version} from ${node.origin}`);
  for (const pkg of system.packages) log(`  ${pkg.name}=${pkg.version} (${pkg.origin})`);
  log(
    `  ${app.workspace.map((pkg) => `${pkg.name} (${pkg.files})`).join(', ')}; ${app.dependencies.length} dependency packages`,
  );

  const nodeTree = new LayerTree();
  nodeTree.file('usr/local/bin/node', { file: node.binary }, await fileSize(node.binary), 0o755);
  nodeTree.file('usr/local/share/doc/node/LICENSE', { file: node.license }, await fileSize(node.license));
  const libraries = await checkLibraries(system.tree, { file: node.binary }, 'node');

  await prepareLayout(layout);
  const layerOptions = {
    layout,
    mtime: source.epoch,
    level,
    ...(options.layerCache === false ? {} : { cacheDir: join(cacheDir, 'layers') }),
  };
  const trees: Array<[LayerName, LayerTree]> = [
    ['system', system.tree],
    ['node', nodeTree],
    ['app', app.tree],
  ];
  const layers = await timed('layers: written', () =>
    Promise.all(trees.map(async ([name, tree]) => ({ name, ...(await writeLayer(tree, layerOptions)) }))),
  );
  for (const layer of layers) {
    log(
      `  ${layer.name.padEnd(6)} ${layer.digest}  ${mib(layer.size)} gzipped, ${mib(layer.contentBytes)} of files in ` +
        `${layer.entries} entries${layer.cached ? ' (cached)' : ''}, ${layer.ms} ms`,
    );
  }

  const debianLabel = system.packages.map((pkg) => `${pkg.name}=${pkg.version}`).join(' ');
  const labels: Record<string, string> = {
    'berth.debian.packages': debianLabel,
    'berth.node.version': node.version,
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.description':
      'Berth: an OCI Distribution registry, a drop-in successor to registry:2',
    'org.opencontainers.image.licenses': 'Apache-2.0',
    ...(source.revision === undefined ? {} : { 'org.opencontainers.image.revision': source.revision }),
    'org.opencontainers.image.title': 'Berth',
    'org.opencontainers.image.version': options.version ?? source.describe ?? '0.0.0',
  };
  const imageConfig: ImageConfig = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: `${USER.uid}:${USER.gid}`,
      ExposedPorts: { '5000/tcp': {} },
      Env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'NODE_ENV=production',
        // Trust /etc/ssl/certs/ca-certificates.crt besides Node's own roots, as registry:2 (Go)
        // trusts the system bundle: a private CA mounted there reaches the cloud drivers.
        'NODE_USE_SYSTEM_CA=1',
      ],
      Entrypoint: ['/usr/local/bin/node', APP_MAIN],
      Cmd: [CONFIG_PATH],
      Volumes: { [DATA_DIR]: {} },
      WorkingDir: DATA_DIR,
      Labels: labels,
      StopSignal: 'SIGTERM',
    },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: [
      { created, created_by: `berth image: system layer (${debianLabel}; users, CA bundle)` },
      { created, created_by: `berth image: node layer (Node.js ${node.version} linux-x64 from npm)` },
      {
        created,
        created_by: `berth image: app layer (${app.workspace.length} workspace packages compiled, ${app.dependencies.length} dependency packages, ${CONFIG_PATH})`,
      },
    ],
  };
  const config = await writeJsonBlob(layout, MediaType.config, imageConfig);
  const manifest = await writeJsonBlob(layout, MediaType.manifest, {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config,
    layers: layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size })),
  });
  await tagManifest(layout, tag, manifest);
  const compressedBytes = layers.reduce((sum, layer) => sum + layer.size, 0);
  const contentBytes = layers.reduce((sum, layer) => sum + layer.contentBytes, 0);
  const ms = Math.round(performance.now() - started);
  log(`image: ${manifest.digest} (${mib(compressedBytes)} gzipped, ${mib(contentBytes)} of files), ${ms} ms`);
  return {
    layout,
    tag,
    reference: `oci:${layout}:${tag}`,
    manifest,
    config,
    imageConfig,
    layers,
    node: { version: node.version, origin: node.origin },
    debian: system.packages.map((pkg) => ({ name: pkg.name, version: pkg.version, origin: pkg.origin })),
    libraries,
    source,
    sourceDigest: app.sourceDigest,
    compressedBytes,
    contentBytes,
    ms,
  };
}

/** `12.3 MiB`. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** A directory made under `<root>/.image/` gets a `.gitignore` there, so git and Biome skip the build output. */
async function ignoreInGit(root: string, dir: string): Promise<void> {
  const base = join(root, '.image');
  const rel = relative(base, dir);
  if (rel.startsWith('..') || resolve(base, rel) !== dir) return;
  await mkdir(base, { recursive: true });
  await writeFile(join(base, '.gitignore'), '# build output of `./berth image`\n*\n');
}
