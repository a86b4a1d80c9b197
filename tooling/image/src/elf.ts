/**
 * What a 64-bit little-endian ELF file needs from the dynamic loader: its interpreter
 * (`PT_INTERP`), its `DT_NEEDED` libraries and its `DT_SONAME` — what `ldd` reports, read without
 * running anything, so the build can check that the system layer satisfies `node`.
 */
import { open } from 'node:fs/promises';
import type { FileContent } from './tar.ts';

export interface ElfDynamicInfo {
  interpreter?: string;
  needed: string[];
  soname?: string;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_SONAME = 14n;

/** Random access to a file's bytes, whether on disk or in memory. */
interface Bytes {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

async function openBytes(content: FileContent): Promise<Bytes> {
  if ('bytes' in content) {
    const all = Buffer.from(content.bytes);
    return { read: async (offset, length) => all.subarray(offset, offset + length), close: async () => {} };
  }
  const handle = await open(content.file, 'r');
  return {
    read: async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

/** The dynamic-linking info of an ELF file, or `undefined` when it is not a 64-bit LE ELF file. */
export async function readElfDynamicInfo(content: FileContent): Promise<ElfDynamicInfo | undefined> {
  const bytes = await openBytes(content);
  try {
    const ident = await bytes.read(0, 64);
    if (ident.length < 64 || ident.readUInt32BE(0) !== 0x7f454c46 || ident[4] !== 2 || ident[5] !== 1) {
      return undefined;
    }
    const phoff = Number(ident.readBigUInt64LE(0x20));
    const phentsize = ident.readUInt16LE(0x36);
    const phnum = ident.readUInt16LE(0x38);
    const table = await bytes.read(phoff, phentsize * phnum);
    const loads: Array<{ vaddr: number; offset: number; size: number }> = [];
    let dynamic: { offset: number; size: number } | undefined;
    let interpreter: string | undefined;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      const type = table.readUInt32LE(at);
      const offset = Number(table.readBigUInt64LE(at + 8));
      const vaddr = Number(table.readBigUInt64LE(at + 16));
      const size = Number(table.readBigUInt64LE(at + 32));
      if (type === PT_LOAD) loads.push({ vaddr, offset, size });
      else if (type === PT_DYNAMIC) dynamic = { offset, size };
      else if (type === PT_INTERP) interpreter = cString(await bytes.read(offset, size));
    }
    const info: ElfDynamicInfo = { needed: [], ...(interpreter === undefined ? {} : { interpreter }) };
    if (dynamic === undefined) return info;
    const entries = await bytes.read(dynamic.offset, dynamic.size);
    let strtab: number | undefined;
    const needed: bigint[] = [];
    let soname: bigint | undefined;
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = entries.readBigInt64LE(at);
      const value = entries.readBigUInt64LE(at + 8);
      if (tag === 0n) break;
      if (tag === DT_NEEDED) needed.push(value);
      else if (tag === DT_STRTAB) strtab = Number(value);
      else if (tag === DT_SONAME) soname = value;
    }
    if (strtab === undefined) return info;
    const segment = loads.find((load) => strtab! >= load.vaddr && strtab! < load.vaddr + load.size);
    if (segment === undefined) throw new Error('ELF: DT_STRTAB lies outside every PT_LOAD segment');
    const strtabOffset = strtab - segment.vaddr + segment.offset;
    const name = async (index: bigint): Promise<string> =>
      cString(await bytes.read(strtabOffset + Number(index), 4096));
    for (const index of needed) info.needed.push(await name(index));
    if (soname !== undefined) info.soname = await name(soname);
    return info;
  } finally {
    await bytes.close();
  }
}

function cString(buffer: Buffer): string {
  const end = buffer.indexOf(0);
  return buffer.subarray(0, end === -1 ? buffer.length : end).toString('latin1');
}
