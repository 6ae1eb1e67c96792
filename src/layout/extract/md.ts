// raidarray, raiddisk and the RAID array's own partitions (ReaR 210_raid_layout.sh), from
// `mdadm --detail --scan --config=partitions` and `mdadm --misc --detail` of each array. The array's
// name is the basename of a /dev/md/NAME link in the scan line (not mdadm's "Name :"). Members are the
// /dev/ paths of the detail table, spares included, in mdadm's order.
// Sample detail lines read: "Version : 1.2", "Raid Level : raid1", "Raid Devices : 2",
// "Total Devices : 2", "UUID : 8d05eb84:2de831d1:dfed54b2:ad592118", "Layout : near=2", "Chunk Size : 512K",
// then "   0     254        2        0      active sync   /dev/vda2".
// Pure.

import type { DocLine, Entry } from "../model.ts";
import { parsePartedMachine } from "../parse/parted.ts";
import { parseSfdiskJson } from "../parse/sfdisk.ts";
import { comment, type ExtractContext, parseJson } from "./context.ts";
import { partLines } from "./disks.ts";

function field(lines: string[], key: string): string[] | undefined {
  const l = lines.find((x) => x.trim().startsWith(`${key} :`));
  return l ? l.trim().split(/\s+/) : undefined;
}

export function extractRaid(ctx: ExtractContext, facts: Record<string, Record<string, unknown>>): DocLine[] {
  const mdstat = ctx.data["mdstat.txt"];
  const scan = ctx.data["mdadm/scan.txt"];
  if (!mdstat || !mdstat.includes("blocks") || scan === undefined) return [];
  const links = parseJson<Record<string, string>>(ctx.data["md-links.json"], "md-links.json", ctx) ?? {};
  const out: DocLine[] = [comment("# Software RAID devices (mdadm --detail --scan --config=partitions)")];
  for (const l of scan.split("\n")) if (l.trim()) out.push(comment(`# ${l}`));
  for (const l of scan.split("\n")) {
    const w = l.trim().split(/\s+/);
    if (w[0] !== "ARRAY" || !w[1]) continue;
    let dev = w[1];
    let name = "";
    if (dev.startsWith("/dev/md/")) {
      name = dev.slice(8);
      const target = links[name];
      if (!target) {
        ctx.warn(`RAID device ${dev}: no /dev/md link target known; skipped`);
        continue;
      }
      dev = target;
    }
    const kname = dev.replace(/^\/dev\//, "");
    const detail = ctx.data[`mdadm/${kname}.txt`];
    if (detail === undefined) {
      ctx.warn(`no 'mdadm --misc --detail ${dev}' output; RAID array ${dev} not described`);
      continue;
    }
    const lines = detail.split("\n").filter((x) => x.trim() !== "");
    out.push(comment(`# Software RAID ${name} device ${dev} (mdadm --misc --detail ${dev})`));
    for (const x of lines) out.push(comment(`# ${x}`));
    const level = field(lines, "Raid Level")?.[3] ?? "";
    const raidDevs = Number(field(lines, "Raid Devices")?.[3] ?? 0);
    const total = Number(field(lines, "Total Devices")?.[3] ?? 0);
    const n = raidDevs > 0 ? raidDevs : total;
    if (!(n > 0)) {
      ctx.error(`Neither number of active devices nor number of total devices is greater than 0 for RAID ${dev}`);
      continue;
    }
    const members: string[] = [];
    for (const x of lines) {
      const m = /(\/dev\/\S*)/.exec(x);
      if (m && !m[1]!.includes("/dev/md") && !x.trim().startsWith("/dev/")) {
        const k = m[1]!.replace(/^\/dev\//, "");
        members.push(/^dm-[0-9]+$/.test(k) ? ctx.deviceName(k) : m[1]!);
      }
    }
    if (!members.length) {
      ctx.error(`No component devices for RAID ${dev}`);
      continue;
    }
    const opts: Record<string, string> = { level, "raid-devices": String(n), devices: members.join(",") };
    // Better than ReaR: the name as the array holds it, "homehost:name" (mdadm's "Name : source:root (local
    // to host source)"). mdadm --create stores a name with a colon as it is, so the recreated array is
    // "source:root" again; with only the /dev/md/NAME link (ReaR) an array made as /dev/md0 has no name and
    // comes back as "<rescue host>:0", which udev's /dev/md/ links and mdadm.conf lines by name then miss.
    const held = /^\s*Name\s*:\s*(\S+)/m.exec(detail)?.[1];
    if (held && /^[^\s:]+:[^\s:]+$/.test(held)) opts.name = held;
    else if (name) opts.name = name;
    const meta = field(lines, "Version")?.[2];
    if (meta) opts.metadata = meta;
    const uuid = field(lines, "UUID")?.[2];
    if (uuid) opts.uuid = uuid;
    const layoutWords = field(lines, "Layout")?.slice(2, 5).join("");
    if (layoutWords && layoutWords !== "-unknown-") {
      let layout = layoutWords;
      if (level === "raid10") {
        // near=2 → n2, far=2 → f2, offset=2 → o2 (mdadm --layout syntax)
        const mm = /(near|far|offset)=([1-9])/.exec(layoutWords);
        if (mm) layout = `${mm[1]![0]}${mm[2]}`;
      }
      opts.layout = layout;
    }
    const chunk = /^([0-9]+)/.exec(field(lines, "Chunk Size")?.[3] ?? "")?.[1];
    if (chunk) opts.chunk = chunk;
    if (raidDevs > 0 && total - raidDevs > 0) opts["spare-devices"] = String(total - raidDevs);
    out.push(
      comment(`# RAID device ${dev}`),
      comment("# Format: raidarray /dev/<kernel RAID device> level=<RAID level> raid-devices=<nr of active devices> devices=<component device1,component device2,...> [name=<array name>] [metadata=<metadata style>] [uuid=<UUID>] [layout=<data layout>] [chunk=<chunk size>] [spare-devices=<nr of spare devices>] [size=<container size>]"),
    );
    const e: Entry = { kw: "raidarray", device: dev, opts };
    out.push({ t: "entry", disabled: false, entry: e });
    const sys = ctx.sysByName(kname);
    const parted = ctx.data[`parted/${kname}.txt`] !== undefined ? parsePartedMachine(ctx.data[`parted/${kname}.txt`]!) : undefined;
    const label = parted?.label ?? "";
    out.push(comment(`# RAID disk ${dev}`), comment("# Format: raiddisk <devname> <size(bytes)> <partition label type>"));
    out.push({ t: "entry", disabled: false, entry: { kw: "raiddisk", fields: [dev, String((sys?.size ?? 0) * 512), ...(label ? [label] : [])] } });
    out.push(comment(`# Partitions on ${dev}`), comment("# Format: part <device> <partition size(bytes)> <partition start(bytes)> <partition type|name> <flags> /dev/<partition>"));
    if (sys) out.push(...partLines(ctx, sys, dev, label, facts, parted, parseSfdiskJson(ctx.data[`sfdisk/${kname}.json`])));
  }
  return out;
}
