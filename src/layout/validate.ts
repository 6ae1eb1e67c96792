// What cannot be recreated, found before anything is written (ReaR checks a little of this in
// layout/save/default/950_verify_disklayout_file.sh; the rest it finds when diskrestore.sh fails
// halfway, after the disks were wiped). A layout file a person edited, or one from another machine, is
// checked as a whole here, and every problem names its FILE:LINE:
//
//   geometry    a partition overlapping another, ending past its disk (GPT keeps 33 sectors at the
//               end), starting before the label's first usable byte (the MBR, the GPT header and
//               table), a logical partition outside its extended one, two extended ones, more than four
//               primary ones, logical volumes bigger than their volume group
//   references  a partition on a disk that is not declared, a filesystem / swap / PV / LUKS / RAID
//               member on a device nothing declares, an LV in a VG without `lvmgrp`, a VG without PVs,
//               a thin volume in a pool that is not there; or one whose device is commented out
//               (nothing would create it: ReaR would skip it silently)
//   duplicates  one device declared twice (two `part /dev/sda1`, a disk twice, a VG or LV twice), two
//               filesystems on one mountpoint, one device used twice (a filesystem on a PV, a partition
//               in two RAID arrays, a disk with a partition table that is also formatted whole)
//   cycles      components that need each other (md0 on md1 on md0), so none can be made first
//
// Only active lines are checked for duplicates (an edited file keeps the old line commented out); a
// reference may point at a commented-out line only where that line's device exists without being
// created (never a partition: it is made with its disk's table).
// Linear in the number of lines (maps built once, partitions sorted per disk).
// Pure.

import { buildDeps, creationOrder } from "./deps.ts";
import { type Entry, entryId, keywordOf, type LayoutDoc, lvMapperName } from "./model.ts";

export interface LayoutProblem {
  /** 1-based line in the file (the doc's line index + 1) */
  line: number;
  message: string;
}

export interface CheckOptions {
  /** logical sector size of a disk (from layout.json facts or the disk now); 512 when unknown */
  sectorSize?: (disk: string) => number | undefined;
}

/** A layout that cannot be recreated: each problem is one `FILE:LINE: …` line of the message. */
export class LayoutCheckError extends Error {
  constructor(
    readonly file: string,
    readonly problems: LayoutProblem[],
  ) {
    super(formatProblems(file, problems));
    this.name = "LayoutCheckError";
  }
}

const MAX_SHOWN = 20;

export function formatProblems(file: string, problems: readonly LayoutProblem[]): string {
  const shown = problems.slice(0, MAX_SHOWN).map((p) => `${file}:${p.line}: ${p.message}`);
  if (problems.length > MAX_SHOWN) shown.push(`${file}: … and ${problems.length - MAX_SHOWN} more problems`);
  return shown.join("\n");
}

interface Located {
  entry: Entry;
  line: number;
  disabled: boolean;
}

