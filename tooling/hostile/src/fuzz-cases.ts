/**
 * The fuzzer's input generators. Each draws one request from the seeded generator and says
 * what a correct registry must answer: `reject` (a 4xx: the input is invalid, or names
 * something that does not exist), `success` (a 2xx), or `any` (only the general rules apply:
 * no 5xx, error envelopes on `/v2/` routes). Some carry an oracle on the response (served
 * bytes, ranges, pagination) and a follow-up that checks the registry's state afterwards (an
 * upload's size after a rejected PATCH, a blob after a completed upload).
 */
import type { HasEndpoint } from './client.ts';
import type { FuzzWorld, UploadModel } from './fuzz-world.ts';
import type { Outcome, RawRequest, RawResponse } from './http.ts';
import {
  type Blob,
  blobOf,
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_MANIFEST,
  describe,
  errorCode,
  imageManifest,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_LAYER_NONDISTRIBUTABLE,
  OCI_MANIFEST,
  sha256,
} from './oci.ts';
import { describeOutcome } from './report.ts';

/** What a correct registry answers. */
export type Expectation = 'reject' | 'success' | 'any';

/** One generated input. */
export interface FuzzCase {
  /** Generator and variant, e.g. `name/uppercase`. */
  readonly gen: string;
  readonly request: RawRequest;
  readonly expect: Expectation;
  /** An oracle on the response: a description of what is wrong, or `undefined`. */
  readonly check?: (response: RawResponse) => string | undefined;
  /** Runs after the response: updates the model, checks the state. */
  readonly after?: (outcome: Outcome) => Promise<void>;
}

/** What generators use besides the world. */
export interface FuzzRunner {
  readonly world: FuzzWorld;
  readonly server: HasEndpoint;
  readonly authMode: boolean;
  /** The label of the input being handled (`#12 chunk/range-malformed`). */
  readonly current: string;
  /** Sends a check request (judged by the general rules, counted as a check, not an input). */
  check(request: RawRequest): Promise<Outcome>;
  /** Records a wrong answer found by a follow-up check (same `signature`: same finding). */
  wrong(what: string, expected: string, actual: string, signature?: string): void;
  /** Records data the registry lost. */
  lost(what: string, expected: string, actual: string): void;
}

type Headers = [string, string][];

/** The valid `Authorization` (auth mode) plus `extra`. */
function auth(r: FuzzRunner, extra: Headers = []): Headers {
  return r.world.authorization === undefined ? extra : [['Authorization', r.world.authorization], ...extra];
}

const OCTET: Headers = [['Content-Type', 'application/octet-stream']];

// ---------------------------------------------------------------------------------------------
// Names, digests, tags

interface Variant {
  readonly label: string;
  readonly value: string;
  readonly valid: boolean;
}

function nameVariant(r: FuzzRunner): Variant {
  const w = r.world;
  const rng = w.rng;
  const word = w.word();
  const ups = (n: number): string => '../'.repeat(n);
  const variants: (() => Variant)[] = [
    () => ({ label: 'valid-new', value: `fuzz/n-${word}`, valid: true }),
    () => ({ label: 'valid-separators', value: `${word}__a/b-c.d--e`, valid: true }),
    () => {
      let name = `fuzz/${word}`;
      while (name.length < 243) name += `/${rng.word(5)}`;
      return { label: 'valid-255', value: `${name}/${'z'.repeat(255 - name.length - 1)}`, valid: true };
    },
    () => ({ label: 'too-long', value: `fuzz/${'a'.repeat(rng.int(251, 600))}`, valid: false }),
    () => ({
      label: 'too-long-components',
      value: Array.from({ length: 60 }, () => rng.word(5)).join('/'),
      valid: false,
    }),
    () => ({
      label: 'uppercase',
      value: rng.pick(['Fuzz/Play', 'fuzz/PROTECTED', 'fuzz/pLay', 'FUZZ']),
      valid: false,
    }),
    () => ({
      label: 'dot-dot',
      value: rng.pick([
        'fuzz/../fuzz/protected',
        '../fuzz/protected',
        'fuzz/protected/..',
        'fuzz/./protected',
        '..',
      ]),
      valid: false,
    }),
    () => ({
      label: 'encoded-dot-dot',
      value: rng.pick([
        'fuzz/%2e%2e/fuzz/protected',
        'fuzz/%2E%2E/protected',
        '%2e%2e/fuzz',
        'fuzz/.%2e/protected',
        'fuzz/%2e',
      ]),
      valid: false,
    }),
    () => ({
      label: 'empty-component',
      value: rng.pick(['fuzz//protected', '/fuzz/protected', 'fuzz/protected/', '', '/']),
      valid: false,
    }),
    () => ({
      label: 'unicode',
      value: rng.pick([
        'fuzz/é',
        'fuzz/名前',
        'fuzz/\u202eyalp',
        'fuzz/ｐlay',
        'fuzz/%C3%A9',
        'fuzz/%E5%90%8D',
        'fuzz/\u{1F600}',
      ]),
      valid: false,
    }),
    () => ({
      label: 'nul',
      value: rng.pick(['fuzz/a\u0000b', 'fuzz/a%00b', 'fuzz/protected%00', '\u0000']),
      valid: false,
    }),
    () => ({
      label: 'backslash',
      value: rng.pick([
        'fuzz\\protected',
        'fuzz\\..\\protected',
        'fuzz%5cprotected',
        'a\\b',
        'fuzz/protected\\',
      ]),
      valid: false,
    }),
    () => ({
      label: 'encoded-slash',
      value: rng.pick(['fuzz%2fprotected', 'fuzz%2Fprotected', 'fuzz/%2F']),
      valid: false,
    }),
    () => ({
      label: 'separators',
      value: rng.pick([
        'a___b',
        '-a',
        'a-',
        'a.',
        '.a',
        '_a',
        'a..b',
        'a/-b',
        'a/_b',
        'fuzz/a%20b',
        'fuzz/a+b',
        'fuzz/a~b',
      ]),
      valid: false,
    }),
    () => ({
      label: 'control-chars',
      value: rng.pick([
        'fuzz/a b',
        'fuzz/a\tb',
        'fuzz/a%0ab',
        'fuzz/a\u007fb',
        'fuzz/a\r\nX-Injected: 1\r\n',
      ]),
      valid: false,
    }),
    () => {
      const marker = w.escapeName();
      return {
        label: 'escape',
        value: rng.pick([
          `fuzz/${ups(rng.int(2, 9))}${marker}`,
          `${'%2e%2e/'.repeat(rng.int(2, 9))}${marker}`,
          `fuzz/..%2f..%2f..%2f${marker}`,
          `..\\..\\..\\${marker}`,
          `fuzz/%2e%2e%2f%2e%2e%2f%2e%2e%2f${marker}`,
          `${ups(6)}tmp/${marker}`,
        ]),
        valid: false,
      };
    },
  ];
  return rng.pick(variants)();
}

interface DigestVariant extends Variant {
  /** `unknown`: well-formed but not in the registry; `unsupported`: an algorithm the registry need not know. */
  readonly kind: 'invalid' | 'unknown' | 'unsupported';
}

function digestVariant(r: FuzzRunner): DigestVariant {
  const rng = r.world.rng;
  const known = rng.pick(r.world.protectedBlobs).digest.slice('sha256:'.length);
  const hex = rng.hex(64);
  const invalid = (label: string, value: string): DigestVariant => ({
    label,
    value,
    valid: false,
    kind: 'invalid',
  });
  const variants: (() => DigestVariant)[] = [
    () => ({ label: 'unknown-sha256', value: `sha256:${hex}`, valid: true, kind: 'unknown' }),
    () => ({ label: 'unknown-sha512', value: `sha512:${rng.hex(128)}`, valid: true, kind: 'unknown' }),
    () => ({
      label: 'unsupported-algorithm',
      value: rng.pick([
        `blake3:${hex}`,
        `sha384:${rng.hex(96)}`,
        `md5:${rng.hex(32)}`,
        `sha1:${rng.hex(40)}`,
      ]),
      valid: true,
      kind: 'unsupported',
    }),
    () => invalid('short', `sha256:${known.slice(0, rng.int(1, 63))}`),
    () => invalid('long', `sha256:${known}${rng.hex(rng.int(1, 70))}`),
    () => invalid('uppercase-hex', `sha256:${known.toUpperCase()}`),
    () => invalid('uppercase-algorithm', `SHA256:${known}`),
    () => invalid('non-hex', `sha256:${'g'.repeat(64)}`),
    () => invalid('sha512-wrong-length', `sha512:${hex}`),
    () =>
      invalid(
        'malformed',
        rng.pick([
          'sha256',
          'sha256:',
          `:${known}`,
          known,
          `sha256:${known}:x`,
          `sha256::${known}`,
          'sha256+b64:abc=',
          `%20sha256:${known}`,
          `sha256:${known}%00`,
          `sha256:${known}%0a`,
          'sha256:%2e%2e',
          `sha256:${'a'.repeat(5_000)}`,
          `sha256:${known.slice(0, 60)}%zz`,
          '-',
          '%',
        ]),
      ),
    () => invalid('escape', `sha256:..%2f..%2f${r.world.escapeName()}`),
  ];
  return rng.pick(variants)();
}

