// Which disk present now takes the place of each saved disk (ReaR's migration mode, reference §5.6:
// layout/prepare/default/250_compare_disks.sh, 300_map_disks.sh, 320_apply_mappings.sh).
//
// Order of evidence, strongest first: the user's mapping file (/etc/rear/mappings/disk_mappings), the
// disk's identity (serial, WWN, /dev/disk/by-id names: the same physical disk, whatever the kernel calls
// it now), the same name and size, the same size (first unused disk, as ReaR), and finally the only
// unused disk big enough. What is still open is asked (LAYOUT_MIGRATION_REPLACEMENT_<DISK>).
// Better than ReaR: the mapping file is read from its documented absolute path (ReaR reads a relative
// `disk_mappings` from the working directory), and disks that hold the backup or the rescue medium are
// never candidates.
// Pure.

import { renameDevice, renameDevices } from "./compare.ts";
import { buildDeps, dependantsOf, neededBy } from "./deps.ts";
import { type DocLine, type Entry, entryId, type LayoutDoc } from "./model.ts";
import type { TargetDisk } from "./targets.ts";

export interface SourceDisk {
  device: string;
  sizeBytes: number;
  serial?: string;
  wwn?: string;
  byId?: string[];
}

export type MapReason = "mapping file" | "identity" | "name and size" | "size" | "only candidate" | "only fit" | "chosen";

export interface DiskMapping {
  /** saved disk → disk now */
  map: Record<string, string>;
  how: Record<string, MapReason>;
  /** saved disks no disk was found for */
  unmapped: string[];
  /** true when every saved disk is there under its name with its size, unambiguously (no migration) */
  identical: boolean;
  /** why the disks are not identical (ReaR prints these) */
  differences: string[];
}

export class MappingFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
  }
}

/** `disk_mappings`: `<saved disk> <disk now>` per line; `#` comments. */
export function parseDiskMappings(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const targets = new Set<string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const f = line.split(/\s+/);
    if (f.length !== 2) throw new MappingFileError(file, i + 1, `expected '<saved disk> <disk now>', got '${raw.trim()}'`);
    const [from, to] = f as [string, string];
    if (!from.startsWith("/dev/") || !to.startsWith("/dev/")) throw new MappingFileError(file, i + 1, `both names must be /dev/… device names: '${raw.trim()}'`);
    if (out[from] !== undefined) throw new MappingFileError(file, i + 1, `${from} is mapped twice`);
    if (targets.has(to)) throw new MappingFileError(file, i + 1, `${to} is the target of two disks`);
    out[from] = to;
    targets.add(to);
  });
  return out;
}

export function renderDiskMappings(map: Record<string, string>): string {
  return Object.entries(map).map(([a, b]) => `${a} ${b}\n`).join("");
}

const idSet = (d: { serial?: string; wwn?: string; byId?: string[] }) => {
  const s = new Set<string>();
  if (d.serial) s.add(`serial:${d.serial}`);
  if (d.wwn) s.add(`wwn:${d.wwn}`);
  // path-based links name a slot, not a disk
  for (const b of d.byId ?? []) if (!/^(pci|path|platform)-/.test(b)) s.add(`id:${b}`);
  return s;
};
const sameIdentity = (a: SourceDisk, b: TargetDisk) => {
  const x = idSet(a);
  for (const y of idSet(b)) if (x.has(y)) return true;
  return false;
};

const GiB = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/**
 * Maps the saved disks onto the disks present. `minSize` says how small a disk may be and still take a
 * saved disk (the resize rules decide); `userMap` comes from the mapping file.
 */
