import { HTTPException } from 'hono/http-exception';
import { isRegistryError, RegistryError } from '../errors.ts';

/**
 * Renders `err` as the OCI error envelope `{"errors":[{code,message,detail}]}` with
 * `Content-Type: application/json` and the status of the first entry (registry:2's
 * `errcode.ServeJSON`). Anything that is not a {@link RegistryError} becomes `500 UNKNOWN`
 * without leaking its message, and is passed to `report` (the server logs it). A hono
 * `HTTPException` thrown by third-party middleware keeps its own response.
 */
export function renderError(err: unknown, report?: (err: unknown) => void): Response {
  if (err instanceof HTTPException) return err.getResponse();
  let error: RegistryError;
  if (isRegistryError(err)) {
    error = err;
  } else {
    report?.(err);
    error = new RegistryError('UNKNOWN');
  }
  const body = JSON.stringify(error.toJSON());
  const headers = new Headers(error.headers);
  headers.set('Content-Type', 'application/json');
  headers.set('Content-Length', String(Buffer.byteLength(body)));
  return new Response(body, { status: error.status, headers });
}

/**
 * The answer to a path that is no registry endpoint: Go's `http.NotFound`, as registry:2's
 * router gives it (plain text, not the JSON envelope).
 */
export function notFoundResponse(): Response {
  const body = '404 page not found\n';
  return new Response(body, {
    status: 404,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(body.length),
      'X-Content-Type-Options': 'nosniff',
    },
  });
}

/**
 * `405 UNSUPPORTED` for a method an endpoint does not serve, or a write while read-only, with
 * `Allow`. (registry:2 answers both with gorilla's plain-text "Method Not Allowed"; Berth sends
 * the same status and `Allow` with the JSON envelope clients already parse.)
 */
export function methodNotAllowed(method: string, allow: readonly string[], why?: string): RegistryError {
  return new RegistryError(
    'UNSUPPORTED',
    why ?? `method ${method} is not allowed on this endpoint`,
    { method },
    { headers: { Allow: allow.join(', ') } },
  );
}