function tagVariant(r: FuzzRunner): Variant {
  const rng = r.world.rng;
  const word = r.world.word();
  const variants: (() => Variant)[] = [
    () => ({ label: 'valid', value: `t-${word}`, valid: true }),
    () => ({ label: 'valid-chars', value: `_${word}.A-Z_9`, valid: true }),
    () => ({ label: 'valid-128', value: `${word}${'x'.repeat(128 - word.length)}`, valid: true }),
    () => ({
      label: 'too-long',
      value: `${word}${'x'.repeat(rng.int(129, 400) - word.length)}`,
      valid: false,
    }),
    () => ({ label: 'bad-start', value: rng.pick([`-${word}`, `.${word}`]), valid: false }),
    () => ({
      label: 'bad-chars',
      value: rng.pick([
        `${word}+x`,
        `${word}:x`,
        `${word}%20x`,
        `${word}%00`,
        `${word}\\x`,
        `${word}!`,
        `${word}%2fx`,
      ]),
      valid: false,
    }),
    () => ({ label: 'unicode', value: rng.pick([`é${word}`, `${word}%C3%A9`, `${word}名`]), valid: false }),
    () => ({ label: 'dots', value: rng.pick(['..', '.', '%2e%2e', '%2E.']), valid: false }),
  ];
  return rng.pick(variants)();
}

// ---------------------------------------------------------------------------------------------
// Checks shared by several generators

/** GETs an upload's status and compares the size with the model; drops it when they differ. */
async function verifyUpload(r: FuzzRunner, model: UploadModel, after: string): Promise<void> {
  const outcome = await r.check({ method: 'GET', target: model.location, headers: auth(r) });
  const expected = `204 with Range 0-${Math.max(0, model.size - 1)} (${model.size} bytes accepted so far)`;
  if (outcome.kind !== 'response') {
    r.world.dropUpload(model);
    return;
  }
  const { status, headers } = outcome.response;
  if (status !== 204 || headers.get('range') !== `0-${Math.max(0, model.size - 1)}`) {
    r.wrong(
      `${r.current}: upload ${model.uuid} status (GET ${model.location}) after ${after}`,
      expected,
      `${describeOutcome(outcome)} Range ${headers.get('range') ?? 'none'}`,
      `upload state after ${r.current.replace(/^#\d+ /, '')} → ${status}`,
    );
    r.world.dropUpload(model);
  }
}

/** An open upload of the world, or a new one. */
async function someUpload(r: FuzzRunner): Promise<UploadModel | undefined> {
  const w = r.world;
  if (w.uploads.length === 0 || (w.uploads.length < 6 && w.rng.chance(0.15))) {
    const outcome = await r.check({
      method: 'POST',
      target: `/v2/${w.playRepo}/blobs/uploads/`,
      headers: auth(r),
    });
    if (outcome.kind === 'response' && outcome.response.status === 202) {
      return w.trackUpload(outcome.response.headers.get('location'));
    }
    return w.uploads[0];
  }
  return w.rng.pick(w.uploads);
}

/** Checks that a GET answer serves `blob` (a HEAD answer only its size). */
function servesBlob(blob: Blob, method: string): (response: RawResponse) => string | undefined {
  if (method === 'HEAD') {
    return (response) =>
      response.status === 200 && response.headers.get('content-length') !== String(blob.bytes.length)
        ? `Content-Length ${response.headers.get('content-length')} for a ${blob.bytes.length}-byte blob`
        : undefined;
  }
  return (response) =>
    response.status === 200 && sha256(response.body) !== blob.digest
      ? `200 with ${response.body.length} bytes hashing to ${sha256(response.body)}, not ${blob.digest}`
      : undefined;
}

function withState(location: string, state: string | undefined): string {
  const base = location.split('?')[0]!;
  return state === undefined ? base : `${base}?_state=${state}`;
}

function stateOf(location: string): string {
  return /[?&]_state=([^&]*)/.exec(location)?.[1] ?? '';
}

// ---------------------------------------------------------------------------------------------
// Generators

async function genName(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const name = nameVariant(r);
  const blob = w.rng.pick(w.protectedBlobs);
  const expect: Expectation = name.valid ? 'any' : 'reject';
  const gen = `name/${name.label}`;
  const endpoint = w.rng.pick([
    'tags',
    'manifest-get',
    'manifest-head',
    'blob-get',
    'blob-head',
    'upload',
    'referrers',
    'manifest-put',
  ]);
  const base = `/v2/${name.value}`;
  switch (endpoint) {
    case 'tags':
      return { gen, expect, request: { method: 'GET', target: `${base}/tags/list`, headers: auth(r) } };
    case 'manifest-get':
    case 'manifest-head':
      return {
        gen,
        expect,
        request: {
          method: endpoint === 'manifest-get' ? 'GET' : 'HEAD',
          target: `${base}/manifests/v1`,
          headers: auth(r),
        },
      };
    case 'blob-get':
    case 'blob-head':
      return {
        gen,
        expect,
        request: {
          method: endpoint === 'blob-get' ? 'GET' : 'HEAD',
          target: `${base}/blobs/${blob.digest}`,
          headers: auth(r),
        },
      };
    case 'upload':
      return { gen, expect, request: { method: 'POST', target: `${base}/blobs/uploads/`, headers: auth(r) } };
    case 'referrers':
      return {
        gen,
        expect,
        request: {
          method: 'GET',
          target: `${base}/referrers/${w.protectedImages[0]!.manifest.digest}`,
          headers: auth(r),
        },
      };
    default: {
      // The blobs are linked into fuzz/play only: a push anywhere else must fail either way.
      const manifest = w.playImage!.manifest;
      return {
        gen,
        expect: 'reject',
        request: {
          method: 'PUT',
          target: `${base}/manifests/latest`,
          headers: auth(r, [['Content-Type', manifest.mediaType]]),
          body: manifest.bytes,
        },
      };
    }
  }
}

async function genDigest(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const rng = w.rng;
  const d = digestVariant(r);
  const gen = `digest/${d.label}`;
  const repo = w.protectedRepo;
  const endpoint = rng.pick([
    'blob-get',
    'blob-head',
    'blob-delete',
    'manifest-get',
    'manifest-head',
    'manifest-delete',
    'referrers',
    'upload-put',
    'mount',
    'post-digest',
    'existing',
  ]);
  switch (endpoint) {
    case 'blob-get':
    case 'blob-head':
    case 'blob-delete':
    case 'manifest-get':
    case 'manifest-head':
    case 'manifest-delete': {
      const [what, method = ''] = endpoint.split('-');
      return {
        gen: `${gen}/${endpoint}`,
        expect: 'reject',
        request: {
          method: method.toUpperCase(),
          target: `/v2/${repo}/${what}s/${d.value}`,
          headers: what === 'blob' ? auth(r) : auth(r, [['Accept', OCI_MANIFEST]]),
        },
      };
    }
    case 'referrers':
      return {
        gen: `${gen}/referrers`,
        expect: d.valid ? 'any' : 'reject',
        request: { method: 'GET', target: `/v2/${repo}/referrers/${d.value}`, headers: auth(r) },
      };
    case 'upload-put': {
      const model = await someUpload(r);
      if (model === undefined) break;
      return {
        gen: `${gen}/upload-complete`,
        expect: 'reject',
        request: { method: 'PUT', target: `${model.location}&digest=${d.value}`, headers: auth(r) },
        after: async (outcome) => {
          if (outcome.kind === 'response' && outcome.response.status < 300) {
            w.dropUpload(model);
            return;
          }
          // A mismatching digest may cancel the session (registry:2 does); anything else must not touch it.
          if (d.kind !== 'unknown') await verifyUpload(r, model, `a PUT with digest ${d.value}`);
        },
      };
    }
    case 'mount': {
      const existing = rng.pick(w.protectedBlobs);
      return {
        gen: `${gen}/mount`,
        expect: d.kind === 'invalid' ? 'reject' : 'any',
        request: {
          method: 'POST',
          target: `/v2/${w.playRepo}/blobs/uploads/?mount=${d.kind === 'invalid' ? d.value : rng.chance(0.5) ? d.value : existing.digest}&from=${repo}`,
          headers: auth(r),
        },
        after: async (outcome) => {
          if (outcome.kind === 'response' && outcome.response.status === 202 && w.uploads.length < 8) {
            w.trackUpload(outcome.response.headers.get('location'));
          }
        },
      };
    }
    case 'post-digest':
      return {
        gen: `${gen}/single-post`,
        expect: 'reject',
        request: {
          method: 'POST',
          target: `/v2/${w.playRepo}/blobs/uploads/?digest=${d.value}`,
          headers: auth(r, OCTET),
          body: rng.bytes(rng.int(1, 300)),
        },
      };
    default:
      break;
  }
  // An existing blob or manifest, by its digest: must be served, byte for byte.
  if (rng.chance(0.5)) {
    const blob = rng.pick(w.protectedBlobs);
    const method = rng.pick(['GET', 'HEAD']);
    return {
      gen: `digest/existing-blob-${method.toLowerCase()}`,
      expect: 'success',
      request: { method, target: `/v2/${repo}/blobs/${blob.digest}`, headers: auth(r) },
      check: servesBlob(blob, method),
    };
  }
  const image = rng.pick(w.protectedImages);
  return {
    gen: 'digest/existing-manifest',
    expect: 'success',
    request: {
      method: 'GET',
      target: `/v2/${repo}/manifests/${image.manifest.digest}`,
      headers: auth(r, [['Accept', OCI_MANIFEST]]),
    },
    check: (response) =>
      response.status === 200 && !response.body.equals(image.manifest.bytes)
        ? 'served bytes differ from the pushed manifest'
        : undefined,
  };
}

