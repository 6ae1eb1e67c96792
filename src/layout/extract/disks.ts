// disk and part lines (ReaR layout/save/GNU/Linux/200_partition_layout.sh): every /sys/block device
// named like a disk (hd, sd, cciss, vd, xvd, dasd, nvme, mmcblk), in name order, except multipath paths
// and eMMC's rpmb/boot areas. Sizes and starts come from sysfs (512-byte units); the label, GPT names
// and flags from `parted -m`; msdos partitions 1–4 are primary (extended when sfdisk says id 5/f/85,
// with parted's size), 5+ logical. We also keep what ReaR does not write: PARTUUIDs, type GUIDs/ids,
// disk serial/WWN/by-id (facts), so migration can map disks by identity.
// Pure.

import type { DocLine, Entry } from "../model.ts";
import { type PartedDisk, parsePartedMachine } from "../parse/parted.ts";
import { parseSfdiskJson, type SfdiskTable } from "../parse/sfdisk.ts";
import { DISK_NAME } from "../probe-keys.ts";
import type { SysBlockDevice } from "../probe/sysfs.ts";
import { comment, type ExtractContext, parseJson } from "./context.ts";

/** parted flags ReaR keeps (others, like msftdata or diag, are not recreated) */
const KEPT_FLAGS = new Set(["boot", "esp", "root", "swap", "hidden", "raid", "lvm", "lba", "palo", "legacy_boot", "bios_grub", "prep"]);
const SUPPORTED_LABELS = new Set(["msdos", "gpt", "gpt_sync_mbr", "dasd"]);

