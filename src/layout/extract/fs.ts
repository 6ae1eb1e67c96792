// fs lines and the btrfs section (ReaR 230_filesystem_layout.sh): mounted ext2/3/4, vfat, xfs, reiserfs
// and btrfs file systems on block devices, one per device (the first mount of it; ReaR: `sort -t' ' -k1,1
// -u` on the device), in device name order. Attributes as ReaR writes them: ext* from `tune2fs -l`
// (reserved_blocks a truncated percentage, check_interval in days, bytes_per_inode), xfs/vfat/btrfs
// uuid and label. Deliberately better than 2.7: labels with blanks are written with `\b` for each blank
// (ReaR's own intent; 2.7 writes ext labels raw, which breaks the line, and cuts vfat labels), and a
// btrfs label is written without the quotes `btrfs filesystem show` puts around it.
// Pure.

import type { DocLine, Entry } from "../model.ts";
import type { FindmntRow } from "../parse/findmnt.ts";
import { devKey as safe } from "../probe-keys.ts";
import { comment, type ExtractContext } from "./context.ts";

export const FS_TYPES = ["ext2", "ext3", "ext4", "vfat", "xfs", "reiserfs", "btrfs"];

/** findmnt -r escapes blanks as \x20; ReaR's mountpoints are written that way */
export const escapeMountpoint = (mp: string) => mp.replace(/[ \t\n\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
/** A label as one token: each blank becomes `\b` (ReaR's convention), decoded when recreating. */
export const encodeLabel = (l: string) => l.replace(/ /g, "\\b");

/** `tune2fs -l` "Key:   value" lines → key → value. */
export function parseTune2fs(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) m.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return m;
}

function extAttrs(ctx: ExtractContext, dev: string): Record<string, string> | undefined {
  const text = ctx.data[`tune2fs/${safe(dev)}.txt`];
  if (text === undefined) {
    ctx.warn(`no tune2fs output for ${dev}: its fs line has only uuid and label`);
    return undefined;
  }
  const t = parseTune2fs(text);
  const int = (k: string) => {
    const v = t.get(k);
    return v !== undefined && /^-?[0-9]+/.test(v) ? Number(/^-?[0-9]+/.exec(v)![0]) : undefined;
  };
  const blocks = int("block count") ?? 0;
  const bs = int("block size") ?? 0;
  const reserved = int("reserved block count") ?? 0;
  const inodes = int("inode count") ?? 0;
  const label = t.get("filesystem volume name");
  const o: Record<string, string> = {
    uuid: t.get("filesystem uuid") ?? "",
    label: label === undefined || label === "<none>" ? "" : encodeLabel(label),
    blocksize: String(bs),
    reserved_blocks: `${blocks ? Math.floor((reserved * 100) / blocks) : 0}%`,
    max_mounts: String(int("maximum mount count") ?? ""),
    check_interval: `${Math.floor((int("check interval") ?? 0) / 86400)}d`,
    bytes_per_inode: String(inodes ? Math.floor((blocks * bs) / inodes) : 0),
  };
  const dmo = t.get("default mount options");
  if (dmo && !dmo.includes("none")) o.default_mount_options = dmo.split(/\s+/).join(",");
  return o;
}

/** `btrfs filesystem show`: "Label: 'root'  uuid: 0f…" (or "Label: none"). */
function btrfsShow(text: string | undefined): { uuid?: string; label?: string } {
  if (!text) return {};
  const m = /Label:\s+(?:'(.*)'|none)\s+uuid:\s+(\S+)/.exec(text);
  return m ? { label: m[1] ?? "", uuid: m[2]! } : {};
}

/** The mounts ReaR takes: supported types on /dev block devices, first mount per device, by device. */
export function fsMounts(ctx: ExtractContext): FindmntRow[] {
  const byDev = new Map<string, FindmntRow>();
  for (const m of ctx.mounts) {
    if (!m.source || !m.target || !m.fstype) continue;
    if (!FS_TYPES.includes(m.fstype) || !m.source.startsWith("/dev/")) continue;
    if (!byDev.has(m.source)) byDev.set(m.source, m);
  }
  return [...byDev.values()].sort((a, b) => (a.source! < b.source! ? -1 : a.source! > b.source! ? 1 : 0));
}

/**
 * `df -Pl -BM` → mount point → bytes used (MiB rounded up by df). The mount point is everything after
 * the fifth field, so blanks in it survive.
 */
export function parseDfUsed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n").slice(1)) {
    const w = line.trim().split(/\s+/);
    if (w.length < 6) continue;
    const used = /^(\d+)M?$/.exec(w[2]!);
    if (used) out.set(w.slice(5).join(" "), Number(used[1]) * 1024 * 1024);
  }
  return out;
}

