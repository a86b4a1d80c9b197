import { InvalidParameterError } from './errors.ts';

type Raw = Readonly<Record<string, unknown>>;

/**
 * Reads a string option. Numbers are accepted and stringified (YAML turns `bucket: 123` into a
 * number).
 * @throws {InvalidParameterError} when required and missing, or not a string.
 */
export function stringParameter(raw: Raw, key: string, required: true): string;
export function stringParameter(raw: Raw, key: string, required?: false): string | undefined;
export function stringParameter(raw: Raw, key: string, required = false): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null || value === '') {
    if (required) throw new InvalidParameterError(key, 'is required');
    return undefined;
  }
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string')
    throw new InvalidParameterError(key, `must be a string, got ${typeof value}`);
  return value;
}

/**
 * Reads a boolean option; `true`/`false` strings (from environment overrides) are accepted.
 * @throws {InvalidParameterError} for anything else.
 */
export function booleanParameter(raw: Raw, key: string, fallback: boolean): boolean {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  throw new InvalidParameterError(key, `must be true or false, got ${JSON.stringify(value)}`);
}

/** Bounds of {@link integerParameter}. */
export interface IntegerBounds {
  min?: number;
  max?: number;
}

/**
 * Reads an integer option; numeric strings (from environment overrides) are accepted.
 * @throws {InvalidParameterError} when not an integer or out of bounds.
 */
export function integerParameter(
  raw: Raw,
  key: string,
  fallback: number,
  bounds: IntegerBounds = {},
): number {
  const value = raw[key];
  if (value === undefined || value === null || value === '') return fallback;
  const parsed = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof parsed !== 'number' || !Number.isSafeInteger(parsed)) {
    throw new InvalidParameterError(key, `must be an integer, got ${JSON.stringify(value)}`);
  }
  if (bounds.min !== undefined && parsed < bounds.min) {
    throw new InvalidParameterError(key, `must be at least ${bounds.min}, got ${parsed}`);
  }
  if (bounds.max !== undefined && parsed > bounds.max) {
    throw new InvalidParameterError(key, `must be at most ${bounds.max}, got ${parsed}`);
  }
  return parsed;
}