const bytes = (n: number) => `${n} bytes`;
const isDev = (d: string) => d.startsWith("/dev/");
const vgShort = (vg: string) => vg.replace(/^\/dev\//, "");

/** The devices an entry makes (or declares, for a disk): what other lines may stand on. */
function devicesOf(e: Entry): string[] {
  switch (e.kw) {
    case "disk":
    case "part":
    case "raidarray":
    case "multipath":
    case "crypt":
      return [e.device];
    case "lvmvol":
      // both names LVM gives it: /dev/mapper/vg-lv and /dev/vg/lv
      return [lvMapperName(e.vg, e.lv), `/dev/${vgShort(e.vg)}/${e.lv}`];
    case "other":
      // drbd, logicaldrive and keywords of a newer ReaR name their device first
      return e.keyword !== "opaldisk" && e.keyword !== "dasd_channel" && e.fields[0] && isDev(e.fields[0]) ? [e.fields[0]] : [];
    default:
      return [];
  }
}

/** The devices an entry stands on, each used whole and by nobody else (mkfs, pvcreate, luksFormat, mdadm). */
function consumes(e: Entry): string[] {
  switch (e.kw) {
    case "fs":
    case "lvmdev":
      return [e.device];
    case "swap":
      return isDev(e.device) ? [e.device] : []; // a swap file lives in a filesystem
    case "crypt":
      return [e.source];
    case "raidarray":
      // mdadm's "missing" holds the place of a member of a degraded array
      return [...(e.opts.devices ?? "").split(","), ...(e.opts["spare-devices"] ?? "").split(",")].filter((d) => d && d !== "missing");
    case "other":
      return e.keyword === "drbd" && e.fields[2] ? [e.fields[2]] : [];
    default:
      return [];
  }
}

const what = (e: Entry): string => {
  switch (e.kw) {
    case "fs":
      return `the ${e.fstype} filesystem for ${e.mountpoint}`;
    case "swap":
      return "swap";
    case "lvmdev":
      return `a physical volume of ${vgShort(e.vg)}`;
    case "crypt":
      return `the LUKS volume ${e.device}`;
    case "raidarray":
      return `the RAID array ${e.device}`;
    default:
      return keywordOf(e);
  }
};

/** GPT keeps its header and 128-entry table at both ends (primary: LBA 1 + 16 KiB; backup: the last 33 sectors of 512 bytes). */
function usable(label: string, sizeBytes: number, sector: number): { first: number; end: number } | undefined {
  if (/^gpt/.test(label)) return { first: 2 * sector + 16384, end: sizeBytes - sector - 16384 };
  if (label === "msdos") return { first: sector, end: sizeBytes };
  return undefined; // dasd and other labels: their geometry is not checked here
}

function checkGeometry(disks: Map<string, Located>, parts: Located[], opts: CheckOptions, add: (line: number, m: string) => void): void {
  const byDisk = new Map<string, Located[]>();
  for (const p of parts) {
    if (p.entry.kw !== "part") continue;
    const l = byDisk.get(p.entry.disk);
    if (l) l.push(p);
    else byDisk.set(p.entry.disk, [p]);
  }
  for (const [disk, list] of byDisk) {
    const d = disks.get(disk);
    if (!d || d.entry.kw !== "disk") continue;
    const de = d.entry;
    if (de.label === "" || de.label === "unknown" || de.label === "loop") {
      for (const p of list) add(p.line, `partition ${(p.entry as { device: string }).device} is on ${disk}, which has no partition table (line ${d.line} gives it ${de.label ? `the label '${de.label}'` : "no label"}): give the disk a label (gpt or msdos) or remove the partition`);
      continue;
    }
    const sector = opts.sectorSize?.(disk) ?? 512;
    const u = usable(de.label, de.sizeBytes, sector);
    if (!u) continue;
    const msdos = de.label === "msdos";
    const pe = (x: Located) => x.entry as Entry & { kw: "part" };
    const outer: Located[] = [];
    const logical: Located[] = [];
    const extended: Located[] = [];
    for (const p of list) {
      const e = pe(p);
      if (e.sizeBytes <= 0) {
        add(p.line, `partition ${e.device} has size 0: give it a size in bytes`);
        continue;
      }
      const end = e.startBytes + e.sizeBytes;
      if (end > u.end) {
        add(p.line, `partition ${e.device} ends at byte ${end}, past the end of ${disk} (${bytes(de.sizeBytes)}${u.end < de.sizeBytes ? `; a ${de.label} table leaves ${u.end} usable` : ""}): shrink it or correct the disk size on line ${d.line}`);
      }
      if (e.startBytes < u.first && !(msdos && e.name === "logical")) {
        add(p.line, `partition ${e.device} starts at byte ${e.startBytes}, before the first usable byte ${u.first} of a ${de.label} disk (the partition table is there): start it at 1048576 (1 MiB)`);
      }
      if (msdos && e.name === "logical") logical.push(p);
      else {
        outer.push(p);
        if (msdos && e.name === "extended") extended.push(p);
      }
    }
    overlaps(outer, add);
    if (msdos) {
      if (extended.length > 1) add(extended[1]!.line, `${disk} has a second extended partition ${pe(extended[1]!).device} (the first is on line ${extended[0]!.line}): an msdos disk holds one`);
      if (outer.length > 4) add(outer[4]!.line, `${disk} has ${outer.length} primary and extended partitions: an msdos disk holds at most 4 (make the others logical, inside an extended one)`);
      const ext = extended[0];
      for (const l of logical) {
        const e = pe(l);
        if (!ext) {
          add(l.line, `logical partition ${e.device} has no extended partition on ${disk} to live in: add one ('part ${disk} <size> <start> extended none <device>') or make it primary`);
          continue;
        }
        const x = pe(ext);
        if (e.startBytes <= x.startBytes || e.startBytes + e.sizeBytes > x.startBytes + x.sizeBytes) {
          add(l.line, `logical partition ${e.device} (bytes ${e.startBytes}–${e.startBytes + e.sizeBytes}) is not inside the extended partition ${x.device} (bytes ${x.startBytes}–${x.startBytes + x.sizeBytes}, line ${ext.line})`);
        }
      }
      overlaps(logical, add);
    }
  }
}

/** Sorted by start, each partition must begin at or after the furthest end so far. */
function overlaps(list: Located[], add: (line: number, m: string) => void): void {
  const s = list
    .map((p) => ({ p, e: p.entry as Entry & { kw: "part" } }))
    .filter((x) => x.e.sizeBytes > 0)
    .sort((a, b) => a.e.startBytes - b.e.startBytes || a.p.line - b.p.line);
  let far: (typeof s)[number] | undefined;
  for (const x of s) {
    if (far && x.e.startBytes < far.e.startBytes + far.e.sizeBytes) {
      add(x.p.line, `partition ${x.e.device} (bytes ${x.e.startBytes}–${x.e.startBytes + x.e.sizeBytes}) overlaps ${far.e.device} (bytes ${far.e.startBytes}–${far.e.startBytes + far.e.sizeBytes}, line ${far.p.line}): correct the start or the size`);
    }
    if (!far || x.e.startBytes + x.e.sizeBytes > far.e.startBytes + far.e.sizeBytes) far = x;
  }
}

/** Every problem of the layout, in line order. */
export function checkLayout(doc: LayoutDoc, opts: CheckOptions = {}): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  const add = (line: number, message: string) => problems.push({ line, message });
  const all: Located[] = [];
  doc.lines.forEach((l, i) => {
    if (l.t === "entry") all.push({ entry: l.entry, line: i + 1, disabled: l.disabled });
  });
  const active = all.filter((x) => !x.disabled);

  // what is declared, active or not (a reference to a commented-out line is a different mistake)
  const declared = new Map<string, Located>();
  const declare = (dev: string, x: Located) => {
    const prev = declared.get(dev);
    if (!prev || (prev.disabled && !x.disabled)) declared.set(dev, x);
  };
  const vgs = new Map<string, Located>();
  const fsDevices = new Map<string, Located>();
  const raiddisks = new Map<string, Located>();
  const mdNames = new Map<string, string>();
  for (const x of all) {
    for (const d of devicesOf(x.entry)) declare(d, x);
    const e = x.entry;
    if (e.kw === "lvmgrp" && (!vgs.has(e.vg) || (vgs.get(e.vg)!.disabled && !x.disabled))) vgs.set(e.vg, x);
    if (e.kw === "fs" && (!fsDevices.has(e.device) || (fsDevices.get(e.device)!.disabled && !x.disabled))) fsDevices.set(e.device, x);
    if (e.kw === "raiddisk" && e.fields[0] && !raiddisks.has(e.fields[0])) raiddisks.set(e.fields[0], x);
    // mdadm's /dev/md/<name> is the same array as /dev/mdN
    if (e.kw === "raidarray" && e.opts.name) mdNames.set(`/dev/md/${e.opts.name.replace(/^.*:/, "")}`, e.device);
  }
  const lookup = (dev: string) => declared.get(dev) ?? (mdNames.has(dev) ? declared.get(mdNames.get(dev)!) : undefined);

  // duplicates among the active lines
  const made = new Map<string, Located>();
  const ids = new Map<string, Located>();
  const mounts = new Map<string, Located>();
  const used = new Map<string, Located>();
  for (const x of active) {
    const e = x.entry;
    for (const d of devicesOf(e)) {
      const prev = made.get(d);
      if (prev && prev !== x) add(x.line, `${d} is declared twice (also on line ${prev.line}, ${keywordOf(prev.entry)}): remove one line or comment it out`);
      else made.set(d, x);
    }
    const id = entryId(e);
    // a second PV or swap on one device is "used twice" below
    if (id && e.kw !== "lvmdev" && e.kw !== "swap" && !devicesOf(e).includes(id)) {
      const prev = ids.get(id);
      if (prev) add(x.line, e.kw === "fs" ? `two filesystems are mounted at ${e.mountpoint} (the other on line ${prev.line}): remove one or give it another mountpoint` : `${id} is declared twice (also on line ${prev.line}): remove one line or comment it out`);
      else ids.set(id, x);
    }
    if (e.kw === "btrfsmountedsubvol") {
      const prev = mounts.get(e.mountpoint);
      if (prev) add(x.line, `two btrfs subvolumes are mounted at ${e.mountpoint} (the other on line ${prev.line}): remove one`);
      else mounts.set(e.mountpoint, x);
    }
    for (const d of consumes(e)) {
      const prev = used.get(d);
      if (prev && prev !== x) add(x.line, `${d} is used twice: by ${what(e)} here and by ${what(prev.entry)} on line ${prev.line} (creating one destroys the other): remove one`);
      else used.set(d, x);
    }
  }
  // a disk that gets a partition table cannot also be used whole
  for (const x of active) {
    if (x.entry.kw !== "part") continue;
    const u = used.get(x.entry.disk);
    if (u) {
      add(u.line, `${x.entry.disk} is used whole by ${what(u.entry)} but also has partitions (line ${x.line}): use a partition, or remove the partitions`);
      used.delete(x.entry.disk);
    }
  }

  // references: `owner: its role DEV …`
  const need = (x: Located, dev: string, owner: string, role: string, kinds?: readonly string[]) => {
    const d = lookup(dev) ?? (kinds?.includes("raiddisk") ? raiddisks.get(dev) : undefined);
    if (!d) {
      add(x.line, `${owner}: its ${role} ${dev} is not declared in this file (no line creates it): add its line, correct the name, or comment this line out`);
      return;
    }
    if (kinds && !kinds.includes(d.entry.kw)) {
      add(x.line, `${owner}: its ${role} ${dev} is a ${keywordOf(d.entry)} (line ${d.line}), not a ${kinds.filter((k) => k !== "raiddisk").join(" or ")}`);
      return;
    }
    if (d.disabled && !x.disabled) add(x.line, `${owner}: its ${role} ${dev} is commented out on line ${d.line}, so nothing creates it: enable that line, or comment this one out too`);
  };
  const pvsOf = new Map<string, number>();
  for (const x of active) if (x.entry.kw === "lvmdev") pvsOf.set(x.entry.vg, (pvsOf.get(x.entry.vg) ?? 0) + 1);
  const lvSizes = new Map<string, number>();
  /** groups already reported full (once each) */
  const full = new Set<string>();
  for (const x of active) {
    const e = x.entry;
    switch (e.kw) {
      case "disk":
        if (!(e.sizeBytes > 0)) add(x.line, `disk ${e.device} has size ${e.sizeBytes}: give its size in bytes`);
        break;
      case "part":
        need(x, e.disk, `partition ${e.device}`, "disk", ["disk", "multipath", "raidarray", "raiddisk"]);
        break;
      case "lvmdev":
        need(x, e.device, `physical volume ${e.device} of ${vgShort(e.vg)}`, "device");
        if (!vgs.has(e.vg)) add(x.line, `physical volume ${e.device} belongs to volume group ${e.vg}, which has no 'lvmgrp ${e.vg} …' line: add it or correct the name`);
        else if (vgs.get(e.vg)!.disabled) add(x.line, `physical volume ${e.device} belongs to volume group ${e.vg}, which is commented out on line ${vgs.get(e.vg)!.line}: comment this line out too, or enable the group`);
        break;
      case "lvmgrp":
        if (!pvsOf.get(e.vg)) add(x.line, `volume group ${e.vg} has no physical volume (no active 'lvmdev ${e.vg} …' line): add one, or comment the group out`);
        break;
      case "lvmvol": {
        const g = vgs.get(e.vg);
        if (!g) add(x.line, `logical volume ${e.lv} is in volume group ${e.vg}, which has no 'lvmgrp ${e.vg} …' line: add it or correct the name`);
        else if (g.disabled) add(x.line, `logical volume ${e.lv} is in volume group ${e.vg}, which is commented out on line ${g.line}: comment this line out too, or enable the group`);
        if (e.opts.thinpool) need(x, lvMapperName(e.vg, e.opts.thinpool), `thin volume ${vgShort(e.vg)}/${e.lv}`, "thin pool", ["lvmvol"]);
        // thin volumes are virtual; every other LV takes at least its size from the group
        if (!(e.layout.includes("thin") && !e.layout.includes("pool")) && g && g.entry.kw === "lvmgrp") {
          const sum = (lvSizes.get(e.vg) ?? 0) + e.sizeBytes;
          lvSizes.set(e.vg, sum);
          const cap = Math.max(g.entry.size, g.entry.extents * g.entry.extentSize) * 1024;
          if (cap > 0 && sum > cap && !full.has(e.vg)) {
            full.add(e.vg);
            add(x.line, `logical volume ${e.lv} does not fit: the volumes of ${e.vg} up to here need ${bytes(sum)}, the group has ${bytes(cap)} (line ${g.line}): make them smaller`);
          }
        }
        break;
      }
      case "crypt":
        need(x, e.source, `LUKS volume ${e.device}`, "source device");
        break;
      case "raidarray":
        for (const d of consumes(e)) need(x, d, `RAID array ${e.device}`, "member device");
        if (!consumes(e).length) add(x.line, `RAID array ${e.device} has no member devices (devices=…): name them`);
        break;
      case "fs":
        need(x, e.device, `the ${e.fstype} filesystem for ${e.mountpoint}`, "device");
        break;
      case "swap":
        if (isDev(e.device)) need(x, e.device, "swap", "device");
        break;
      case "btrfsdefaultsubvol":
      case "btrfsnormalsubvol":
      case "btrfsmountedsubvol": {
        const f = fsDevices.get(e.device);
        if (!f) add(x.line, `${e.kw} on ${e.device}: there is no 'fs ${e.device} … btrfs' line for its filesystem: add it or correct the device`);
        else if (f.entry.kw === "fs" && f.entry.fstype !== "btrfs") add(x.line, `${e.kw} on ${e.device}: the filesystem there is ${f.entry.fstype} (line ${f.line}), not btrfs`);
        else if (f.disabled) add(x.line, `${e.kw} on ${e.device}: its filesystem is commented out on line ${f.line}: comment this line out too, or enable it`);
        break;
      }
      case "other":
        if (e.keyword === "drbd" && e.fields[2]) need(x, e.fields[2], `DRBD device ${e.fields[0]}`, "backing device");
        if (e.keyword === "opaldisk" && e.fields[0]) need(x, e.fields[0], "opaldisk", "disk", ["disk"]);
        break;
      default:
        break;
    }
  }

  const disks = new Map<string, Located>();
  for (const x of active) if (x.entry.kw === "disk" && !disks.has(x.entry.device)) disks.set(x.entry.device, x);
  checkGeometry(disks, active.filter((x) => x.entry.kw === "part"), opts, add);
  checkCycles(active, add);
  return problems.sort((a, b) => a.line - b.line);
}