/**
 * The fs lines; `facts` gets each file system's bytes in use (fsUsedBytes, from df): a migration to a
 * smaller disk may shrink a partition only as far as its data still fits (resize.ts).
 */
export function extractFilesystems(ctx: ExtractContext, facts: Record<string, Record<string, unknown>> = {}): DocLine[] {
  const used = parseDfUsed(ctx.data["df.txt"]);
  const out: DocLine[] = [
    comment("# Filesystems (only ext2,ext3,ext4,vfat,xfs,reiserfs,btrfs are supported)."),
    comment("# Format: fs <device> <mountpoint> <fstype> [uuid=<uuid>] [label=<label>] [<attributes>]"),
  ];
  const btrfs: FindmntRow[] = [];
  for (const m of fsMounts(ctx)) {
    const dev = m.source!;
    const b = ctx.blkidOf(dev);
    let opts: Record<string, string>;
    if (/^ext[234]$/.test(m.fstype!)) opts = extAttrs(ctx, dev) ?? { uuid: b?.UUID ?? "", label: encodeLabel(b?.LABEL ?? "") };
    else if (m.fstype === "btrfs") {
      const s = btrfsShow(ctx.data[`btrfs/${safe(dev)}/show.txt`]);
      opts = { uuid: s.uuid ?? b?.UUID ?? "", label: encodeLabel(s.label ?? b?.LABEL ?? "") };
      btrfs.push(m);
    } else opts = { uuid: b?.UUID ?? "", label: encodeLabel(b?.LABEL ?? "") };
    opts.options = (m.options ?? "").replace(/seclabel,/g, "");
    const u = used.get(m.target!);
    if (u !== undefined) facts[dev] = { ...facts[dev], fsUsedBytes: u };
    const e: Entry = { kw: "fs", device: dev, mountpoint: escapeMountpoint(m.target!), fstype: m.fstype!, opts };
    out.push({ t: "entry", disabled: false, entry: e });
  }
  if (btrfs.length) out.push(...extractBtrfs(ctx, btrfs));
  return out;
}

