// The rescue system's initramfs archive: a "newc" cpio (magic 070701) written in-process, replacing
// ReaR's `find . ! -name "*~" | cpio -H newc --create` (pack/GNU/Linux/900_create_initramfs.sh).
//
// The format is the kernel's (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a
// 110-byte ASCII header (magic + 13 eight-digit hex fields), the name with its NUL, padding to 4 bytes,
// the data, padding to 4 bytes; "TRAILER!!!" ends the archive. The tree is walked first (metadata only:
// hard links need every link known before the first is written, and the walk gives the exact archive
// size for progress), then entries are streamed: file data goes out in chunks, never whole.
//
// Deliberate choices, each for the kernel's unpacker (init/initramfs.c) or for reproducibility:
// - names are relative without "./", as usr/gen_init_cpio.c writes them; the root itself is the entry
//   "." (ReaR's `find .` lists it too): the kernel's mkdir(".") fails harmlessly and its chown/chmod
//   then give the rootfs root the tree's mode instead of the filesystem's default;
// - entries sorted by name bytes (LC_ALL=C order), so a directory always precedes its contents;
// - inode numbers are assigned in archive order (gen_init_cpio counts too), devices 0:0: the same tree
//   gives the same archive, whatever disk it sits on;
// - owners are root (ReaR runs as root and its tree is root's; a tree built unprivileged must still
//   unpack as root's);
// - hard links share one ino and carry nlink = their number in the archive; only the last carries the
//   data (GNU cpio's way: the kernel links each later name to the first and the last one's data fills
//   the shared inode; cpio -i defers the links until the data arrives).

import { type BigIntStats, closeSync, fstatSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, statSync } from "node:fs";
import type { Writable } from "node:stream";
import { WorkflowError } from "../engine/errors.ts";

/** Receives the archive in order; may keep the chunk (it is never reused). A promise is awaited (backpressure). */
export type CpioSink = (chunk: Uint8Array) => void | Promise<void>;

/** An entry that does not exist on disk (device nodes: making them in the build tree would need mknod as root). */
export type ExtraEntry =
  | { path: string; type: "dir"; mode?: number; mtime?: number }
  | { path: string; type: "file"; data: Uint8Array | string; mode?: number; mtime?: number }
  | { path: string; type: "symlink"; target: string; mtime?: number }
  | { path: string; type: "char" | "block"; major: number; minor: number; mode?: number; mtime?: number }
  | { path: string; type: "fifo"; mode?: number; mtime?: number };

export interface CpioProgress {
  /** entries written so far */
  files: number;
  /** archive bytes written so far (uncompressed) */
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export interface CpioOptions {
  /** synthetic entries; one at a path that exists on disk replaces it; missing parent directories are added (0755) */
  extra?: readonly ExtraEntry[];
  /** keep the files' uid/gid (default: 0, as ReaR's root-owned tree) */
  keepOwner?: boolean;
  /** no mtime later than this (seconds since the epoch; SOURCE_DATE_EPOCH-style clamping for reproducible archives) */
  mtimeClamp?: number;
  progress?: (p: CpioProgress) => void;
  /** names left out, with everything below them; default: ReaR's `! -name "*~"` (editor backups) */
  skip?: (name: Buffer) => boolean;
  /** size of the chunks handed to the sink (default 1 MiB) */
  chunkSize?: number;
}

export interface CpioResult {
  /** entries written, trailer not counted */
  files: number;
  /** archive size (uncompressed) */
  bytes: number;
}

export type EntryKind = "dir" | "file" | "symlink" | "char" | "block" | "fifo" | "socket";

/** One archive member as it will be written. */
export interface CpioEntry {
  name: Buffer;
  kind: EntryKind;
  /** st_mode: file type and permission bits */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  nlink: number;
  ino: number;
  rdevMajor: number;
  rdevMinor: number;
  /** bytes of data in the archive: 0 for all but the last of a set of hard links */
  size: number;
  /** where a regular file's data is read from */
  source?: Buffer;
  /** the data itself: a symlink's target, an extra file's content */
  data?: Uint8Array;
}

export interface CpioPlan {
  entries: CpioEntry[];
  /** exact archive size, trailer included */
  totalBytes: number;
}

const MAGIC = "070701";
const HEADER_LEN = 110;
const TRAILER = Buffer.from("TRAILER!!!");
/** The kernel silently skips names and symlink targets longer than PATH_MAX (init/initramfs.c do_header). */
const PATH_MAX = 4096;
const MAX_FIELD = 0xffffffff;

const S_IFMT = 0o170000;
const TYPE_BITS: Record<EntryKind, number> = {
  socket: 0o140000,
  symlink: 0o120000,
  file: 0o100000,
  block: 0o060000,
  dir: 0o040000,
  char: 0o020000,
  fifo: 0o010000,
};

const align4 = (n: number) => (n + 3) & ~3;

/** Bytes an entry takes in the archive: header and name padded to 4, data padded to 4. */
function entryLength(nameLen: number, size: number): number {
  return align4(HEADER_LEN + nameLen + 1) + align4(size);
}

function kindOf(st: BigIntStats): EntryKind | undefined {
  if (st.isDirectory()) return "dir";
  if (st.isFile()) return "file";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  return undefined;
}

/** Linux's 64-bit dev_t as glibc splits it (gnu_dev_major, gnu_dev_minor). */
function splitDev(rdev: bigint): [number, number] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return [Number(major), Number(minor)];
}

