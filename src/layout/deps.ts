// Dependencies between layout components, derived from the entries (ReaR's generate_layout_dependencies
// in lib/layout-functions.sh, reference §5.4): a partition needs its disk, a PV its device, a VG its PVs,
// an LV its VG (and its thin pool), a RAID array its member devices, a LUKS mapping its source, a
// filesystem its device and the filesystem it is mounted inside, swap its device. The creation order and
// "exclude X and everything on it" both come from this one table.
//
// Linear in the number of entries (a file with 100 000 partitions is read in well under a second): every
// lookup goes through a map built once; ReaR's shell loops are quadratic, ours must not be.
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

/**
 * The filesystem a mountpoint lives in: the longest other mountpoint that is a path prefix of it. Walks
 * up the path (/a/b/c → /a/b → /a → /), so the cost is the path's depth, not the number of mountpoints.
 */
export function parentMount(mp: string, mountpoints: ReadonlySet<string>): string | undefined {
  let cur = mp;
  while (cur.length > 1) {
    const i = cur.lastIndexOf("/");
    cur = i <= 0 ? "/" : cur.slice(0, i);
    if (cur !== mp && mountpoints.has(cur)) return cur;
  }
  return undefined;
}

export function buildDeps(entries: readonly Entry[]): DepGraph {
  const ids: string[] = [];
  const needs = new Map<string, string[]>();
  const byId = new Map<string, Entry>();
  // most components need one or two others; a VG on thousands of PVs gets a set so adding stays O(1)
  const big = new Map<string, Set<string>>();
  const add = (child: string, parent: string | undefined) => {
    if (!parent || parent === child) return;
    const list = needs.get(child)!;
    if (list.length < 16) {
      if (!list.includes(parent)) list.push(parent);
      return;
    }
    let set = big.get(child);
    if (!set) big.set(child, (set = new Set(list)));
    if (!set.has(parent)) (set.add(parent), list.push(parent));
  };
  for (const e of entries) {
    const id = entryId(e);
    if (id === undefined || byId.has(id)) continue;
    ids.push(id);
    byId.set(id, e);
    needs.set(id, []);
  }
  // what the loop below looks up, gathered once: mountpoints (fs first, as ReaR prefers `fs:`), PVs by VG
  const mountKind = new Map<string, "fs" | "btrfsmountedsubvol">();
  const pvsByVg = new Map<string, string[]>();
  for (const e of entries) {
    if (e.kw === "fs") mountKind.set(e.mountpoint, "fs");
    else if (e.kw === "btrfsmountedsubvol" && !mountKind.has(e.mountpoint)) mountKind.set(e.mountpoint, "btrfsmountedsubvol");
    else if (e.kw === "lvmdev") {
      const l = pvsByVg.get(e.vg) ?? [];
      l.push(`pv:${e.device}`);
      pvsByVg.set(e.vg, l);
    }
  }
  const mountpoints = new Set(mountKind.keys());
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
        for (const pv of pvsByVg.get(e.vg) ?? []) add(id, pv);
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
        if (parent !== undefined) add(id, `${mountKind.get(parent)}:${parent}`);
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

/** id → the ids that need it (the reverse of `needs`), in document order. */
export function neededBy(g: DepGraph): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const id of g.ids) {
    for (const p of g.needs.get(id)!) {
      const l = out.get(p);
      if (l) l.push(id);
      else out.set(p, [id]);
    }
  }
  return out;
}

/** Everything that (transitively) needs `id`, not including `id`. Pass `rev` (neededBy) when asking for many ids. */
export function dependantsOf(g: DepGraph, id: string, rev: Map<string, string[]> = neededBy(g)): string[] {
  const out: string[] = [];
  const seen = new Set<string>([id]);
  const queue = [id];
  for (let qi = 0; qi < queue.length; qi++) {
    for (const c of rev.get(queue[qi]!) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** A binary min-heap of document positions: the next component ReaR's loop would pick. */
class MinHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Creation order as ReaR's 540_generate_device_code.sh finds it: repeatedly the first component (in
 * document order) whose needs are all done. A need that is not a component of the layout (a device
 * that already exists, or an excluded one) counts as done. Components on a dependency cycle are left
 * out (callers report them). Kahn's algorithm with the ready components in a heap by document
 * position gives exactly that order in O(n log n) (ReaR rescans the whole list for every component).
 */
export function creationOrder(g: DepGraph, skip: ReadonlySet<string> = new Set()): string[] {
  const n = g.ids.length;
  const pos = new Map<string, number>();
  for (let i = 0; i < n; i++) pos.set(g.ids[i]!, i);
  // by document position: how many needs are still open, and who waits for each component
  const waiting = new Int32Array(n);
  const revHead = new Int32Array(n).fill(-1);
  const revNext: number[] = [];
  const revTo: number[] = [];
  const ready = new MinHeap();
  for (let i = 0; i < n; i++) {
    const id = g.ids[i]!;
    if (skip.has(id)) continue;
    let open = 0;
    for (const p of g.needs.get(id)!) {
      const j = pos.get(p);
      if (j === undefined || skip.has(p)) continue;
      open++;
      revTo.push(i);
      revNext.push(revHead[j]!);
      revHead[j] = revTo.length - 1;
    }
    waiting[i] = open;
    if (open === 0) ready.push(i);
  }
  const order: string[] = [];
  while (ready.size) {
    const i = ready.pop();
    order.push(g.ids[i]!);
    for (let k = revHead[i]!; k !== -1; k = revNext[k]!) {
      const c = revTo[k]!;
      if (--waiting[c]! === 0) ready.push(c);
    }
  }
  return order;
}

/** ReaR's diskdeps.conf text: `child parent` per line. */
export function renderDiskdeps(g: DepGraph): string {
  const lines: string[] = [];
  for (const id of g.ids) for (const p of g.needs.get(id)!) lines.push(`${id} ${p}\n`);
  return lines.join("");
}
