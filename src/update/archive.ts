// The archive of a recovery update (RECOVERY_UPDATE_URL) or of OUTPUT=PORTABLE: read, checked as a whole,
// then written. ReaR's init/default/030_update_recovery_system.sh runs `tar -xf` at / on whatever it
// downloaded: an absolute path, a `..`, a symlink out of the tree, a device node or a setuid program
// lands in the rescue system. Here the archive is parsed in memory (tar, tar.gz or tar.zst; it carries
// configuration and layout files, a few MiB at most), every entry is checked before anything is written,
// and one bad entry refuses the whole archive. Pure except applyUpdate, which writes beside each file
// and renames into place only when every file was written.

import { gunzipSync } from "node:zlib";
import * as zlib from "node:zlib";
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, posix } from "node:path";
import * as tar from "tar";

export interface UpdateEntry {
  /** the path as stored, "./" and trailing "/" removed */
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "chardev" | "blockdev" | "fifo" | "other";
  mode: number;
  linkpath?: string;
  data?: Buffer;
}

/** The paths an update may write by default (ReaR's intended use: configuration, layout, recovery data). */
export const DEFAULT_UPDATE_PATHS = ["etc/rear/", "var/lib/rear/"] as const;
/** Where the rear binary sits in an update or PORTABLE archive. */
export const BINARY_PATH = "usr/sbin/rear";

export class UpdateArchiveError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
    this.name = "UpdateArchiveError";
  }
}

/** tar, tar.gz or tar.zst by its first bytes; anything else is refused by name. */
export function decompressArchive(bytes: Uint8Array, name: string): Buffer {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (b[0] === 0x1f && b[1] === 0x8b) return gunzipSync(b);
    if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) {
      return (zlib as unknown as { zstdDecompressSync(x: Uint8Array): Buffer }).zstdDecompressSync(b);
    }
  } catch (e) {
    throw new UpdateArchiveError(`${name}: the compressed data is damaged (${(e as Error).message})`);
  }
  if (b.length >= 512 && b.subarray(257, 262).toString("latin1") === "ustar") return b;
  if (b.length >= 1024 && b.every((x) => x === 0)) return b; // a tar of nothing: its end blocks
  throw new UpdateArchiveError(`${name} is not a tar, tar.gz or tar.zst archive (it starts with ${[...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, "0")).join(" ") || "nothing"})`);
}

const TYPES: Record<string, UpdateEntry["type"]> = {
  File: "file", OldFile: "file", ContiguousFile: "file", Directory: "dir", SymbolicLink: "symlink", Link: "hardlink",
  CharacterDevice: "chardev", BlockDevice: "blockdev", FIFO: "fifo",
};

/** Every entry of a tar stream, in archive order, with the file data. */
export function parseArchive(raw: Buffer, name: string): UpdateEntry[] {
  const out: UpdateEntry[] = [];
  if (raw.every((x) => x === 0)) return out;
  const warnings: string[] = [];
  const parser = new tar.Parser({
    strict: true,
    onwarn: (_code: string, message: string | Error) => warnings.push(typeof message === "string" ? message : message.message),
    onReadEntry(entry) {
      const e: UpdateEntry = { path: entry.path, type: TYPES[entry.type] ?? "other", mode: entry.mode ?? 0 };
      if (entry.linkpath) e.linkpath = entry.linkpath;
      if (e.type === "file") {
        const chunks: Buffer[] = [];
        entry.on("data", (c: Buffer) => chunks.push(c));
        entry.on("end", () => (e.data = Buffer.concat(chunks)));
      } else entry.resume();
      out.push(e);
    },
  } as ConstructorParameters<typeof tar.Parser>[0]);
  try {
    parser.end(raw);
  } catch (e) {
    throw new UpdateArchiveError(`${name}: the tar data is damaged (${(e as Error).message})`);
  }
  if (warnings.length) throw new UpdateArchiveError(`${name}: the tar data is damaged (${warnings[0]})`);
  for (const e of out) if (e.type === "file" && !e.data) throw new UpdateArchiveError(`${name}: ${e.path} is cut short (the archive is incomplete)`);
  return out;
}

export interface UpdatePolicy {
  /** relative directory prefixes ending in "/" (DEFAULT_UPDATE_PATHS plus RECOVERY_UPDATE_PATHS) */
  allowed: readonly string[];
  /** the archive is signed or pinned: its usr/sbin/rear may replace the running rear (else it is left out, see withoutBinary) */
  trusted: boolean;
}

/** RECOVERY_UPDATE_PATHS words as prefixes ("/etc/ssh" → "etc/ssh/"); a bad word is refused by name. */
export function updatePaths(extra: readonly string[]): string[] {
  const out: string[] = [...DEFAULT_UPDATE_PATHS];
  for (const w of extra) {
    const p = posix.normalize(w.replace(/^\/+/, "")).replace(/\/+$/, "");
    if (!w.trim() || p === "." || p === "" || p.split("/").includes("..")) {
      throw new UpdateArchiveError(`RECOVERY_UPDATE_PATHS: '${w}' is not a directory below / (give paths such as /etc/ssh)`);
    }
    out.push(`${p}/`);
  }
  return out;
}

