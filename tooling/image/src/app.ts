/**
 * The app layer: the server compiled to JavaScript, and its production dependencies.
 *
 * Compiling: every workspace package in the server's production closure is transpiled file by
 * file with TypeScript's `transpileModule` and the repository's compiler options — exactly what
 * `pnpm build` (`tsc -p tsconfig.build.json`) emits for these ESM-only, `isolatedModules`
 * packages, minus declarations and source maps, in seconds and without the 1.5 minutes a cold
 * `pnpm build` takes (types are checked by `pnpm typecheck`, not here). The server itself has no
 * build script; it is compiled the same way. Tests, benchmarks, `test-support/` and `e2e/` are
 * left out, and every import of the emitted code is checked to resolve to a shipped file, a
 * Node built-in or a production dependency of the importing package.
 *
 * Dependencies: the exact package directories pnpm installed from the lockfile, in pnpm's own
 * layout (`node_modules/.pnpm/<id>/node_modules/…`, relative symlinks between them), for the
 * production closure only: each package's `dependencies` and `optionalDependencies`, then what pnpm
 * linked beside each package (its dependencies and resolved peers). Nothing is downloaded or
 * copied; files are read straight into the tar. `pnpm deploy` was not used: without
 * `inject-workspace-packages` it refuses, and with `--legacy` it re-resolves the whole workspace
 * (network, ~11 s), copies the workspace packages' `src/` and needs `dist/` built first.
 */

import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { LayerTree } from './tree.ts';

/** Where the app lives in the image. */
export const APP_DIR = '/app';
/** The server's entry point in the image. */
export const APP_MAIN: string = `${APP_DIR}/dist/main.js`;
/** Where the shipped configuration goes (registry:2's path). */
export const CONFIG_PATH = '/etc/docker/registry/config.yml';

/** The server package, relative to the repository root. */
const SERVER_DIR = 'apps/registry-server';

export interface AppLayer {
  tree: LayerTree;
  /** Workspace packages compiled into the image (name → files). */
  workspace: Array<{ name: string; files: number }>;
  /** pnpm package ids of the dependencies (`hono@4.13.19`). */
  dependencies: string[];
  /** sha256 over the compiled sources' paths and contents: equal for two builds of the same sources. */
  sourceDigest: string;
}

export interface AppLayerOptions {
  root: string;
  /** The `config.yml` to ship at {@link CONFIG_PATH}. */
  configFile: string;
}

interface PackageJson {
  name: string;
  version?: string;
  type?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  exports?: unknown;
  [key: string]: unknown;
}

interface WorkspacePackage {
  name: string;
  dir: string;
  manifest: PackageJson;
  /** Image path of its directory (`app` for the server, `app/node_modules/@berth/x` for the rest). */
  imageDir: string;
}

/** Source files that go into the image: not tests, benchmarks or test helpers (`test-support/`, `test-support.ts`, `e2e/`). */
function isShippedSource(file: string): boolean {
  const parts = file.split(sep);
  return (
    file.endsWith('.ts') &&
    !file.endsWith('.d.ts') &&
    !file.endsWith('.test.ts') &&
    !file.endsWith('.bench.ts') &&
    !file.endsWith('test-support.ts') &&
    !parts.includes('test-support') &&
    !parts.includes('e2e')
  );
}

/** Dependency files that are never loaded at run time: type declarations and source maps. */
function isPrunedDependencyFile(name: string): boolean {
  return /\.d\.[cm]?ts$/.test(name) || name.endsWith('.map');
}

function runtimeDependencies(manifest: PackageJson): Record<string, string> {
  return { ...manifest.optionalDependencies, ...manifest.dependencies };
}