async function genTag(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const tag = tagVariant(r);
  if (w.rng.chance(0.6)) {
    const manifest = imageManifest(
      w.playConfig!,
      w.playBlobs.slice(1, 1 + w.rng.int(1, w.playBlobs.length - 1)),
      {
        annotations: { 'org.example.fuzz': w.word() },
      },
    );
    return {
      gen: `tag/put-${tag.label}`,
      expect: tag.valid ? 'success' : 'reject',
      request: {
        method: 'PUT',
        target: `/v2/${w.playRepo}/manifests/${tag.value}`,
        headers: auth(r, [['Content-Type', manifest.mediaType]]),
        body: manifest.bytes,
      },
      after: async (outcome) => {
        if (outcome.kind === 'response' && outcome.response.status === 201 && tag.valid) {
          w.playTags.set(tag.value, manifest.digest);
        }
      },
    };
  }
  return {
    gen: `tag/get-${tag.label}`,
    expect: 'reject',
    request: {
      method: w.rng.pick(['GET', 'HEAD']),
      target: `/v2/${w.protectedRepo}/manifests/${tag.value}`,
      headers: auth(r, [['Accept', OCI_MANIFEST]]),
    },
  };
}

async function genPaging(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const rng = w.rng;
  const nValues = [
    '-1',
    '0',
    '1',
    '2',
    '3',
    '1000',
    '1000000000000',
    '99999999999999999999',
    'abc',
    '1.5',
    '',
    '0x10',
    '%201',
    '+1',
    '-0',
    'NaN',
    'Infinity',
    '1e3',
    '1%00',
  ];
  const lastValues = [
    '',
    'v1',
    'v2',
    'a',
    'zzzz',
    'multi',
    '%00',
    'a'.repeat(300),
    '%ff',
    '%C3%A9',
    '..',
    '%2e%2e%2f',
    'fuzz/protected',
    'fuzz',
  ];
  const params: [string, string][] = [];
  if (rng.chance(0.8)) params.push(['n', rng.pick(nValues)]);
  if (rng.chance(0.5)) params.push(['last', rng.pick(lastValues)]);
  if (rng.chance(0.1)) params.push(['n', rng.pick(nValues)]);
  const catalog = rng.chance(0.3);
  const query = params.map(([key, value]) => `${key}=${value}`).join('&');
  const path = catalog ? '/v2/_catalog' : `/v2/${w.protectedRepo}/tags/list`;
  const ns = params.filter(([key]) => key === 'n').map(([, value]) => value);
  const lasts = params.filter(([key]) => key === 'last').map(([, value]) => value);
  // A bound is checked only when every `n` sent is a plain positive number.
  const limit =
    ns.length > 0 && ns.every((n) => /^[1-9]\d{0,5}$/.test(n)) ? Math.max(...ns.map(Number)) : undefined;
  const plainLast = lasts.length === 1 && /^[a-z0-9]+$/.test(lasts[0]!) ? lasts[0] : undefined;
  const known = w.protectedTags;
  return {
    gen: `paging/${catalog ? 'catalog' : 'tags'}`,
    expect: 'any',
    request: { method: 'GET', target: query === '' ? path : `${path}?${query}`, headers: auth(r) },
    check: (response) => {
      if (response.status !== 200) return undefined;
      let body: { name?: unknown; tags?: unknown; repositories?: unknown };
      try {
        body = JSON.parse(response.body.toString('utf8')) as typeof body;
      } catch {
        return '200 with a body that is not JSON';
      }
      const list = catalog ? body.repositories : body.tags;
      if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) {
        return `200 without a string array "${catalog ? 'repositories' : 'tags'}"`;
      }
      if (limit !== undefined && list.length > limit) return `${list.length} entries for n=${limit}`;
      if (catalog) return undefined;
      if (body.name !== w.protectedRepo) return `"name" is ${JSON.stringify(body.name)}`;
      const unknown = list.filter((tag) => !known.includes(tag));
      if (unknown.length > 0)
        return `unknown tags ${JSON.stringify(unknown)} (the repository holds ${JSON.stringify(known)})`;
      if (plainLast !== undefined && list.some((tag) => tag <= plainLast)) {
        return `tags not after last=${plainLast}: ${JSON.stringify(list)}`;
      }
      if (params.length === 0 && JSON.stringify(list) !== JSON.stringify(known)) {
        return `tags ${JSON.stringify(list)}, the repository holds ${JSON.stringify(known)}`;
      }
      return undefined;
    },
  };
}

async function genRange(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const rng = w.rng;
  const blob = [...w.protectedBlobs].sort((a, b) => b.bytes.length - a.bytes.length)[rng.int(0, 2)]!;
  const size = blob.bytes.length;
  const a = rng.int(0, size - 1);
  const b = rng.int(a, size + 10);
  const range = rng.pick([
    'bytes=0-0',
    'bytes=0-',
    'bytes=-1',
    'bytes=-0',
    'bytes=5-2',
    'bytes=0-99999999999999',
    `bytes=${size}-`,
    `bytes=${size - 1}-`,
    `bytes=${size}-${size + 5}`,
    'bytes=abc',
    'bytes=0-1,5-6',
    'items=0-5',
    'bytes=-',
    'bytes= 1-2',
    'bytes=1-2 ',
    'bytes=--1',
    'bytes=1e3-',
    'bytes=0x10-',
    `bytes=${'1'.repeat(400)}-`,
    'bytes=-99999999999999999999',
    `bytes=${a}-${b}`,
    `bytes=${a}-${b}`,
    `bytes=-${rng.int(1, size * 2)}`,
    '',
    'bytes=1-1;x',
    'bytes=\u0661-\u0662',
    `BYTES=${a}-${b}`,
  ]);
  const method = rng.chance(0.85) ? 'GET' : 'HEAD';
  const headers: Headers = [['Range', range]];
  if (rng.chance(0.15))
    headers.push(['If-Range', rng.pick([`"${blob.digest}"`, '"sha256:0"', 'Wed, 21 Oct 2015 07:28:00 GMT'])]);
  return {
    gen: `range/${method.toLowerCase()}`,
    expect: 'any',
    request: { method, target: `/v2/${w.protectedRepo}/blobs/${blob.digest}`, headers: auth(r, headers) },
    check: (response) => {
      if (method === 'HEAD') return undefined;
      if (response.status === 200) {
        return response.body.equals(blob.bytes)
          ? undefined
          : `200 with ${response.body.length} bytes that are not the blob`;
      }
      if (response.status !== 206) return undefined;
      const type = response.headers.get('content-type') ?? '';
      if (type.startsWith('multipart/byteranges')) return checkByteRanges(type, response.body, blob.bytes);
      const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
      if (!match) return `206 with Content-Range ${JSON.stringify(response.headers.get('content-range'))}`;
      const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
      if (total !== size || start > end || end >= size)
        return `206 with Content-Range ${match[0]} for a ${size}-byte blob`;
      return response.body.equals(blob.bytes.subarray(start, end + 1))
        ? undefined
        : `206 ${match[0]} with ${response.body.length} bytes that are not that slice of the blob`;
    },
  };
}

