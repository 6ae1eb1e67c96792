// ELF headers of programs, shared libraries and kernel modules: what the dynamic loader reads to map a
// program (System V ABI, "gABI" chapters 4 and 5; elf(5)). Sample, as `readelf -l -d /bin/bash` shows it:
//   ELF64 little endian, Type DYN, Machine X86-64
//   INTERP   [Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]
//   LOAD     offset 0x000000 vaddr 0x000000 …     (PT_LOAD: file offset ↔ virtual address)
//   DYNAMIC  offset 0x12ec10 vaddr 0x12fc10 …     (PT_DYNAMIC: array of (tag, value) pairs)
//     (NEEDED) libtinfo.so.6   (NEEDED) libc.so.6   (STRTAB) 0x9ef0   (STRSZ) 0x5b1c …
// DT_NEEDED/DT_SONAME/DT_RPATH/DT_RUNPATH values are offsets into the string table that DT_STRTAB names by
// its virtual address, so that address is mapped back to a file offset through the PT_LOAD segments.
// Objects without program headers (relocatable kernel modules) or with a strange layout are read through
// the section headers (.dynamic, whose sh_link is .dynstr) instead.
// Input is untrusted: every read is bounds-checked; a truncated or garbage file yields what could be read
// (or undefined when it is not ELF at all), never an exception.

import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

export interface ElfInfo {
  class: 32 | 64;
  bigEndian: boolean;
  /** e_machine: EM_X86_64 = 62, EM_386 = 3, EM_AARCH64 = 183 … */
  machine: number;
  /** e_type: ET_REL = 1, ET_EXEC = 2, ET_DYN = 3, ET_CORE = 4 */
  type: number;
  /** PT_INTERP: the program interpreter, e.g. /lib64/ld-linux-x86-64.so.2 */
  interpreter?: string;
  needed: string[];
  /** DT_RPATH, split at ':'; empty elements (the current directory to ld.so) are dropped */
  rpath: string[];
  /** DT_RUNPATH, split the same way */
  runpath: string[];
  soname?: string;
  /** DT_FLAGS_1 (DF_1_NODEFLIB = 0x800: the cache and the default directories are not searched) */
  flags1?: number;
}

export const ET_REL = 1, ET_EXEC = 2, ET_DYN = 3;
export const EM_386 = 3, EM_MIPS = 8, EM_PPC = 20, EM_PPC64 = 21, EM_S390 = 22, EM_ARM = 40, EM_SPARCV9 = 43;
export const EM_X86_64 = 62, EM_AARCH64 = 183, EM_RISCV = 243, EM_LOONGARCH = 258;
export const DF_1_NODEFLIB = 0x800;

const PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
const SHT_DYNAMIC = 6, SHT_NOBITS = 8;
const DT_NULL = 0, DT_NEEDED = 1, DT_STRTAB = 5, DT_STRSZ = 10, DT_SONAME = 14, DT_RPATH = 15, DT_RUNPATH = 29;
const DT_FLAGS_1 = 0x6ffffffb;
const PN_XNUM = 0xffff, SHN_XINDEX = 0xffff;
// Far above any real header table or string table; keeps a garbage count from making us read gigabytes.
const MAX_TABLE_BYTES = 16 << 20;

/** Random access to the bytes of an object: a buffer in memory, or an open file read with pread. */
export interface ByteSource {
  readonly size: number;
  /** Up to `len` bytes from `offset`: fewer at the end of the data, none outside it. */
  read(offset: number, len: number): Uint8Array;
}

export function bufferSource(buf: Uint8Array): ByteSource {
  return {
    size: buf.length,
    read: (offset, len) => (offset < 0 || offset >= buf.length || len <= 0 ? new Uint8Array(0) : buf.subarray(offset, Math.min(buf.length, offset + len))),
  };
}

