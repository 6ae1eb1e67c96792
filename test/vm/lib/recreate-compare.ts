// The comparison of `run.ts recreate`: the layout saved on the source machine against the layout saved
// again after the recreation, both as our binary wrote them in the guest. Only the source disks'
// components count (the guest's own disks are in both files too), mountpoints are seen from the root
// they were mounted at (/target on the source, /mnt/local after the recreation), and what differs by
// design is blanked, each relaxation said here with its reason:
//   - ext's reserved_blocks and bytes_per_inode: saved rounded (see withoutRounded in src/layout/compare.ts);
//   - lvmgrp/lvmdev sizes: compared, but a difference of at most one extent is allowed and reported (LVM
//     rounds a PV's usable size to whole extents after its metadata area; a recreated PV may end one
//     extent shorter or longer when the metadata area's alignment differs);
//   - migration onto bigger disks only: the disk sizes, the sizes of the partitions that reached the end
//     of their disk (the last partition grows, and on msdos the extended one holding it), the PV and VG
//     sizes on them and the RAID member sizes — each must not have shrunk.
// Pure.

import { diffSets, renameDevices, withoutRounded } from "../../../src/layout/compare.ts";
import { readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { entryLine } from "../../../src/layout/disklayout/write.ts";
import { activeEntries, type Entry } from "../../../src/layout/model.ts";

/** `device` is one of `disks` or a partition of one (/dev/vda, /dev/vda1, /dev/nvme0n1p2). */
function mentions(text: string, disks: readonly string[]): boolean {
  return disks.some((d) => new RegExp(`${d.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(p?[0-9]+)?(?![A-Za-z0-9])`).test(text));
}

/** The active entries of a saved disklayout.conf that are not on `others`, mountpoints below `root` seen as the machine's own. */
export function sourceEntries(text: string, others: readonly string[], root: string): Entry[] {
  const doc = readDisklayout(text).doc;
  const strip = (mp: string) => (mp === root ? "/" : mp.startsWith(`${root}/`) ? mp.slice(root.length) : mp);
  return activeEntries(doc)
    .filter((e) => !mentions(JSON.stringify(e), others))
    .map((e) => {
      if (e.kw === "fs" || e.kw === "btrfsmountedsubvol" || e.kw === "btrfsnormalsubvol" || e.kw === "btrfsdefaultsubvol" || e.kw === "btrfssnapshotsubvol") return { ...e, mountpoint: strip(e.mountpoint) } as Entry;
      return e;
    });
}

export interface LayoutComparison {
  same: boolean;
  /** how many entries of the source layout were compared */
  entries: number;
  /** lines only in the source layout (after normalization) */
  removed: string[];
  /** lines only in the recreated layout */
  added: string[];
  /** differences allowed by the rules above, said for the record */
  allowed: string[];
  /** relaxed values that broke their rule (a size that shrank, a PV off by more than an extent) */
  violations: string[];
}

const KEEP = 2 * 1024 * 1024;

/**
 * Source entries against recreated ones. `map` (saved disk → disk now) is given for a migration: the
 * source entries are renamed through it and the grown sizes are relaxed (must not shrink).
 */
export function compareRecreated(before: Entry[], after: Entry[], opts: { map?: Record<string, string> } = {}): LayoutComparison {
  const migrated = !!opts.map && Object.entries(opts.map).some(([a, b]) => a !== b);
  const src = opts.map ? renameDevices(before, opts.map) : before;
  const allowed: string[] = [];
  const violations: string[] = [];
  // what reaches the end of its disk on the source (GPT keeps 33 sectors for its backup header)
  const diskSize = new Map(src.flatMap((e) => (e.kw === "disk" ? [[e.device, e.sizeBytes] as const] : [])));
  const atEnd = new Set(src.flatMap((e) => (e.kw === "part" && (diskSize.get(e.disk) ?? 0) - (e.startBytes + e.sizeBytes) < KEEP ? [e.device] : [])));
  const find = <T extends Entry>(list: Entry[], pred: (e: Entry) => e is T) => list.filter(pred);
  const grew = (what: string, was: number, now: number | undefined) => {
    if (now === undefined) return;
    if (now < was) violations.push(`${what} shrank from ${was} to ${now}`);
    else if (now !== was) allowed.push(`${what}: ${was} -> ${now} (grown with its disk)`);
  };
  const norm = (list: Entry[]): string[] =>
    list.map((e0) => {
      let e = withoutRounded(e0);
      if (e.kw === "lvmdev") e = { ...e, size: 0 };
      if (e.kw === "lvmgrp") e = { ...e, extents: 0, size: 0 };
      if (migrated) {
        if (e.kw === "disk") e = { ...e, sizeBytes: 0 };
        if (e.kw === "part" && atEnd.has(e.device)) e = { ...e, sizeBytes: 0 };
        if (e.kw === "raiddisk" && /^\d+$/.test(e.fields[1] ?? "")) e = { ...e, fields: [e.fields[0]!, "0", ...e.fields.slice(2)] };
      }
      return entryLine(e);
    });
  // the relaxed values, checked against their own rule
  for (const b of find(src, (e): e is Extract<Entry, { kw: "lvmgrp" }> => e.kw === "lvmgrp")) {
    const a = after.find((x): x is Extract<Entry, { kw: "lvmgrp" }> => x.kw === "lvmgrp" && x.vg === b.vg);
    if (!a) continue;
    if (migrated) grew(`VG ${b.vg} size (KiB)`, b.size, a.size);
    else if (a.size !== b.size) {
      const d = Math.abs(a.size - b.size);
      (d <= b.extentSize ? allowed : violations).push(`VG ${b.vg} size ${b.size} KiB -> ${a.size} KiB (${d <= b.extentSize ? "within one extent" : "more than one extent"})`);
    }
  }
  for (const b of find(src, (e): e is Extract<Entry, { kw: "lvmdev" }> => e.kw === "lvmdev")) {
    const a = after.find((x): x is Extract<Entry, { kw: "lvmdev" }> => x.kw === "lvmdev" && x.uuid === b.uuid);
    if (!a) continue;
    if (migrated) grew(`PV ${b.device} size (sectors)`, b.size, a.size);
    else if (a.size !== b.size) {
      const ext = src.find((x): x is Extract<Entry, { kw: "lvmgrp" }> => x.kw === "lvmgrp" && x.vg === b.vg)?.extentSize ?? 4096;
      const d = Math.abs(a.size - b.size);
      (d <= ext * 2 ? allowed : violations).push(`PV ${b.device} size ${b.size} -> ${a.size} sectors (${d <= ext * 2 ? "within one extent" : "more than one extent"})`);
    }
  }
  if (migrated) {
    for (const b of src) {
      if (b.kw === "disk") grew(`disk ${b.device} size`, b.sizeBytes, after.find((x): x is Extract<Entry, { kw: "disk" }> => x.kw === "disk" && x.device === b.device)?.sizeBytes);
      if (b.kw === "part" && atEnd.has(b.device)) grew(`partition ${b.device} size`, b.sizeBytes, after.find((x): x is Extract<Entry, { kw: "part" }> => x.kw === "part" && x.device === b.device)?.sizeBytes);
    }
  }
  const d = diffSets(norm(src), norm(after));
  return { same: d.removed.length === 0 && d.added.length === 0 && violations.length === 0, entries: src.length, ...d, allowed, violations };
}