/**
 * Whole seconds of the mtime, from the nanoseconds: mtimeMs is a double, which rounds a time in the
 * last ~250 ns of a second up to the next one. (Stats are BigInt for the same reason: inode numbers
 * beyond 2^53 would collide as doubles and make false hard links.)
 */
function seconds(st: BigIntStats): number {
  return Number(st.mtimeNs / 1_000_000_000n) - (st.mtimeNs < 0n && st.mtimeNs % 1_000_000_000n !== 0n ? 1 : 0);
}

/** Seconds, within the 32-bit field (the kernel reads it unsigned: "breaks in y2106"), at most the clamp. */
function clampMtime(seconds: number, clamp: number | undefined): number {
  let t = Math.floor(seconds);
  if (clamp !== undefined && t > clamp) t = Math.floor(clamp);
  return Math.min(Math.max(t, 0), MAX_FIELD);
}

const editorBackup = (name: Buffer) => name.length > 0 && name[name.length - 1] === 0x7e; // "*~"

/** An extra's path as archive name bytes: no leading "/" or "./", no "." or ".." components. */
function extraName(path: string): Buffer {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) throw new WorkflowError(`initramfs extra entry '${path}': not a path inside the archive`);
  return Buffer.from(parts.join("/"));
}

interface Walked {
  name: Buffer;
  abs: Buffer;
  st: BigIntStats;
  kind: EntryKind;
}

/** Every entry below root (not root itself), lstat'ed, symlinks not followed, skipped names pruned. */
function walkTree(root: Buffer, skip: (name: Buffer) => boolean): Walked[] {
  const out: Walked[] = [];
  const visit = (absDir: Buffer, relDir: Buffer | undefined) => {
    let names: Buffer[];
    try {
      names = readdirSync(absDir, { encoding: "buffer" });
    } catch (e) {
      throw new WorkflowError(`cannot read directory ${absDir.toString()} for the initramfs: ${(e as Error).message}`);
    }
    for (const n of names) {
      if (skip(n)) continue;
      const abs = Buffer.concat([absDir, Buffer.from("/"), n]);
      const name = relDir ? Buffer.concat([relDir, Buffer.from("/"), n]) : n;
      let st: BigIntStats;
      try {
        st = lstatSync(abs, { bigint: true });
      } catch (e) {
        throw new WorkflowError(`cannot read ${abs.toString()} for the initramfs: ${(e as Error).message}`);
      }
      const kind = kindOf(st);
      if (!kind) continue;
      out.push({ name, abs, st, kind });
      if (kind === "dir") visit(abs, name);
    }
  };
  visit(root, undefined);
  return out;
}

function extraEntry(x: ExtraEntry, name: Buffer, defaultMtime: number, clamp: number | undefined): CpioEntry {
  const mtime = clampMtime(x.mtime ?? defaultMtime, clamp);
  const base = { name, uid: 0, gid: 0, mtime, nlink: 1, ino: 0, rdevMajor: 0, rdevMinor: 0, size: 0 };
  switch (x.type) {
    case "dir":
      return { ...base, kind: "dir", mode: TYPE_BITS.dir | ((x.mode ?? 0o755) & 0o7777), nlink: 2 };
    case "file": {
      const data = typeof x.data === "string" ? Buffer.from(x.data) : x.data;
      return { ...base, kind: "file", mode: TYPE_BITS.file | ((x.mode ?? 0o644) & 0o7777), size: data.length, data };
    }
    case "symlink": {
      const data = Buffer.from(x.target);
      if (data.length === 0) throw new WorkflowError(`initramfs extra symlink '${x.path}' has an empty target`);
      return { ...base, kind: "symlink", mode: TYPE_BITS.symlink | 0o777, size: data.length, data };
    }
    case "char":
    case "block":
      return { ...base, kind: x.type, mode: TYPE_BITS[x.type] | ((x.mode ?? 0o600) & 0o7777), rdevMajor: x.major, rdevMinor: x.minor };
    case "fifo":
      return { ...base, kind: "fifo", mode: TYPE_BITS.fifo | ((x.mode ?? 0o600) & 0o7777) };
  }
}