/**
 * What is wrong with a `multipart/byteranges` body (RFC 9110 §14.6) for `blob`, if anything:
 * every part needs a `Content-Range` inside the blob and exactly that slice as its body.
 */
function checkByteRanges(type: string, body: Buffer, blob: Uint8Array): string | undefined {
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2];
  if (boundary === undefined) return `206 ${type} without a boundary`;
  const parts = body.toString('latin1').split(`--${boundary}`);
  if (parts.pop()?.startsWith('--') !== true) return '206 multipart body without its closing boundary';
  const slices = parts.slice(1);
  if (slices.length < 2) return `206 multipart body with ${slices.length} part(s)`;
  for (const part of slices) {
    const split = part.indexOf('\r\n\r\n');
    const head = part.slice(0, split);
    const match = /content-range: bytes (\d+)-(\d+)\/(\d+)/i.exec(head);
    if (split < 0 || !match) return '206 multipart part without Content-Range';
    const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (total !== blob.length || start > end || end >= blob.length) {
      return `206 multipart part ${match[0]} for a ${blob.length}-byte blob`;
    }
    const bytes = Buffer.from(part.slice(split + 4, part.length - 2), 'latin1');
    if (!bytes.equals(blob.subarray(start, end + 1)))
      return `206 multipart part ${match[0]} with other bytes`;
  }
  return undefined;
}

async function genChunk(r: FuzzRunner): Promise<FuzzCase | undefined> {
  const w = r.world;
  const rng = w.rng;
  const model = await someUpload(r);
  if (model === undefined) return undefined;
  const body = rng.bytes(rng.logInt(1, 96_000));
  const s = model.size;
  const e = s + body.length - 1;
  const variant = rng.pick([
    'valid-range',
    'valid-streamed',
    'range-rfc-form',
    'range-malformed',
    'range-wrong-start',
    'range-length-mismatch',
    'length-negative',
    'length-non-numeric',
    'length-twice',
    'length-short',
    'length-and-chunked',
    'chunked-valid',
    'chunked-malformed',
    'content-type',
    'empty',
    'put-bad-range',
    'stale-location',
  ]);
  const gen = `chunk/${variant}`;
  const patch = (headers: Headers, extra: Partial<RawRequest> = {}): RawRequest => ({
    method: 'PATCH',
    target: model.location,
    headers: auth(r, headers),
    body,
    ...extra,
  });
  /** A PATCH framed by `Transfer-Encoding: chunked` (after `headers`), `encoded` as its raw body. */
  const chunkedPatch = (encoded: Buffer, headers: Headers = []): RawRequest =>
    patch([...OCTET, ...headers, ['Transfer-Encoding', 'chunked']], { noContentLength: true, body: encoded });
  /** After a response: a 202 appended `accepted` (when given), anything else changed nothing. */
  const settle =
    (accepted: Buffer | undefined, what: string) =>
    async (outcome: Outcome): Promise<void> => {
      if (outcome.kind !== 'response') return;
      if (outcome.response.status === 202 && accepted !== undefined) {
        w.accepted(model, accepted, outcome.response.headers.get('location'));
      } else if (outcome.response.status === 202 || outcome.response.status === 201) {
        // Accepted something the model cannot account for: the wrong answer is already recorded.
        w.dropUpload(model);
        return;
      }
      await verifyUpload(r, model, what);
    };
  switch (variant) {
    case 'valid-range':
      return {
        gen,
        expect: 'success',
        request: patch([...OCTET, ['Content-Range', `${s}-${e}`]]),
        after: settle(body, `PATCH ${s}-${e}`),
      };
    case 'valid-streamed':
      return { gen, expect: 'success', request: patch(OCTET), after: settle(body, 'a streamed PATCH') };
    case 'range-rfc-form':
      return {
        gen,
        expect: 'any',
        request: patch([
          ['Content-Range', rng.pick([`bytes ${s}-${e}/*`, `bytes=${s}-${e}`, `${s}-${e}/${e + 1}`])],
        ]),
        after: settle(body, 'a PATCH with an RFC 9110 Content-Range'),
      };
    case 'range-malformed': {
      const value = rng.pick([
        `${s}-`,
        `-1-${e}`,
        `${e + 1}-${s}`,
        'abc',
        `${s}-99999999999999999999`,
        `${s}\u2013${e}`,
        `+${s}-${e}`,
        `${s}.0-${e}`,
        `${s}-${e}-${e}`,
        '',
        `${s}-${e}, ${s}-${e}`,
        '-',
        `bytes ${s}-${e}/${e}`,
      ]);
      // `bytes s-e/e` claims a complete length that ends before the range does (RFC 9110
      // §14.4: invalid, the content must not be recombined).
      return {
        gen,
        expect: 'reject',
        request: patch([['Content-Range', value]]),
        after: settle(undefined, `a PATCH with Content-Range ${JSON.stringify(value)}`),
      };
    }
    case 'range-wrong-start': {
      const start = rng.pick([s + 1, s + 1000, ...(s > 0 ? [0, s - 1] : [])]);
      return {
        gen,
        expect: 'reject',
        request: patch([['Content-Range', `${start}-${start + body.length - 1}`]]),
        after: settle(undefined, `a PATCH starting at ${start} (upload at ${s})`),
      };
    }
    case 'range-length-mismatch':
      return {
        gen,
        expect: 'reject',
        request: patch([['Content-Range', `${s}-${e + rng.int(1, 500)}`]]),
        after: settle(undefined, 'a PATCH whose Content-Range is longer than its body'),
      };
    case 'length-negative':
    case 'length-non-numeric':
    case 'length-twice': {
      const lengths: Headers =
        variant === 'length-negative'
          ? [['Content-Length', `-${body.length}`]]
          : variant === 'length-non-numeric'
            ? [
                [
                  'Content-Length',
                  rng.pick([
                    'abc',
                    `${body.length}x`,
                    `0x${body.length.toString(16)}`,
                    `+${body.length}`,
                    '',
                  ]),
                ],
              ]
            : [
                ['Content-Length', String(body.length)],
                ['Content-Length', String(body.length + 1)],
              ];
      return {
        gen,
        expect: 'reject',
        request: patch([...OCTET, ...lengths], { noContentLength: true }),
        after: settle(undefined, `a PATCH with ${JSON.stringify(lengths)}`),
      };
    }
    case 'length-short': {
      // Declares fewer bytes than follow: the rest is the next "request" on the connection.
      const declared = rng.int(0, body.length - 1);
      return {
        gen,
        expect: 'any',
        request: patch([...OCTET, ['Content-Length', String(declared)]], { noContentLength: true }),
        after: settle(body.subarray(0, declared), `a PATCH declaring ${declared} of ${body.length} bytes`),
      };
    }
    case 'length-and-chunked':
      return {
        gen,
        expect: 'reject',
        request: chunkedPatch(chunked(body), [['Content-Length', String(body.length)]]),
        after: settle(undefined, 'a PATCH with both Content-Length and Transfer-Encoding'),
      };
    case 'chunked-valid':
      return {
        gen,
        expect: 'success',
        request: chunkedPatch(chunked(body)),
        after: settle(body, 'a chunked-encoded PATCH'),
      };
    case 'chunked-malformed':
      return {
        gen,
        expect: 'reject',
        request: chunkedPatch(
          Buffer.concat([
            Buffer.from(rng.pick(['zz\r\n', '-1\r\n', 'fffffffffffffffffff\r\n', '5\r\nabc\r\n0\r\n\r\n'])),
            body,
          ]),
        ),
        after: settle(undefined, 'a PATCH with a malformed chunked body'),
      };
    case 'content-type':
      return {
        gen,
        expect: 'reject',
        request: patch([
          ['Content-Type', rng.pick(['text/plain', 'application/json', 'multipart/form-data; boundary=x'])],
        ]),
        after: settle(undefined, 'a PATCH with a non-octet-stream Content-Type'),
      };
    case 'empty':
      return {
        gen,
        expect: 'any',
        request: patch(OCTET, { body: Buffer.alloc(0) }),
        after: settle(Buffer.alloc(0), 'an empty PATCH'),
      };
    case 'put-bad-range': {
      const digest = sha256(Buffer.concat([w.bytesOf(model), body]));
      const value = rng.pick([`${s}-`, 'abc', `${s + 1}-${e + 1}`, `${s}-${e + 7}`, `-${e}`]);
      return {
        gen,
        expect: 'reject',
        request: {
          method: 'PUT',
          target: `${model.location}&digest=${digest}`,
          headers: auth(r, [...OCTET, ['Content-Range', value]]),
          body,
        },
        after: settle(undefined, `a final PUT with Content-Range ${JSON.stringify(value)}`),
      };
    }
    default: {
      const stale = model.stale.length === 0 ? undefined : rng.pick(model.stale);
      if (stale === undefined) {
        return {
          gen: 'chunk/valid-streamed',
          expect: 'success',
          request: patch(OCTET),
          after: settle(body, 'a streamed PATCH'),
        };
      }
      return {
        gen,
        expect: 'reject',
        request: { method: 'PATCH', target: stale, headers: auth(r, OCTET), body },
        after: settle(undefined, 'a PATCH on a stale location'),
      };
    }
  }
}

