/**
 * Registry operations over the raw client: pushes (monolithic, chunked, single POST), manifest
 * PUTs, and verified pulls. The server is asked for its endpoint on every request, so a
 * restarted server (new port) is followed.
 */
import { type Endpoint, type Outcome, type RawRequest, type RawResponse, send } from './http.ts';
import { DOCKER_MANIFEST, digestLike, type ManifestBytes, OCI_INDEX, OCI_MANIFEST, sha256 } from './oci.ts';
import { describeOutcome, describeRequest } from './report.ts';

/** Anything with a current endpoint (a {@link HostileServer}). */
export interface HasEndpoint {
  readonly endpoint: Endpoint;
}

/** Every manifest type the suites push, for `Accept`. */
export const ACCEPT_MANIFESTS: string = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST].join(', ');

/** The path and query of a `Location` header (absolute or not). */
export function locationPath(location: string): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)$/i.exec(location);
  return match ? match[1]! : location;
}

/** `location` with `?…&digest=` (or `?digest=`) appended. */
export function withQuery(location: string, key: string, value: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

/** An error that carries the request and what came back. */
export class UnexpectedResponse extends Error {
  readonly outcome: Outcome;
  constructor(request: RawRequest, outcome: Outcome, expected: string) {
    super(`${describeRequest(request)}: expected ${expected}, got ${describeOutcome(outcome)}`);
    this.name = 'UnexpectedResponse';
    this.outcome = outcome;
  }
}

/** A client bound to one server (and, with auth, one `Authorization` header). */
export class RegistryClient {
  readonly server: HasEndpoint;
  readonly authorization: string | undefined;
  readonly timeoutMs: number;

  constructor(server: HasEndpoint, options: { authorization?: string; timeoutMs?: number } = {}) {
    this.server = server;
    this.authorization = options.authorization;
    this.timeoutMs = options.timeoutMs ?? 20_000;
  }

  /** The headers of a request, with the client's `Authorization` first. */
  headers(extra: readonly (readonly [string, string])[] = []): (readonly [string, string])[] {
    const auth: (readonly [string, string])[] =
      this.authorization === undefined ? [] : [['Authorization', this.authorization]];
    return [...auth, ...extra];
  }

  /** Sends a request built from the parts. */
  send(
    method: string,
    target: string,
    options: { headers?: readonly (readonly [string, string])[]; body?: Uint8Array } = {},
  ): Promise<Outcome> {
    return send(
      this.server.endpoint,
      {
        method,
        target,
        headers: this.headers(options.headers),
        ...(options.body ? { body: options.body } : {}),
      },
      { timeoutMs: this.timeoutMs },
    );
  }

  /** Sends and insists on one of `statuses`; returns the response. */
  async expect(
    statuses: readonly number[],
    method: string,
    target: string,
    options: { headers?: readonly (readonly [string, string])[]; body?: Uint8Array } = {},
  ): Promise<RawResponse> {
    const outcome = await this.send(method, target, options);
    if (outcome.kind === 'response' && statuses.includes(outcome.response.status)) return outcome.response;
    throw new UnexpectedResponse(
      {
        method,
        target,
        headers: this.headers(options.headers),
        ...(options.body ? { body: options.body } : {}),
      },
      outcome,
      statuses.join(' or '),
    );
  }

  /** `POST …/blobs/uploads/` → the upload's location (path and query). */
  async startUpload(repo: string): Promise<string> {
    const response = await this.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
    return locationPath(response.headers.get('location') ?? '');
  }

  /**
   * Pushes a blob: `monolithic` (POST, then PUT with the body and digest), `chunked` (POST,
   * PATCHes of `chunkSize` with `Content-Range`, PUT with the digest), or `post` (one POST with
   * `?digest=` and the body). Resolves with the final outcome (201 expected; not checked).
   */
  async pushBlob(
    repo: string,
    bytes: Buffer,
    mode: 'monolithic' | 'chunked' | 'post',
    chunkSize: number = 256 * 1024,
  ): Promise<Outcome> {
    const digest = sha256(bytes);
    const octet: [string, string][] = [['Content-Type', 'application/octet-stream']];
    if (mode === 'post') {
      return this.send('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
        headers: octet,
        body: bytes,
      });
    }
    const started = await this.send('POST', `/v2/${repo}/blobs/uploads/`);
    if (started.kind !== 'response' || started.response.status !== 202) return started;
    let location = locationPath(started.response.headers.get('location') ?? '');
    if (mode === 'chunked') {
      for (let offset = 0; offset < bytes.length; offset += chunkSize) {
        const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + chunkSize));
        const patched = await this.send('PATCH', location, {
          headers: [...octet, ['Content-Range', `${offset}-${offset + chunk.length - 1}`]],
          body: chunk,
        });
        if (patched.kind !== 'response' || patched.response.status !== 202) return patched;
        location = locationPath(patched.response.headers.get('location') ?? '');
      }
      return this.send('PUT', withQuery(location, 'digest', digest));
    }
    return this.send('PUT', withQuery(location, 'digest', digest), { headers: octet, body: bytes });
  }

  /** `PUT …/manifests/<reference>` with the manifest's media type. */
  putManifest(repo: string, reference: string, manifest: ManifestBytes): Promise<Outcome> {
    return this.send('PUT', `/v2/${repo}/manifests/${reference}`, {
      headers: [['Content-Type', manifest.mediaType]],
      body: manifest.bytes,
    });
  }

  /**
   * Pulls `repo:reference` completely and checks it: the manifest by reference (its digest,
   * and `expected` when given), by digest (same bytes), and every blob and child it refers to
   * (200, content hashing to its digest). Returns the problems found (none: `[]`).
   */
  async verifyPull(
    repo: string,
    reference: string,
    expected?: { digest: string; bytes?: Buffer },
  ): Promise<string[]> {
    const problems: string[] = [];
    const accept: [string, string][] = [['Accept', ACCEPT_MANIFESTS]];
    const byRef = await this.send('GET', `/v2/${repo}/manifests/${reference}`, { headers: accept });
    if (byRef.kind !== 'response' || byRef.response.status !== 200) {
      return [`GET /v2/${repo}/manifests/${reference}: expected 200, got ${describeOutcome(byRef)}`];
    }
    const manifest = byRef.response.body;
    const digest = sha256(manifest);
    const header = byRef.response.headers.get('docker-content-digest');
    if (header !== undefined && header !== digest && !reference.startsWith('sha512:')) {
      problems.push(
        `GET /v2/${repo}/manifests/${reference}: Docker-Content-Digest ${header}, content hashes to ${digest}`,
      );
    }
    if (expected !== undefined) {
      if (digest !== expected.digest) {
        problems.push(
          `GET /v2/${repo}/manifests/${reference}: content hashes to ${digest}, pushed ${expected.digest}`,
        );
      }
      if (expected.bytes !== undefined && !expected.bytes.equals(manifest)) {
        problems.push(`GET /v2/${repo}/manifests/${reference}: bytes differ from those pushed`);
      }
    }
    if (reference !== digest) {
      const byDigest = await this.send('GET', `/v2/${repo}/manifests/${digest}`, { headers: accept });
      if (byDigest.kind !== 'response' || byDigest.response.status !== 200) {
        problems.push(
          `GET /v2/${repo}/manifests/${digest} (by digest): expected 200, got ${describeOutcome(byDigest)}`,
        );
      } else if (!byDigest.response.body.equals(manifest)) {
        problems.push(`GET /v2/${repo}/manifests/${digest}: bytes differ from GET by ${reference}`);
      }
    }
    let parsed: {
      config?: { digest?: string };
      layers?: { digest?: string }[];
      manifests?: { digest?: string }[];
    };
    try {
      parsed = JSON.parse(manifest.toString('utf8')) as typeof parsed;
    } catch {
      return [...problems, `GET /v2/${repo}/manifests/${reference}: served manifest is not JSON`];
    }
    for (const child of parsed.manifests ?? []) {
      if (typeof child.digest === 'string') problems.push(...(await this.verifyPull(repo, child.digest)));
    }
    const blobs = [parsed.config, ...(parsed.layers ?? [])].flatMap((d) =>
      d !== undefined && typeof d.digest === 'string' ? [d.digest] : [],
    );
    for (const blob of blobs) problems.push(...(await this.verifyBlob(repo, blob)));
    return problems;
  }

  /** `GET …/blobs/<digest>`: 200 and content hashing to the digest; returns the problems. */
  async verifyBlob(repo: string, digest: string): Promise<string[]> {
    const got = await this.send('GET', `/v2/${repo}/blobs/${digest}`);
    if (got.kind !== 'response' || got.response.status !== 200) {
      return [`GET /v2/${repo}/blobs/${digest}: expected 200, got ${describeOutcome(got)}`];
    }
    const actual = digestLike(digest, got.response.body);
    return actual === digest
      ? []
      : [`GET /v2/${repo}/blobs/${digest}: ${got.response.body.length} bytes hashing to ${actual}`];
  }
}
