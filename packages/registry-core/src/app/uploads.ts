/**
 * Blob uploads: `POST /v2/<name>/blobs/uploads/` and `GET|HEAD|PATCH|PUT|DELETE` on the upload
 * location `/v2/<name>/blobs/uploads/<uuid>?_state=<token>`.
 *
 * The `_state` token (registry:2's format, HMAC-signed with `http.secret`) carries the repository,
 * the upload id and the offset the client was last told, so any replica sharing the storage
 * and the secret can continue an upload, and a client replaying a stale location is caught
 * before it appends the same bytes twice.
 */
import { type Algorithm, type Digest, digestOf, isAlgorithm } from '@berth/digest';
import type { Context } from 'hono';
import { nextNonEmpty } from '../chunks.ts';
import { isRegistryError, RegistryError } from '../errors.ts';
import { isValidRepositoryName } from '../names.ts';
import type { Repository, Upload } from '../types.ts';
import { packUploadState, type UploadState, unpackUploadState } from '../upload-state.ts';
import { hasRequestBody, requestBody } from './body.ts';
import { type AppConfig, baseURL, type RegistryAppEnv } from './env.ts';
import { methodNotAllowed } from './errors-handler.ts';
import { mediaTypeOf, parseChunkRange, parseContentLength, uploadRange } from './headers.ts';
import { parseDigestParam } from './params.ts';
import type { RegistryRoute } from './route.ts';

type UploadStartRoute = Extract<RegistryRoute, { kind: 'upload-start' }>;
type UploadRoute = Extract<RegistryRoute, { kind: 'upload' }>;

const UUID = /^[A-Za-z0-9_.=-]+$/;
const READ_ONLY = 'the registry is in read-only mode';

/** `POST /v2/<name>/blobs/uploads/`. */
export async function handleUploadStart(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: UploadStartRoute,
): Promise<Response> {
  if (c.req.method !== 'POST') throw methodNotAllowed(c.req.method, ['POST']);
  if (config.readOnly) throw methodNotAllowed('POST', ['GET', 'HEAD'], READ_ONLY);
  return startUpload(c, config, route);
}

/** Requests on an upload location. */
export async function handleUpload(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: UploadRoute,
): Promise<Response> {
  const method = c.req.method;
  if (
    method !== 'GET' &&
    method !== 'HEAD' &&
    method !== 'PATCH' &&
    method !== 'PUT' &&
    method !== 'DELETE'
  ) {
    throw methodNotAllowed(method, ['GET', 'HEAD', 'PATCH', 'PUT', 'DELETE']);
  }
  if (config.readOnly && method !== 'GET' && method !== 'HEAD') {
    throw methodNotAllowed(method, ['GET', 'HEAD'], READ_ONLY);
  }
  const repo = config.registry.repository(route.name);
  const { upload, state } = await resumeUpload(c, config, repo, route.uuid);
  try {
    switch (method) {
      case 'PATCH':
        return await patchUpload(c, config, repo, upload, state);
      case 'PUT':
        return await completeUpload(c, config, repo, upload, state);
      case 'DELETE':
        await upload.cancel();
        return new Response(null, {
          status: 204,
          headers: { 'Docker-Upload-UUID': upload.uuid, 'Content-Length': '0' },
        });
      default:
        return uploadResponse(c, config, repo, upload, 204);
    }
  } catch (err) {
    throw withRange(err, upload.uuid);
  }
}

/**
 * The upload store's `RANGE_INVALID` (a stale location, or an upload another request is writing
 * to) with the headers the spec asks for — `Range` of what is stored, so the client can resume.
 */
function withRange(err: unknown, uuid: string, why?: (size: number) => string): unknown {
  if (!isRegistryError(err) || err.code !== 'RANGE_INVALID' || err.headers.Range !== undefined) return err;
  const size = sizeOf(err.detail);
  if (size === undefined) return err;
  return new RegistryError(
    'RANGE_INVALID',
    why === undefined ? err.message : `invalid content range: ${why(size)}`,
    { size },
    { headers: { Range: uploadRange(size), 'Docker-Upload-UUID': uuid }, cause: err },
  );
}

/**
 * Starts an upload, in one of four ways:
 * - `?mount=<digest>&from=<repo>`: cross-repository mount, `201` when the blob is linked in
 *   `from`; otherwise (or with an invalid `from`) a normal session, as the spec and registry:2
 *   answer. A malformed `mount` digest is `400 DIGEST_INVALID` (registry:2 silently starts a
 *   session; the spec asks for 400 on any invalid client-provided digest).
 * - `?digest=<digest>` with a body: single-POST monolithic upload (spec "end-4b"), `201`.
 *   registry:2 ignores `digest` here and answers `202`; Berth does too when the POST carries no
 *   body, so clients that send `digest` on an empty POST still get a session.
 * - `?digest-algorithm=sha512|sha256` (spec main "end-4c"): the algorithm the session hashes
 *   with. Any other value is `400 DIGEST_INVALID`.
 * - Otherwise: a new session, `202` with its location.
 */
