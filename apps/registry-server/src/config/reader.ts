/**
 * Typed reads of the raw configuration, collecting errors and warnings instead of throwing, so
 * one start reports every problem. Every key a section reads is marked; {@link Section.finish}
 * warns about the rest, so "unknown key" falls out of reading the schema.
 */
import { DurationError, formatDuration, parseDuration } from './duration.ts';
import { formatPath, isRawMap, pathKey, type RawConfig, type RawMap } from './raw.ts';

const TRUE = new Set(['true', 'yes', 'on', 'y']);
const FALSE = new Set(['false', 'no', 'off', 'n']);

/** Errors and warnings of one validation. */
export class Diagnostics {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  readonly raw: RawConfig;

  constructor(raw: RawConfig) {
    this.raw = raw;
  }

  error(path: readonly string[], message: string): void {
    this.errors.push(`${formatPath(path)}: ${message}${this.origin(path)}`);
  }

  warn(path: readonly string[], message: string): void {
    this.warnings.push(`${formatPath(path)}: ${message}${this.origin(path)}`);
  }

  /** ` (from REGISTRY_…)` when an environment variable set the value or one of its parents. */
  origin(path: readonly string[]): string {
    for (let end = path.length; end > 0; end--) {
      const variable = this.raw.origins.get(pathKey(path.slice(0, end)));
      if (variable !== undefined) return ` (from ${variable})`;
    }
    return '';
  }

  /** The literal text of a scalar (`0123`, not 83), if it was not parsed as a string. */
  text(path: readonly string[]): string | undefined {
    return this.raw.texts.get(pathKey(path));
  }

  /** True when the value at `path` was set by an environment variable. */
  fromEnv(path: readonly string[]): boolean {
    return this.raw.origins.has(pathKey(path));
  }
}

/** How a bare number is read where a duration is expected. */
export type BareNumber = 'nanoseconds' | 'reject';

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/** One mapping of the configuration. */
export class Section {
  readonly path: readonly string[];
  /** The mapping, or `undefined` when the section is absent (or null). */
  readonly value: RawMap | undefined;
  readonly #diag: Diagnostics;
  readonly #seen = new Set<string>();

  constructor(diag: Diagnostics, path: readonly string[], value: RawMap | undefined) {
    this.#diag = diag;
    this.path = path;
    this.value = value;
  }

  /** Whether the section is present with at least one key. */
  get present(): boolean {
    return this.value !== undefined && Object.keys(this.value).length > 0;
  }

  /** Path of a key of this section. */
  at(key: string): string[] {
    return [...this.path, key];
  }

  /** The raw value of `key` (`undefined` when absent or null), marking it read. */
  raw(key: string): unknown {
    this.#seen.add(key);
    const value = this.value?.[key];
    return value === null ? undefined : value;
  }

  /** Keys of the section. */
  keys(): string[] {
    return this.value === undefined ? [] : Object.keys(this.value);
  }