/** One ELF file as the parser sees it: the identification bytes decide widths and byte order. */
interface Reader {
  src: ByteSource;
  is64: boolean;
  le: boolean;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

interface Section {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

/** `len` bytes at `offset` as a DataView, or undefined when the data ends before them. */
function viewAt(r: Reader, offset: number, len: number): DataView | undefined {
  if (!Number.isSafeInteger(offset) || offset < 0) return undefined;
  const b = r.src.read(offset, len);
  return b.length < len ? undefined : new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** An address-sized field (u32 in ELF32, u64 in ELF64); a u64 beyond 2^53 is no offset or size of a real file. */
function word(r: Reader, v: DataView, at: number): number {
  if (!r.is64) return v.getUint32(at, r.le);
  const lo = v.getUint32(at + (r.le ? 0 : 4), r.le);
  const hi = v.getUint32(at + (r.le ? 4 : 0), r.le);
  return hi < 0x200000 ? hi * 0x100000000 + lo : Number.NaN;
}

// Names are bytes to the kernel; UTF-8 is what they are in practice.
const utf8 = new TextDecoder("utf-8");

/** A NUL-terminated string from a block (string table or PT_INTERP contents). */
function cString(block: Uint8Array, at: number): string | undefined {
  if (!Number.isInteger(at) || at < 0 || at >= block.length) return undefined;
  let end = block.indexOf(0, at);
  if (end < 0) end = block.length;
  return utf8.decode(block.subarray(at, end));
}

interface Header {
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

function readHeader(r: Reader): Header | undefined {
  const v = viewAt(r, 0, r.is64 ? 64 : 52);
  if (!v) return undefined;
  // ELF64 widens e_entry, e_phoff and e_shoff to 8 bytes: the fields after them move by 4, 8, then 12.
  const o = r.is64 ? 12 : 0;
  return {
    type: v.getUint16(16, r.le),
    machine: v.getUint16(18, r.le),
    phoff: word(r, v, r.is64 ? 32 : 28),
    shoff: word(r, v, r.is64 ? 40 : 32),
    phentsize: v.getUint16(42 + o, r.le),
    phnum: v.getUint16(44 + o, r.le),
    shentsize: v.getUint16(46 + o, r.le),
    shnum: v.getUint16(48 + o, r.le),
    shstrndx: v.getUint16(50 + o, r.le),
  };
}

function readSection(r: Reader, h: Header, i: number): Section | undefined {
  if (h.shentsize < (r.is64 ? 64 : 40)) return undefined;
  const v = viewAt(r, h.shoff + i * h.shentsize, r.is64 ? 64 : 40);
  if (!v) return undefined;
  return r.is64
    ? { name: v.getUint32(0, r.le), type: v.getUint32(4, r.le), offset: word(r, v, 24), size: word(r, v, 32), link: v.getUint32(40, r.le), info: v.getUint32(44, r.le) }
    : { name: v.getUint32(0, r.le), type: v.getUint32(4, r.le), offset: v.getUint32(16, r.le), size: v.getUint32(20, r.le), link: v.getUint32(24, r.le), info: v.getUint32(28, r.le) };
}

/** Section 0 holds the real counts when they do not fit the header's 16-bit fields (gABI "Extended Section Numbering"). */
function fixExtendedCounts(r: Reader, h: Header): void {
  if (!h.shoff || (h.shnum !== 0 && h.phnum !== PN_XNUM && h.shstrndx !== SHN_XINDEX)) return;
  const s0 = readSection(r, h, 0);
  if (!s0) return;
  if (h.shnum === 0) h.shnum = Math.min(s0.size, 0x10000000);
  if (h.phnum === PN_XNUM) h.phnum = s0.info;
  if (h.shstrndx === SHN_XINDEX) h.shstrndx = s0.link;
}

function readSegments(r: Reader, h: Header): Segment[] {
  const size = r.is64 ? 56 : 32;
  if (!h.phoff || h.phentsize < size || h.phnum * h.phentsize > MAX_TABLE_BYTES) return [];
  const table = r.src.read(h.phoff, h.phnum * h.phentsize);
  const out: Segment[] = [];
  for (let i = 0; (i + 1) * h.phentsize <= table.length; i++) {
    const v = new DataView(table.buffer, table.byteOffset + i * h.phentsize, size);
    out.push(
      r.is64
        ? { type: v.getUint32(0, r.le), offset: word(r, v, 8), vaddr: word(r, v, 16), filesz: word(r, v, 32) }
        : { type: v.getUint32(0, r.le), offset: v.getUint32(4, r.le), vaddr: v.getUint32(8, r.le), filesz: v.getUint32(16, r.le) },
    );
  }
  return out;
}

function readSections(r: Reader, h: Header): Section[] {
  if (!h.shoff || !h.shnum) return [];
  const out: Section[] = [];
  for (let i = 0; i < h.shnum && i * h.shentsize <= MAX_TABLE_BYTES; i++) {
    const s = readSection(r, h, i);
    if (!s) break;
    out.push(s);
  }
  return out;
}

/** The file bytes of a segment or section, clipped to the file and to a sane size. */
function readBlock(r: Reader, offset: number, size: number): Uint8Array {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0) return new Uint8Array(0);
  return r.src.read(offset, Math.min(size, MAX_TABLE_BYTES));
}

/** A virtual address → its file offset, through the PT_LOAD segment that holds it in the file. */
function mapAddress(loads: Segment[], addr: number): { offset: number; room: number } | undefined {
  for (const s of loads) {
    if (addr >= s.vaddr && addr < s.vaddr + s.filesz) return { offset: s.offset + (addr - s.vaddr), room: s.vaddr + s.filesz - addr };
  }
  return undefined;
}

/** (tag, value) pairs up to DT_NULL. */
function readDynamic(r: Reader, block: Uint8Array): [number, number][] {
  const size = r.is64 ? 16 : 8;
  const out: [number, number][] = [];
  for (let at = 0; at + size <= block.length; at += size) {
    const v = new DataView(block.buffer, block.byteOffset + at, size);
    // d_tag is signed; the tags we read are all small positive numbers or in the 0x6ffff… OS range.
    const tag = r.is64 ? (r.le ? v.getUint32(0, true) + v.getInt32(4, true) * 0x100000000 : v.getInt32(0, false) * 0x100000000 + v.getUint32(4, false)) : v.getInt32(0, r.le);
    if (tag === DT_NULL) break;
    out.push([tag, word(r, v, r.is64 ? 8 : 4)]);
  }
  return out;
}

function splitPath(s: string | undefined): string[] {
  return s ? s.split(":").filter((d) => d !== "") : [];
}

/** Reads the identification bytes; undefined when this is no ELF object we can read. */
function openReader(src: ByteSource): Reader | undefined {
  const id = src.read(0, 16);
  if (id.length < 16 || id[0] !== 0x7f || id[1] !== 0x45 || id[2] !== 0x4c || id[3] !== 0x46) return undefined;
  const cls = id[4], data = id[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  return { src, is64: cls === 2, le: data === 1 };
}

/** Parses an ELF object read through `src` (see bufferSource, readElfFile). */
export function parseElfFrom(src: ByteSource): ElfInfo | undefined {
  const r = openReader(src);
  if (!r) return undefined;
  const info: ElfInfo = { class: r.is64 ? 64 : 32, bigEndian: !r.le, machine: 0, type: 0, needed: [], rpath: [], runpath: [] };
  const h = readHeader(r);
  if (!h) return info;
  info.machine = h.machine;
  info.type = h.type;
  fixExtendedCounts(r, h);
  const segments = readSegments(r, h);
  const loads = segments.filter((s) => s.type === PT_LOAD);

  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    const name = cString(readBlock(r, interp.offset, interp.filesz), 0);
    if (name) info.interpreter = name;
  }

  // The dynamic array and its string table: through the program headers as ld.so does, else through
  // the section headers (objects without PT_DYNAMIC/PT_LOAD, or whose DT_STRTAB maps to no PT_LOAD).
  let entries: [number, number][] = [];
  let strtab: Uint8Array | undefined;
  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (dyn) {
    entries = readDynamic(r, readBlock(r, dyn.offset, dyn.filesz));
    const addr = entries.find(([t]) => t === DT_STRTAB)?.[1];
    const strsz = entries.find(([t]) => t === DT_STRSZ)?.[1];
    const at = addr !== undefined ? mapAddress(loads, addr) : undefined;
    if (at) strtab = readBlock(r, at.offset, strsz !== undefined && strsz <= at.room ? strsz : at.room);
  }
  if (!strtab || !entries.length) {
    const sections = readSections(r, h);
    const dynSec = sections.find((s) => s.type === SHT_DYNAMIC);
    const strSec = dynSec ? sections[dynSec.link] : undefined;
    if (dynSec && strSec && strSec.type !== SHT_NOBITS) {
      if (!entries.length) entries = readDynamic(r, readBlock(r, dynSec.offset, dynSec.size));
      strtab = readBlock(r, strSec.offset, strSec.size);
    }
  }
  if (!strtab) return info;

  for (const [tag, val] of entries) {
    if (tag === DT_FLAGS_1) {
      info.flags1 = val;
      continue;
    }
    if (tag !== DT_NEEDED && tag !== DT_SONAME && tag !== DT_RPATH && tag !== DT_RUNPATH) continue;
    const s = cString(strtab, val);
    if (s === undefined) continue;
    if (tag === DT_NEEDED) info.needed.push(s);
    else if (tag === DT_SONAME) info.soname = s;
    else if (tag === DT_RPATH) info.rpath.push(...splitPath(s));
    else info.runpath.push(...splitPath(s));
  }
  return info;
}

/** The ELF facts of a whole object in memory; undefined when it is not ELF. */
export function parseElf(buf: Uint8Array): ElfInfo | undefined {
  return parseElfFrom(bufferSource(buf));
}

/**
 * The ELF facts of a file, reading only the headers, the dynamic array and its string table with
 * pread: programs in /usr/bin reach hundreds of MiB in total, and .dynamic sits after .text, so
 * neither the whole file nor its head would do. Undefined when the file is not ELF or cannot be read.
 */
export function readElfFile(path: string): ElfInfo | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO met among the roots must not hang; it has no effect on regular files
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const size = st.size;
    const src: ByteSource = {
      size,
      read(offset, len) {
        const n = Math.max(0, Math.min(len, size - offset));
        if (offset < 0 || n === 0) return new Uint8Array(0);
        const b = new Uint8Array(n);
        const got = readSync(fd, b, 0, n, offset);
        return got < n ? b.subarray(0, got) : b;
      },
    };
    return parseElfFrom(src);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Section bytes by name (.modinfo, .gnu_debuglink …) via the section header string table (e_shstrndx). */
export function elfSection(buf: Uint8Array, name: string): Uint8Array | undefined {
  const r = openReader(bufferSource(buf));
  if (!r) return undefined;
  const h = readHeader(r);
  if (!h) return undefined;
  fixExtendedCounts(r, h);
  const sections = readSections(r, h);
  const shstr = sections[h.shstrndx];
  if (!shstr) return undefined;
  const names = readBlock(r, shstr.offset, shstr.size);
  const s = sections.find((s) => cString(names, s.name) === name);
  if (!s || s.type === SHT_NOBITS) return undefined;
  return readBlock(r, s.offset, s.size);
}

/**
 * A kernel module's .modinfo: NUL-separated key=value strings (with NUL padding between them), as
 * MODULE_INFO() lays them out and `modinfo` prints them:
 *   license=GPL\0firmware=iwlwifi-cc-a0-77.ucode\0firmware=…\0depends=cfg80211\0alias=pci:v00008086d…\0
 * Keys repeat (firmware, alias, softdep, parm …), so each maps to all its values in file order.
 * Empty map when the object has no .modinfo.
 */
export function parseModinfo(buf: Uint8Array): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const sec = elfSection(buf, ".modinfo");
  if (!sec) return out;
  for (const s of utf8.decode(sec).split("\0")) {
    const i = s.indexOf("=");
    if (i <= 0) continue;
    const key = s.slice(0, i);
    const list = out.get(key);
    if (list) list.push(s.slice(i + 1));
    else out.set(key, [s.slice(i + 1)]);
  }
  return out;
}

/** The first `n` bytes of a file (fewer when it is shorter), or undefined when it cannot be read. */
export function readHead(path: string, n = 65536): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const b = new Uint8Array(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether a file starts with the ELF magic (\x7fELF). */
export function isElfFile(path: string): boolean {
  const h = readHead(path, 4);
  return !!h && h.length === 4 && h[0] === 0x7f && h[1] === 0x45 && h[2] === 0x4c && h[3] === 0x46;
}