/** `bytes` as a chunked-encoded body, in pieces of up to 16 KiB. */
function chunked(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 16_384) {
    const piece = bytes.subarray(i, i + 16_384);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Bodies for manifest PUTs: the object to send (or raw bytes), its Content-Type, and whether it is valid. */
interface ManifestInput {
  readonly label: string;
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
  readonly expect: Expectation;
}

function manifestInput(r: FuzzRunner): ManifestInput {
  const w = r.world;
  const rng = w.rng;
  const config = w.playConfig!;
  const layers = w.playBlobs.slice(1);
  const layer = rng.pick(layers);
  const annotations = { 'org.example.fuzz': w.word() };
  const valid = imageManifest(config, layers.slice(0, rng.int(1, layers.length)), { annotations });
  const json = (
    label: string,
    value: unknown,
    expect: Expectation,
    contentType: string | undefined = OCI_MANIFEST,
  ): ManifestInput => ({
    label,
    bytes: Buffer.from(JSON.stringify(value)),
    contentType,
    expect,
  });
  const base = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: describe(config, OCI_CONFIG),
    layers: [describe(layer, OCI_LAYER)],
    annotations,
  };
  const deep = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  // Expensive to send and to parse (megabytes, or 10^5 levels): drawn less often.
  const heavy: (() => ManifestInput)[] = [
    () =>
      json(
        'huge-array-known',
        { ...base, layers: Array.from({ length: rng.int(5_000, 20_000) }, () => base.layers[0]) },
        'any',
      ),
    () =>
      json(
        'huge-array-unknown',
        {
          ...base,
          layers: Array.from({ length: rng.int(5_000, 30_000) }, () => ({
            mediaType: OCI_LAYER,
            digest: `sha256:${rng.hex(64)}`,
            size: 1,
          })),
        },
        'reject',
      ),
    () => ({
      label: 'deep-nesting-extra-field',
      bytes: Buffer.from(
        `${valid.bytes.toString().slice(0, -1)},"x":${deep(rng.pick([1_000, 20_000, 200_000]))}}`,
      ),
      contentType: OCI_MANIFEST,
      expect: 'any',
    }),
    () => ({
      label: 'deep-nesting-layers',
      bytes: Buffer.from(
        `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${JSON.stringify(base.config)},"layers":${deep(rng.pick([1_000, 100_000]))}}`,
      ),
      contentType: OCI_MANIFEST,
      expect: 'reject',
    }),
    () =>
      json(
        'big-valid',
        { ...base, annotations: { big: 'x'.repeat(4 * 1024 * 1024 + rng.int(1, 300_000)) } },
        'any',
      ),
    () => ({
      label: 'big-garbage',
      bytes: Buffer.concat([Buffer.from(' '.repeat(4 * 1024 * 1024 + rng.int(1, 600_000))), valid.bytes]),
      contentType: OCI_MANIFEST,
      expect: 'any',
    }),
    () => ({
      label: 'big-invalid',
      bytes: Buffer.from(`{"schemaVersion":2,"x":"${'y'.repeat(4 * 1024 * 1024 + rng.int(1, 300_000))}`),
      contentType: OCI_MANIFEST,
      expect: 'reject',
    }),
  ];
  const inputs: (() => ManifestInput)[] = [
    () => ({ label: 'valid-oci', bytes: valid.bytes, contentType: OCI_MANIFEST, expect: 'success' }),
    () =>
      json(
        'valid-docker',
        {
          schemaVersion: 2,
          mediaType: DOCKER_MANIFEST,
          config: describe(config, DOCKER_CONFIG),
          layers: [describe(layer, DOCKER_LAYER)],
        },
        'success',
        DOCKER_MANIFEST,
      ),
    () =>
      json(
        'valid-index',
        {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            {
              mediaType: OCI_MANIFEST,
              digest: w.playImage!.manifest.digest,
              size: w.playImage!.manifest.bytes.length,
            },
          ],
          annotations,
        },
        'success',
        OCI_INDEX,
      ),
    () =>
      json(
        'subject-unknown',
        { ...base, subject: { mediaType: OCI_MANIFEST, digest: `sha256:${rng.hex(64)}`, size: 321 } },
        'any',
      ),
    () => ({
      label: 'json-garbage',
      bytes: Buffer.from(
        rng.pick([
          '',
          '{',
          '{"schemaVersion":2,',
          '[]',
          'null',
          '"manifest"',
          '123',
          'true',
          `\uFEFF${valid.bytes.toString()}`,
          `${valid.bytes.toString()}x`,
          `${valid.bytes.toString()}}`,
          '{"schemaVersion":NaN}',
          "{'schemaVersion':2}",
          `${valid.bytes.toString()}\u0000`,
          '{"schemaVersion":2}',
          '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}',
        ]),
      ),
      contentType: OCI_MANIFEST,
      expect: 'reject',
    }),
    () => ({
      label: 'binary',
      bytes: rng.bytes(rng.int(1, 2_000)),
      contentType: OCI_MANIFEST,
      expect: 'reject',
    }),
    () => json('media-type-mismatch', base, 'reject', DOCKER_MANIFEST),
    () => json('media-type-mismatch-index', base, 'reject', OCI_INDEX),
    () =>
      json(
        'media-type-odd-header',
        base,
        'any',
        rng.pick([
          'application/json',
          'text/plain',
          `${OCI_MANIFEST}; charset=utf-8`,
          OCI_MANIFEST.toUpperCase(),
          '',
          '*/*',
        ]),
      ),
    () => json('media-type-missing', base, 'any', undefined),
    () => json('media-type-missing-both', { ...base, mediaType: undefined }, 'any', undefined),
    () =>
      json(
        'media-type-unknown',
        { ...base, mediaType: 'application/vnd.example.thing+json' },
        'reject',
        'application/vnd.example.thing+json',
      ),
    () =>
      json('schema-version', { ...base, schemaVersion: rng.pick([1, 3, '2', null, -2, 2.5, 0]) }, 'reject'),
    () => json('schema-version-missing', { ...base, schemaVersion: undefined }, 'reject'),
    () =>
      json(
        'unknown-layer',
        { ...base, layers: [{ mediaType: OCI_LAYER, digest: `sha256:${rng.hex(64)}`, size: 1234 }] },
        'reject',
      ),
    () =>
      json(
        'unknown-config',
        { ...base, config: { mediaType: OCI_CONFIG, digest: `sha256:${rng.hex(64)}`, size: 99 } },
        'reject',
      ),
    () =>
      json(
        'null-fields',
        rng.pick([
          { ...base, config: null },
          { ...base, layers: null },
          { ...base, layers: [null] },
          { ...base, layers: 'x' },
          { ...base, config: {} },
          { ...base, config: { ...base.config, digest: null } },
          { ...base, config: { ...base.config, mediaType: null } },
          { ...base, layers: [{ ...base.layers[0], size: -1 }] },
          { ...base, layers: [{ ...base.layers[0], size: '12' }] },
          { ...base, layers: [{ ...base.layers[0], size: 1e300 }] },
          { ...base, layers: [{ ...base.layers[0], digest: 'sha256:xyz' }] },
          { ...base, layers: [{ ...base.layers[0], digest: base.layers[0]!.digest.toUpperCase() }] },
          { ...base, annotations: { a: 1 } },
          { ...base, annotations: null, config: null, layers: null },
        ]),
        'reject',
      ),
    () =>
      json(
        'urls-on-distributable-layer',
        { ...base, layers: [{ ...base.layers[0], urls: ['https://example.com/layer'] }] },
        'reject',
      ),
    () =>
      json(
        'urls-on-nondistributable-layer',
        {
          ...base,
          layers: [
            {
              mediaType: OCI_LAYER_NONDISTRIBUTABLE,
              digest: `sha256:${rng.hex(64)}`,
              size: 10,
              urls: ['https://example.com/x'],
            },
          ],
        },
        'reject',
      ),
    () =>
      json(
        'index-unknown-child',
        {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ mediaType: OCI_MANIFEST, digest: `sha256:${rng.hex(64)}`, size: 500 }],
        },
        'reject',
        OCI_INDEX,
      ),
    () =>
      json(
        'index-garbage-children',
        {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: rng.pick([[null], 'x', [{}], [{ digest: 5 }], null]),
        },
        'reject',
        OCI_INDEX,
      ),
  ];
  return (rng.chance(0.06) ? rng.pick(heavy) : rng.pick(inputs))();
}

