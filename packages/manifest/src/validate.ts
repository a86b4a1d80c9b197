import { ManifestError } from './errors.ts';
import { childPointer } from './json-pointer.ts';
import { isMediaTypeString } from './media-types.ts';

/** A parsed JSON object. Internal to the validators. */
export type JsonObject = { readonly [key: string]: unknown };

/** Throws `MANIFEST_INVALID` for the field at `pointer`. Internal. */
export function fail(pointer: string, problem: string, cause?: unknown): never {
  const where = pointer === '' ? 'the document' : `"${pointer}"`;
  throw new ManifestError('MANIFEST_INVALID', `invalid manifest: ${where} ${problem}`, { pointer, cause });
}

/** True for a JSON object (not null, not an array). Internal. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Describes the JSON type of `value` for error messages. Internal. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** Requires an object at `pointer`. Internal. */
export function requireObject(value: unknown, pointer: string): JsonObject {
  if (value === undefined) fail(pointer, 'is required');
  if (!isObject(value)) fail(pointer, `must be an object, got ${jsonTypeOf(value)}`);
  return value;
}

/** Requires an array at `pointer`. Internal. */
export function requireArray(value: unknown, pointer: string): readonly unknown[] {
  if (value === undefined) fail(pointer, 'is required');
  if (!Array.isArray(value)) fail(pointer, `must be an array, got ${jsonTypeOf(value)}`);
  return value;
}

/** Requires a string at `pointer`. Internal. */
export function requireString(value: unknown, pointer: string): string {
  if (value === undefined) fail(pointer, 'is required');
  if (typeof value !== 'string') fail(pointer, `must be a string, got ${jsonTypeOf(value)}`);
  return value;
}

/** Validates an optional string. Internal. */
export function optionalString(value: unknown, pointer: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(pointer, `must be a string, got ${jsonTypeOf(value)}`);
  return value;
}

/** Validates an optional array of strings. Internal. */
export function optionalStringArray(value: unknown, pointer: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) fail(pointer, `must be an array of strings, got ${jsonTypeOf(value)}`);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'string') fail(childPointer(pointer, i), `must be a string, got ${jsonTypeOf(item)}`);
  }
  return value as string[];
}

/** Requires an RFC 6838 `type/subtype` string. Internal. */
export function requireMediaType(value: unknown, pointer: string): string {
  const s = requireString(value, pointer);
  if (!isMediaTypeString(s))
    fail(pointer, `must be a media type of the form type/subtype, got ${JSON.stringify(s)}`);
  return s;
}

/** Validates an optional RFC 6838 `type/subtype` string. Internal. */
export function optionalMediaType(value: unknown, pointer: string): string | undefined {
  return value === undefined ? undefined : requireMediaType(value, pointer);
}

/** Validates an optional string-to-string map (annotations). Returns the parsed object itself. Internal. */
export function optionalAnnotations(value: unknown, pointer: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value))
    fail(pointer, `must be an object mapping strings to strings, got ${jsonTypeOf(value)}`);
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (typeof item !== 'string')
      fail(childPointer(pointer, key), `must be a string, got ${jsonTypeOf(item)}`);
  }
  return value as Record<string, string>;
}