async function startUpload(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  route: UploadStartRoute,
): Promise<Response> {
  const repo = config.registry.repository(route.name);
  const mount = c.req.query('mount');
  if (mount !== undefined) {
    const digest = parseDigestParam(mount, 'mount');
    const from = c.req.query('from');
    if (from !== undefined && isValidRepositoryName(from)) {
      const mounted = await repo.blobs.mount(digest, from);
      if (mounted !== undefined) return blobCreated(c, config, repo, mounted.digest);
    }
  }

  const digestParam = c.req.query('digest');
  const digest = digestParam === undefined || mount !== undefined ? undefined : parseDigestParam(digestParam);
  const algorithmParam = c.req.query('digest-algorithm');
  let algorithm: Algorithm | undefined;
  if (algorithmParam !== undefined) {
    if (!isAlgorithm(algorithmParam)) {
      throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm: ${algorithmParam}`, {
        'digest-algorithm': algorithmParam,
      });
    }
    algorithm = algorithmParam;
  }
  if (digest !== undefined) {
    const digestAlgorithm = digest.slice(0, digest.indexOf(':')) as Algorithm;
    if (algorithm !== undefined && algorithm !== digestAlgorithm) {
      throw new RegistryError('DIGEST_INVALID', 'digest does not use the requested digest-algorithm', {
        digest,
        'digest-algorithm': algorithm,
      });
    }
    algorithm = digestAlgorithm;
  }

  const upload = await repo.uploads.create(algorithm === undefined ? undefined : { algorithm });
  if (digest === undefined || (!hasRequestBody(c) && digest !== digestOf(new Uint8Array(0), algorithm))) {
    return uploadResponse(c, config, repo, upload, 202);
  }

  // Single POST: the whole blob is the body.
  try {
    const body = await nonEmpty(requestBody(c));
    if (body === undefined && digest !== digestOf(new Uint8Array(0), algorithm)) {
      return uploadResponse(c, config, repo, upload, 202);
    }
    const descriptor = await upload.complete(digest, body === undefined ? undefined : { source: body });
    return blobCreated(c, config, repo, descriptor.digest);
  } catch (err) {
    // The client holds no location for this session, so nothing could ever resume it.
    await upload.cancel().catch(() => {});
    throw err;
  }
}

/**
 * Verifies the `_state` token and loads the upload.
 *
 * A location without `_state` is refused like a tampered one (`404 BLOB_UPLOAD_INVALID`), as
 * registry:2 does for every method: the spec tells clients to use the `Location` they were given
 * verbatim, and without the signed offset a replayed request could not be told from a fresh one.
 */
async function resumeUpload(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  repo: Repository,
  uuid: string,
): Promise<{ upload: Upload; state: UploadState }> {
  if (!UUID.test(uuid)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { uuid });
  const token = c.req.query('_state');
  if (token === undefined || token === '') {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'missing upload state (_state)', { uuid });
  }
  const state = unpackUploadState(config.secret, token);
  if (state.name !== repo.name || state.uuid !== uuid) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload state does not belong to this upload', { uuid });
  }
  const method = c.req.method;
  // Only requests that write check the signed offset against the upload's size (a stale
  // location must not append bytes twice); GET/HEAD (the spec's recovery after a 416) and
  // DELETE work with any earlier location.
  const writes = method === 'PATCH' || method === 'PUT';
  try {
    const offset = writes ? state.offset : undefined;
    return { upload: await repo.uploads.get(uuid, { offset, startedAt: state.startedAt }), state };
  } catch (err) {
    // A stale location on PATCH/PUT: answer with the real range, so the client can resume.
    throw withRange(err, uuid, (size) => `the upload is at ${size} bytes, the location says ${state.offset}`);
  }
}

/** The stored size in the detail of the upload store's `RANGE_INVALID` (`{ offset, size }`). */
function sizeOf(detail: unknown): number | undefined {
  const size =
    typeof detail === 'object' && detail !== null ? (detail as { size?: unknown }).size : undefined;
  return typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/**
 * Checks the chunk headers of a PATCH or a PUT carrying a final chunk and returns the expected
 * start for the store. With `Content-Range`, its start must be the current size (`416
 * RANGE_INVALID`, the upload untouched) and `Content-Length`, when sent, must equal its length
 * (`400 SIZE_INVALID`). Without it (a streamed PATCH, as docker sends) the location must be
 * fresh: a size that differs from the offset signed into `_state` means the client is replaying
 * a stale location, and appending would duplicate bytes, so it is `416` too.
 */
function chunkStart(c: Context<RegistryAppEnv>, upload: Upload, state: UploadState): number {
  const contentRange = c.req.header('content-range');
  if (contentRange === undefined) {
    if (upload.size !== state.offset) {
      throw rangeInvalid(upload, `the upload is at ${upload.size} bytes, the location says ${state.offset}`);
    }
    return upload.size;
  }
  const range = parseChunkRange(contentRange);
  if (range === undefined || range.start > range.end) {
    throw rangeInvalid(upload, `malformed Content-Range: ${contentRange}`);
  }
  if (range.start !== upload.size) {
    throw rangeInvalid(upload, `chunk starts at ${range.start}, the upload is at ${upload.size} bytes`);
  }
  const length = parseContentLength(c.req.header('content-length'));
  if (length !== undefined && length !== range.end - range.start + 1) {
    throw new RegistryError('SIZE_INVALID', undefined, {
      contentRange,
      contentLength: c.req.header('content-length'),
    });
  }
  return range.start;
}

function rangeInvalid(upload: Upload, why: string): RegistryError {
  return new RegistryError(
    'RANGE_INVALID',
    `invalid content range: ${why}`,
    { size: upload.size },
    {
      headers: { Range: uploadRange(upload.size), 'Docker-Upload-UUID': upload.uuid },
    },
  );
}

/** `PATCH`: appends one chunk (or the whole blob, streamed) → `202` with a fresh location. */
async function patchUpload(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  repo: Repository,
  upload: Upload,
  state: UploadState,
): Promise<Response> {
  const contentType = mediaTypeOf(c.req.header('content-type'));
  if (contentType !== undefined && contentType.toLowerCase() !== 'application/octet-stream') {
    // registry:2 answers 500 UNKNOWN; 415 says what is wrong.
    throw new RegistryError(
      'BLOB_UPLOAD_INVALID',
      'chunk Content-Type must be application/octet-stream',
      { contentType },
      { status: 415 },
    );
  }
  const start = chunkStart(c, upload, state);
  await upload.append(requestBody(c), start);
  return uploadResponse(c, config, repo, upload, 202);
}

/**
 * `PUT ?digest=`: appends the optional final chunk and completes the upload → `201`. A
 * missing, malformed or mismatching digest is `400 DIGEST_INVALID` and, unlike registry:2
 * (which cancels the upload on a mismatch), the upload stays so the client can retry.
 */
async function completeUpload(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  repo: Repository,
  upload: Upload,
  state: UploadState,
): Promise<Response> {
  const digestParam = c.req.query('digest');
  if (digestParam === undefined || digestParam === '') {
    throw new RegistryError('DIGEST_INVALID', 'digest missing', { digest: '' });
  }
  const digest = parseDigestParam(digestParam);
  const chunk = hasRequestBody(c)
    ? { source: requestBody(c), expectedStart: chunkStart(c, upload, state) }
    : undefined;
  const descriptor = await upload.complete(digest, chunk);
  return blobCreated(c, config, repo, descriptor.digest);
}

/**
 * `source` when it yields at least one byte (as an iterable that starts with the bytes read
 * to find out), else `undefined` once it has ended.
 */
async function nonEmpty(source: AsyncIterable<Uint8Array>): Promise<AsyncIterable<Uint8Array> | undefined> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await nextNonEmpty(iterator);
  if (first.done) return undefined;
  const head = first.value;
  return {
    async *[Symbol.asyncIterator]() {
      let ended = false;
      try {
        yield head;
        for (;;) {
          const next = await iterator.next();
          if (next.done) {
            ended = true;
            return;
          }
          yield next.value;
        }
      } finally {
        // A consumer that stops early stops the source too, as it would iterating it directly.
        if (!ended) await iterator.return?.();
      }
    },
  };
}

/** `201 Created` for a blob now in the repository (upload completed or mounted). */
function blobCreated(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  repo: Repository,
  digest: Digest,
): Response {
  return new Response(null, {
    status: 201,
    headers: {
      Location: `${baseURL(c, config)}/v2/${repo.name}/blobs/${digest}`,
      'Docker-Content-Digest': digest,
      'Content-Length': '0',
    },
  });
}

/**
 * The headers of an upload session (registry:2's `blobUploadResponse`): a fresh `Location`
 * whose `_state` carries the current size, `Range: 0-<last byte>`, `Docker-Upload-UUID`, and
 * `OCI-Chunk-Min-Length` when configured.
 */
function uploadResponse(
  c: Context<RegistryAppEnv>,
  config: AppConfig,
  repo: Repository,
  upload: Upload,
  status: 202 | 204,
): Response {
  const token = packUploadState(config.secret, {
    name: repo.name,
    uuid: upload.uuid,
    offset: upload.size,
    startedAt: upload.startedAt,
  });
  const headers = new Headers({
    Location: `${baseURL(c, config)}/v2/${repo.name}/blobs/uploads/${upload.uuid}?_state=${encodeURIComponent(token)}`,
    Range: uploadRange(upload.size),
    'Docker-Upload-UUID': upload.uuid,
    'Content-Length': '0',
  });
  if (config.chunkMinLength > 0) headers.set('OCI-Chunk-Min-Length', String(config.chunkMinLength));
  return new Response(null, { status, headers });
}
