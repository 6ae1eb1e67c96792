// The plan from the layout and the disks of now (ReaR's layout/prepare, reference §5.5): first the
// disks to be overwritten are released (old RAID arrays, LVM and LUKS mappings that the rescue system
// activated on them) and wiped, then every component is created in dependency order, each by the
// builder for its kind. What no builder handles is listed, never silently left out.
// Pure.

import { buildDeps, creationOrder } from "../deps.ts";
import { activeEntries, type DiskEntry, type Entry, type LvmDevEntry, type LvmGrpEntry, type LvmVolEntry, type PartEntry } from "../model.ts";
import type { TargetDisk } from "../targets.ts";
import { PlanContext, type PlanInput } from "./context.ts";
import { planMkfs, planMountedSubvol, planSwap } from "./filesystems.ts";
import { partNumber, sfdiskScript } from "./partitions.ts";
import { PLAN_FORMAT, type Plan } from "./types.ts";
import { hideLineSecrets } from "../secrets.ts";
import { checkLayout, LayoutCheckError } from "../validate.ts";
import { canRestoreVg, planLuks, planLv, planPv, planRaid, planVg } from "./volumes.ts";

const MiB = 1024 * 1024;

export type { PlanInput } from "./context.ts";

/** Stop what the running system stacked on a disk to be wiped, deepest first (ReaR's diskrestore.sh starts with `vgchange -a n`). */
function planRelease(c: PlanContext, disk: TargetDisk, released: Set<string>): void {
  const stacked = disk.children.filter((n) => n.type !== "part" && n.mountpoints.length === 0).sort((a, b) => b.depth - a.depth);
  for (const n of stacked) {
    if (released.has(n.device)) continue;
    released.add(n.device);
    const name = n.device.replace(/^\/dev\/mapper\//, "").replace(/^\/dev\//, "");
    // releasing one device may take others with it: a device already gone needs no release, first run or not
    const gone = { skipIf: ["sh", "-c", '! test -b "$1"', "sh", n.device], checkAlways: true };
    if (/^(raid|md|linear)/.test(n.type)) c.add(disk.device, "release", `Stop RAID array ${n.device} found on ${disk.device}`, ["mdadm", "--stop", n.device], gone);
    else if (n.type === "crypt") c.add(disk.device, "release", `Close LUKS mapping ${name} found on ${disk.device}`, ["cryptsetup", "close", name], gone);
    else c.add(disk.device, "release", `Remove device-mapper device ${name} found on ${disk.device}`, ["dmsetup", "remove", "--retry", name], gone);
  }
}

/** wipefs on every partition, then the first and last 16 MiB of the disk (150_wipe_disks.sh). */
function planWipe(c: PlanContext, disk: TargetDisk): void {
  const parts = disk.children.filter((n) => n.type === "part").reverse();
  for (const p of parts) c.add(disk.device, "wipe", `Erase the signatures on ${p.device}${p.fstype ? ` (${p.fstype}${p.label ? ` ${p.label}` : ""})` : ""}`, ["wipefs", "--all", "--force", p.device]);
  c.add(disk.device, "wipe", `Erase the signatures on ${disk.device}`, ["wipefs", "--all", "--force", disk.device]);
  const n = Math.min(16, Math.floor(disk.sizeBytes / MiB));
  c.add(disk.device, "wipe", `Zero the first ${n} MiB of ${disk.device}`, ["dd", "if=/dev/zero", `of=${disk.device}`, "bs=1M", `count=${n}`, "conv=notrunc,fsync", "status=none"]);
  if (disk.sizeBytes > 32 * MiB) {
    const tail = disk.sizeBytes - 16 * MiB;
    c.add(disk.device, "wipe", `Zero the last 16 MiB of ${disk.device}`, ["dd", "if=/dev/zero", `of=${disk.device}`, "bs=1M", "count=16", `seek=${tail}`, "oflag=seek_bytes", "conv=notrunc,fsync", "status=none"]);
  }
}

function planPartitions(c: PlanContext, d: DiskEntry, parts: PartEntry[]): void {
  // a whole-disk PV or filesystem (parted says "unknown", or "loop"): nothing to partition
  if (d.label === "" || d.label === "unknown" || d.label === "loop") return;
  if (!/^(gpt|gpt_sync_mbr|msdos)$/.test(d.label)) {
    c.unhandled.push({ id: d.device, why: `'${d.label}' partition tables are not supported by this version` });
    return;
  }
  const t = c.input.targets.disks.find((x) => x.device === d.device);
  const sector = t?.logicalSectorSize ?? 512;
  const script = sfdiskScript(d, parts, sector, (id) => c.facts(id) as { partuuid?: string; typeId?: string } | undefined, c.facts(d.device)?.ptuuid as string | undefined);
  const gpt = /^gpt/.test(d.label);
  c.add(d.device, "partition", `Create ${gpt ? "a GPT" : "an MBR"} partition table on ${d.device} with ${parts.length} partition${parts.length === 1 ? "" : "s"}`, ["sfdisk", "--wipe", "always", "--wipe-partitions", "always", d.device], {
    stdin: script,
  });
  if (d.label === "gpt_sync_mbr") c.unhandled.push({ id: d.device, why: "the hybrid MBR of gpt_sync_mbr is not recreated (GPT only)" });
  // where sfdisk's re-read of the table does not reach the kernel (loop devices in containers), partx does
  c.add(d.device, "partx", `Tell the kernel about the new partitions of ${d.device}`, ["partx", "-u", d.device], { mutates: false, optional: true });
  c.add(d.device, "settle", `Wait until udev made the partitions of ${d.device}`, ["udevadm", "settle", "--timeout=30"], {
    mutates: false,
    optional: true,
    waitFor: [...parts].sort((a, b) => partNumber(a.device) - partNumber(b.device)).map((p) => p.device),
  });
}

export function buildPlan(input: PlanInput): Plan {
  // a plan for a layout that cannot be made would wipe the disks and then fail: refuse it first (the
  // stages check the saved file already; this sees the layout after mapping and resizing, with the
  // sector size of the disks of now)
  const problems = checkLayout(input.doc, { sectorSize: (d) => input.targets.disks.find((t) => t.device === d)?.logicalSectorSize });
  if (problems.length) throw new LayoutCheckError(input.layoutFile ?? "the layout", problems);
  const c = new PlanContext(input);
  const entries: Entry[] = activeEntries(input.doc);
  const released = new Set<string>();
  const wipeDisks = input.wipe.map((w) => input.targets.disks.find((d) => d.device === w)).filter((d): d is TargetDisk => !!d);
  for (const d of wipeDisks) planRelease(c, d, released);
  for (const d of wipeDisks) planWipe(c, d);

  const g = buildDeps(entries);
  const order = creationOrder(g);
  const ordered = new Set(order);
  for (const id of g.ids) if (!ordered.has(id)) c.unhandled.push({ id, why: "its dependencies form a cycle" });

  // grouped once (a layout with 100 000 partitions must not scan the list per disk or per LV)
  const partsOf = new Map<string, PartEntry[]>();
  const lvs = new Map<string, LvmVolEntry[]>();
  const pvs = new Map<string, LvmDevEntry[]>();
  const push = <T>(m: Map<string, T[]>, k: string, v: T) => {
    const l = m.get(k);
    if (l) l.push(v);
    else m.set(k, [v]);
  };
  for (const e of entries) {
    if (e.kw === "part") push(partsOf, e.disk, e);
    else if (e.kw === "lvmvol") push(lvs, e.vg, e);
    else if (e.kw === "lvmdev") push(pvs, e.vg, e);
  }
  const lvsOf = (vg: string) => lvs.get(vg) ?? [];
  // the last plain (not thin) LV of each group takes what is left when its size no longer fits
  const lastPlain = new Map<string, LvmVolEntry>();
  for (const [vg, list] of lvs) {
    const plain = list.filter((l) => !l.layout.includes("thin"));
    if (plain.length) lastPlain.set(vg, plain[plain.length - 1]!);
  }
  const restoreVg = new Map<string, boolean>();
  for (const e of entries) if (e.kw === "lvmgrp") restoreVg.set(e.vg, canRestoreVg(c, e, lvsOf(e.vg)));

  for (const id of order) {
    const e = g.entries.get(id)!;
    switch (e.kw) {
      case "disk":
        planPartitions(c, e, partsOf.get(e.device) ?? []);
        break;
      case "part":
        break; // made with its disk's partition table
      case "raidarray":
        planRaid(c, e);
        break;
      case "crypt":
        planLuks(c, e);
        break;
      case "lvmdev":
        planPv(c, e, restoreVg.get(e.vg) ?? false);
        break;
      case "lvmgrp":
        planVg(c, e as LvmGrpEntry, pvs.get(e.vg) ?? [], lvsOf(e.vg), restoreVg.get(e.vg) ?? false);
        break;
      case "lvmvol": {
        if (restoreVg.get(e.vg)) break; // vgcfgrestore made it
        planLv(c, e, lastPlain.get(e.vg) === e);
        break;
      }
      case "fs":
        planMkfs(c, e, entries);
        break;
      case "btrfsmountedsubvol":
        planMountedSubvol(c, e, entries);
        break;
      case "swap":
        planSwap(c, e);
        break;
      default:
        c.unhandled.push({ id, why: `recreating '${e.kw === "other" ? e.keyword : e.kw}' is not supported by this version` });
    }
  }
  return {
    format: PLAN_FORMAT,
    layoutSha256: input.layoutSha256,
    mapping: input.mapping,
    wipe: wipeDisks.map((d) => d.device),
    steps: c.steps,
    // without LUKS passwords: the plan is a file to read and show; the passphrase is taken from the layout file when needed
    layout: input.doc.lines.filter((l) => l.t === "entry" && !l.disabled).map(hideLineSecrets),
    unhandled: c.unhandled,
    uuidChanges: c.uuidChanges,
    luksKeys: c.luksKeys,
    mounts: c.mounts,
    targetRoot: input.targetRoot,
    doneDir: `${input.workDir}/done`,
  };
}