async function genManifest(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const rng = w.rng;
  let input = manifestInput(r);
  // The protected repository only ever gets inputs that must be rejected.
  const toProtected = rng.chance(0.3);
  while (toProtected && input.expect !== 'reject') input = manifestInput(r);
  const repo = toProtected ? w.protectedRepo : w.playRepo;
  const byDigest = rng.chance(0.15);
  const wrongDigest = byDigest && rng.chance(0.3);
  const tag = toProtected ? rng.pick(['v1', 'v2', 'multi', `p-${w.word()}`]) : `m-${w.word()}`;
  const reference = byDigest ? (wrongDigest ? `sha256:${rng.hex(64)}` : sha256(input.bytes)) : tag;
  const expect: Expectation = wrongDigest ? 'reject' : input.expect;
  return {
    gen: `manifest/${input.label}${byDigest ? (wrongDigest ? '/wrong-digest' : '/by-digest') : ''}`,
    expect,
    request: {
      method: 'PUT',
      target: `/v2/${repo}/manifests/${reference}`,
      headers: auth(r, input.contentType === undefined ? [] : [['Content-Type', input.contentType]]),
      body: input.bytes,
    },
    after: async (outcome) => {
      if (
        outcome.kind === 'response' &&
        outcome.response.status === 201 &&
        repo === w.playRepo &&
        !byDigest
      ) {
        w.playTags.set(tag, sha256(input.bytes));
      }
    },
  };
}

async function genUpload(r: FuzzRunner): Promise<FuzzCase | undefined> {
  const w = r.world;
  const rng = w.rng;
  const variant = rng.pick([
    'start',
    'patch',
    'status',
    'status-stale',
    'complete',
    'complete-with-chunk',
    'cancel',
    'state-truncated',
    'state-tampered',
    'state-garbage',
    'state-missing',
    'state-of-other-upload',
    'state-from-other-repo',
    'uuid-mutated',
    'state-twice',
  ]);
  if (variant === 'start') {
    return {
      gen: 'upload/start',
      expect: 'success',
      request: { method: 'POST', target: `/v2/${w.playRepo}/blobs/uploads/`, headers: auth(r) },
      after: async (outcome) => {
        if (outcome.kind === 'response' && outcome.response.status === 202 && w.uploads.length < 8) {
          w.trackUpload(outcome.response.headers.get('location'));
        }
      },
    };
  }
  const model = await someUpload(r);
  if (model === undefined) return undefined;
  const gen = `upload/${variant}`;
  const body = rng.bytes(rng.logInt(1, 200_000));
  switch (variant) {
    case 'patch':
      return {
        gen,
        expect: 'success',
        request: { method: 'PATCH', target: model.location, headers: auth(r, OCTET), body },
        after: async (outcome) => {
          if (outcome.kind === 'response' && outcome.response.status === 202) {
            w.accepted(model, body, outcome.response.headers.get('location'));
          }
          await verifyUpload(r, model, 'a PATCH');
        },
      };
    case 'status':
    case 'status-stale': {
      const location =
        variant === 'status-stale' && model.stale.length > 0 ? rng.pick(model.stale) : model.location;
      return {
        gen,
        expect: 'success',
        request: { method: rng.pick(['GET', 'HEAD']), target: location, headers: auth(r) },
        check: (response) =>
          response.status === 204 && response.headers.get('range') !== `0-${Math.max(0, model.size - 1)}`
            ? `Range ${response.headers.get('range')} for an upload of ${model.size} bytes`
            : undefined,
      };
    }
    case 'complete':
    case 'complete-with-chunk': {
      const withChunk = variant === 'complete-with-chunk';
      const bytes = withChunk ? Buffer.concat([w.bytesOf(model), body]) : w.bytesOf(model);
      const blob = blobOf(bytes);
      return {
        gen,
        expect: 'success',
        request: {
          method: 'PUT',
          target: `${model.location}&digest=${blob.digest}`,
          headers: auth(r, withChunk ? OCTET : []),
          ...(withChunk ? { body } : {}),
        },
        after: async (outcome) => {
          if (outcome.kind !== 'response' || outcome.response.status !== 201) {
            await verifyUpload(r, model, 'a failed completion');
            return;
          }
          w.dropUpload(model);
          w.completed.push({ repo: model.repo, blob });
          const gone = await r.check({ method: 'GET', target: model.location, headers: auth(r) });
          if (gone.kind === 'response' && gone.response.status !== 404) {
            r.wrong(
              `${r.current}: GET ${model.location} after the upload completed`,
              '404 BLOB_UPLOAD_UNKNOWN',
              describeOutcome(gone),
              `upload alive after completion → ${gone.response.status}`,
            );
          }
        },
      };
    }
    case 'cancel':
      return {
        gen,
        expect: 'success',
        request: { method: 'DELETE', target: model.location, headers: auth(r) },
        after: async (outcome) => {
          if (outcome.kind !== 'response' || outcome.response.status >= 300) {
            await verifyUpload(r, model, 'a failed DELETE');
            return;
          }
          w.dropUpload(model);
          const gone = await r.check({ method: 'GET', target: model.location, headers: auth(r) });
          if (
            gone.kind === 'response' &&
            (gone.response.status !== 404 || errorCode(gone.response) !== 'BLOB_UPLOAD_UNKNOWN')
          ) {
            r.wrong(
              `${r.current}: GET ${model.location} after the upload was cancelled`,
              '404 BLOB_UPLOAD_UNKNOWN',
              describeOutcome(gone),
              `upload alive after cancel → ${gone.response.status}`,
            );
          }
        },
      };
    default:
      break;
  }
  // Requests on the upload with a bad location: each must be refused and change nothing.
  const state = stateOf(model.location);
  const other = w.uploads.find((u) => u !== model);
  let target: string;
  switch (variant) {
    case 'state-truncated':
      target = withState(model.location, state.slice(0, rng.int(0, state.length - 1)));
      break;
    case 'state-tampered': {
      // Away from the end: the last base64 digit before padding has bits no decoder reads,
      // so changing it may leave the decoded token (and its signature) intact.
      const i = rng.int(0, Math.max(0, state.length - 10));
      const replacement = state[i] === 'A' ? 'B' : 'A';
      target = withState(model.location, state.slice(0, i) + replacement + state.slice(i + 1));
      break;
    }
    case 'state-garbage':
      target = withState(
        model.location,
        rng.pick([
          '',
          Buffer.from(rng.bytes(60)).toString('base64'),
          'x'.repeat(10_000),
          '%zz',
          '..%2f..%2f',
          '%00',
          encodeURIComponent(JSON.stringify({ Name: w.playRepo, UUID: model.uuid, Offset: 0 })),
        ]),
      );
      break;
    case 'state-missing':
      target = withState(model.location, undefined);
      break;
    case 'state-of-other-upload':
      target = withState(model.location, other === undefined ? state.slice(1) : stateOf(other.location));
      break;
    case 'state-from-other-repo':
      target = model.location.replace(`/v2/${w.playRepo}/`, `/v2/${w.otherRepo}/`);
      break;
    case 'uuid-mutated': {
      const uuid = rng.pick([
        `${model.uuid}x`,
        model.uuid.toUpperCase(),
        '..',
        '%2e%2e',
        '.',
        'a'.repeat(300),
        '%00',
        `${model.uuid}%2f..`,
        `..%2f${model.uuid}`,
        `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-a${rng.hex(3)}-${rng.hex(12)}`,
        `${model.uuid}\\..`,
      ]);
      target = `/v2/${w.playRepo}/blobs/uploads/${uuid}?_state=${state}`;
      break;
    }
    default:
      target = `${model.location}&_state=${rng.pick(['x', state.slice(2)])}`;
      break;
  }
  const method = rng.pick(['PATCH', 'PUT', 'DELETE', 'GET']);
  const digest = sha256(Buffer.concat([w.bytesOf(model), body]));
  return {
    gen: `${gen}/${method.toLowerCase()}`,
    expect: variant === 'state-twice' ? 'any' : 'reject',
    request: {
      method,
      target: method === 'PUT' ? `${target}${target.includes('?') ? '&' : '?'}digest=${digest}` : target,
      headers: auth(r, method === 'PATCH' || method === 'PUT' ? OCTET : []),
      ...(method === 'PATCH' || method === 'PUT' ? { body } : {}),
    },
    after: async (outcome) => {
      if (outcome.kind === 'response' && outcome.response.status < 300 && variant !== 'state-twice') {
        w.dropUpload(model);
        return;
      }
      if (outcome.kind === 'response' && outcome.response.status < 300) {
        if (method === 'PATCH' && outcome.response.status === 202) {
          w.accepted(model, body, outcome.response.headers.get('location'));
        } else if (method !== 'GET') {
          w.dropUpload(model);
          return;
        }
      }
      await verifyUpload(r, model, `${method} with a bad location (${variant})`);
    },
  };
}