/** ReaR's percent_encode: unreserved characters stay, every other byte becomes %XX. */
export function percentEncode(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += /[a-zA-Z0-9.~_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function percentDecode(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...new TextEncoder().encode(s[i]!));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** A path of a multipath map: its holder is a dm device whose uuid starts with mpath-. */
function isMultipathPath(ctx: ExtractContext, d: SysBlockDevice): boolean {
  return d.holders.some((h) => ctx.sysByName(h)?.dm?.uuid.startsWith("mpath-"));
}

export function isDiskName(name: string, includeLoop = false): boolean {
  return (DISK_NAME.test(name) || (includeLoop && /^loop[0-9]+$/.test(name))) && !/rpmb$/.test(name) && !/[0-9]boot[0-9]+$/.test(name);
}

export function extractDisks(ctx: ExtractContext, facts: Record<string, Record<string, unknown>>): DocLine[] {
  const out: DocLine[] = [];
  const byId = parseJson<Record<string, string>>(ctx.data["by-id.json"], "by-id.json", ctx) ?? {};
  const lsblk = parseJson<{ blockdevices?: { name: string; tran?: string | null; wwn?: string | null }[] }>(ctx.data["lsblk.json"], "lsblk.json", ctx);
  const disks = ctx.sys.filter((d) => isDiskName(d.name, ctx.opts.includeLoop)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of disks) {
    if (isMultipathPath(ctx, d)) continue;
    if (ctx.opts.includeLoop && d.name.startsWith("loop") && d.size === 0) continue;
    const dev = `/dev/${d.name}`;
    const parted = ctx.data[`parted/${d.name}.txt`] !== undefined ? parsePartedMachine(ctx.data[`parted/${d.name}.txt`]!) : undefined;
    const sfdisk = parseSfdiskJson(ctx.data[`sfdisk/${d.name}.json`]);
    let label = parted?.label ?? "";
    if (label === "" && sfdisk) label = sfdisk.label === "dos" ? "msdos" : sfdisk.label;
    if (label === "" && d.partitions.length === 0 && ctx.data[`bootsector/${d.name}.b64`] !== undefined) {
      // what parted says of a readable disk without a partition table (older captures lack its output, as
      // parted exits 1 there): "loop" when a file system sits on the whole disk, else "unknown"
      const t = ctx.blkidOf(dev)?.TYPE;
      label = t && /^(ext[234]|xfs|btrfs|vfat|swap|jfs|reiserfs|hfs|hfsplus|ntfs|udf|iso9660)$/.test(t) ? "loop" : "unknown";
    }
    if (label === "") ctx.warn(`No partition label type for 'disk ${dev}' (may cause 'rear recover' failure)`);
    out.push(comment(`# Disk ${dev}`), comment("# Format: disk <devname> <size(bytes)> <partition label type>"));
    out.push({ t: "entry", disabled: false, entry: { kw: "disk", device: dev, sizeBytes: d.size * 512, label, rest: [] } });
    out.push(comment(`# Partitions on ${dev}`), comment("# Format: part <device> <partition size(bytes)> <partition start(bytes)> <partition type|name> <flags> /dev/<partition>"));

    const df: Record<string, unknown> = {};
    if (d.serial) df.serial = d.serial;
    const lb = lsblk?.blockdevices?.find((b) => b.name === dev || b.name === d.name);
    const wwn = lb?.wwn ?? d.wwid;
    if (wwn) df.wwn = wwn;
    if (d.model) df.model = d.model;
    const ids = Object.entries(byId).filter(([, t]) => t === dev).map(([n]) => n).sort();
    if (ids.length) df.byId = ids;
    if (d.logicalBlockSize) df.logicalSectorSize = d.logicalBlockSize;
    if (d.physicalBlockSize) df.physicalSectorSize = d.physicalBlockSize;
    if (d.rotational !== undefined) df.rotational = d.rotational;
    if (d.removable) df.removable = true;
    if (lb?.tran) df.transport = lb.tran;
    if (sfdisk?.id) df.ptuuid = sfdisk.id;
    facts[dev] = df;

    out.push(...partLines(ctx, d, dev, label, facts, parted, sfdisk));
  }
  return out;
}

/** part lines of a disk, RAID array or multipath device (ReaR's extract_partitions). */
export function partLines(
  ctx: ExtractContext, d: SysBlockDevice, dev: string, label: string, facts: Record<string, Record<string, unknown>>,
  parted: PartedDisk | undefined, sfdisk: SfdiskTable | undefined,
): DocLine[] {
  const out: DocLine[] = [];
  const parts = d.partitions.filter((p) => !/rpmb$/.test(p.name) && !/[0-9]boot[0-9]+$/.test(p.name));
  if (parts.length === 0) return out;
  if (!SUPPORTED_LABELS.has(label)) {
    ctx.error(`Unsupported partition table '${label}' on ${dev} (must be one of 'msdos' 'gpt' 'gpt_sync_mbr' 'dasd')`);
    return out;
  }
  const hasLogical = parts.some((p) => p.partition > 4);
  for (const p of parts) {
    const pp = parted?.partitions.find((x) => x.number === p.partition);
    const sp = sfdisk?.partitions.find((x) => x.node === `/dev/${p.name}`);
    let size = p.size * 512;
    let name: string;
    if (label === "msdos") {
      name = p.partition > 4 ? "logical" : "primary";
      if (hasLogical && p.partition <= 4 && sp && /^(5|f|85)$/i.test(sp.type.replace(/^0x/, ""))) {
        name = "extended";
        // sysfs says 1 KiB for an extended partition; parted knows its real size (ReaR does the same)
        if (pp?.sizeBytes !== undefined) size = pp.sizeBytes;
      }
    } else if (label === "dasd") name = "ext2";
    else name = percentEncode(pp?.name || "") || "rear-noname";
    const flags: string[] = [];
    for (const f of pp?.flags ?? []) {
      if (KEPT_FLAGS.has(f)) flags.push(f);
      else if (f === "type=06") flags.push("prep");
    }
    const entry: Entry = { kw: "part", disk: dev, sizeBytes: size, startBytes: p.start * 512, name, flags, device: `/dev/${p.name}` };
    out.push({ t: "entry", disabled: false, entry });
    const pf: Record<string, unknown> = {};
    if (sp?.uuid) pf.partuuid = sp.uuid.toLowerCase();
    if (sp?.type) pf.typeId = sp.type;
    if (sp?.name) pf.partName = sp.name;
    if (Object.keys(pf).length) facts[`/dev/${p.name}`] = pf;
  }
  return out;
}