export function mapDisks(
  sources: readonly SourceDisk[],
  allTargets: readonly TargetDisk[],
  opts: { userMap?: Record<string, string>; minSize?: (s: SourceDisk) => number; protected?: ReadonlyMap<string, string> } = {},
): DiskMapping {
  // protected disks (rescue medium, backup, running root) are never candidates, but they are there
  const targets = allTargets.filter((t) => !opts.protected?.has(t.device));
  const map: Record<string, string> = {};
  const how: Record<string, MapReason> = {};
  const used = new Set<string>();
  const byName = new Map(targets.map((t) => [t.device, t]));
  const differences: string[] = [];

  // identical hardware (250_compare_disks.sh), with the identity as tie-breaker where ReaR gives up
  for (const s of sources) {
    const t = byName.get(s.device);
    const why = opts.protected?.get(s.device);
    if (why) differences.push(`${s.device} is there but must not be overwritten: ${why}`);
    else if (!t) differences.push(`${s.device} (${GiB(s.sizeBytes)}) is not there`);
    else if (t.sizeBytes !== s.sizeBytes) differences.push(`${s.device} had size ${s.sizeBytes} (${GiB(s.sizeBytes)}) but is now ${t.sizeBytes} (${GiB(t.sizeBytes)})`);
    else if (t.readOnly) differences.push(`${s.device} is write-protected`);
  }
  if (!differences.length) {
    const count = (list: readonly { sizeBytes: number }[]) => {
      const m = new Map<number, number>();
      for (const x of list) m.set(x.sizeBytes, (m.get(x.sizeBytes) ?? 0) + 1);
      return m;
    };
    const sourceSizes = count(sources);
    const targetSizes = count(targets);
    for (const s of sources) {
      const t = byName.get(s.device)!;
      const twins = sourceSizes.get(s.sizeBytes)! > 1 || (targetSizes.get(s.sizeBytes) ?? 0) > 1;
      if (twins && !sameIdentity(s, t)) differences.push(`${s.device}: more than one disk has its size (${s.sizeBytes}) and nothing identifies which is which`);
    }
  }
  // a mapping file that moves a disk is a migration, whatever disks happen to be there
  for (const [from, to] of Object.entries(opts.userMap ?? {})) if (from !== to && sources.some((x) => x.device === from)) differences.push(`the mapping file puts ${from} on ${to}`);
  const identical = differences.length === 0;

  const take = (s: string, t: string, why: MapReason) => {
    map[s] = t;
    how[s] = why;
    used.add(t);
  };
  for (const [s, t] of Object.entries(opts.userMap ?? {})) if (sources.some((x) => x.device === s)) take(s, t, "mapping file");
  const open = () => sources.filter((s) => map[s.device] === undefined);
  const free = () => targets.filter((t) => !used.has(t.device) && !t.readOnly);
  for (const s of open()) {
    const m = free().filter((t) => sameIdentity(s, t));
    if (m.length === 1) take(s.device, m[0]!.device, "identity");
  }
  for (const s of open()) {
    const t = free().find((t) => t.device === s.device && t.sizeBytes === s.sizeBytes);
    if (t) take(s.device, t.device, "name and size");
  }
  for (const s of open()) {
    const t = free().find((t) => t.sizeBytes === s.sizeBytes);
    if (t) take(s.device, t.device, "size");
  }
  const left = open();
  const minOf = (s: SourceDisk) => opts.minSize?.(s) ?? s.sizeBytes;
  if (left.length === 1) {
    const s = left[0]!;
    const fits = free().filter((t) => t.sizeBytes >= minOf(s));
    if (fits.length === 1) take(s.device, fits[0]!.device, "only candidate");
    // one saved disk, one disk left, too small by the rules: map it anyway, so that the resize refuses it
    // before any write and says how big a disk must be (not a question about which disk to take)
    else if (fits.length === 0 && free().length === 1) take(s.device, free()[0]!.device, "only candidate");
  } else if (left.length > 1 && left.length <= 8) {
    // several saved disks of other sizes (disks of another model, or presented in another order): when
    // exactly one assignment gives each a disk big enough for it, that is the mapping — by size and
    // layout, whatever the names
    const cands = free();
    const found: Map<string, string>[] = [];
    const walk = (i: number, taken: Map<string, string>) => {
      if (found.length > 1) return;
      if (i === left.length) return void found.push(new Map(taken));
      const s = left[i]!;
      for (const t of cands) {
        if (t.sizeBytes < minOf(s) || [...taken.values()].includes(t.device)) continue;
        taken.set(s.device, t.device);
        walk(i + 1, taken);
        taken.delete(s.device);
      }
    };
    walk(0, new Map());
    if (found.length === 1) for (const [s, t] of found[0]!) take(s, t, "only fit");
  }
  return { map, how, unmapped: open().map((s) => s.device), identical, differences };
}

/** The disks present that could still take `source` (for the dialog). */
export function candidatesFor(m: DiskMapping, targets: readonly TargetDisk[]): TargetDisk[] {
  const used = new Set(Object.values(m.map));
  return targets.filter((t) => !used.has(t.device) && !t.readOnly);
}

/**
 * The saved layout with the disk names of now (320_apply_mappings.sh): every device name and partition
 * name is rewritten once (sda → nvme0n1 makes sda1 nvme0n1p1). Saved disks that are not mapped are
 * commented out with everything on them, as ReaR marks them done: they are not recreated.
 */
export function applyMapping(doc: LayoutDoc, map: Record<string, string>, unmapped: readonly string[] = []): { doc: LayoutDoc; disabled: string[] } {
  const active = doc.lines.flatMap((l) => (l.t === "entry" && !l.disabled ? [l.entry] : []));
  const g = buildDeps(active);
  const rev = neededBy(g);
  const off = new Set<string>();
  for (const d of unmapped) {
    off.add(d);
    for (const x of dependantsOf(g, d, rev)) off.add(x);
  }
  const lines: DocLine[] = doc.lines.map((l) => {
    if (l.t !== "entry") return l;
    const id = entryId(l.entry);
    const disabled = l.disabled || (id !== undefined && off.has(id)) || belongsToDisabled(l.entry, off);
    const [entry] = renameDevices([l.entry], map);
    const { ws: _ws, ...rest } = l;
    return { ...rest, disabled, entry: entry! };
  });
  return { doc: { lines }, disabled: [...off] };
}

/** raiddisk and btrfs lines have no id of their own: they follow their device. */
function belongsToDisabled(e: Entry, off: Set<string>): boolean {
  if (e.kw === "btrfsdefaultsubvol" || e.kw === "btrfsnormalsubvol" || e.kw === "btrfssnapshotsubvol") return off.has(`fs:${e.mountpoint}`) || off.has(e.device);
  if (e.kw === "raiddisk") return off.has(e.fields[0] ?? "");
  return false;
}

/** Facts are keyed by component id: the same renaming applies. */
export function mapFacts<T>(facts: Record<string, T>, map: Record<string, string>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(facts)) out[k.replace(/\/dev\/[^\s:,]+/g, (d) => renameDevice(d, map))] = v;
  return out;
}
