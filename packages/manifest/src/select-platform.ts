import type { Descriptor } from './descriptor.ts';
import type { ManifestIndex } from './manifest.ts';

/** The platform {@link selectPlatform} looks for. */
export interface PlatformSelector {
  /** Operating system, e.g. `linux`. */
  os: string;
  /** CPU architecture, e.g. `amd64`. */
  architecture: string;
  /** CPU variant, e.g. `v8`. When omitted, any variant matches. */
  variant?: string;
}

/** The variant a platform implies when it states none (arm64 is v8, 32-bit arm is v7). */
function normalizeVariant(architecture: string, variant: string | undefined): string {
  if (variant !== undefined && variant !== '') return variant;
  if (architecture === 'arm64') return 'v8';
  if (architecture === 'arm') return 'v7';
  return '';
}

/**
 * Picks the first child of an index or manifest list whose platform matches `os` and `architecture`
 * exactly and, when `variant` is given, the variant too (an absent variant counts as `v8` for arm64 and
 * `v7` for arm). Children without a platform never match. Never throws.
 *
 * registry:2 uses this to serve the `linux/amd64` child to clients whose `Accept` header lacks the
 * manifest list type.
 *
 * @returns the matching child descriptor, or `undefined`.
 *
 * @example
 * ```ts
 * const child = selectPlatform(index, { os: 'linux', architecture: 'amd64' });
 * if (child) return serveManifest(child.digest);
 * ```
 */
export function selectPlatform(index: ManifestIndex, selector: PlatformSelector): Descriptor | undefined {
  const wanted =
    selector.variant === undefined ? undefined : normalizeVariant(selector.architecture, selector.variant);
  for (const child of index.manifests) {
    const platform = child.platform;
    if (platform === undefined) continue;
    if (platform.os !== selector.os || platform.architecture !== selector.architecture) continue;
    if (wanted !== undefined && normalizeVariant(platform.architecture, platform.variant) !== wanted)
      continue;
    return child;
  }
  return undefined;
}
