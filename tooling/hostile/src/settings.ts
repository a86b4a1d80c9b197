/**
 * The knobs every suite reads from the environment: one seed, one scale factor, and a few
 * per-suite counts. Defaults are fixed, so a run without any variable is reproducible.
 */
import { hashSeed } from './rng.ts';

/** The seed used when `BERTH_HOSTILE_SEED` is unset. */
export const DEFAULT_SEED = 20_240_611;

/** What one run uses. */
export interface HostileSettings {
  /** `BERTH_HOSTILE_SEED`: an integer (decimal or `0x…`), or any text (hashed). */
  readonly seed: number;
  /** `BERTH_HOSTILE_SCALE`: multiplies every default count (default 1; 0.2 for a smoke run). */
  readonly scale: number;
}

/** Reads {@link HostileSettings}; throws on a malformed value, naming the variable. */
export function hostileSettings(env: NodeJS.ProcessEnv = process.env): HostileSettings {
  const seedText = env.BERTH_HOSTILE_SEED?.trim();
  let seed = DEFAULT_SEED;
  if (seedText !== undefined && seedText !== '') {
    seed = /^(0x[0-9a-f]+|\d+)$/i.test(seedText) ? Number(seedText) >>> 0 : hashSeed(seedText);
  }
  const scaleText = env.BERTH_HOSTILE_SCALE?.trim();
  let scale = 1;
  if (scaleText !== undefined && scaleText !== '') {
    scale = Number(scaleText);
    if (!Number.isFinite(scale) || scale <= 0) {
      throw new Error(`BERTH_HOSTILE_SCALE: expected a positive number, got ${JSON.stringify(scaleText)}`);
    }
  }
  return { seed, scale };
}

/**
 * A bound of a suite: `env[name]` when set (a positive integer), else `base × scale` rounded,
 * at least `min`.
 */
export function bound(
  name: string,
  base: number,
  settings: HostileSettings,
  min = 1,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const text = env[name]?.trim();
  if (text !== undefined && text !== '') {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`${name}: expected a non-negative integer, got ${JSON.stringify(text)}`);
    }
    return value;
  }
  return Math.max(min, Math.round(base * settings.scale));
}
