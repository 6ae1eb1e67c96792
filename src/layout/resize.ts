// Fitting saved partitions onto disks of another size (ReaR's autoresize, reference §5.7:
// layout/prepare/default/420_autoresize_last_partitions.sh and 430_autoresize_all_partitions.sh).
//
// Default (AUTORESIZE_PARTITIONS empty): only the last partition of each disk changes, and only its end:
// it grows to the end of a disk that is at least AUTOINCREASE_DISK_SIZE_THRESHOLD_PERCENTAGE (10%) bigger,
// and shrinks to fit a disk that is at most AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE (2%) smaller. A boot,
// swap or EFI partition (AUTORESIZE_EXCLUDE_PARTITIONS) is never the one resized. AUTORESIZE_PARTITIONS=true
// resizes all partitions proportionally (except the excluded kinds), keeping 1 MiB alignment;
// false resizes nothing. Better than ReaR: a smaller disk that still holds every partition needs no
// shrinking at all, and a disk too small says by how much. Volumes on top (LVM, filesystems) are made
// to the new size when they are created; LVM logical volumes are not resized (the last one falls back
// to the free space, see plan/lvm.ts).
// Pure.

import { activeEntries, lvMapperName, type CryptEntry, type DiskEntry, type DocLine, type Entry, type LayoutDoc, type LvmDevEntry, type LvmGrpEntry, type LvmVolEntry, type PartEntry } from "./model.ts";

const MiB = 1024 * 1024;

export interface ResizeSettings {
  /** "" (last partition), "true" (all, proportionally), "false" (none), or partition devices */
  mode: "last" | "all" | "none" | string[];
  exclude: readonly string[];
  shrinkLimitPct: number;
  growThresholdPct: number;
}

export const DEFAULT_RESIZE: ResizeSettings = { mode: "last", exclude: ["boot", "swap", "efi"], shrinkLimitPct: 2, growThresholdPct: 10 };

export interface ResizeChange {
  disk: string;
  partition: string;
  fromBytes: number;
  toBytes: number;
  startFrom?: number;
  startTo?: number;
}

export interface ResizeResult {
  doc: LayoutDoc;
  changes: ResizeChange[];
  /** disks that cannot take the layout: each says by how much it is too small */
  errors: string[];
  notes: string[];
}

export interface TargetSize {
  sizeBytes: number;
  sectorSize: number;
}

