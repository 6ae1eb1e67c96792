// checklayout's comparison (ReaR layout/compare/default/500_compare_layout.sh): the active entries of
// the saved and the current layout as sets of lines (comments, excluded entries and order do not
// count). We compare parsed entries, so blanks that differ (a file written by ReaR 2.7 ends some lines
// with a blank) are not a change. Better than 2.7 (rear#3495): when the kernel only named the same
// disks differently (sda ↔ sdb), identified by serial/WWN or, without those, by an unambiguous
// size-and-partitions signature, the layout is unchanged.
// Pure.

import { entryLine } from "./disklayout/write.ts";
import { activeEntries, type Entry, type LayoutDoc } from "./model.ts";

export interface LayoutDiff {
  same: boolean;
  /** lines only in the saved layout */
  removed: string[];
  /** lines only in the current layout */
  added: string[];
  /** saved disk → current disk, when the disks were only renamed */
  renamed?: Record<string, string>;
}

type DiskIdentity = Record<string, { serial?: string; wwn?: string } | undefined>;

const lineSet = (entries: Entry[]) => entries.map((e) => entryLine(e)).sort();

/** Multiset difference of two line lists: what only `a` has, what only `b` has, both sorted. */
export function diffSets(a: string[], b: string[]): { removed: string[]; added: string[] } {
  const count = new Map<string, number>();
  for (const x of b) count.set(x, (count.get(x) ?? 0) + 1);
  const removed: string[] = [];
  for (const x of a) {
    const n = count.get(x) ?? 0;
    if (n > 0) count.set(x, n - 1);
    else removed.push(x);
  }
  const added: string[] = [];
  for (const [x, n] of count) for (let i = 0; i < n; i++) added.push(x);
  return { removed: removed.sort(), added: added.sort() };
}

