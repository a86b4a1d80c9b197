/**
 * Appends one reference token to a JSON pointer (RFC 6901), escaping `~` and `/`.
 *
 * @example
 * ```ts
 * childPointer('/annotations', 'org.example/key'); // '/annotations/org.example~1key'
 * ```
 */
export function childPointer(parent: string, token: string | number): string {
  if (typeof token === 'number') return `${parent}/${token}`;
  return `${parent}/${token.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}