const key = (name: Buffer) => name.toString("latin1");

/** Archive entries keyed by name; multiply linked inodes noted by "dev:ino". */
interface Entries {
  byName: Map<string, CpioEntry>;
  diskLinks: Map<CpioEntry, string>;
}

function treeEntries(root: Buffer, opts: CpioOptions): Entries {
  const out: Entries = { byName: new Map(), diskLinks: new Map() };
  for (const w of walkTree(root, opts.skip ?? editorBackup)) {
    const e: CpioEntry = {
      name: w.name,
      kind: w.kind,
      mode: Number(w.st.mode),
      ...ownerOf(w.st, opts),
      mtime: clampMtime(seconds(w.st), opts.mtimeClamp),
      nlink: w.kind === "dir" ? 2 : 1,
      ino: 0,
      rdevMajor: 0,
      rdevMinor: 0,
      size: 0,
    };
    if (w.kind === "file") {
      e.size = Number(w.st.size);
      e.source = w.abs;
    } else if (w.kind === "symlink") {
      e.data = readlinkSync(w.abs, { encoding: "buffer" });
      e.size = e.data.length;
    } else if (w.kind === "char" || w.kind === "block") {
      [e.rdevMajor, e.rdevMinor] = splitDev(w.st.rdev);
    }
    // the kernel hard-links regular files and device nodes (maybe_link), never symlinks or directories
    if (w.st.nlink > 1n && w.kind !== "dir" && w.kind !== "symlink") out.diskLinks.set(e, `${w.st.dev}:${w.st.ino}`);
    out.byName.set(key(w.name), e);
  }
  return out;
}

function ownerOf(st: BigIntStats, opts: CpioOptions): { uid: number; gid: number } {
  return opts.keepOwner ? { uid: Number(st.uid), gid: Number(st.gid) } : { uid: 0, gid: 0 };
}

/** Extras replace tree entries of the same name; parents the tree lacks are added, or the kernel could not create them. */
function addExtras(entries: Entries, extras: readonly ExtraEntry[], defaultMtime: number, clamp: number | undefined): void {
  const { byName, diskLinks } = entries;
  for (const x of extras) {
    const name = extraName(x.path);
    const e = extraEntry(x, name, defaultMtime, clamp);
    const old = byName.get(key(name));
    if (old?.kind === "dir" && e.kind !== "dir") throw new WorkflowError(`initramfs extra entry '${x.path}' would replace a directory of the tree`);
    if (old) diskLinks.delete(old);
    byName.set(key(name), e);
    for (let i = name.indexOf(0x2f); i > 0; i = name.indexOf(0x2f, i + 1)) {
      const parent = Buffer.from(name.subarray(0, i));
      const have = byName.get(key(parent));
      if (!have) byName.set(key(parent), extraEntry({ path: parent.toString(), type: "dir" }, parent, defaultMtime, clamp));
      else if (have.kind !== "dir") throw new WorkflowError(`initramfs extra entry '${x.path}': ${parent.toString()} is not a directory`);
    }
  }
}

/** Inode numbers in archive order; a hard-link set shares the first one's, counts its members, and only the last carries the data. */
function assignInodes(entries: CpioEntry[], diskLinks: Map<CpioEntry, string>): void {
  const groups = new Map<string, CpioEntry[]>();
  let ino = 1;
  for (const e of entries) {
    const k = diskLinks.get(e);
    const group = k === undefined ? undefined : groups.get(k);
    if (group) {
      e.ino = group[0]!.ino;
      group.push(e);
    } else {
      e.ino = ino++;
      if (k !== undefined) groups.set(k, [e]);
    }
  }
  for (const group of groups.values()) {
    for (const e of group) e.nlink = group.length;
    for (const e of group.slice(0, -1)) e.size = 0;
  }
}