/** The partition device of disk `disk` number `n`: sda → sda1, nvme0n1 → nvme0n1p1, mmcblk0 → mmcblk0p1. */
export function partitionDevice(disk: string, n: number | string): string {
  return /[0-9]$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

/**
 * One device name through a disk map: the disk itself or one of its partitions (sda3 → nvme0n1p3);
 * anything else unchanged. Looks the name up (and its disk: the name without the partition number)
 * instead of trying every mapped disk, so renaming a layout costs one lookup per name.
 */
export function renameDevice(item: string, map: Record<string, string>): string {
  if (Object.hasOwn(map, item)) return map[item]!;
  const m = /^(.*?)([0-9]+)$/.exec(item);
  if (!m) return item;
  const [, head, n] = m as unknown as [string, string, string];
  // nvme0n1p3 → nvme0n1 (a disk name ending in a digit takes a "p"); sda3 → sda
  if (head.endsWith("p") && /[0-9]p$/.test(head)) {
    const disk = head.slice(0, -1);
    if (Object.hasOwn(map, disk)) return partitionDevice(map[disk]!, n);
  }
  if (!/[0-9]$/.test(head) && Object.hasOwn(map, head)) return partitionDevice(map[head]!, n);
  return item;
}

/** Replaces disk names (and their partitions' names) in every value; each name is mapped once, so a swap sda↔sdb is safe. */
export function renameDevices(entries: Entry[], map: Record<string, string>): Entry[] {
  if (!Object.entries(map).some(([x, y]) => x !== y)) return entries;
  const swap = (v: string) => v.split(",").map((item) => renameDevice(item, map)).join(",");
  return entries.map((e) => JSON.parse(JSON.stringify(e), (_k, v) => (typeof v === "string" ? swap(v) : v)) as Entry);
}

/** Each disk's size, label and partitions as one string, for all disks in one pass. */
function diskSignatures(entries: Entry[]): Map<string, string> {
  const parts = new Map<string, string[]>();
  for (const e of entries) {
    if (e.kw !== "part") continue;
    const l = parts.get(e.disk) ?? [];
    l.push(`${e.startBytes}+${e.sizeBytes}:${e.name}:${e.flags.join(",")}`);
    parts.set(e.disk, l);
  }
  const out = new Map<string, string>();
  for (const e of entries) if (e.kw === "disk" && !out.has(e.device)) out.set(e.device, `${e.sizeBytes}/${e.label}/${(parts.get(e.device) ?? []).join(";")}`);
  return out;
}

/** Saved disk → current disk for disks that only changed names, or undefined when that does not explain the difference. */
function findRenaming(saved: Entry[], current: Entry[], savedIds: DiskIdentity, currentIds: DiskIdentity): Record<string, string> | undefined {
  const sd = saved.filter((e) => e.kw === "disk").map((e) => (e as { device: string }).device);
  const cd = current.filter((e) => e.kw === "disk").map((e) => (e as { device: string }).device);
  if (sd.length !== cd.length || sd.length < 2) return undefined;
  const map: Record<string, string> = {};
  const used = new Set<string>();
  const savedSig = diskSignatures(saved);
  const currentSig = diskSignatures(current);
  const diskSignature = (entries: Entry[], disk: string) => (entries === saved ? savedSig : currentSig).get(disk) ?? "";
  for (const s of sd) {
    const sid = savedIds[s];
    let match = cd.filter((c) => {
      const cid = currentIds[c];
      return !!sid && !!cid && ((!!sid.serial && sid.serial === cid.serial) || (!!sid.wwn && sid.wwn === cid.wwn));
    });
    if (match.length !== 1) {
      const sig = diskSignature(saved, s);
      const same = cd.filter((c) => diskSignature(current, c) === sig);
      const sameSaved = sd.filter((x) => diskSignature(saved, x) === sig);
      match = same.length === 1 && sameSaved.length === 1 ? same : [];
    }
    if (match.length !== 1 || used.has(match[0]!)) return undefined;
    map[s] = match[0]!;
    used.add(match[0]!);
  }
  return Object.entries(map).some(([a, b]) => a !== b) ? map : undefined;
}

export function compareLayouts(saved: LayoutDoc, current: LayoutDoc, ids?: { saved?: DiskIdentity; current?: DiskIdentity }): LayoutDiff {
  const a = activeEntries(saved);
  const b = activeEntries(current);
  const d = diffSets(lineSet(a), lineSet(b));
  if (!d.removed.length && !d.added.length) return { same: true, removed: [], added: [] };
  const map = findRenaming(a, b, ids?.saved ?? {}, ids?.current ?? {});
  if (map) {
    const inverse = Object.fromEntries(Object.entries(map).map(([x, y]) => [y, x]));
    const d2 = diffSets(lineSet(a), lineSet(renameDevices(b, inverse)));
    if (!d2.removed.length && !d2.added.length) return { same: true, removed: [], added: [], renamed: map };
  }
  return { same: false, ...d };
}

/** The keywords whose lines are compared after recreation. */
/** (swap is left out: only active swap is in a layout; its UUID is checked with blkid) */
export const VERIFIED_KEYWORDS: ReadonlySet<string> = new Set(["disk", "part", "raidarray", "lvmdev", "lvmgrp", "lvmvol", "crypt", "fs", "btrfsmountedsubvol", "btrfsnormalsubvol", "btrfsdefaultsubvol"]);

/** Values that are saved rounded from block counts (ReaR's reserved_blocks=N% is rounded down, so a recreated ext4 may read one point less): not compared. */
const ROUNDED = ["reserved_blocks", "bytes_per_inode"];

/** The entries of a new probe that belong to the planned components, mountpoints seen from the target root. */
export function madeByPlan(planned: readonly Entry[], now: readonly Entry[], root: string): Entry[] {
  const devices = new Set<string>();
  const vgs = new Set<string>();
  for (const e of planned) {
    if ("device" in e) devices.add(e.device);
    if ("vg" in e) vgs.add(e.vg);
  }
  const strip = (mp: string) => (mp === root ? "/" : mp.startsWith(`${root}/`) ? mp.slice(root.length) : mp);
  return now
    .filter((e) => VERIFIED_KEYWORDS.has(e.kw))
    .filter((e) => ("vg" in e ? vgs.has(e.vg) : e.kw === "part" ? devices.has(e.disk) : "device" in e && devices.has(e.device)))
    .map((e) => ("mountpoint" in e ? ({ ...e, mountpoint: strip(e.mountpoint) } as Entry) : e));
}

/** An entry without the values that are rounded when saved. */
export function withoutRounded(e: Entry): Entry {
  if (e.kw !== "fs") return e;
  const opts = { ...e.opts };
  for (const k of ROUNDED) delete opts[k];
  return { ...e, opts };
}
