/** Go-style `host:port` addresses (`:5000`, `0.0.0.0:5000`, `[::1]:5000`, `localhost:0`). */

/** Splits `host:port`; returns the problem as a string when it is not one. */
export function splitHostPort(addr: string): { host: string; port: number } | string {
  let host: string;
  let portText: string;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0 || addr[end + 1] !== ':')
      return `missing port in address ${JSON.stringify(addr)} (use "[::1]:5000")`;
    host = addr.slice(1, end);
    portText = addr.slice(end + 2);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon < 0) return `missing port in address ${JSON.stringify(addr)} (use "host:port" or ":5000")`;
    host = addr.slice(0, colon);
    portText = addr.slice(colon + 1);
    if (host.includes(':'))
      return `IPv6 address must be in brackets: ${JSON.stringify(addr)} (use "[::1]:5000")`;
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return `invalid port ${JSON.stringify(portText)} in address ${JSON.stringify(addr)}`;
  }
  return { host, port: Number(portText) };
}
