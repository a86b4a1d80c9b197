/**
 * Berth's blob descriptor cache for `pnpm bench --cache KIND`: none (no `storage.cache`
 * section, Berth's default), registry:2's `inmemory`, or `redis` on a fresh `redis-server` from
 * `tooling/test-servers` (127.0.0.1, free port, temporary directory), shared by every replica of
 * the run and stopped by PID after it.
 */
import { type RunningRedis, redisMissingTools, startRedis } from '@berth/test-servers';
import type { CacheKind } from './args.ts';

/** A started cache for one run. */
export interface BenchCache {
  readonly kind: CacheKind;
  /**
   * YAML appended right after the `storage:` section: `  cache:` continues that section, and
   * with Redis a top-level `redis:` section follows.
   */
  readonly yaml: string;
  /** E.g. `redis-server 127.0.0.1:41234` or `inmemory`. */
  readonly description: string;
  /** Stops Redis by PID (nothing for the others). Idempotent. */
  stop(): Promise<void>;
}

/**
 * The YAML for `kind`, to append after a `storage:` section (`redisAddress` is required for
 * `redis`).
 */
export function cacheYaml(kind: CacheKind, redisAddress?: string): string {
  if (kind === 'none') return '';
  const lines = ['  cache:', `    blobdescriptor: ${kind}`];
  if (kind === 'redis') {
    if (redisAddress === undefined) throw new Error('cacheYaml: redis needs an address');
    lines.push('redis:', `  addr: ${JSON.stringify(redisAddress)}`);
  }
  return lines.join('\n');
}

/** Why `kind` cannot run here (Redis is not installed), or `undefined`. */
export function cacheMissing(kind: CacheKind): string | undefined {
  if (kind !== 'redis') return undefined;
  const missing = redisMissingTools();
  return missing.length === 0
    ? undefined
    : `--cache redis needs ${missing.join(', ')} on PATH (apt-get install -y --no-install-recommends redis-server redis-tools)`;
}

/** Starts what `kind` needs: a fresh Redis for `redis`, nothing otherwise. */
export async function startCache(kind: CacheKind): Promise<BenchCache> {
  if (kind !== 'redis') {
    return { kind, yaml: cacheYaml(kind), description: kind, stop: async () => {} };
  }
  const missing = cacheMissing(kind);
  if (missing !== undefined) throw new Error(missing);
  const redis: RunningRedis = await startRedis();
  return {
    kind,
    yaml: cacheYaml(kind, redis.address),
    description: `redis-server ${redis.address} (pid ${redis.pid})`,
    stop: () => redis.stop(),
  };
}
