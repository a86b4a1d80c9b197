import { describeValue } from './describe-value.ts';

/**
 * Throws a `TypeError` naming `where` unless `value` is a `Uint8Array` (a `Buffer` is one).
 * Internal: passing strings or other views is a programming error, not bad content, so it is not a
 * `DigestError`.
 */
export function requireBytes(value: unknown, where: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${where} expects a Uint8Array, got ${describeValue(value)}`);
  }
}