async function genAuth(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const rng = w.rng;
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  const user = `u${w.word()}`;
  const valid = w.authorization;
  const validCreds = valid?.slice('Basic '.length) ?? b64('nobody:nothing');
  const password = Buffer.from(validCreds, 'base64').toString().split(':').slice(1).join(':');
  const variants: { label: string; headers: Headers; grants: boolean; big?: boolean }[] = [
    {
      label: 'basic-empty',
      headers: [['Authorization', rng.pick(['Basic', 'Basic ', 'Basic  ', 'basic'])]],
      grants: false,
    },
    {
      label: 'basic-bad-base64',
      headers: [
        ['Authorization', rng.pick(['Basic !!!!', 'Basic ====', 'Basic a', 'Basic Zm9v YmFy', 'Basic %41'])],
      ],
      grants: false,
    },
    { label: 'basic-no-colon', headers: [['Authorization', `Basic ${b64(user)}`]], grants: false },
    { label: 'basic-colon-only', headers: [['Authorization', `Basic ${b64(':')}`]], grants: false },
    {
      label: 'basic-wrong-password',
      headers: [['Authorization', `Basic ${b64(`${user}:wrong-${w.word()}`)}`]],
      grants: false,
    },
    {
      label: 'basic-empty-password',
      headers: [['Authorization', `Basic ${b64(`${user}:`)}`]],
      grants: false,
    },
    {
      label: 'basic-long-password',
      headers: [['Authorization', `Basic ${b64(`${user}:${'p'.repeat(5_000)}`)}`]],
      grants: false,
    },
    {
      label: 'basic-nul',
      headers: [['Authorization', `Basic ${b64(`\u0000${user}:\u0000`)}`]],
      grants: false,
    },
    {
      label: 'basic-unicode',
      headers: [['Authorization', `Basic ${b64(`ü${user}:pässwörd`)}`]],
      grants: false,
    },
    // Wrong passwords always name a fresh user: failures of the real user would be throttled.
    {
      label: 'basic-truncated',
      headers: [['Authorization', `Basic ${b64(`${user}:${password}`).slice(0, -3)}`]],
      grants: false,
    },
    {
      label: 'basic-password-plus-newline',
      headers: [['Authorization', `Basic ${b64(`${user}:${password}\n`)}`]],
      grants: false,
    },
    {
      label: 'bearer-garbage',
      headers: [
        [
          'Authorization',
          rng.pick([
            'Bearer garbage',
            'Bearer ',
            'Bearer a.b.c',
            'Bearer ....',
            `Bearer ${'x'.repeat(3_000)}`,
          ]),
        ],
      ],
      grants: false,
    },
    {
      label: 'bearer-alg-none',
      headers: [
        [
          'Authorization',
          `Bearer ${b64('{"alg":"none","typ":"JWT"}')}.${b64('{"sub":"admin","access":[{"type":"repository","name":"fuzz/protected","actions":["*"]}]}')}.`,
        ],
      ],
      grants: false,
    },
    {
      label: 'other-scheme',
      headers: [
        [
          'Authorization',
          rng.pick([
            'Digest username="x", realm="y"',
            'Negotiate YII=',
            'NTLM TlRMTVNTUAAB',
            'AWS4-HMAC-SHA256 x',
          ]),
        ],
      ],
      grants: false,
    },
    {
      label: 'basic-huge',
      headers: [['Authorization', `Basic ${'A'.repeat(rng.int(10_000, 15_000))}`]],
      grants: false,
    },
    {
      label: 'header-over-16k',
      headers: [['Authorization', `Basic ${'x'.repeat(rng.int(17_000, 40_000))}`]],
      grants: false,
      big: true,
    },
    { label: 'scheme-lowercase-valid', headers: [['Authorization', `basic ${validCreds}`]], grants: true },
    {
      label: 'two-headers',
      headers: [
        ['Authorization', valid ?? `Basic ${validCreds}`],
        ['Authorization', 'Bearer garbage'],
      ],
      grants: true,
    },
  ];
  const variant = rng.pick(variants);
  const image = rng.pick(w.protectedImages);
  const bases: { label: string; request: Omit<RawRequest, 'headers'>; expect: Expectation }[] = [
    { label: 'base', request: { method: 'GET', target: '/v2/' }, expect: 'success' },
    {
      label: 'tags',
      request: { method: 'GET', target: `/v2/${w.protectedRepo}/tags/list` },
      expect: 'success',
    },
    {
      label: 'manifest',
      request: { method: 'GET', target: `/v2/${w.protectedRepo}/manifests/${image.tag}` },
      expect: 'success',
    },
    {
      label: 'blob',
      request: { method: 'HEAD', target: `/v2/${w.protectedRepo}/blobs/${image.config.digest}` },
      expect: 'success',
    },
    { label: 'catalog', request: { method: 'GET', target: '/v2/_catalog' }, expect: 'success' },
    {
      label: 'upload',
      request: { method: 'POST', target: `/v2/${w.playRepo}/blobs/uploads/` },
      expect: 'success',
    },
    {
      label: 'delete',
      request: { method: 'DELETE', target: `/v2/${w.protectedRepo}/manifests/${image.tag}` },
      expect: 'success',
    },
  ];
  let base = rng.pick(bases);
  // A DELETE must never be able to succeed: protected content would really go.
  while (base.label === 'delete' && (!r.authMode || variant.grants)) base = rng.pick(bases);
  const expect: Expectation = variant.big
    ? 'any'
    : r.authMode
      ? variant.grants
        ? 'any'
        : 'reject'
      : base.expect;
  return {
    gen: `auth/${variant.label}/${base.label}`,
    expect,
    request: { ...base.request, headers: [...variant.headers, ['Accept', OCI_MANIFEST]] },
    check: (response) =>
      r.authMode && !variant.grants && response.status < 400 && response.status >= 200
        ? 'credentials that are not valid were accepted'
        : undefined,
    after: async (outcome) => {
      if (
        base.label === 'upload' &&
        outcome.kind === 'response' &&
        outcome.response.status === 202 &&
        w.uploads.length < 8
      ) {
        w.trackUpload(outcome.response.headers.get('location'));
      }
    },
  };
}

async function genMethod(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const rng = w.rng;
  const blob = rng.pick(w.protectedBlobs).digest;
  const odd = [
    'PROPFIND',
    'PROPPATCH',
    'MKCOL',
    'TRACE',
    'LOCK',
    'UNLOCK',
    'COPY',
    'MOVE',
    'SEARCH',
    'PURGE',
    'LINK',
    'UNLINK',
    'REPORT',
    'M-SEARCH',
    'FOO',
    'get',
    'Get',
    'BREW',
    'SOURCE',
    'QUERY',
    'ACL',
    'BIND',
    'MERGE',
    'NOTIFY',
    'SUBSCRIBE',
    'MKCALENDAR',
    'CHECKOUT',
    'CONNECT',
    'PRI',
    'G\u00c9T',
    'GET\u0000',
    'X'.repeat(300),
  ];
  const paths = [
    '/v2/',
    '/v2/_catalog',
    `/v2/${w.protectedRepo}/tags/list`,
    `/v2/${w.protectedRepo}/manifests/v1`,
    `/v2/${w.protectedRepo}/blobs/${blob}`,
    `/v2/${w.playRepo}/blobs/uploads/`,
    `/v2/${w.protectedRepo}/referrers/${w.protectedImages[0]!.manifest.digest}`,
  ];
  // Standard methods where the endpoint does not serve them (never a valid write on protected content).
  const misplaced: [string, string][] = [
    ['PATCH', '/v2/'],
    ['DELETE', '/v2/'],
    ['POST', '/v2/'],
    ['PUT', '/v2/_catalog'],
    ['DELETE', '/v2/_catalog'],
    ['DELETE', `/v2/${w.protectedRepo}/tags/list`],
    ['POST', `/v2/${w.protectedRepo}/tags/list`],
    ['PUT', `/v2/${w.protectedRepo}/blobs/${blob}`],
    ['PATCH', `/v2/${w.protectedRepo}/blobs/${blob}`],
    ['POST', `/v2/${w.protectedRepo}/manifests/v1`],
    ['PATCH', `/v2/${w.protectedRepo}/manifests/v1`],
    ['PUT', `/v2/${w.playRepo}/blobs/uploads/`],
    ['DELETE', `/v2/${w.protectedRepo}/referrers/${w.protectedImages[0]!.manifest.digest}`],
  ];
  if (rng.chance(0.3)) {
    const [method, target] = rng.pick(misplaced);
    return {
      gen: `method/misplaced-${method.toLowerCase()}`,
      expect: 'reject',
      request: { method, target, headers: auth(r) },
    };
  }
  if (rng.chance(0.15)) {
    return {
      gen: 'method/options',
      expect: 'any',
      request: { method: 'OPTIONS', target: rng.pick(paths), headers: auth(r) },
    };
  }
  const method = rng.pick(odd);
  return {
    gen: `method/${method.length > 20 ? 'very-long' : JSON.stringify(method).slice(1, -1).toLowerCase()}`,
    expect: 'reject',
    request: {
      method,
      target: rng.pick(paths),
      headers: auth(r),
      ...(rng.chance(0.2) ? { body: Buffer.from('{}') } : {}),
    },
  };
}

