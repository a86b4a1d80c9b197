/**
 * A tar writer that gives the same bytes for the same files, and a streaming tar reader.
 *
 * The writer emits POSIX ustar entries in byte order of their paths, with one fixed mtime, the
 * uid/gid and mode each entry states, empty user and group names, no atime/ctime, and no pax
 * header unless a path or link target does not fit ustar's fields (then one with only `path` /
 * `linkpath`). File contents are read when the archive is written, and their size checked.
 *
 * The reader understands what Debian's `dpkg-deb --fsys-tarfile` and common image layers
 * contain: ustar and GNU headers, GNU long names (`L`/`K`), pax `path`/`linkpath`/`size`.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Where a regular file's bytes come from. */
export type FileContent = { readonly file: string } | { readonly bytes: Uint8Array };

interface EntryBase {
  /** Relative POSIX path without leading `/` or `./` and without a trailing `/`. */
  readonly path: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

export interface DirectoryEntry extends EntryBase {
  readonly type: 'directory';
}

export interface FileEntry extends EntryBase {
  readonly type: 'file';
  readonly size: number;
  readonly content: FileContent;
}

export interface SymlinkEntry extends EntryBase {
  readonly type: 'symlink';
  readonly target: string;
}

export type TarEntry = DirectoryEntry | FileEntry | SymlinkEntry;

const BLOCK = 512;
/** Files up to this size are read whole; larger ones are streamed. */
const SMALL_FILE = 4 << 20;
const OUTPUT_CHUNK = 256 << 10;

/** Byte order of UTF-8 paths: the order the entries of every layer are written in. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The archive of `entries` (sorted here by path; duplicates throw), every entry with mtime
 * `mtime` (seconds since the epoch), ending with the two zero blocks.
 */
export async function* tarStream(entries: Iterable<TarEntry>, mtime: number): AsyncGenerator<Buffer> {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path) throw new Error(`tar: duplicate entry ${sorted[i]!.path}`);
  }
  // Small pieces are gathered into chunks of about OUTPUT_CHUNK bytes: thousands of small files
  // would otherwise cost a stream round trip per header.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (piece: Buffer): Buffer | undefined => {
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes < OUTPUT_CHUNK) return undefined;
    const chunk = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return chunk;
  };
  for (const entry of sorted) {
    for (const piece of headers(entry, mtime)) {
      const chunk = take(piece);
      if (chunk) yield chunk;
    }
    if (entry.type !== 'file') continue;
    let written = 0;
    if ('bytes' in entry.content || entry.size <= SMALL_FILE) {
      const bytes =
        'bytes' in entry.content ? Buffer.from(entry.content.bytes) : await readFile(entry.content.file);
      written = bytes.length;
      const chunk = take(bytes);
      if (chunk) yield chunk;
    } else {
      if (pendingBytes > 0) {
        yield Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
      for await (const chunk of createReadStream(entry.content.file, { highWaterMark: 1 << 20 })) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    if (written !== entry.size) {
      throw new Error(
        `tar: ${entry.path} has ${written} bytes, expected ${entry.size} (changed while building?)`,
      );
    }
    const padding = (BLOCK - (written % BLOCK)) % BLOCK;
    if (padding > 0) {
      const chunk = take(Buffer.alloc(padding));
      if (chunk) yield chunk;
    }
  }
  pending.push(Buffer.alloc(2 * BLOCK));
  yield Buffer.concat(pending);
}

function* headers(entry: TarEntry, mtime: number): Generator<Buffer> {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const target = entry.type === 'symlink' ? entry.target : '';
  const split = splitUstarName(name);
  const targetFits = Buffer.byteLength(target) <= 100;
  const pax: Array<[string, string]> = [];
  if (split === undefined) pax.push(['path', name]);
  if (!targetFits) pax.push(['linkpath', target]);
  if (pax.length > 0) {
    const body = Buffer.from(pax.map(([key, value]) => paxRecord(key, value)).join(''));
    yield header({
      name: Buffer.from('PaxHeader'),
      prefix: Buffer.alloc(0),
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: body.length,
      mtime,
      type: 'x',
      linkname: Buffer.alloc(0),
    });
    yield body;
    const padding = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield header({
    name: split === undefined ? truncateBytes(name, 100) : Buffer.from(split.name),
    prefix: Buffer.from(split?.prefix ?? ''),
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type === 'file' ? entry.size : 0,
    mtime,
    type: entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2',
    linkname: truncateBytes(target, 100),
  });
}

/** A pax record `"<len> key=value\n"`, where `<len>` counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest);
  const digits = String(restBytes).length;
  let length = restBytes + digits;
  if (String(length).length > digits) length++;
  return `${length}${rest}`;
}

/** ustar's name (≤ 100 bytes) and prefix (≤ 155 bytes) for `name`, or `undefined` when it cannot be split. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  // Split at a `/` (the trailing one of a directory does not count) so both parts fit.
  const body = name.endsWith('/') ? name.slice(0, -1) : name;
  for (let i = body.lastIndexOf('/'); i > 0; i = body.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(rest) > 100) return undefined;
    if (Buffer.byteLength(prefix) <= 155) return { name: rest, prefix };
  }
  return undefined;
}

/** The first `max` bytes of `value` (pax carries the whole value when it is longer). */
function truncateBytes(value: string, max: number): Buffer {
  return Buffer.from(value).subarray(0, max);
}

interface HeaderFields {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname: Buffer;
}

function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  const put = (offset: number, length: number, value: string): void => {
    block.write(value, offset, length, 'latin1');
  };
  const octal = (offset: number, length: number, value: number): void => {
    const digits = value.toString(8);
    if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit a ${length}-byte field`);
    put(offset, length, `${digits.padStart(length - 1, '0')}\0`);
  };
  fields.name.copy(block, 0, 0, 100);
  octal(100, 8, fields.mode);
  octal(108, 8, fields.uid);
  octal(116, 8, fields.gid);
  octal(124, 12, fields.size);
  octal(136, 12, fields.mtime);
  put(148, 8, '        ');
  put(156, 1, fields.type);
  fields.linkname.copy(block, 157, 0, 100);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  octal(329, 8, 0);
  octal(337, 8, 0);
  fields.prefix.copy(block, 345, 0, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** One entry of an archive being read. */
export interface TarHeader {
  /** The path as stored (may start with `./` or `/`, may contain `..`: callers validate). */
  readonly path: string;
  /** `file`, `directory`, `symlink`, `hardlink`, or `other` (devices, FIFOs, …). */
  readonly type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** The raw type flag. */
  readonly typeFlag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  /** Link target of a symlink or hard link. */
  readonly target: string;
}

/**
 * Reads the archive in `source`, calling `onEntry` for every entry with a stream of its content
 * (whatever `onEntry` does not consume is skipped). Truncated archives and bad checksums throw.
 */
export async function readTar(
  source: AsyncIterable<Uint8Array>,
  onEntry: (header: TarHeader, content: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const reader = new ByteReader(source);
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === undefined) throw new Error('tar: archive ends without the end-of-archive blocks');
    if (block.every((byte) => byte === 0)) {
      // The end. Read what follows (tar pads archives to its record size), so that a producing
      // process is not left blocked on a full pipe.
      await reader.drain();
      return;
    }
    checkChecksum(block);
    const typeFlag = String.fromCharCode(block[156]!);
    const size = Number(pax?.get('size') ?? parseNumber(block.subarray(124, 136)));
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (typeFlag === 'L' || typeFlag === 'K' || typeFlag === 'x' || typeFlag === 'g') {
      const body = await reader.read(padded);
      if (body === undefined) throw new Error('tar: truncated extended header');
      const data = body.subarray(0, size);
      if (typeFlag === 'L') longName = cString(data);
      else if (typeFlag === 'K') longLink = cString(data);
      else if (typeFlag === 'x') pax = parsePax(data);
      continue;
    }
    const magic = block.subarray(257, 263).toString('latin1');
    const ustar = magic === 'ustar\0';
    const prefix = ustar ? cString(block.subarray(345, 500)) : '';
    const rawName = cString(block.subarray(0, 100));
    const path = pax?.get('path') ?? longName ?? (prefix === '' ? rawName : `${prefix}/${rawName}`);
    const target = pax?.get('linkpath') ?? longLink ?? cString(block.subarray(157, 257));
    const type =
      typeFlag === '0' || typeFlag === '\0' || typeFlag === '7'
        ? 'file'
        : typeFlag === '5'
          ? 'directory'
          : typeFlag === '2'
            ? 'symlink'
            : typeFlag === '1'
              ? 'hardlink'
              : 'other';
    const header: TarHeader = {
      path,
      type,
      typeFlag,
      mode: parseNumber(block.subarray(100, 108)) & 0o7777,
      uid: parseNumber(block.subarray(108, 116)),
      gid: parseNumber(block.subarray(116, 124)),
      size: type === 'file' ? size : 0,
      mtime: parseNumber(block.subarray(136, 148)),
      target,
    };
    longName = undefined;
    longLink = undefined;
    pax = undefined;
    const dataSize = type === 'file' ? size : 0;
    const progress = { delivered: 0 };
    await onEntry(header, reader.stream(dataSize, progress));
    await reader.skip(Math.ceil(dataSize / BLOCK) * BLOCK - progress.delivered);
  }
}

function checkChecksum(block: Buffer): void {
  const stored = parseNumber(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (sum !== stored) throw new Error(`tar: bad header checksum (${stored}, computed ${sum})`);
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end === -1 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

/** An octal field, or a base-256 one (high bit set, GNU's form for large values). */
function parseNumber(field: Uint8Array): number {
  if ((field[0]! & 0x80) !== 0) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = Buffer.from(field).toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.subarray(offset, space).toString('latin1'), 10);
    if (!Number.isFinite(length) || length <= 0) throw new Error('tar: malformed pax record');
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) out.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return out;
}

/** Exact-length reads over an async iterable of chunks. */
class ByteReader {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #buffer: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }

  /** Exactly `n` bytes; `undefined` at a clean end before any byte; throws when truncated. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.#buffer.length < n) {
      if (!(await this.#fill())) {
        if (this.#buffer.length === 0) return undefined;
        throw new Error(`tar: truncated archive (needed ${n} bytes, got ${this.#buffer.length})`);
      }
    }
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /**
   * The next `n` bytes as chunks, without holding them all; `progress.delivered` counts what was
   * taken, so the caller can skip the rest when the consumer stops early.
   */
  async *stream(n: number, progress: { delivered: number } = { delivered: 0 }): AsyncGenerator<Buffer> {
    while (progress.delivered < n) {
      if (this.#buffer.length === 0 && !(await this.#fill())) throw new Error('tar: truncated file content');
      const take = Math.min(n - progress.delivered, this.#buffer.length);
      const chunk = this.#buffer.subarray(0, take);
      this.#buffer = this.#buffer.subarray(take);
      progress.delivered += take;
      yield chunk;
    }
  }

  async drain(): Promise<void> {
    this.#buffer = Buffer.alloc(0);
    while (await this.#fill()) this.#buffer = Buffer.alloc(0);
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) {
      // discard
    }
  }
}