const NEVER_ON_A_CYCLE = new Set<string>(["disk", "fs", "swap", "btrfsmountedsubvol", "btrfsdefaultsubvol", "btrfsnormalsubvol", "btrfssnapshotsubvol", "btrfsnocopyonwrite", "raiddisk"]);

/** Components that need each other: each cycle once, at its first line, as a chain of ids. */
function checkCycles(all: Located[], add: (line: number, m: string) => void): void {
  // disks need nothing, partitions of a disk only the disk, and nothing needs a filesystem, swap or
  // subvolume but another of those mounted inside it: none of them can be on a cycle, so the graph is
  // built without them (most of a big file is partitions). A partition of a RAID array can be.
  const disks = new Set<string>();
  for (const x of all) if (x.entry.kw === "disk") disks.add(x.entry.device);
  const active = all.filter((x) => !NEVER_ON_A_CYCLE.has(x.entry.kw) && !(x.entry.kw === "part" && disks.has(x.entry.disk)));
  const entries = active.map((x) => x.entry);
  const lineOf = new Map<Entry, number>();
  for (const x of active) lineOf.set(x.entry, x.line);
  const g = buildDeps(entries);
  // a component built on itself (crypt /dev/mapper/a on /dev/mapper/a): buildDeps drops such an edge
  for (const x of active) {
    const id = entryId(x.entry);
    if (id && consumes(x.entry).includes(id)) add(x.line, `${id} is built on itself: correct the device it stands on`);
  }
  const order = creationOrder(g);
  if (order.length === g.ids.length) return;
  const done = new Set(order);
  const left = g.ids.filter((id) => !done.has(id));
  // every component left waits for another one left; following "needs" from any of them must come back
  const reported = new Set<string>();
  for (const start of left) {
    if (reported.has(start)) continue;
    const path: string[] = [];
    const at = new Map<string, number>();
    let cur: string | undefined = start;
    while (cur !== undefined && !at.has(cur) && !reported.has(cur)) {
      at.set(cur, path.length);
      path.push(cur);
      cur = g.needs.get(cur)!.find((n) => g.entries.has(n) && !done.has(n));
    }
    if (cur === undefined || reported.has(cur)) {
      for (const p of path) reported.add(p);
      continue;
    }
    const cycle = path.slice(at.get(cur)!);
    for (const p of path) reported.add(p);
    const first = cycle.reduce((a, b) => (lineOf.get(g.entries.get(a)!)! <= lineOf.get(g.entries.get(b)!)! ? a : b));
    const i = cycle.indexOf(first);
    const chain = [...cycle.slice(i), ...cycle.slice(0, i), first];
    add(lineOf.get(g.entries.get(first)!)!, `dependency cycle: ${chain.join(" needs ")} (none of them can be created first): correct the device names`);
  }
}

/** The old check of savelayout (the problems as text, without lines). */
export function validateLayout(doc: LayoutDoc): string[] {
  return checkLayout(doc).map((p) => `line ${p.line}: ${p.message}`);
}
