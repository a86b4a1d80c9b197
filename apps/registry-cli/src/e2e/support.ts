/**
 * Shared pieces of the CLI's end-to-end tests: running the real `berth` executable, skopeo
 * copies and verified pulls, raw uploads over HTTP, and the blobs on disk.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Descriptor,
  type RunningServer,
  reachableBlobs,
  skopeo,
  type WrittenIndex,
  type WrittenManifest,
} from '@berth/test-servers';
import { expect } from 'vitest';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** A fresh temp dir and its removal. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `berth-cli-e2e-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true, maxRetries: 3 }) };
}

/** What a `berth` process did. */
export interface BerthRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs the real `berth` executable (node + main.ts) to completion. */
export function berthProcess(args: readonly string[]): Promise<BerthRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@berth/source', MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** `berth gc CONFIG … --json`, failing unless it exits 0; returns the parsed report. */
export async function gcJson(config: string, ...args: string[]): Promise<GcJson> {
  const run = await berthProcess(['gc', config, '--json', ...args]);
  if (run.code !== 0) throw new Error(`berth gc ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as GcJson;
}

/** The parts of `berth gc --json` the tests read. */
export interface GcJson {
  readonly bytesReclaimed: number;
  readonly durationMs: number;
  readonly deleted: {
    readonly manifests: { repository: string; digest: string }[];
    readonly blobs: { digest: string; size: number }[];
    readonly layerLinks: { repository: string; digest: string }[];
  };
  readonly restored: { manifests: unknown[]; blobs: { digest: string }[] };
  readonly blobs: { readonly recent: number };
}

/** `skopeo copy --preserve-digests` over plain HTTP. */
export function copy(from: string, to: string, options: { all?: boolean } = {}): Promise<unknown> {
  return skopeo(
    [
      'copy',
      ...(options.all ? ['--all'] : []),
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--quiet',
      from,
      to,
    ],
    { timeoutMs: 90_000 },
  );
}

/** `skopeo inspect --raw`: the manifest bytes exactly as served. */
export async function inspectRaw(reference: string): Promise<string> {
  const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', '--retry-times=0', reference]);
  return stdout;
}

/** `sha256:<hex>` of a string's UTF-8 bytes or of bytes. */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Every blob of a written index or image (manifests, configs, layers), in the layout's order. */
export function blobsOf(written: WrittenIndex | WrittenManifest): Descriptor[] {
  const image = (m: WrittenManifest): Descriptor[] => [m.descriptor, m.config, ...m.layers];
  return 'manifests' in written ? [written.descriptor, ...written.manifests.flatMap(image)] : image(written);
}

/**
 * Pulls `repository:tag` (or `@digest`) with skopeo into a new OCI layout and checks that every
 * blob reachable from it is there and hashes to its digest, and that they are exactly
 * `expected` (the digests written into the source layout).
 */
export async function pullAndVerify(
  server: RunningServer,
  into: string,
  reference: string,
  expected: readonly Descriptor[],
  options: { all?: boolean } = {},
): Promise<void> {
  const ref = 'pulled';
  await copy(`docker://${server.host}/${reference}`, `oci:${into}:${ref}`, options);
  const reached = await reachableBlobs(into, ref);
  expect({ reference, digests: reached.map((b) => b.digest).sort() }).toEqual({
    reference,
    digests: expected.map((d) => d.digest).sort(),
  });
}

/** Every blob digest in the storage root (`blobs/sha256/<2>/<hex>/data`). */
export async function blobsOnDisk(root: string): Promise<string[]> {
  const base = join(root, 'docker/registry/v2/blobs/sha256');
  const out: string[] = [];
  for (const prefix of await readdir(base).catch(() => [] as string[])) {
    for (const hex of await readdir(join(base, prefix)).catch(() => [] as string[])) {
      const files = await readdir(join(base, prefix, hex)).catch(() => [] as string[]);
      if (files.includes('data')) out.push(`sha256:${hex}`);
    }
  }
  return out.sort();
}

/** Sets the mtime of every file under `root` `ms` into the past (makes content old). */
export async function age(root: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), then, then).catch(() => {});
  }
}

/** `location` (absolute or not) on `server`. */
function on(server: RunningServer, location: string): URL {
  const url = new URL(location, server.url);
  return new URL(`${url.pathname}${url.search}`, server.url);
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status !== status) {
    throw new Error(
      `${what}: expected HTTP ${status}, got ${response.status} ${(await response.text()).slice(0, 500)}`,
    );
  }
}

/** Uploads `data` in one POST + PUT (monolithic) and returns its digest. */
export async function uploadBlob(
  server: RunningServer,
  repository: string,
  data: Uint8Array,
): Promise<string> {
  const digest = sha256(data);
  const post = await fetch(`${server.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(post, 202, 'POST upload');
  const put = on(server, post.headers.get('location') ?? '');
  put.searchParams.set('digest', digest);
  const done = await fetch(put, {
    method: 'PUT',
    body: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  await expectStatus(done, 201, 'PUT upload');
  return digest;
}

/** An upload left in progress: POST and one PATCH. */
export interface OpenUpload {
  readonly location: string;
  readonly offset: number;
}

/** Starts an upload and sends its first chunk, leaving it in progress. */
export async function startUpload(
  server: RunningServer,
  repository: string,
  chunk: Uint8Array,
): Promise<OpenUpload> {
  const post = await fetch(`${server.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(post, 202, 'POST upload');
  const patch = await fetch(on(server, post.headers.get('location') ?? ''), {
    method: 'PATCH',
    body: chunk,
    headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${chunk.length - 1}` },
  });
  await expectStatus(patch, 202, 'PATCH upload');
  return { location: patch.headers.get('location') ?? '', offset: chunk.length };
}

/** Sends the rest of an upload and completes it with `digest`; returns the final status. */
export async function finishUpload(
  server: RunningServer,
  upload: OpenUpload,
  rest: Uint8Array,
  digest: string,
): Promise<number> {
  const patch = await fetch(on(server, upload.location), {
    method: 'PATCH',
    body: rest,
    headers: {
      'content-type': 'application/octet-stream',
      'content-range': `${upload.offset}-${upload.offset + rest.length - 1}`,
    },
  });
  await expectStatus(patch, 202, 'PATCH rest');
  const put = on(server, patch.headers.get('location') ?? upload.location);
  put.searchParams.set('digest', digest);
  return (await fetch(put, { method: 'PUT' })).status;
}

/** DELETE a manifest by digest. */
export async function deleteManifest(
  server: RunningServer,
  repository: string,
  digest: string,
): Promise<void> {
  const response = await fetch(`${server.url}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
  await expectStatus(response, 202, `DELETE ${repository}@${digest}`);
}

/** Status of `HEAD /v2/<repository>/blobs/<digest>`. */
export async function headBlob(server: RunningServer, repository: string, digest: string): Promise<number> {
  return (await fetch(`${server.url}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' })).status;
}
