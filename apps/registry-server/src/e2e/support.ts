/**
 * Shared pieces of the end-to-end tests: which servers to run against, temp dirs, skopeo
 * references, and the expected blobs of a layout written by `writeOciLayout`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Descriptor,
  type FilesystemServerOptions,
  type OciLayoutSpec,
  type RunningServer,
  skopeo,
  startBerth,
  startRegistry2,
  type WrittenIndex,
  type WrittenManifest,
} from '@berth/test-servers';

/** A registry the tests can run against. */
export interface Target {
  /** `berth` or `registry2` (the values of `BERTH_E2E_TARGETS`). */
  id: 'berth' | 'registry2';
  /** For test names. */
  label: string;
  /** Executables it needs besides skopeo. */
  tools: string[];
  /** Whether it serves `GET /v2/<name>/referrers/<digest>` (registry:2 2.8 does not). */
  referrers: boolean;
  start(options: FilesystemServerOptions): Promise<RunningServer>;
}

export const targets: Record<Target['id'], Target> = {
  berth: { id: 'berth', label: 'Berth', tools: [], referrers: true, start: startBerth },
  registry2: {
    id: 'registry2',
    label: 'registry:2',
    tools: ['docker-registry'],
    referrers: false,
    start: startRegistry2,
  },
};

/**
 * The targets selected by `BERTH_E2E_TARGETS` (comma-separated ids; default `berth,registry2`:
 * Berth is what is under test, registry:2 keeps the tests themselves honest).
 */
export function selectedTargets(): Target[] {
  const ids = (process.env.BERTH_E2E_TARGETS ?? 'berth,registry2')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  return ids.map((id) => {
    const target = targets[id as Target['id']];
    if (!target)
      throw new Error(`BERTH_E2E_TARGETS: unknown target ${JSON.stringify(id)} (use berth, registry2)`);
    return target;
  });
}

/** A fresh temp dir and its removal. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `berth-e2e-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** skopeo flags for plain HTTP on loopback. */
export const insecureSource = '--src-tls-verify=false';
export const insecureDestination = '--dest-tls-verify=false';

/**
 * `skopeo copy` that must not change a single digest: `--preserve-digests` stops skopeo from
 * recompressing (it would gzip `…layer.v1.tar` layers on push and rewrite the manifests).
 * `retryTimes`: skopeo's `--retry-times` (network errors retried; default none).
 */
export function copy(
  from: string,
  to: string,
  options: { all?: boolean; retryTimes?: number } = {},
): Promise<unknown> {
  return skopeo(
    [
      'copy',
      ...(options.all ? ['--all'] : []),
      ...(options.retryTimes === undefined ? [] : [`--retry-times=${options.retryTimes}`]),
      '--preserve-digests',
      insecureSource,
      insecureDestination,
      '--quiet',
      from,
      to,
    ],
    { timeoutMs: 90_000 },
  );
}

/** `skopeo inspect --raw` (the manifest bytes exactly as served), or with `config`, the config blob. */
export async function inspectRaw(reference: string, options: { config?: boolean } = {}): Promise<string> {
  const { stdout } = await skopeo([
    'inspect',
    '--raw',
    ...(options.config ? ['--config'] : []),
    '--tls-verify=false',
    '--retry-times=0',
    reference,
  ]);
  return stdout;
}

/** One blob an image or index consists of, as the tests compare them. */
export interface ExpectedBlob {
  digest: string;
  size: number;
  mediaType: string;
  path: string;
}

const blob = (descriptor: Descriptor, path: string): ExpectedBlob => ({
  digest: descriptor.digest,
  size: descriptor.size,
  mediaType: descriptor.mediaType,
  path,
});

function manifestBlobs(manifest: WrittenManifest, path: string): ExpectedBlob[] {
  return [
    blob(manifest.descriptor, path),
    blob(manifest.config, `${path} > config`),
    ...manifest.layers.map((layer, i) => blob(layer, `${path} > layer[${i}]`)),
  ];
}

/**
 * What `reachableBlobs(dir, ref)` must find for an index or a manifest written by
 * `writeOciLayout`, in the same order — computed from what was written, not re-read from disk.
 */
export function expectedBlobs(written: WrittenIndex | WrittenManifest): ExpectedBlob[] {
  if ('manifests' in written) {
    return [
      blob(written.descriptor, 'ref'),
      ...written.manifests.flatMap((manifest, i) => manifestBlobs(manifest, `ref > manifest[${i}]`)),
    ];
  }
  return manifestBlobs(written, 'ref');
}

/** `sha256:<hex>` of a string's UTF-8 bytes (skopeo's `--raw` output is exactly the served bytes). */
export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** GET `url` and parse JSON, failing with the status and body when it is not 200. */
export async function getJson(
  url: string,
  init: RequestInit = {},
): Promise<{ body: unknown; headers: Headers }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`GET ${url} → HTTP ${response.status} ${[...response.headers].join('; ')}\n${text}`);
  }
  try {
    return { body: JSON.parse(text), headers: response.headers };
  } catch {
    throw new Error(`GET ${url} → 200 but not JSON: ${text.slice(0, 500)}`);
  }
}

/** The artifact type of the SBOM referrer in {@link multiPlatformWithReferrer}. */
export const SBOM_TYPE = 'application/vnd.example.sbom.v1+json';

/**
 * An OCI layout's index `multi` (linux/amd64 with a 1 MiB and a gzipped layer, linux/arm64/v8 with
 * one gzipped layer) and an SBOM artifact `sbom` whose subject it is. `seed` prefixes every
 * layer's seed and names the SBOM, so that each suite's blobs are its own.
 */
export function multiPlatformWithReferrer(
  seed: string,
): Required<Pick<OciLayoutSpec, 'indexes' | 'artifacts'>> {
  return {
    indexes: {
      multi: {
        images: [
          {
            platform: { os: 'linux', architecture: 'amd64' },
            layers: [
              { size: 1024 * 1024, seed: `${seed}-amd64-0` },
              { size: 20_000, seed: `${seed}-amd64-1`, format: 'tar+gzip' },
            ],
          },
          {
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
            layers: [{ size: 30_000, seed: `${seed}-arm64-0`, format: 'tar+gzip' }],
          },
        ],
      },
    },
    artifacts: {
      sbom: {
        artifactType: SBOM_TYPE,
        subject: 'multi',
        blobs: [{ mediaType: SBOM_TYPE, content: `{"spdxVersion":"SPDX-2.3","name":"${seed}"}` }],
      },
    },
  };
}
