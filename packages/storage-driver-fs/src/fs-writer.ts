import { type FileHandle, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type FileWriter, writerClosed } from '@berth/storage-driver';
import { type Disk, isMissing } from './disk.ts';

/**
 * Writes smaller than this are gathered into one buffer of this size and written with one
 * `write` call; larger ones go to the file directly, without a copy. See the README for the
 * measurements behind the size.
 */
export const WRITE_BUFFER_SIZE: number = 1024 * 1024;

/**
 * A write to this writer's own pending file `#berth/pending/<dirs>/<name>#pending-<id>`, opened
 * read-write.
 *
 * - `close()` flushes and closes; the pending file stays for `writer(path, { append: true })`
 *   to resume, in this process or another.
 * - `commit()` flushes, fsyncs (when enabled) and renames the pending file over the target
 *   (creating the target's directory), so readers see the old file or the new one, never a mix.
 * - `cancel()` removes the pending file.
 *
 * The file name is this writer's alone, so commit and cancel never touch another writer's
 * bytes. A newer non-append writer of the same path deletes older pending files (it discards
 * them); a writer whose file was deleted that way (or by `delete`) still commits its own
 * bytes, whole, by copying them from its open handle.
 */
export class FsWriter implements FileWriter {
  readonly #disk: Disk;
  readonly #path: string;
  readonly #target: string;
  readonly #pending: string;
  #handle: FileHandle | undefined;
  #size: number;
  /** File offset of the next `write` call: `#size` minus what sits in the buffer. */
  #position: number;
  #buffer: Buffer | undefined;
  #buffered = 0;
  /**
   * The write of the previous full buffer, not yet awaited: the next buffer fills (the request
   * keeps streaming, the hash keeps running) while it reaches the file. At most one is in
   * flight, so writes land in order; its buffer comes back as `#spare`.
   */
  #inflight: Promise<void> | undefined;
  #spare: Buffer | undefined;
  /** Bytes written since the last background fdatasync started, and that sync if running. */
  #unsynced = 0;
  #syncing: Promise<void> | undefined;
  /** Set when a write failed: the buffer's bytes are then not known to be on disk. */
  #failure: { error: unknown } | undefined;