/** The path without "./" and trailing "/"; undefined when it is absolute or climbs with "..". */
function cleanPath(p: string): string | undefined {
  if (p.startsWith("/")) return undefined;
  const parts = p.split("/").filter((x) => x !== "" && x !== ".");
  if (parts.includes("..") || parts.length === 0) return undefined;
  return parts.join("/");
}

const under = (p: string, allowed: readonly string[]) => allowed.some((a) => `${p}/`.startsWith(a));
/** a parent directory of an allowed prefix ("etc", "var/lib"): an archive made with `tar -C / etc/rear` has them */
const aboveAllowed = (p: string, allowed: readonly string[]) => allowed.some((a) => a.startsWith(`${p}/`));

/** Every problem of the archive, one line each; empty when all of it may be written. */
export function checkEntries(entries: readonly UpdateEntry[], policy: UpdatePolicy): string[] {
  const problems: string[] = [];
  const paths = new Set<string>();
  for (const e of entries) {
    const p = cleanPath(e.path);
    if (p === undefined) {
      problems.push(`${e.path}: ${e.path.startsWith("/") ? "an absolute path" : "a path that leaves the tree (..)"}`);
      continue;
    }
    const isBinary = p === BINARY_PATH;
    if (e.type === "dir" && aboveAllowed(p, policy.allowed)) continue;
    if (!isBinary && !under(p, policy.allowed)) {
      if (e.type === "dir" && `${BINARY_PATH}`.startsWith(`${p}/`)) continue; // usr, usr/sbin: never written
      problems.push(`${p}: outside ${policy.allowed.map((a) => a.replace(/\/$/, "")).join(", ")} (RECOVERY_UPDATE_PATHS adds more)`);
      continue;
    }
    if (!["file", "dir", "symlink", "hardlink"].includes(e.type)) {
      problems.push(`${p}: a ${e.type === "chardev" ? "character device" : e.type === "blockdev" ? "block device" : e.type === "fifo" ? "FIFO" : "special file"}`);
      continue;
    }
    if ((e.mode & 0o6000) !== 0) {
      problems.push(`${p}: set-user-ID or set-group-ID bit (mode ${(e.mode & 0o7777).toString(8)})`);
      continue;
    }
    if (isBinary && e.type !== "file") {
      problems.push(`${p}: the rear binary must be a regular file, not a ${e.type}`);
      continue;
    }
    if (e.type === "symlink") {
      const t = e.linkpath ?? "";
      const resolved = t.startsWith("/") ? undefined : cleanPath(posix.join(posix.dirname(p), t));
      if (resolved === undefined || !under(resolved, policy.allowed)) {
        problems.push(`${p}: a symbolic link to ${t} (links must stay inside ${policy.allowed.map((a) => a.replace(/\/$/, "")).join(", ")})`);
        continue;
      }
    }
    if (e.type === "hardlink") {
      const t = cleanPath(e.linkpath ?? "");
      if (t === undefined || !paths.has(t)) {
        problems.push(`${p}: a hard link to ${e.linkpath} (not a file earlier in this archive)`);
        continue;
      }
    }
    paths.add(p);
  }
  return problems;
}

export interface PlannedWrite {
  /** archive path */
  path: string;
  /** absolute destination */
  dest: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  data?: Buffer;
  linkpath?: string;
  change: "new" | "changed" | "unchanged";
}

/** Where each archive path goes: etc/rear → the configuration directory, var/lib/rear → VAR_DIR, the
 *  binary → the running binary, anything else (RECOVERY_UPDATE_PATHS) → below root. */
export function destinations(o: { root: string; configDir: string; varDir: string; binary: string }): (p: string) => string {
  const root = o.root.replace(/\/+$/, "");
  return (p) => {
    if (p === BINARY_PATH) return o.binary;
    if (p === "etc/rear" || p.startsWith("etc/rear/")) return `${o.configDir}${p.slice("etc/rear".length)}`;
    if (p === "var/lib/rear" || p.startsWith("var/lib/rear/")) return `${o.varDir}${p.slice("var/lib/rear".length)}`;
    return `${root}/${p}`;
  };
}

/** What writing the (checked) archive changes. */
export function planWrites(
  entries: readonly UpdateEntry[],
  destOf: (p: string) => string,
  current: (dest: string) => { type: "file" | "dir" | "symlink" | "other"; data?: Buffer; linkpath?: string; mode?: number } | undefined,
  allowed: readonly string[],
): PlannedWrite[] {
  const byPath = new Map<string, PlannedWrite>();
  const fileData = new Map<string, Buffer>();
  for (const e of entries) {
    const p = cleanPath(e.path)!;
    if (e.type === "dir" && !under(p, allowed)) continue; // a parent such as etc/ or usr/sbin: exists already
    const dest = destOf(p);
    let w: PlannedWrite;
    if (e.type === "hardlink") {
      const t = cleanPath(e.linkpath!)!;
      w = { path: p, dest, type: "file", mode: byPath.get(t)?.mode ?? 0o644, data: fileData.get(t)! , change: "new" };
    } else if (e.type === "file") w = { path: p, dest, type: "file", mode: e.mode & 0o777, data: e.data!, change: "new" };
    else if (e.type === "symlink") w = { path: p, dest, type: "symlink", mode: 0o777, linkpath: e.linkpath!, change: "new" };
    else w = { path: p, dest, type: "dir", mode: e.mode & 0o777 || 0o755, change: "new" };
    if (w.type === "file") fileData.set(p, w.data!);
    const cur = current(dest);
    if (cur) {
      const same =
        cur.type === w.type &&
        (w.type === "dir" ||
          (w.type === "file" && cur.data !== undefined && cur.data.equals(w.data!) && (cur.mode ?? 0) === w.mode) ||
          (w.type === "symlink" && cur.linkpath === w.linkpath));
      w.change = same ? "unchanged" : "changed";
    }
    byPath.set(p, w); // a later entry of the same path wins, as tar -x does
  }
  return [...byPath.values()];
}

