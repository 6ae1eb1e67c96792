// `rear showlayout`: a layout file as a tree a person can read — disks, their partitions and what sits
// on them (RAID, LUKS, LVM, filesystems with their mountpoints, swap) — with human sizes. Components
// excluded from recreation are shown and marked. A component with several parents (a VG on two PVs, a
// RAID1 on two partitions) is shown in full under the first and referred to under the others.
// Pure.

import { buildDeps } from "./deps.ts";
import { allEntries, type Entry, entryId, type LayoutDoc } from "./model.ts";

export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

function describe(e: Entry): string {
  switch (e.kw) {
    case "disk":
      return `disk ${e.device}  ${humanSize(e.sizeBytes)}  ${e.label || "no partition table"}`;
    case "part":
      return `part ${e.device}  ${humanSize(e.sizeBytes)} at ${humanSize(e.startBytes)}  ${e.name}${e.flags.length ? `  [${e.flags.join(",")}]` : ""}`;
    case "raidarray":
      return `${e.opts.level ?? "raid"} ${e.device}  ${e.opts["raid-devices"] ?? "?"} devices${e.opts.name ? `  name ${e.opts.name}` : ""}`;
    case "lvmdev":
      return `LVM PV ${e.device}  → ${e.vg}`;
    case "lvmgrp":
      return `LVM VG ${e.vg.replace(/^\/dev\//, "")}  ${humanSize(e.size * 1024)}  extent ${humanSize(e.extentSize * 1024)}`;
    case "lvmvol":
      return `LVM LV ${e.lv}  ${humanSize(e.sizeBytes)}  ${e.layout}${e.opts.thinpool ? ` in ${e.opts.thinpool}` : ""}`;
    case "crypt":
      return `${e.opts.type ?? "luks"} ${e.device}  ${e.opts.cipher ?? ""}${e.opts.keyfile ? `  keyfile ${e.opts.keyfile}` : ""}`;
    case "fs":
      return `${e.fstype} ${e.mountpoint}${e.opts.label ? `  label ${e.opts.label.replace(/\\b/g, " ")}` : ""}`;
    case "btrfsmountedsubvol":
      return `btrfs subvolume ${e.path} at ${e.mountpoint}`;
    case "swap":
      return `swap${e.opts.label ? `  label ${e.opts.label}` : ""}`;
    case "multipath":
      return `multipath ${e.device}  ${humanSize(e.sizeBytes)}`;
    case "other":
      return `${e.keyword} ${e.fields.join(" ")}`;
    default:
      return e.kw;
  }
}

export function renderTree(doc: LayoutDoc): string {
  const all = allEntries(doc);
  const g = buildDeps(all.map((x) => x.entry));
  const disabled = new Set(all.filter((x) => x.disabled).map((x) => entryId(x.entry)).filter(Boolean) as string[]);
  // the tree follows devices; a filesystem inside another (/home in /) is not its child here
  const parentsOf = (id: string) => (g.needs.get(id) ?? []).filter((p) => g.entries.has(p) && !(p.startsWith("fs:") || p.startsWith("btrfsmountedsubvol:")));
  const children = new Map<string, string[]>();
  for (const id of g.ids) {
    for (const p of parentsOf(id)) {
      const l = children.get(p);
      if (l) l.push(id);
      else children.set(p, [id]);
    }
  }
  const shown = new Set<string>();
  const out: string[] = [];
  const walk = (id: string, prefix: string, last: boolean, root: boolean) => {
    const mark = disabled.has(id) ? "  (excluded)" : "";
    const head = root ? "" : `${prefix}${last ? "└─ " : "├─ "}`;
    if (shown.has(id)) {
      out.push(`${head}${describe(g.entries.get(id)!).split("  ")[0]}  (see above)`);
      return;
    }
    shown.add(id);
    out.push(`${head}${describe(g.entries.get(id)!)}${mark}`);
    const kids = children.get(id) ?? [];
    const next = root ? "" : `${prefix}${last ? "   " : "│  "}`;
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
  };
  for (const id of g.ids) if (parentsOf(id).length === 0) walk(id, "", true, true);
  return out.join("\n");
}