async function genRaw(r: FuzzRunner): Promise<FuzzCase> {
  const w = r.world;
  const rng = w.rng;
  const { host, port } = r.server.endpoint;
  const protectedPath = `/v2/${w.protectedRepo}`;
  const image = rng.pick(w.protectedImages);
  const variant = rng.pick([
    'asterisk',
    'backslash',
    'absolute-form',
    'absolute-other-host',
    'absolute-odd',
    'bad-percent',
    'bad-percent-query',
    'long-target',
    'long-query',
    'no-leading-slash',
    'fragment',
    'control-chars',
    'version',
    'no-host',
    'two-hosts',
    'odd-headers',
    'many-headers',
    'expect-continue',
  ]);
  const gen = `raw/${variant}`;
  const get = (target: string, expect: Expectation, extra: Partial<RawRequest> = {}): FuzzCase => ({
    gen,
    expect,
    request: { method: 'GET', target, headers: auth(r, [['Accept', OCI_MANIFEST]]), ...extra },
  });
  switch (variant) {
    case 'asterisk':
      return {
        gen,
        expect: 'any',
        request: { method: rng.pick(['GET', 'OPTIONS', 'HEAD', 'DELETE']), target: '*', headers: auth(r) },
      };
    case 'backslash':
      // Invalid names or references, or no endpoint at all: refused either way.
      return get(
        rng.pick([
          '/v2/a\\b/tags/list',
          `/v2/fuzz\\protected/manifests/v1`,
          `${protectedPath}/manifests/v1\\`,
          `${protectedPath}\\tags\\list`,
          '/v2\\',
          '\\v2\\',
          `/v2/fuzz/protected/..\\..\\tags/list`,
        ]),
        'reject',
      );
    case 'absolute-form': {
      const path = rng.pick([
        '/v2/',
        `${protectedPath}/manifests/${image.tag}`,
        `${protectedPath}/tags/list`,
      ]);
      return get(`http://${host}:${port}${path}`, 'success');
    }
    case 'absolute-other-host':
      return get(
        `http://${rng.pick(['evil.example', 'localhost:1', '[::1]', '10.0.0.1'])}${protectedPath}/tags/list`,
        'any',
      );
    case 'absolute-odd':
      return get(
        rng.pick([
          'http://[::1',
          'http://',
          'http:///v2/',
          `HTTP://${host}:${port}/v2/`,
          'ftp://x/v2/',
          `https://${host}:${port}/v2/`,
          'http://a@b/v2/',
        ]),
        'any',
      );
    case 'bad-percent':
      return get(
        rng.pick([
          `${protectedPath}/manifests/%zz`,
          `${protectedPath}/manifests/%`,
          '/v2/%',
          `${protectedPath}/blobs/%e`,
          `${protectedPath}/manifests/%c3%28`,
          '/v2/fuzz%zz/tags/list',
          `${protectedPath}/blobs/uploads/%zz?_state=%zz`,
          `/v2/%ff%fe/tags/list`,
        ]),
        'reject',
      );
    case 'bad-percent-query':
      return get(
        rng.pick([
          `${protectedPath}/tags/list?n=%zz`,
          '/v2/_catalog?last=%',
          `${protectedPath}/tags/list?%=%`,
          '/v2/?%%%',
        ]),
        'any',
      );
    case 'long-target': {
      const k = rng.pick([4_000, 8_300, 17_000, 70_000]);
      return get(
        rng.pick([
          `${protectedPath}/manifests/${'a'.repeat(k)}`,
          `/v2/${'a/'.repeat(k / 2)}tags/list`,
          `${protectedPath}/blobs/sha256:${'0'.repeat(k)}`,
        ]),
        'reject',
      );
    }
    case 'long-query':
      return get(`/v2/_catalog?last=${'a'.repeat(rng.pick([5_000, 17_000, 70_000]))}`, 'any');
    case 'no-leading-slash':
      return get(rng.pick(['v2/', `v2/${w.protectedRepo}/tags/list`, '', '?x']), 'any');
    case 'fragment':
      return get(
        rng.pick(['/v2/#frag', `${protectedPath}/manifests/v1#x`, `${protectedPath}/tags/list#`]),
        'any',
      );
    case 'control-chars':
      return get(
        rng.pick([
          `/v2/fuzz/pro\ttected/tags/list`,
          '/v2/\u007f/tags/list',
          '/v2/a\rb/tags/list',
          `${protectedPath}/manifests/v\u00001`,
          '/v2/ /tags/list',
        ]),
        'reject',
      );
    case 'version':
      return get('/v2/', 'any', {
        version: rng.pick([
          'HTTP/1.0',
          'HTTP/2.0',
          'HTTP/9.9',
          'HTTP/1.2',
          'HTTP/1.1x',
          'http/1.1',
          'HTTP/1',
          '',
        ]),
      });
    case 'no-host':
      return get(rng.pick(['/v2/', `${protectedPath}/tags/list`]), 'reject', { noHost: true });
    case 'two-hosts':
      return get('/v2/', 'reject', {
        headers: auth(r, [
          ['Host', `${host}:${port}`],
          ['Host', 'evil.example'],
        ]),
      });
    case 'odd-headers': {
      const line = rng.pick([
        'X-Foo',
        'X-Foo : 1',
        'X-Fo\u0000o: 1',
        ': empty-name',
        'X-Foo: a\r\n folded',
        'X-Foo: \u0000',
        'Content-Length: 0\r\nContent-Length: 0',
      ]);
      return {
        gen,
        expect: 'any',
        request: {
          method: 'GET',
          target: `${protectedPath}/tags/list`,
          head: `GET ${protectedPath}/tags/list HTTP/1.1\r\nHost: ${host}:${port}\r\n${w.authorization === undefined ? '' : `Authorization: ${w.authorization}\r\n`}${line}\r\nConnection: close\r\n\r\n`,
        },
      };
    }
    case 'many-headers': {
      const count = rng.pick([150, 300, 2_500]);
      const headers: Headers = Array.from({ length: count }, (_, i) => [`X-Pad-${i}`, 'p'.repeat(100)]);
      return get(`${protectedPath}/tags/list`, 'any', { headers: auth(r, headers) });
    }
    default: {
      const model = await someUpload(r);
      if (model === undefined) return get('/v2/', 'any', { headers: auth(r, [['Expect', '100-continue']]) });
      const body = rng.bytes(rng.int(1, 50_000));
      return {
        gen,
        expect: 'success',
        request: {
          method: 'PATCH',
          target: model.location,
          headers: auth(r, [...OCTET, ['Expect', '100-continue']]),
          body,
        },
        after: async (outcome) => {
          if (outcome.kind === 'response' && outcome.response.status === 202) {
            w.accepted(model, body, outcome.response.headers.get('location'));
          }
          await verifyUpload(r, model, 'a PATCH with Expect: 100-continue');
        },
      };
    }
  }
}

/** The generators with their weights. */
const GENERATORS: readonly (readonly [number, (r: FuzzRunner) => Promise<FuzzCase | undefined>])[] = [
  [12, genName],
  [10, genDigest],
  [6, genTag],
  [5, genPaging],
  [6, genRange],
  [10, genChunk],
  [12, genManifest],
  [10, genUpload],
  [7, genAuth],
  [5, genMethod],
  [8, genRaw],
];

/** Draws the next input. */
export async function nextCase(r: FuzzRunner): Promise<FuzzCase> {
  for (;;) {
    const made = await r.world.rng.weighted(GENERATORS)(r);
    if (made !== undefined) return made;
  }
}
