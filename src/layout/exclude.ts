// Which components are not recreated (ReaR layout/save/default/310–330, reference §5.4): the user's
// EXCLUDE_* lists and the automatic rules, each excluding a component with everything on it. Excluded
// entries stay in disklayout.conf, commented out (`#disk /dev/sdb …`), as ReaR does.
// Deliberately more exact than 2.7 (whose 330_remove_exclusions comments out every partition of a disk
// when one partition is excluded, and never comments out a PV by its own id): exactly the excluded
// components and their dependants are disabled, and the PVs of an excluded volume group with it.
// Pure.

import { buildDeps, dependantsOf, neededBy } from "./deps.ts";
import { activeEntries, entryId, type LayoutDoc } from "./model.ts";

export interface ExclusionSettings {
  AUTOEXCLUDE_DISKS: boolean;
  AUTOEXCLUDE_MULTIPATH: boolean;
  AUTOEXCLUDE_PATH: readonly string[];
  AUTOEXCLUDE_USB_PATH: readonly string[];
  EXCLUDE_MOUNTPOINTS: readonly string[];
  EXCLUDE_MD: readonly string[];
  EXCLUDE_VG: readonly string[];
  ONLY_INCLUDE_VG: readonly string[];
  EXCLUDE_COMPONENTS: readonly string[];
  EXCLUDE_RECREATE: readonly string[];
  MANUAL_INCLUDE: boolean;
  BACKUP_PROG_INCLUDE: readonly string[];
}

export interface Exclusion {
  id: string;
  reason: string;
}

export interface ExcludeResult {
  doc: LayoutDoc;
  /** every excluded component, with why (the first rule that hit it) */
  excluded: Exclusion[];
}

export function applyExclusions(doc: LayoutDoc, s: ExclusionSettings): ExcludeResult {
  const entries = activeEntries(doc);
  const g = buildDeps(entries);
  const rev = neededBy(g);
  const why = new Map<string, string>();
  const mark = (id: string, reason: string) => {
    if (!g.entries.has(id)) return;
    if (!why.has(id)) why.set(id, reason);
    for (const c of dependantsOf(g, id, rev)) if (!why.has(c)) why.set(c, `on ${id} (${reason})`);
  };
  const fsEntries = entries.filter((e) => e.kw === "fs");
  const vgName = (v: string) => (v.startsWith("/dev/") ? v : `/dev/${v}`);

  if (s.MANUAL_INCLUDE) {
    for (const e of fsEntries) if (e.kw === "fs" && !s.BACKUP_PROG_INCLUDE.includes(e.mountpoint)) mark(`fs:${e.mountpoint}`, `mountpoint ${e.mountpoint} not in BACKUP_PROG_INCLUDE (MANUAL_INCLUDE mode)`);
  }
  for (const md of s.EXCLUDE_MD) mark(md.startsWith("/dev/") ? md : `/dev/${md}`, `RAID ${md} in EXCLUDE_MD`);
  for (const vg of s.EXCLUDE_VG) mark(vgName(vg), `Volume Group ${vg} in EXCLUDE_VG`);
  if (s.ONLY_INCLUDE_VG.length) {
    for (const e of entries) {
      if (e.kw !== "lvmgrp") continue;
      const name = e.vg.replace(/^\/dev\//, "");
      if (!s.ONLY_INCLUDE_VG.includes(name) && !s.ONLY_INCLUDE_VG.includes(e.vg)) mark(e.vg, `Volume Group ${name} not in ONLY_INCLUDE_VG`);
    }
  }
  for (const c of s.EXCLUDE_COMPONENTS) mark(c, `component ${c} in EXCLUDE_COMPONENTS`);
  for (const c of s.EXCLUDE_RECREATE) mark(c, `component ${c} in EXCLUDE_RECREATE`);
  if (s.AUTOEXCLUDE_MULTIPATH) for (const e of entries) if (e.kw === "multipath") mark(e.device, `multipath device ${e.device} (AUTOEXCLUDE_MULTIPATH)`);
  for (const dir of s.AUTOEXCLUDE_PATH) {
    if (!dir) continue;
    const prefix = `${dir.replace(/\/+$/, "")}/`;
    for (const e of fsEntries) if (e.kw === "fs" && e.mountpoint.startsWith(prefix)) mark(`fs:${e.mountpoint}`, `filesystem ${e.mountpoint} below ${dir} (AUTOEXCLUDE_PATH)`);
  }
  for (const p of s.AUTOEXCLUDE_USB_PATH) {
    for (const e of fsEntries) if (e.kw === "fs" && e.mountpoint === p) mark(`fs:${e.mountpoint}`, `filesystem ${e.mountpoint} on the USB or backup disk (AUTOEXCLUDE_USB_PATH)`);
  }
  if (s.AUTOEXCLUDE_DISKS) {
    // a disk is used when a mounted filesystem or an active swap area that is not excluded sits on it
    const used = new Set<string>();
    const ancestors = (id: string) => {
      const seen = new Set<string>();
      const queue = [id];
      while (queue.length) {
        const cur = queue.shift()!;
        for (const p of g.needs.get(cur) ?? []) if (!seen.has(p)) (seen.add(p), queue.push(p));
      }
      return seen;
    };
    for (const e of entries) {
      const id = entryId(e);
      if (!id || why.has(id)) continue;
      if (e.kw === "swap" || (e.kw === "fs" && !s.EXCLUDE_MOUNTPOINTS.includes(e.mountpoint))) for (const a of ancestors(id)) used.add(a);
    }
    for (const e of entries) {
      if ((e.kw === "disk" || e.kw === "multipath") && !used.has(e.device)) mark(e.device, `disk ${e.device} not used by any mounted filesystem (AUTOEXCLUDE_DISKS)`);
    }
  }
  // A filesystem or swap on a device rear does not describe (a loop, nbd, zram or ram device: a mounted
  // image, a backup disk image) cannot be recreated: it is written commented out with why, instead of an
  // active line whose device nothing creates (which the layout check refuses). ReaR never looks at them.
  for (const e of entries) {
    if (e.kw !== "fs" && e.kw !== "swap") continue;
    const dev = e.device;
    if (!/^\/dev\/(loop|nbd|zram|ram)[0-9]/.test(dev) || g.entries.has(dev)) continue;
    const id = entryId(e);
    if (id) mark(id, `${e.kw === "fs" ? `filesystem ${e.mountpoint}` : "swap"} on ${dev}, a device rear does not describe`);
  }
  // PVs go with their excluded volume group (a VG is recreated whole or not at all)
  for (const e of entries) if (e.kw === "lvmdev" && why.has(e.vg) && !why.has(`pv:${e.device}`)) why.set(`pv:${e.device}`, `physical volume of ${e.vg} (${why.get(e.vg)})`);

  const lines = doc.lines.map((l) => {
    if (l.t !== "entry" || l.disabled) return l;
    const id = entryId(l.entry);
    return id !== undefined && why.has(id) ? { ...l, disabled: true } : l;
  });
  return { doc: { lines }, excluded: [...why].map(([id, reason]) => ({ id, reason })) };
}