export async function buildAppLayer(options: AppLayerOptions): Promise<AppLayer> {
  const root = resolve(options.root);
  const store = join(root, 'node_modules', '.pnpm');
  const tree = new LayerTree();

  // The workspace packages the server needs at run time.
  const serverDir = join(root, SERVER_DIR);
  const server = await readManifest(serverDir);
  const workspace = new Map<string, WorkspacePackage>();
  workspace.set(server.name, {
    name: server.name,
    dir: serverDir,
    manifest: server,
    imageDir: APP_DIR.slice(1),
  });
  const pending = [serverDir];
  const externals: Array<{ owner: WorkspacePackage; name: string; link: string }> = [];
  while (pending.length > 0) {
    const dir = pending.shift()!;
    const owner = [...workspace.values()].find((pkg) => pkg.dir === dir)!;
    for (const [name, spec] of Object.entries(runtimeDependencies(owner.manifest))) {
      const link = join(dir, 'node_modules', name);
      if (spec.startsWith('workspace:')) {
        if (workspace.has(name)) continue;
        const target = await realpath(link);
        workspace.set(name, {
          name,
          dir: target,
          manifest: await readManifest(target),
          imageDir: `${APP_DIR.slice(1)}/node_modules/${name}`,
        });
        pending.push(target);
      } else {
        externals.push({ owner, name, link });
      }
    }
  }

  // Compile them.
  const compilerOptions = await compilerOptionsOf(root);
  const written = new Set<string>();
  const sources = createHash('sha256');
  const emitted: Array<{ owner: WorkspacePackage; path: string; text: string }> = [];
  const counts: AppLayer['workspace'] = [];
  for (const pkg of [...workspace.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (pkg.manifest.type !== 'module')
      throw new Error(`${pkg.name}: only ESM packages ("type": "module") are compiled`);
    const src = join(pkg.dir, 'src');
    const files = (await readdir(src, { recursive: true })).filter(isShippedSource).sort();
    for (const file of files) {
      const input = await readFile(join(src, file), 'utf8');
      sources.update(`${pkg.name}/src/${file}\0${input.length}\0`).update(input);
      const result = ts.transpileModule(input, {
        fileName: join(src, file),
        compilerOptions,
        reportDiagnostics: true,
      });
      const problems = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
      if (problems.length > 0) {
        throw new Error(
          `${pkg.name}/src/${file}: ${ts.flattenDiagnosticMessageText(problems[0]!.messageText, '\n')}`,
        );
      }
      const path = `${pkg.imageDir}/dist/${file.split(sep).join('/').replace(/\.ts$/, '.js')}`;
      tree.text(path, result.outputText);
      written.add(path);
      emitted.push({ owner: pkg, path, text: result.outputText });
    }
    tree.text(`${pkg.imageDir}/package.json`, `${JSON.stringify(shippedManifest(pkg.manifest), null, 2)}\n`);
    // The package's license text travels with it (the server's falls back to the repository's).
    const license = [join(pkg.dir, 'LICENSE'), ...(pkg.dir === serverDir ? [join(root, 'LICENSE')] : [])];
    for (const candidate of license) {
      const bytes = await readFile(candidate).catch(() => undefined);
      if (bytes === undefined) continue;
      tree.file(`${pkg.imageDir}/LICENSE`, { bytes }, bytes.length);
      break;
    }
    for (const target of exportTargets(shippedManifest(pkg.manifest).exports)) {
      const path = posix.join(pkg.imageDir, target);
      if (!written.has(path)) throw new Error(`${pkg.name}: its export ${target} was not compiled`);
    }
    counts.push({ name: pkg.name, files: files.length });
  }
  checkImports(emitted, written, workspace);

  // The dependencies, in pnpm's layout.
  const ids = new Set<string>();
  const queue: string[] = [];
  const enqueue = (id: string): void => {
    if (!ids.has(id)) {
      ids.add(id);
      queue.push(id);
    }
  };
  for (const { owner, name, link } of externals) {
    const target = await realpath(link).catch(() => undefined);
    if (target === undefined) {
      if (owner.manifest.optionalDependencies?.[name] !== undefined) continue;
      throw new Error(`${owner.name}: dependency ${name} is not installed (run pnpm install)`);
    }
    const inStore = storeRelative(store, target);
    if (inStore === undefined)
      throw new Error(`${owner.name}: ${name} resolves outside node_modules/.pnpm (${target})`);
    enqueue(inStore.split('/')[0]!);
    const linkPath = `${owner.imageDir}/node_modules/${name}`;
    const imageTarget = `${APP_DIR.slice(1)}/node_modules/.pnpm/${inStore}`;
    tree.symlink(linkPath, posix.relative(posix.dirname(linkPath), imageTarget));
  }
  while (queue.length > 0) {
    const id = queue.shift()!;
    await copyStoreDir(
      join(store, id, 'node_modules'),
      `${APP_DIR.slice(1)}/node_modules/.pnpm/${id}/node_modules`,
    );
  }
  // pnpm also links every installed package into .pnpm/node_modules, where packages that use a
  // dependency they forgot to declare find it; keep that for the packages shipped.
  const hoisted = join(store, 'node_modules');
  for (const name of await listPackageNames(hoisted)) {
    const link = join(hoisted, name);
    const target = await realpath(link).catch(() => undefined);
    const inStore = target === undefined ? undefined : storeRelative(store, target);
    if (inStore === undefined || !ids.has(inStore.split('/')[0]!)) continue;
    tree.symlink(`${APP_DIR.slice(1)}/node_modules/.pnpm/node_modules/${name}`, await readlink(link));
  }

  const config = await readFile(options.configFile);
  tree.file(CONFIG_PATH, { bytes: config }, config.length);
  return {
    tree,
    workspace: counts,
    dependencies: [...ids].sort(),
    sourceDigest: `sha256:${sources.digest('hex')}`,
  };

  /** Adds `dir` (a `.pnpm/<id>/node_modules`) to the layer as `imagePath`, following nothing. */
  async function copyStoreDir(dir: string, imagePath: string): Promise<void> {
    tree.directory(imagePath);
    for (const name of (await readdir(dir)).sort()) {
      if (name === '.bin') continue; // shims with absolute paths of this machine
      const path = join(dir, name);
      const image = `${imagePath}/${name}`;
      const info = await lstat(path);
      if (info.isSymbolicLink()) {
        const target = await readlink(path);
        const resolved = await realpath(path).catch(() => undefined);
        if (resolved === undefined) continue; // an optional dependency pnpm skipped
        const inStore = storeRelative(store, resolved);
        if (target.startsWith('/') || inStore === undefined) {
          throw new Error(`${path} links outside node_modules/.pnpm (${target})`);
        }
        enqueue(inStore.split('/')[0]!);
        tree.symlink(image, target);
      } else if (info.isDirectory()) {
        await copyStoreDir(path, image);
      } else if (info.isFile()) {
        if (isPrunedDependencyFile(name)) continue;
        tree.file(image, { file: path }, info.size, info.mode & 0o111 ? 0o755 : 0o644);
      }
    }
  }
}

/** `target`'s path below `store` (`<id>/node_modules/<name>…`), or `undefined` outside it. */
function storeRelative(store: string, target: string): string | undefined {
  const rel = relative(store, target);
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep) || rel.split(sep)[0] === 'node_modules')
    return undefined;
  return rel.split(sep).join('/');
}

