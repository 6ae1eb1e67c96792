// Dependencies between layout components, derived from the entries (ReaR's generate_layout_dependencies
// in lib/layout-functions.sh, reference §5.4): a partition needs its disk, a PV its device, a VG its PVs,
// an LV its VG (and its thin pool), a RAID array its member devices, a LUKS mapping its source, a
// filesystem its device and the filesystem it is mounted inside, swap its device. The creation order and
// "exclude X and everything on it" both come from this one table.
//
// Pure.

import { type Entry, entryId, lvMapperName } from "./model.ts";

export interface DepGraph {
  /** component ids in document order */
  ids: string[];
  /** id → the ids it needs (ReaR's diskdeps.conf `child parent` lines, grouped by child) */
  needs: Map<string, string[]>;
  /** id → its entry */
  entries: Map<string, Entry>;
}

/** The filesystem a mountpoint lives in: the longest other mountpoint that is a path prefix of it. */
function parentMount(mp: string, mountpoints: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const other of mountpoints) {
    if (other === mp) continue;
    const prefix = other === "/" ? "/" : `${other}/`;
    if (mp.startsWith(prefix) && (best === undefined || other.length > best.length)) best = other;
  }
  return best;
}

export function buildDeps(entries: readonly Entry[]): DepGraph {
  const ids: string[] = [];
  const needs = new Map<string, string[]>();
  const byId = new Map<string, Entry>();
  const add = (child: string, parent: string | undefined) => {
    if (!parent || parent === child) return;
    const list = needs.get(child)!;
    if (!list.includes(parent)) list.push(parent);
  };
  for (const e of entries) {
    const id = entryId(e);
    if (id === undefined || byId.has(id)) continue;
    ids.push(id);
    byId.set(id, e);
    needs.set(id, []);
  }
  const mountpoints: string[] = [];
  for (const e of entries) {
    if (e.kw === "fs" || e.kw === "btrfsmountedsubvol") mountpoints.push(e.mountpoint);
  }
  const pvsOf = (vg: string) => entries.filter((x) => x.kw === "lvmdev" && x.vg === vg).map((x) => `pv:${(x as { device: string }).device}`);
  for (const e of entries) {
    const id = entryId(e);
    if (id === undefined || byId.get(id) !== e) continue;
    switch (e.kw) {
      case "part":
        add(id, e.disk);
        break;
      case "raidarray": {
        for (const key of ["devices", "spare-devices"]) {
          const v = e.opts[key];
          if (v) for (const d of v.split(",")) if (d) add(id, d);
        }
        break;
      }
      case "lvmdev":
        add(id, e.device);
        break;
      case "lvmgrp":
        for (const pv of pvsOf(e.vg)) add(id, pv);
        break;
      case "lvmvol":
        add(id, e.vg);
        if (e.opts.thinpool) add(id, lvMapperName(e.vg, e.opts.thinpool));
        break;
      case "crypt":
        add(id, e.source);
        break;
      case "fs":
      case "btrfsmountedsubvol": {
        add(id, e.device);
        const parent = parentMount(e.mountpoint, mountpoints);
        if (parent !== undefined) {
          const pe = entries.find((x) => x.kw === "fs" && x.mountpoint === parent);
          add(id, pe ? `fs:${parent}` : `btrfsmountedsubvol:${parent}`);
        }
        break;
      }
      case "swap":
        add(id, e.device);
        break;
      case "multipath":
        for (const s of e.slaves) add(id, s);
        break;
      case "other":
        if (e.keyword === "drbd" && e.fields[2]) add(id, e.fields[2]);
        break;
      default:
        break;
    }
  }
  return { ids, needs, entries: byId };
}

/** Everything that (transitively) needs `id`, not including `id`. */
export function dependantsOf(g: DepGraph, id: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>([id]);
  const queue = [id];
  while (queue.length) {
    const cur = queue.shift()!;
    for (const c of g.ids) {
      if (!seen.has(c) && g.needs.get(c)!.includes(cur)) {
        seen.add(c);
        out.push(c);
        queue.push(c);
      }
    }
  }
  return out;
}

/**
 * Creation order as ReaR's 540_generate_device_code.sh finds it: repeatedly the first component (in
 * document order) whose needs are all done. A need that is not a component of the layout (a device
 * that already exists, or an excluded one) counts as done.
 */
export function creationOrder(g: DepGraph, skip: ReadonlySet<string> = new Set()): string[] {
  const done = new Set<string>(skip);
  const order: string[] = [];
  const todo = g.ids.filter((id) => !done.has(id));
  while (todo.length) {
    const i = todo.findIndex((id) => g.needs.get(id)!.every((n) => done.has(n) || !g.entries.has(n)));
    if (i < 0) break; // a cycle: the rest cannot be ordered; callers report what is left
    const [id] = todo.splice(i, 1);
    done.add(id!);
    order.push(id!);
  }
  return order;
}

/** ReaR's diskdeps.conf text: `child parent` per line. */
export function renderDiskdeps(g: DepGraph): string {
  const lines: string[] = [];
  for (const id of g.ids) for (const p of g.needs.get(id)!) lines.push(`${id} ${p}\n`);
  return lines.join("");
}