/** "ID 257 gen 10 top level 5 path @home" → [id, path] (words 2 and 9; `<FS_TREE>/` dropped). */
function subvolRows(text: string | undefined, pathWord: number): { id: string; path: string }[] {
  const out: { id: string; path: string }[] = [];
  for (const line of (text ?? "").split("\n")) {
    const w = line.trim().split(/\s+/);
    if (w[0] !== "ID" || !w[1]) continue;
    out.push({ id: w[1], path: (w[pathWord - 1] ?? "").replace(/^<FS_TREE>\//, "") });
  }
  return out;
}

function extractBtrfs(ctx: ExtractContext, fss: FindmntRow[]): DocLine[] {
  const out: DocLine[] = [];
  const entry = (e: Entry, disabled = false): DocLine => ({ t: "entry", disabled, entry: e });
  for (const m of fss) {
    const dev = m.source!;
    const mp = escapeMountpoint(m.target!);
    const k = `btrfs/${safe(dev)}`;
    const def = (ctx.data[`${k}/get-default.txt`] ?? "").trim().split(/\s+/);
    out.push(comment(`# Btrfs default subvolume for ${dev} at ${mp}`), comment("# Format: btrfsdefaultsubvol <device> <mountpoint> <btrfs_subvolume_ID> <btrfs_subvolume_path>"));
    if (def[1]) out.push(entry({ kw: "btrfsdefaultsubvol", device: dev, mountpoint: mp, subvolId: def[1], path: def[8] ?? "/" }));
    else ctx.warn(`Empty btrfs_default_subvolume_ID, no btrfs default subvolume stored for ${dev} at ${mp}`);
    const snaps = subvolRows(ctx.data[`${k}/list-snapshots.txt`], 14);
    if (snaps.length) {
      out.push(
        comment(`# Btrfs snapshot subvolumes for ${dev} at ${mp}`),
        comment("# Btrfs snapshot subvolumes are listed here only as documentation."),
        comment("# There is no recovery of btrfs snapshot subvolumes."),
        comment("# Format: btrfssnapshotsubvol <device> <mountpoint> <btrfs_subvolume_ID> <btrfs_subvolume_path>"),
      );
      for (const s of snaps) out.push(entry({ kw: "btrfssnapshotsubvol", device: dev, mountpoint: mp, subvolId: s.id, path: s.path }, true));
    }
    const normal = subvolRows(ctx.data[`${k}/list.txt`], 9).filter((r) => !snaps.some((s) => s.id === r.id));
    if (normal.length) {
      out.push(comment(`# Btrfs normal subvolumes for ${dev} at ${mp}`), comment("# Format: btrfsnormalsubvol <device> <mountpoint> <btrfs_subvolume_ID> <btrfs_subvolume_path>"));
      for (const r of normal) out.push(entry({ kw: "btrfsnormalsubvol", device: dev, mountpoint: mp, subvolId: r.id, path: r.path }));
    }
  }
  // every mounted btrfs subvolume, in mount order
  const mounted = ctx.mounts.filter((m) => m.fstype === "btrfs" && m.source?.startsWith("/dev/") && m.target);
  if (mounted.length) {
    out.push(
      comment("# All mounted btrfs subvolumes (including mounted btrfs default subvolumes and mounted btrfs snapshot subvolumes)."),
      comment("# Determined by the findmnt command that shows the mounted btrfs_subvolume_path."),
      comment("# Format: btrfsmountedsubvol <device> <subvolume_mountpoint> <mount_options> <btrfs_subvolume_path>"),
    );
  }
  for (const m of mounted) {
    const root = m.fsroot ?? "/";
    const path = root === "/" ? "/" : root.replace(/^\//, "");
    const e: Entry = { kw: "btrfsmountedsubvol", device: m.source!, mountpoint: escapeMountpoint(m.target!), options: m.options ?? "", path };
    const list = subvolRows(ctx.data[`btrfs/${safe(m.source!)}/list.txt`], 9);
    if (path === "/" || list.some((r) => r.path === path)) out.push(entry(e));
    else {
      ctx.warn(`Ignoring non-existing btrfs subvolume listed as mounted: ${m.target}`);
      out.push(comment("# Ignoring non-existing btrfs subvolume listed as mounted:"), entry(e, true));
    }
  }
  out.push(comment("# Mounted btrfs subvolumes that have the 'no copy on write' attribute set."), comment("# Format: btrfsnocopyonwrite <btrfs_subvolume_path>"));
  const lsattr = ctx.data["btrfs/lsattr.txt"];
  if (lsattr === undefined) {
    out.push(comment("# Attributes cannot be determined because no executable 'lsattr' and/or 'findmnt' command(s) found that supports 'FSROOT'."));
  } else {
    for (const line of lsattr.split("\n")) {
      const mm = /^(\S+)\s+(.+)$/.exec(line.trim());
      if (!mm || !mm[1]!.includes("C")) continue;
      const target = mm[2]!;
      const m = mounted.find((x) => x.target === target);
      const root = m?.fsroot;
      if (!root) {
        out.push(comment(`# ${target} has the 'no copy on write' attribute set but findmnt does not show its btrfs subvolume path`));
        continue;
      }
      out.push(entry({ kw: "btrfsnocopyonwrite", path: root === "/" ? "/" : root.replace(/^\//, "") }));
    }
  }
  return out;
}