/** Package names in a `node_modules` directory (`hono`, `@aws-sdk/client-s3`). */
async function listPackageNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (entry.startsWith('@')) {
      for (const inner of (await readdir(join(dir, entry))).sort()) names.push(`${entry}/${inner}`);
    } else if (!entry.startsWith('.')) {
      names.push(entry);
    }
  }
  return names;
}

async function readManifest(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/**
 * The repository's compiler options (`tooling/tsconfig/base.json`) for emitting: ES modules
 * (every package is `"type": "module"`, so `nodenext` emits ESM for each file), no declarations,
 * no source maps.
 */
async function compilerOptionsOf(root: string): Promise<ts.CompilerOptions> {
  const file = join(root, 'tooling', 'tsconfig', 'base.json');
  const parsed = ts.parseConfigFileTextToJson(file, await readFile(file, 'utf8'));
  if (parsed.error)
    throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(parsed.error.messageText, '\n')}`);
  const raw = (parsed.config as { compilerOptions: Record<string, unknown> }).compilerOptions;
  const { options, errors } = ts.convertCompilerOptionsFromJson(raw, dirname(file));
  if (errors.length > 0)
    throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(errors[0]!.messageText, '\n')}`);
  const {
    customConditions: _conditions,
    moduleResolution: _resolution,
    declaration: _declaration,
    declarationMap: _declarationMap,
    isolatedDeclarations: _isolatedDeclarations,
    sourceMap: _sourceMap,
    noEmit: _noEmit,
    ...rest
  } = options;
  return {
    ...rest,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    declaration: false,
    sourceMap: false,
    noEmit: false,
  };
}

/** The package.json shipped: no scripts, dev dependencies, `files` or `bin`; exports without the source and types conditions. */
function shippedManifest(manifest: PackageJson): PackageJson {
  const { devDependencies: _dev, scripts: _scripts, files: _files, bin: _bin, ...rest } = manifest;
  return rest.exports === undefined ? rest : { ...rest, exports: shippedExports(rest.exports) };
}

function shippedExports(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/^\.\/src\/(.*)\.ts$/, './dist/$1.js');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '@berth/source' || key === 'types') continue;
    out[key] = shippedExports(inner);
  }
  return out;
}

/** The JavaScript files an exports map points to (`./dist/index.js`), not `./package.json`. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return value.endsWith('.js') ? [value] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(exportTargets);
}

const builtins = new Set(builtinModules);

/**
 * Every import of the emitted code resolves: a relative one to an emitted file, a bare one to a
 * Node built-in or a production dependency of the importing package (workspace or not).
 */
function checkImports(
  emitted: ReadonlyArray<{ owner: WorkspacePackage; path: string; text: string }>,
  written: ReadonlySet<string>,
  workspace: ReadonlyMap<string, WorkspacePackage>,
): void {
  for (const { owner, path, text } of emitted) {
    const dependencies = runtimeDependencies(owner.manifest);
    for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
      if (specifier.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(path), specifier));
        if (!written.has(target)) throw new Error(`/${path} imports ${specifier}, which is not in the image`);
        continue;
      }
      if (specifier.startsWith('node:') || builtins.has(specifier.split('/')[0]!)) continue;
      const parts = specifier.split('/');
      const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
      if (dependencies[name] === undefined && owner.manifest.peerDependencies?.[name] === undefined) {
        throw new Error(
          `/${path} imports ${specifier}, which is not a production dependency of ${owner.name}`,
        );
      }
      if (dependencies[name]?.startsWith('workspace:') && !workspace.has(name)) {
        throw new Error(`/${path} imports ${name}, which was not compiled`);
      }
    }
  }
}
