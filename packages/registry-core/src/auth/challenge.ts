import type { Challenge } from './controller.ts';

/**
 * A quoted-string as Go's `%q` writes it for the characters a header may carry: backslash and
 * double quote escaped, control characters dropped (a header value cannot contain them).
 */
export function quoteParam(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The `WWW-Authenticate` value of a challenge, in registry:2's exact form:
 * `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"[,error="…"]`.
 *
 * @example
 * ```ts
 * formatChallenge({ scheme: 'Bearer', realm: 'https://auth/token', service: 'reg', scope: 'repository:a:pull' });
 * // 'Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"'
 * ```
 */
export function formatChallenge(challenge: Challenge): string {
  if (challenge.scheme === 'Basic') return `Basic realm=${quoteParam(challenge.realm)}`;
  let value = `Bearer realm=${quoteParam(challenge.realm)},service=${quoteParam(challenge.service ?? '')}`;
  if (challenge.scope !== undefined && challenge.scope !== '')
    value += `,scope=${quoteParam(challenge.scope)}`;
  if (challenge.error !== undefined) value += `,error=${quoteParam(challenge.error)}`;
  return value;
}