  constructor(disk: Disk, path: string, target: string, pending: string, handle: FileHandle, size: number) {
    this.#disk = disk;
    this.#path = path;
    this.#target = target;
    this.#pending = pending;
    this.#handle = handle;
    this.#size = size;
    this.#position = size;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const handle = this.#open('closed');
    if (this.#failure) throw this.#failure.error;
    try {
      const length = chunk.byteLength;
      let offset = 0;
      while (offset < length) {
        if (this.#buffered === 0 && length - offset >= WRITE_BUFFER_SIZE) {
          // Big enough to be worth its own syscall: no copy.
          await this.#settle();
          await this.#writeAt(handle, offset === 0 ? chunk : chunk.subarray(offset));
          break;
        }
        this.#buffer ??= this.#spare ?? Buffer.allocUnsafeSlow(WRITE_BUFFER_SIZE);
        this.#spare = undefined;
        const n = Math.min(WRITE_BUFFER_SIZE - this.#buffered, length - offset);
        this.#buffer.set(n === length ? chunk : chunk.subarray(offset, offset + n), this.#buffered);
        this.#buffered += n;
        offset += n;
        if (this.#buffered === WRITE_BUFFER_SIZE) await this.#flush(handle, false);
      }
      this.#size += length;
    } catch (error) {
      this.#failure = { error };
      throw error;
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    try {
      if (!this.#failure) await this.#flush(handle);
    } finally {
      await this.#inflight;
      await this.#syncing;
      this.#inflight = undefined;
      this.#buffer = undefined;
      this.#spare = undefined;
      await this.#disk.call(() => handle.close());
    }
  }

  async commit(): Promise<void> {
    const disk = this.#disk;
    const handle = this.#open('committed');
    this.#handle = undefined;
    try {
      if (this.#failure) throw this.#failure.error;
      await this.#flush(handle);
      this.#buffer = undefined;
      if (disk.fsync) await disk.call(() => handle.datasync());
      // `false`: our pending file is gone (superseded by a newer writer, or deleted): publish
      // our own bytes from the handle instead. A failure (the target is a directory, say)
      // leaves the write pending and resumable.
      if (!(await disk.publish(this.#pending, this.#target))) await this.#commitCopy(handle);
    } finally {
      await this.#inflight;
      await this.#syncing;
      this.#inflight = undefined;
      this.#buffer = undefined;
      this.#spare = undefined;
      await disk.call(() => handle.close());
    }
    // The pending directory the file left is not fsynced: like every removal (cancel, delete),
    // that of a pending file need not survive a power loss; the committed file does.
    await disk.pruneEmptyDirs(dirname(this.#pending));
  }

  async cancel(): Promise<void> {
    const handle = this.#open('cancelled');
    this.#handle = undefined;
    await this.#inflight;
    await this.#syncing;
    this.#inflight = undefined;
    this.#buffer = undefined;
    this.#spare = undefined;
    await this.#disk.call(() => handle.close());
    try {
      await this.#disk.call(() => unlink(this.#pending));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    await this.#disk.pruneEmptyDirs(dirname(this.#pending));
  }

  #open(how: 'closed' | 'committed' | 'cancelled'): FileHandle {
    if (this.#handle === undefined) throw writerClosed(this.#path, how);
    return this.#handle;
  }

  /** Commits by copying this writer's bytes from its handle to a temporary file, then publishing that. */
  async #commitCopy(handle: FileHandle): Promise<void> {
    const disk = this.#disk;
    const temp = disk.tempPath(this.#target);
    const out = await disk.inDir(temp, () => disk.call(() => open(temp, 'wx', 0o666)), false);
    try {
      const buffer = Buffer.allocUnsafeSlow(Math.min(WRITE_BUFFER_SIZE, Math.max(1, this.#position)));
      let position = 0;
      while (position < this.#position) {
        const length = Math.min(buffer.byteLength, this.#position - position);
        const { bytesRead } = await disk.call(() => handle.read(buffer, 0, length, position));
        if (bytesRead === 0) throw new Error(`pending write of ${this.#path} is shorter than its size`);
        let written = 0;
        while (written < bytesRead) {
          const at = position + written;
          const { bytesWritten } = await disk.call(() => out.write(buffer, written, bytesRead - written, at));
          written += bytesWritten;
        }
        position += bytesRead;
      }
      if (disk.fsync) await disk.call(() => out.datasync());
      await disk.call(() => out.close());
      if (!(await disk.publish(temp, this.#target))) throw disk.tempVanished(temp);
    } catch (err) {
      await out.close().catch(() => {});
      await disk.call(() => unlink(temp)).catch(() => {});
      throw err;
    }
  }

  /**
   * Writes the buffer out. With `wait: false` the write goes on in the background (see
   * `#inflight`); either way the previous background write is awaited first.
   */
  async #flush(handle: FileHandle, wait = true): Promise<void> {
    await this.#settle();
    const buffer = this.#buffer;
    if (this.#buffered === 0 || buffer === undefined) return;
    const data = buffer.subarray(0, this.#buffered);
    this.#buffer = undefined;
    this.#buffered = 0;
    const write = this.#writeAt(handle, data).then(() => {
      this.#spare = buffer;
    });
    if (wait) {
      await write;
      return;
    }
    // Observed here so a failure is never unhandled; `#settle` reports it.
    this.#inflight = write.catch((error: unknown) => {
      this.#failure ??= { error };
    });
  }

  /** Waits for the background write, if any; rejects if it (or an earlier write) failed. */
  async #settle(): Promise<void> {
    const inflight = this.#inflight;
    if (inflight !== undefined) {
      this.#inflight = undefined;
      await inflight;
    }
    if (this.#failure) throw this.#failure.error;
  }

  async #writeAt(handle: FileHandle, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.#disk.call(() =>
        handle.write(data, done, data.byteLength - done, this.#position),
      );
      done += bytesWritten;
      this.#position += bytesWritten;
    }
    this.#unsynced += data.byteLength;
    if (this.#disk.fsync && this.#unsynced >= SYNC_EVERY && this.#syncing === undefined) {
      // Start writing back what is there while more arrives: the commit's fdatasync then has
      // only the tail left to flush, instead of the whole file at once (the kernel by itself
      // starts writeback only past a share of the machine's memory). Best effort: a failure
      // shows again in the commit's own fdatasync.
      this.#unsynced = 0;
      this.#syncing = this.#disk
        .call(() => handle.datasync())
        .catch(() => {})
        .then(() => {
          this.#syncing = undefined;
        });
    }
  }
}

/** With fsync on, a writer starts a background fdatasync each time this much more is written. */
const SYNC_EVERY = 8 * 1024 * 1024;
