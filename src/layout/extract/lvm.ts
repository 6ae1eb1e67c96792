// lvmdev, lvmgrp and lvmvol lines (ReaR 220_lvm_layout.sh), from lvm's JSON reports instead of
// `pvdisplay -c`/`vgdisplay -c` and a colon-separated `lvs`, with ReaR's units: the PV's device size in
// 512-byte sectors, VG extent size and size in KiB, LV size in bytes with a `b`. One lvmvol per LV segment, in
// ascending size (ReaR sorts lvs output by size); the second and later segments of an LV are written
// commented out, with a note. Snapshots and caches (an origin) are skipped with a comment. Hidden LVs
// (thin pool data/metadata, pmspare: `[name]`) are not components.
// Sample (lvs -a --segments --reportformat json --units b --nosuffix):
//   {"report": [{"lv": [{"vg_name": "vg0", "lv_name": "pool", "lv_size": "1073741824", "seg_size": "1073741824",
//     "lv_layout": "thin,pool", "pool_lv": "", "chunk_size": "65536", "stripes": "1", "stripe_size": "0", "origin": ""}]}]}
// Pure.

import { type DocLine, type Entry, lvMapperName } from "../model.ts";
import { comment, type ExtractContext, parseJson } from "./context.ts";

type Row = Record<string, string>;

function report(ctx: ExtractContext, key: string, kind: "pv" | "vg" | "lv"): Row[] | undefined {
  const j = parseJson<{ report?: Record<string, Row[]>[] }>(ctx.data[key], key, ctx);
  if (!j) return undefined;
  // `lvs --segments` reports its rows under "seg"
  return (j.report ?? []).flatMap((r) => r[kind] ?? (kind === "lv" ? r.seg : undefined) ?? []);
}

const n = (s: string | undefined) => (s && /^[0-9]+$/.test(s) ? Number(s) : 0);

export function extractLvm(ctx: ExtractContext, facts: Record<string, Record<string, unknown>> = {}): DocLine[] {
  const pvs = report(ctx, "lvm/pvs.json", "pv");
  const vgs = report(ctx, "lvm/vgs.json", "vg");
  const lvs = report(ctx, "lvm/lvs.json", "lv");
  const out: DocLine[] = [];
  const entry = (e: Entry, disabled = false): DocLine => ({ t: "entry", disabled, entry: e });
  if (pvs && pvs.length) {
    out.push(comment("# Format for LVM PVs"), comment("# lvmdev <volume_group> <device> [<uuid>] [<size(bytes)>]"));
    for (const pv of pvs) {
      if (!pv.pv_name?.startsWith("/")) continue;
      let dev = pv.pv_name;
      const k = dev.replace(/^\/dev\//, "");
      if (/^dm-[0-9]+$/.test(k)) dev = ctx.deviceName(k);
      // pvdisplay -c's third field is the size of the device under the PV, in sectors (not pv_size)
      const size = Math.floor(n(pv.dev_size ?? pv.pv_size) / 512);
      if (!pv.vg_name) {
        out.push(comment(`# Skipping PV ${dev} that is not part of a valid VG (VG '' empty or more than one word):`));
        out.push(comment(`# lvmdev /dev/<missing_VG> ${dev} ${pv.pv_uuid ?? ""} ${size}`));
        continue;
      }
      out.push(entry({ kw: "lvmdev", vg: `/dev/${pv.vg_name}`, device: dev, uuid: pv.pv_uuid ?? "", size }));
    }
  }
  if (vgs && vgs.length) {
    out.push(comment("# Format for LVM VGs"), comment("# lvmgrp <volume_group> <extentsize> [<size(extents)>] [<size(bytes)>]"));
    for (const vg of vgs) {
      out.push(entry({ kw: "lvmgrp", vg: `/dev/${vg.vg_name}`, extentSize: Math.floor(n(vg.vg_extent_size) / 1024), extents: n(vg.vg_extent_count), size: Math.floor(n(vg.vg_size) / 1024) }));
      if (vg.vg_uuid) facts[`/dev/${vg.vg_name}`] = { uuid: vg.vg_uuid };
    }
  }
  const rows = (lvs ?? []).filter((r) => r.lv_name && !r.lv_name.startsWith("["));
  if (rows.length) {
    out.push(comment("# Format for LVM LVs"), comment("# lvmvol <volume_group> <name> <size(bytes)> <layout> [key:value ...]"));
    // ReaR: `lvs … | sort -n -t: -k4` — by size, ties by the whole line (origin is first and empty)
    const lineOf = (r: Row) => `${r.origin ?? ""}:${r.lv_name}:${r.vg_name}:${r.lv_size}:${r.lv_layout}:${r.pool_lv ?? ""}:${r.chunk_size}:${r.stripes}:${r.stripe_size}:${r.seg_size}`;
    const sorted = rows
      .map((r, i) => ({ r, i, line: lineOf(r) }))
      .sort((a, b) => n(a.r.lv_size) - n(b.r.lv_size) || (a.line < b.line ? -1 : a.line > b.line ? 1 : a.i - b.i));
    const seen = new Set<string>();
    for (const { r, line } of sorted) {
      if (r.origin) {
        out.push(comment(`# Skipped snapshot or cache information '${line}'`));
        continue;
      }
      const size = n(r.lv_size);
      const seg = n(r.seg_size);
      const layout = r.lv_layout ?? "";
      const opts: Record<string, string> = {};
      if (r.pool_lv) opts.thinpool = r.pool_lv;
      if (n(r.chunk_size) !== 0) opts.chunksize = `${n(r.chunk_size)}b`;
      if (n(r.stripe_size) !== 0) opts.stripesize = `${n(r.stripe_size)}b`;
      const parts = `,${layout},`;
      if (parts.includes(",mirror,")) opts.mirrors = String(n(r.stripes) - 1);
      else if (parts.includes(",striped,")) opts.stripes = String(n(r.stripes));
      const info = seg !== size ? `segmentsize:${seg}b` : "";
      const key = `${r.vg_name}/${r.lv_name}`;
      if (r.lv_uuid && !seen.has(key)) facts[lvMapperName(r.vg_name!, r.lv_name!)] = { uuid: r.lv_uuid, ...(r.segtype ? { segtype: r.segtype } : {}) };
      const e: Entry = { kw: "lvmvol", vg: `/dev/${r.vg_name}`, lv: r.lv_name!, sizeBytes: size, layout, opts };
      if (seen.has(key)) {
        out.push(entry(e, true));
        if (info) out.push(comment(`# Extra parameters for the '#lvmvol /dev/${r.vg_name} ${r.lv_name}' line above not taken into account when restoring using 'lvcreate': ${info}`));
      } else {
        if (seg !== size) out.push(comment(`# Volume ${key} has multiple segments. Recreating it by 'lvcreate' will not preserve segments and properties of the other segments as well`));
        out.push(entry(e));
        if (info) out.push(comment(`# Extra parameters for the 'lvmvol /dev/${r.vg_name} ${r.lv_name}' line above not taken into account when restoring using 'lvcreate': ${info}`));
        seen.add(key);
      }
    }
  }
  return out;
}