/** A directory's link count as a filesystem has it: its name, its "." and each subdirectory's "..". */
function countDirLinks(root: CpioEntry, rest: CpioEntry[]): void {
  const dirs = new Map<string, CpioEntry>([["", root]]);
  for (const e of rest) if (e.kind === "dir") dirs.set(key(e.name), e);
  for (const e of rest) {
    if (e.kind !== "dir") continue;
    const slash = e.name.lastIndexOf(0x2f);
    const parent = dirs.get(slash < 0 ? "" : key(e.name.subarray(0, slash)));
    if (parent) parent.nlink++;
  }
}

/**
 * Walks the tree and decides every header: order, inode numbers, link counts, which hard link carries
 * the data. Reads metadata only (and symlink targets).
 */
export function planCpio(root: string, opts: CpioOptions = {}): CpioPlan {
  const rootBuf = Buffer.from(root.replace(/\/+$/, "") || "/");
  const rootSt = statSync(rootBuf, { bigint: true });
  if (!rootSt.isDirectory()) throw new WorkflowError(`initramfs tree ${root} is not a directory`);
  const rootMtime = clampMtime(seconds(rootSt), opts.mtimeClamp);

  const found = treeEntries(rootBuf, opts);
  addExtras(found, opts.extra ?? [], rootMtime, opts.mtimeClamp);
  const rest = [...found.byName.values()].sort((a, b) => Buffer.compare(a.name, b.name));
  const top: CpioEntry = {
    name: Buffer.from("."),
    kind: "dir",
    mode: Number(rootSt.mode),
    ...ownerOf(rootSt, opts),
    mtime: rootMtime,
    nlink: 2,
    ino: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    size: 0,
  };
  const entries = [top, ...rest];
  assignInodes(entries, found.diskLinks);
  countDirLinks(top, rest);

  let totalBytes = entryLength(TRAILER.length, 0);
  for (const e of entries) {
    checkEntry(e);
    totalBytes += entryLength(e.name.length, e.size);
  }
  return { entries, totalBytes };
}