  /** A string; numbers and booleans are read as their literal text (`secret: 0123` is `"0123"`). */
  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) {
      // An environment variable whose text YAML reads as null (`#x`) still means that text.
      const text = this.#diag.fromEnv(this.at(key)) ? this.#diag.text(this.at(key)) : undefined;
      return text === undefined || text === '' || /^(~|null|Null|NULL)$/.test(text) ? undefined : text;
    }
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') {
      return this.#diag.text(this.at(key)) ?? String(value);
    }
    if (this.#diag.fromEnv(this.at(key))) return this.#diag.text(this.at(key));
    this.#diag.error(this.at(key), `must be a string, got ${describe(value)}`);
    return undefined;
  }

  /** A string that must be one of `choices` (compared in lower case, as registry:2 does). */
  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const text = this.string(key);
    if (text === undefined || text === '') return fallback;
    const lower = text.toLowerCase();
    if ((choices as readonly string[]).includes(lower)) return lower as T;
    this.#diag.error(this.at(key), `must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
    return fallback;
  }

  /** A boolean; also `"true"`/`"false"` and YAML 1.1's `yes`/`no`/`on`/`off` as strings. */
  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const lower = value.trim().toLowerCase();
      if (lower === '') return fallback;
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
    }
    this.#diag.error(this.at(key), `must be true or false, got ${describe(value)}`);
    return fallback;
  }

  /** An integer (numeric strings accepted). */
  integer(key: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
    const value = this.raw(key);
    if (value === undefined) return fallback;
    const parsed = typeof value === 'string' && /^[+-]?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof parsed !== 'number' || !Number.isSafeInteger(parsed)) {
      this.#diag.error(this.at(key), `must be an integer, got ${describe(value)}`);
      return fallback;
    }
    if (bounds.min !== undefined && parsed < bounds.min) {
      this.#diag.error(this.at(key), `must be at least ${bounds.min}, got ${parsed}`);
      return fallback;
    }
    if (bounds.max !== undefined && parsed > bounds.max) {
      this.#diag.error(this.at(key), `must be at most ${bounds.max}, got ${parsed}`);
      return fallback;
    }
    return parsed;
  }

  /**
   * A Go duration in milliseconds. A bare number is nanoseconds in registry:2 wherever the field
   * is a Go `time.Duration` (`draintimeout: 60` is 60 ns): read so, with a warning; where
   * registry:2 wants a string (`uploadpurging.age`) it is an error.
   */
  duration(key: string, fallbackMs: number, options: { bareNumber: BareNumber; min?: number }): number {
    const value = this.raw(key);
    if (value === undefined) return fallbackMs;
    let ms: number;
    if (typeof value === 'number') {
      if (value === 0) {
        ms = 0;
      } else if (options.bareNumber === 'reject' || !Number.isInteger(value)) {
        this.#diag.error(this.at(key), `must be a duration string such as "30s" or "168h", got ${value}`);
        return fallbackMs;
      } else {
        ms = value / 1e6;
        this.#diag.warn(
          this.at(key),
          `the bare number ${value} is read as nanoseconds (${formatDuration(ms)}), as registry:2 reads it; ` +
            `write a unit, e.g. "${value}s"`,
        );
      }
    } else if (typeof value === 'string') {
      try {
        ms = parseDuration(value.trim());
      } catch (error) {
        if (!(error instanceof DurationError)) throw error;
        this.#diag.error(this.at(key), error.message);
        return fallbackMs;
      }
    } else {
      this.#diag.error(this.at(key), `must be a duration such as "30s", got ${describe(value)}`);
      return fallbackMs;
    }
    const min = options.min ?? 0;
    if (ms < min) {
      this.#diag.error(
        this.at(key),
        min === 0
          ? `must not be negative, got ${formatDuration(ms)}`
          : `must be at least ${formatDuration(min)}`,
      );
      return fallbackMs;
    }
    return ms;
  }

  /** A list of strings; a single string is a list of one. */
  strings(key: string): string[] {
    const value = this.raw(key);
    if (value === undefined) return [];
    const path = this.at(key);
    if (typeof value === 'string') return [value];
    if (!Array.isArray(value)) {
      this.#diag.error(path, `must be a list of strings, got ${describe(value)}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      const itemPath = [...path, String(i)];
      if (typeof item === 'string') out.push(item);
      else if (typeof item === 'number' || typeof item === 'boolean')
        out.push(this.#diag.text(itemPath) ?? String(item));
      else this.#diag.error(itemPath, `must be a string, got ${describe(item)}`);
    });
    return out;
  }

  /** A list of anything, with the path of each item. */
  list(key: string): { path: string[]; value: unknown }[] {
    const value = this.raw(key);
    if (value === undefined) return [];
    const path = this.at(key);
    if (!Array.isArray(value)) {
      this.#diag.error(path, `must be a list, got ${describe(value)}`);
      return [];
    }
    return value.map((item, i) => ({ path: [...path, String(i)], value: item }));
  }

  /** A nested mapping (absent or null: an empty section). */
  section(key: string): Section {
    const value = this.raw(key);
    return sectionOf(this.#diag, this.at(key), value);
  }

  /** A free-form mapping (its keys are not checked). */
  map(key: string): RawMap | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (isRawMap(value)) return value;
    this.#diag.error(this.at(key), `must be a mapping, got ${describe(value)}`);
    return undefined;
  }

  /** Marks `key` read and warns that it is not supported yet, when it is set to something. */
  unsupported(key: string, message: string): void {
    const value = this.raw(key);
    if (value === undefined || value === false || value === '') return;
    if (isRawMap(value) && Object.keys(value).length === 0) return;
    if (Array.isArray(value) && value.length === 0) return;
    this.#diag.warn(this.at(key), message);
  }

  /** Marks keys read without using them. */
  accept(...keys: string[]): void {
    for (const key of keys) this.#seen.add(key);
  }

  /** Warns about every key that was not read. */
  finish(): void {
    for (const key of this.keys()) {
      if (!this.#seen.has(key)) this.#diag.warn(this.at(key), 'unknown key (ignored)');
    }
  }

  get diagnostics(): Diagnostics {
    return this.#diag;
  }
}

/** A section for `value`, reporting an error when it is present but not a mapping. */
export function sectionOf(diag: Diagnostics, path: readonly string[], value: unknown): Section {
  if (value === undefined || value === null) return new Section(diag, path, undefined);
  if (isRawMap(value)) return new Section(diag, path, value);
  diag.error(path, `must be a mapping, got ${describe(value)}`);
  return new Section(diag, path, undefined);
}