/** What is at dest now (for planWrites), read from the file system. */
export function currentOnDisk(dest: string): ReturnType<Parameters<typeof planWrites>[2]> {
  let st;
  try {
    st = lstatSync(dest);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return { type: "symlink", linkpath: readlinkSync(dest) };
  if (st.isDirectory()) return { type: "dir" };
  if (st.isFile()) return { type: "file", data: readFileSync(dest), mode: st.mode & 0o777 };
  return { type: "other" };
}

/**
 * Writes the planned files: directories first, then every file and link beside its destination
 * (`.rear-update-<pid>`), then all are renamed into place. A failure while writing removes what was
 * written and changes nothing; a directory in the way of a file (or the reverse) is refused first.
 */
export function applyWrites(plan: readonly PlannedWrite[]): void {
  const todo = plan.filter((w) => w.change !== "unchanged");
  for (const w of todo) {
    const cur = currentOnDisk(w.dest);
    if (cur && (cur.type === "dir") !== (w.type === "dir")) {
      throw new UpdateArchiveError(`${w.dest} is a ${cur.type === "dir" ? "directory" : cur.type} on this system; the archive has a ${w.type === "dir" ? "directory" : w.type} there: nothing was written`);
    }
  }
  for (const w of todo) if (w.type === "dir") mkdirSync(w.dest, { recursive: true, mode: w.mode });
  const staged: { tmp: string; dest: string }[] = [];
  try {
    for (const w of todo) {
      if (w.type === "dir") continue;
      mkdirSync(dirname(w.dest), { recursive: true, mode: 0o755 });
      const tmp = `${w.dest}.rear-update-${process.pid}`;
      rmSync(tmp, { force: true });
      staged.push({ tmp, dest: w.dest });
      if (w.type === "symlink") symlinkSync(w.linkpath!, tmp);
      else {
        writeFileSync(tmp, w.data!, { mode: w.mode });
        chmodSync(tmp, w.mode);
      }
    }
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw new UpdateArchiveError(`writing the update failed, nothing was changed: ${(e as Error).message}`);
  }
  for (const s of staged) renameSync(s.tmp, s.dest);
}

/** Directories that describe one machine as a whole: when an archive brings a layout (disklayout.conf),
 *  files of these it does not have belong to another machine (the one the rescue image was made on). */
export const MACHINE_DIRS = ["etc/rear/mappings", "var/lib/rear/layout", "var/lib/rear/recovery"] as const;

/** Relative paths (below each MACHINE_DIRS entry) that exist here but not in an archive that brings a layout. */
export function staleMachineFiles(entries: readonly UpdateEntry[], existing: (dir: string) => string[]): string[] {
  const paths = new Set(entries.map((e) => cleanPath(e.path)).filter((p): p is string => !!p));
  if (!paths.has("var/lib/rear/layout/disklayout.conf")) return [];
  const out: string[] = [];
  for (const d of MACHINE_DIRS) for (const rel of existing(d)) if (!paths.has(`${d}/${rel}`)) out.push(`${d}/${rel}`);
  return out.sort();
}

/** The entries without the rear binary (an archive neither signed nor pinned: a PORTABLE archive served
 *  over https updates the configuration and layout, never the program). */
export function withoutBinary(entries: readonly UpdateEntry[]): { entries: UpdateEntry[]; dropped: boolean } {
  const keep = entries.filter((e) => cleanPath(e.path) !== BINARY_PATH);
  return { entries: keep, dropped: keep.length !== entries.length };
}

/** The whole reading: bytes → checked entries, or an UpdateArchiveError listing every problem. */
export function readUpdateArchive(bytes: Uint8Array, name: string, policy: UpdatePolicy): UpdateEntry[] {
  const entries = parseArchive(decompressArchive(bytes, name), name);
  if (entries.length === 0) throw new UpdateArchiveError(`${name} is empty`);
  const problems = checkEntries(entries, policy);
  if (problems.length) {
    throw new UpdateArchiveError(
      `${name} was refused, nothing was written: ${problems.length} entr${problems.length === 1 ? "y" : "ies"} not allowed (${problems.slice(0, 3).join("; ")}${problems.length > 3 ? "; …" : ""})`,
      problems,
    );
  }
  return entries;
}