/** What newc or the kernel cannot carry is an error here, not a file missing at boot. */
function checkEntry(e: CpioEntry): void {
  const what = e.name.toString();
  if (e.name.length + 1 > PATH_MAX) throw new WorkflowError(`initramfs: name longer than PATH_MAX (${PATH_MAX}): ${what.slice(0, 80)}…`);
  if (e.kind === "symlink" && e.size > PATH_MAX) throw new WorkflowError(`initramfs: symlink target longer than PATH_MAX: ${what}`);
  if (e.size > MAX_FIELD) throw new WorkflowError(`initramfs: ${what} is ${e.size} bytes; a newc cpio holds files up to 4 GiB - 1`);
  for (const v of [e.uid, e.gid, e.rdevMajor, e.rdevMinor])
    if (!Number.isInteger(v) || v < 0 || v > MAX_FIELD) throw new WorkflowError(`initramfs: ${what}: value ${v} does not fit a newc header field`);
  if ((e.mode & S_IFMT) !== TYPE_BITS[e.kind]) throw new Error(`BUG in rear: cpio entry ${what} has mode ${e.mode.toString(8)} for kind ${e.kind}`);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** The 110-byte newc header (buffer-format.rst: c_magic, then 13 fields, c_chksum 0 for 070701). */
function headerText(e: CpioEntry | undefined): string {
  if (!e) return MAGIC + hex8(0) + hex8(0) + hex8(0) + hex8(0) + hex8(1) + hex8(0) + hex8(0) + hex8(0) + hex8(0) + hex8(0) + hex8(0) + hex8(TRAILER.length + 1) + hex8(0);
  return (
    MAGIC +
    hex8(e.ino) +
    hex8(e.mode) +
    hex8(e.uid) +
    hex8(e.gid) +
    hex8(e.nlink) +
    hex8(e.mtime) +
    hex8(e.size) +
    hex8(0) + // c_maj, c_min: the archive's own "device" for hard-link matching
    hex8(0) +
    hex8(e.rdevMajor) +
    hex8(e.rdevMinor) +
    hex8(e.name.length + 1) +
    hex8(0)
  );
}

/** Fills fixed-size chunks and hands each one to the sink; file data is read straight into the chunk. */
class ChunkWriter {
  private buf: Buffer;
  private pos = 0;
  /** bytes handed to the sink */
  private sent = 0;

  constructor(
    private readonly sink: CpioSink,
    private readonly size: number,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  get written(): number {
    return this.sent + this.pos;
  }

  async bytes(src: Uint8Array): Promise<void> {
    let off = 0;
    while (off < src.length) {
      const n = Math.min(src.length - off, this.size - this.pos);
      this.buf.set(src.subarray(off, off + n), this.pos);
      this.pos += n;
      off += n;
      if (this.pos === this.size) await this.emit();
    }
  }

  async text(s: string): Promise<void> {
    if (this.size - this.pos >= s.length) {
      this.pos += this.buf.write(s, this.pos, "latin1");
      if (this.pos === this.size) await this.emit();
    } else await this.bytes(Buffer.from(s, "latin1"));
  }

  async zeros(n: number): Promise<void> {
    while (n > 0) {
      const k = Math.min(n, this.size - this.pos);
      this.buf.fill(0, this.pos, this.pos + k);
      this.pos += k;
      n -= k;
      if (this.pos === this.size) await this.emit();
    }
  }

  /** Exactly len bytes of fd; fewer means the file shrank since the walk. */
  async fromFile(fd: number, len: number, what: string, onChunk: () => void): Promise<void> {
    let position = 0;
    while (position < len) {
      const want = Math.min(len - position, this.size - this.pos);
      const got = readSync(fd, this.buf, this.pos, want, position);
      if (got === 0) throw new WorkflowError(`initramfs: ${what} shrank while it was being archived`);
      this.pos += got;
      position += got;
      if (this.pos === this.size) {
        await this.emit();
        onChunk();
      }
    }
  }

  async emit(): Promise<void> {
    if (this.pos === 0) return;
    const chunk = this.pos === this.size ? this.buf : this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.sent += this.pos;
    this.pos = 0;
    const r = this.sink(chunk);
    if (r) await r;
  }
}

async function writeEntry(w: ChunkWriter, e: CpioEntry, onChunk: () => void): Promise<void> {
  await w.text(headerText(e));
  await w.bytes(e.name);
  await w.zeros(align4(HEADER_LEN + e.name.length + 1) - HEADER_LEN - e.name.length);
  if (e.size === 0) return;
  if (e.data) await w.bytes(e.data);
  else if (e.source) {
    const fd = openSync(e.source, "r");
    try {
      await w.fromFile(fd, e.size, e.source.toString(), onChunk);
      if (fstatSync(fd).size !== e.size) throw new WorkflowError(`initramfs: ${e.source.toString()} changed size while it was being archived`);
    } finally {
      closeSync(fd);
    }
  }
  await w.zeros(align4(e.size) - e.size);
}

/** Writes a planned archive to the sink, trailer included. */
export async function emitCpio(plan: CpioPlan, sink: CpioSink, opts: Pick<CpioOptions, "progress" | "chunkSize"> = {}): Promise<CpioResult> {
  const w = new ChunkWriter(sink, opts.chunkSize ?? 1 << 20);
  let files = 0;
  const tell = () => opts.progress?.({ files, bytes: w.written, totalFiles: plan.entries.length, totalBytes: plan.totalBytes });
  for (const e of plan.entries) {
    await writeEntry(w, e, tell);
    files++;
    tell();
  }
  await w.text(headerText(undefined));
  await w.bytes(TRAILER);
  await w.zeros(align4(HEADER_LEN + TRAILER.length + 1) - HEADER_LEN - TRAILER.length);
  await w.emit();
  if (w.written !== plan.totalBytes) throw new Error(`BUG in rear: cpio archive is ${w.written} bytes, planned ${plan.totalBytes}`);
  return { files, bytes: w.written };
}

/** The whole job: walk `root`, stream the newc archive of it to `sink`. */
export async function writeCpio(root: string, sink: CpioSink, opts: CpioOptions = {}): Promise<CpioResult> {
  return emitCpio(planCpio(root, opts), sink, opts);
}

/** A sink that writes into a Node stream and waits for 'drain' when its buffer is full. */
export function writableSink(stream: Writable): CpioSink {
  return (chunk) => {
    if (stream.destroyed) throw stream.errored ?? new Error("initramfs output closed early");
    if (stream.write(chunk)) return;
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off("drain", done);
        stream.off("close", done);
        stream.off("error", done);
        if (stream.destroyed) reject(stream.errored ?? new Error("initramfs output closed early"));
        else resolve();
      };
      stream.on("drain", done);
      stream.on("close", done);
      stream.on("error", done);
    });
  };
}
