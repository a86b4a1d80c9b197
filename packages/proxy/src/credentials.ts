/**
 * Where an upstream's credentials may go. A registry's challenge names the token endpoint
 * (`realm`), and a blob GET may be redirected to storage on another host: credentials (Basic
 * auth, to the upstream or its token endpoint) go only to the upstream's own host or a host of
 * its registrable domain (`auth.docker.io` for `registry-1.docker.io`), and a token only to the
 * upstream's own origin — never to wherever an answer points.
 */

/** Second-level labels under which registrable domains have three labels (`example.co.uk`). */
const TWO_LABEL_SUFFIXES: ReadonlySet<string> = new Set([
  'co.uk',
  'org.uk',
  'ac.uk',
  'gov.uk',
  'com.au',
  'net.au',
  'org.au',
  'co.jp',
  'ne.jp',
  'or.jp',
  'co.nz',
  'com.br',
  'com.cn',
  'net.cn',
  'com.tw',
  'co.in',
  'co.kr',
  'co.za',
]);

const isIpAddress = (host: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');

/**
 * The registrable domain of `hostname` (lower case): the last two labels, or three under a
 * known two-label public suffix; an IP address or a single-label name is its own domain.
 */
export function registrableDomain(hostname: string): string {
  const host = hostname
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[|\]$/g, '');
  if (isIpAddress(host)) return host;
  const labels = host.split('.');
  if (labels.length <= 2) return host;
  const lastTwo = labels.slice(-2).join('.');
  return TWO_LABEL_SUFFIXES.has(lastTwo) ? labels.slice(-3).join('.') : lastTwo;
}

/**
 * Whether the upstream's credentials may be sent to `target`: the same host as the upstream, or
 * a host of the same registrable domain, over HTTPS unless the upstream itself is plain HTTP on
 * that very host.
 */
export function mayReceiveCredentials(upstream: URL, target: URL): boolean {
  if (target.protocol !== 'https:' && target.protocol !== 'http:') return false;
  if (target.host === upstream.host && target.protocol === upstream.protocol) return true;
  if (target.protocol !== 'https:') return false;
  if (isIpAddress(target.hostname.replace(/^\[|\]$/g, ''))) return false;
  return registrableDomain(target.hostname) === registrableDomain(upstream.hostname);
}

/** Whether a token (or any `Authorization`) for the upstream may go to `target`: its own origin only. */
export function sameOrigin(upstream: URL, target: URL): boolean {
  return upstream.origin === target.origin;
}