const mib = (n: number) => `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;
/** a size needed, in whole MiB rounded up */
const needMib = (n: number) => `${Math.ceil(n / MiB)} MiB`;
const alignDown = (n: number, a: number) => Math.floor(n / a) * a;
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** The last byte+1 a partition may use: GPT keeps its backup header and table at the end of the disk. */
export function usableEnd(label: string, sizeBytes: number, sectorSize: number): number {
  return /^gpt/.test(label) ? sizeBytes - sectorSize - 16384 : sizeBytes;
}

/** What kinds() looks up, gathered once per layout: the filesystem and the swap on each device. */
interface OnDevice {
  fs: Map<string, Entry & { kw: "fs" }>;
  swap: Set<string>;
}

function onDevice(entries: readonly Entry[]): OnDevice {
  const fs = new Map<string, Entry & { kw: "fs" }>();
  const swap = new Set<string>();
  for (const e of entries) {
    if (e.kw === "fs" && !fs.has(e.device)) fs.set(e.device, e);
    else if (e.kw === "swap") swap.add(e.device);
  }
  return { fs, swap };
}

/** Which of boot/swap/efi a partition is (420_autoresize_last_partitions.sh's tests). */
function kinds(p: PartEntry, on: OnDevice): Set<string> {
  const k = new Set<string>();
  // msdos partitions have no name; their "boot" flag is only the active flag, not a boot partition
  const msdos = /^(primary|logical|extended)$/.test(p.name);
  const name = msdos ? "" : p.name.toLowerCase();
  const flags = p.flags.map((f) => f.toLowerCase()).filter((f) => !(msdos && f === "boot"));
  const mp = on.fs.get(p.device)?.mountpoint ?? "";
  if (/boot|bios|grub/.test(name) || flags.some((f) => /boot|bios|grub/.test(f)) || /^\/boot(\/|$)/.test(mp)) k.add("boot");
  if (on.swap.has(p.device) || /swap/.test(name) || flags.includes("swap")) k.add("swap");
  if (/efi|esp/.test(name) || flags.some((f) => /efi|esp/.test(f)) || mp === "/boot/efi") k.add("efi");
  return k;
}

/**
 * The smallest partition a file system holding `used` bytes can be shrunk to: the data, a tenth more
 * (ext4's inode tables and reserved blocks, xfs's and btrfs's metadata grow with it) and 128 MiB for the
 * journal or log. Deliberately generous: the restore into too small a file system fails hours later.
 */
export function bytesNeededFor(used: number): number {
  return alignUp(used * 1.1 + 128 * MiB, MiB);
}

/** What an LVM stack on a shrinking partition needs, and whether its volumes and their data still fit. */
interface LvmOnPart {
  vg: string;
  /** the smallest the partition may be: the volumes at their saved sizes, or the last one shrunk to its data */
  minPartBytes: number;
  /** the smallest with every volume at its saved size */
  exactPartBytes: number;
  /** the volume that shrinks (the plan's last plain LV of the group: lvcreate -l 100%FREE) and its data */
  shrinks?: { lv: string; used?: number; need?: number };
}

/** LUKS header room on a partition holding an encrypted PV (LUKS2's default header is 16 MiB; LUKS1's 2). */
const LUKS_HEADER = 16 * MiB;
/** LVM's own room on each PV: the label and metadata area (1 MiB by default, pvcreate's first PE at 1 MiB). */
const PV_METADATA = MiB;

/**
 * The LVM volume group on partition `part` (directly or through one LUKS layer), if any: the bytes the
 * partition needs for the group's logical volumes as saved, and — when they no longer fit — with the
 * group's last plain LV (the one the plan gives what is left) shrunk to the room its file system's data
 * needs (usedBytes keyed by the LV's /dev/mapper name). Other PVs of the group keep their sizes.
 */
function lvmOnPart(entries: readonly Entry[], part: string, usedBytes: Readonly<Record<string, number>>): LvmOnPart | undefined {
  const crypt = entries.find((e): e is CryptEntry => e.kw === "crypt" && e.source === part);
  const pvDev = crypt ? crypt.device : part;
  const overhead = (crypt ? LUKS_HEADER : 0) + PV_METADATA;
  const pv = entries.find((e): e is LvmDevEntry => e.kw === "lvmdev" && e.device === pvDev);
  if (!pv) return undefined;
  const grp = entries.find((e): e is LvmGrpEntry => e.kw === "lvmgrp" && e.vg === pv.vg);
  if (!grp) return undefined;
  const ext = grp.extentSize * 1024;
  // the other PVs of the group, as saved
  const otherExtents = entries
    .filter((e): e is LvmDevEntry => e.kw === "lvmdev" && e.vg === pv.vg && e.device !== pvDev)
    .reduce((a, e) => a + Math.max(0, Math.floor((e.size * 512 - PV_METADATA) / ext)), 0);
  const lvs = entries.filter((e): e is LvmVolEntry => e.kw === "lvmvol" && e.vg === pv.vg);
  const extentsOf = (l: LvmVolEntry, bytes = l.sizeBytes) => {
    const kinds = l.layout.split(",");
    if (kinds.includes("thin") && !kinds.includes("pool")) return 0; // thin volumes live in their pool
    const copies = /^(raid1|mirror)/.test(l.layout) || l.opts.mirrors ? Number(l.opts.mirrors ?? "1") + 1 : 1;
    // a thin pool also has its metadata LV and LVM's spare copy of it
    const meta = kinds.includes("pool") ? 2 * Math.max(4 * MiB, Math.ceil(bytes / 1000)) : 0;
    return Math.ceil(bytes / ext) * copies + Math.ceil(meta / ext);
  };
  const need = lvs.reduce((a, l) => a + extentsOf(l), 0);
  const partFor = (extents: number) => Math.max(0, extents - otherExtents) * ext + overhead;
  const exactPartBytes = partFor(need);
  const plain = lvs.filter((l) => !l.layout.includes("thin"));
  const last = plain[plain.length - 1];
  if (!last) return { vg: pv.vg, minPartBytes: exactPartBytes, exactPartBytes };
  const used = usedBytes[lvMapperName(pv.vg.replace(/^\/dev\//, ""), last.lv)];
  if (used === undefined) return { vg: pv.vg, minPartBytes: exactPartBytes, exactPartBytes, shrinks: { lv: last.lv } };
  const lvNeed = bytesNeededFor(used);
  const minPartBytes = partFor(need - extentsOf(last) + extentsOf(last, Math.min(last.sizeBytes, lvNeed)));
  return { vg: pv.vg, minPartBytes, exactPartBytes, shrinks: { lv: last.lv, used, need: lvNeed } };
}

/**
 * How small a disk may be and still take a saved disk (for the disk mapping): what the percentage limit
 * allows (AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE), or all partitions unchanged, or — when the last
 * partition's file system usage is known and it may be resized — its start plus the room its data needs.
 */
export function minimumDiskBytes(doc: LayoutDoc, disk: string, s: ResizeSettings = DEFAULT_RESIZE, usedBytes: Readonly<Record<string, number>> = {}): number {
  const entries = activeEntries(doc);
  const d = entries.find((e): e is DiskEntry => e.kw === "disk" && e.device === disk);
  if (!d) return 0;
  const byLimit = Math.floor(d.sizeBytes * (1 - s.shrinkLimitPct / 100));
  const parts = entries.filter((e): e is PartEntry => e.kw === "part" && e.disk === disk && e.name !== "extended");
  if (!parts.length) return d.sizeBytes;
  const tail = d.sizeBytes - usableEnd(d.label, d.sizeBytes, 512);
  const last = parts.reduce((a, b) => (b.startBytes + b.sizeBytes > a.startBytes + a.sizeBytes ? b : a));
  const unchanged = last.startBytes + last.sizeBytes + tail;
  if (s.mode === "none") return unchanged;
  const used = usedBytes[last.device];
  const excluded = Array.isArray(s.mode) ? !s.mode.includes(last.device) : s.exclude.some((x) => kinds(last, onDevice(entries)).has(x));
  const lvm = lvmOnPart(entries, last.device, usedBytes);
  // an LVM group: its volumes at their sizes, or with the last one shrunk to its data when that is known
  const dataRoom = used !== undefined ? bytesNeededFor(used) : lvm ? lvm.minPartBytes : undefined;
  const byData = dataRoom !== undefined && !excluded && s.mode !== "all" ? last.startBytes + alignUp(dataRoom, MiB) + tail : Infinity;
  return Math.min(unchanged, excluded ? unchanged : Math.max(byLimit, 0), byData);
}

/**
 * `usedBytes`: the bytes in use on the file system on a partition (layout.json's fsUsedBytes). With it
 * a disk more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE smaller still takes the layout when the data on
 * the shrunk last partition fits, and a disk too small for the data is refused with the size it needs —
 * ReaR 2.7 refuses the first and finds out about the second when the restore fills the file system.
 */
export function resizeLayout(doc: LayoutDoc, targets: Record<string, TargetSize>, s: ResizeSettings = DEFAULT_RESIZE, usedBytes: Readonly<Record<string, number>> = {}): ResizeResult {
  const entries = activeEntries(doc);
  const changes: ResizeChange[] = [];
  const errors: string[] = [];
  const notes: string[] = [];
  const newPart = new Map<string, { start: number; size: number }>();
  const newDisk = new Map<string, number>();
  const on = onDevice(entries);
  const partsOf = new Map<string, PartEntry[]>();
  for (const e of entries) {
    if (e.kw !== "part") continue;
    const l = partsOf.get(e.disk);
    if (l) l.push(e);
    else partsOf.set(e.disk, [e]);
  }

  for (const d of entries.filter((e): e is DiskEntry => e.kw === "disk")) {
    const t = targets[d.device];
    if (!t || t.sizeBytes === d.sizeBytes) continue;
    newDisk.set(d.device, t.sizeBytes);
    const parts = [...(partsOf.get(d.device) ?? [])].sort((a, b) => a.startBytes - b.startBytes);
    if (!parts.length) {
      if (t.sizeBytes < d.sizeBytes) errors.push(`${d.device} is ${mib(d.sizeBytes - t.sizeBytes)} smaller than the saved disk (${mib(t.sizeBytes)} instead of ${mib(d.sizeBytes)}) and has no partitions to shrink`);
      continue;
    }
    const end = usableEnd(d.label, t.sizeBytes, t.sectorSize);
    const real = parts.filter((p) => p.name !== "extended");
    const lastEnd = real.reduce((m, p) => Math.max(m, p.startBytes + p.sizeBytes), 0);
    const pct = ((t.sizeBytes - d.sizeBytes) / d.sizeBytes) * 100;
    const isExcluded = (p: PartEntry) => {
      if (Array.isArray(s.mode)) return !s.mode.includes(p.device);
      const k = kinds(p, on);
      return s.exclude.some((x) => k.has(x));
    };
    const tooSmall = () =>
      errors.push(`${d.device} is too small: the saved partitions need ${needMib(lastEnd + (t.sizeBytes - end))}, the disk has ${mib(t.sizeBytes)} (${mib(lastEnd - end)} short)`);

    if (s.mode === "none") {
      if (lastEnd > end) tooSmall();
      continue;
    }
    if (s.mode === "all" && !parts.some((p) => p.name === "extended")) {
      const r = proportional(real, end, isExcluded);
      if (typeof r === "string") errors.push(`${d.device}: ${r}`);
      else for (const [dev, v] of r) newPart.set(dev, v);
      continue;
    }
    if (s.mode === "all") notes.push(`${d.device}: an msdos extended partition: only the last partition is resized`);

    // the last partition (by end); a logical one takes its extended partition along
    const last = real.reduce((a, b) => (b.startBytes + b.sizeBytes > a.startBytes + a.sizeBytes ? b : a));
    const ext = last.name === "logical" ? parts.find((p) => p.name === "extended") : undefined;
    if (t.sizeBytes < d.sizeBytes) {
      if (lastEnd <= end) {
        notes.push(`${d.device} is ${mib(d.sizeBytes - t.sizeBytes)} smaller, but every partition still fits: none is shrunk`);
        continue;
      }
      const used = usedBytes[last.device];
      const lvm = used === undefined ? lvmOnPart(entries, last.device, usedBytes) : undefined;
      const overLimit = -pct > s.shrinkLimitPct;
      // past the limit only when it is known what must fit: the file system's data, or an LVM group's
      // volumes (and the data of the one that takes what is left), checked below
      if (overLimit && ((used === undefined && !lvm) || isExcluded(last))) {
        errors.push(
          `${d.device} is ${mib(d.sizeBytes - t.sizeBytes)} (${(-pct).toFixed(1)}%) smaller than the saved disk, more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE=${s.shrinkLimitPct} allows: it needs at least ${needMib(lastEnd + (t.sizeBytes - end))}`,
        );
        continue;
      }
      if (isExcluded(last)) {
        errors.push(`${d.device} is too small for the saved partitions and its last partition ${last.device} is not resized (AUTORESIZE_EXCLUDE_PARTITIONS): it needs ${mib(lastEnd - end)} more`);
        continue;
      }
      const newEnd = alignDown(end, MiB) > last.startBytes ? alignDown(end, MiB) : alignDown(end, t.sectorSize);
      if (newEnd - last.startBytes < MiB) {
        tooSmall();
        continue;
      }
      if (used !== undefined) {
        const need = bytesNeededFor(used);
        const mp = on.fs.get(last.device)?.mountpoint;
        if (newEnd - last.startBytes < need) {
          errors.push(
            `${d.device} is too small for the data: ${last.device}${mp ? ` (${mp})` : ""} holds ${mib(used)} and needs at least ${needMib(need)}, it would get ${mib(newEnd - last.startBytes)}; the disk needs at least ${needMib(last.startBytes + need + (t.sizeBytes - end))}`,
          );
          continue;
        }
        if (overLimit) notes.push(`${d.device} is ${(-pct).toFixed(1)}% smaller, more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE=${s.shrinkLimitPct}, but the ${mib(used)} in use on ${last.device}${mp ? ` (${mp})` : ""} fit in ${mib(newEnd - last.startBytes)}: it shrinks`);
      } else if (lvm) {
        const room = newEnd - last.startBytes;
        const vg = lvm.vg.replace(/^\/dev\//, "");
        if (room < lvm.exactPartBytes) {
          const sh = lvm.shrinks;
          if (!sh || sh.need === undefined || room < lvm.minPartBytes) {
            const why = !sh
              ? `the logical volumes of ${vg} need ${needMib(lvm.exactPartBytes)} on it and none of them may shrink`
              : sh.need === undefined
                ? `the logical volumes of ${vg} need ${needMib(lvm.exactPartBytes)} on it and how much of ${vg}/${sh.lv} is in use is not known (a layout saved without fsUsedBytes)`
                : `${vg}/${sh.lv} holds ${mib(sh.used!)} and needs at least ${needMib(sh.need)}; ${last.device} needs at least ${needMib(lvm.minPartBytes)}`;
            errors.push(`${d.device} is too small for the data: ${last.device} would get ${mib(room)}, but ${why}; the disk needs at least ${needMib(last.startBytes + (sh?.need !== undefined ? lvm.minPartBytes : lvm.exactPartBytes) + (t.sizeBytes - end))}`);
            continue;
          }
          notes.push(`${d.device}: the logical volumes of ${vg} no longer fit at their saved sizes; ${vg}/${sh.lv} takes what is left, and the ${mib(sh.used!)} in use on it fit`);
        }
        if (overLimit) notes.push(`${d.device} is ${(-pct).toFixed(1)}% smaller, more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE=${s.shrinkLimitPct}, but the logical volumes of ${vg} and their data fit on ${last.device} shrunk to ${mib(room)}: it shrinks`);
      }
      newPart.set(last.device, { start: last.startBytes, size: newEnd - last.startBytes });
      if (ext) newPart.set(ext.device, { start: ext.startBytes, size: newEnd - ext.startBytes });
    } else {
      if (pct < s.growThresholdPct) {
        notes.push(`${d.device} is ${pct.toFixed(1)}% bigger, less than AUTOINCREASE_DISK_SIZE_THRESHOLD_PERCENTAGE=${s.growThresholdPct}: partitions keep their size`);
        continue;
      }
      if (isExcluded(last)) {
        notes.push(`${d.device} is bigger, but its last partition ${last.device} is not resized (AUTORESIZE_EXCLUDE_PARTITIONS): the space stays free`);
        continue;
      }
      const newEnd = alignDown(end, MiB);
      if (newEnd <= last.startBytes + last.sizeBytes) continue;
      newPart.set(last.device, { start: last.startBytes, size: newEnd - last.startBytes });
      if (ext) newPart.set(ext.device, { start: ext.startBytes, size: newEnd - ext.startBytes });
    }
  }

  const lines: DocLine[] = doc.lines.map((l) => {
    if (l.t !== "entry" || l.disabled) return l;
    const e = l.entry;
    if (e.kw === "disk" && newDisk.has(e.device)) return { ...l, entry: { ...e, sizeBytes: newDisk.get(e.device)! } };
    if (e.kw === "part" && newPart.has(e.device)) {
      const v = newPart.get(e.device)!;
      if (v.size !== e.sizeBytes || v.start !== e.startBytes) {
        changes.push({ disk: e.disk, partition: e.device, fromBytes: e.sizeBytes, toBytes: v.size, ...(v.start !== e.startBytes ? { startFrom: e.startBytes, startTo: v.start } : {}) });
      }
      return { ...l, entry: { ...e, startBytes: v.start, sizeBytes: v.size } };
    }
    // a PV on a resized partition: its size in 512-byte sectors as lvmdev records it
    if (e.kw === "lvmdev" && newPart.has(e.device)) return { ...l, entry: { ...e, size: Math.floor(newPart.get(e.device)!.size / 512) } };
    return l;
  });
  return { doc: { lines }, changes, errors, notes };
}

/** 430_autoresize_all_partitions.sh: every resizable partition scaled by one factor, gaps kept, 1 MiB aligned. */
function proportional(parts: PartEntry[], end: number, isExcluded: (p: PartEntry) => boolean): Map<string, { start: number; size: number }> | string {
  const first = parts[0]!.startBytes;
  let gaps = 0;
  for (let i = 1; i < parts.length; i++) gaps += Math.max(0, parts[i]!.startBytes - (parts[i - 1]!.startBytes + parts[i - 1]!.sizeBytes));
  const fixed = parts.filter(isExcluded).reduce((a, p) => a + p.sizeBytes, 0);
  const flexible = parts.filter((p) => !isExcluded(p)).reduce((a, p) => a + p.sizeBytes, 0);
  if (!flexible) return "no partition may be resized (all are boot, swap or EFI)";
  const room = alignDown(end, MiB) - first - gaps - fixed - parts.length * MiB; // alignment slack
  const factor = room / flexible;
  if (factor <= 0) return `too small: the partitions that cannot be resized already need ${mib(first + gaps + fixed)}`;
  const out = new Map<string, { start: number; size: number }>();
  let pos = first;
  parts.forEach((p, i) => {
    const gap = i === 0 ? 0 : Math.max(0, p.startBytes - (parts[i - 1]!.startBytes + parts[i - 1]!.sizeBytes));
    const start = i === 0 ? first : alignUp(pos + gap, MiB);
    let size = isExcluded(p) ? p.sizeBytes : Math.max(MiB, alignDown(p.sizeBytes * factor, MiB));
    if (i === parts.length - 1 && !isExcluded(p)) size = alignDown(end, MiB) - start;
    out.set(p.device, { start, size });
    pos = start + size;
  });
  if (pos > end) return `too small for the partitions after scaling (${mib(pos - end)} short)`;
  return out;
}
