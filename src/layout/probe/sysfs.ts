// A snapshot of /sys/block as JSON: what the kernel says about every block device (sizes in 512-byte
// sectors, as sysfs always counts them; slaves/holders; dm and md names; partitions with their start).
// ReaR reads the same files one `cat` at a time (get_disk_size, get_partition_start, …).

import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export interface SysPartition {
  name: string;
  partition: number;
  /** 512-byte sectors */
  start: number;
  size: number;
  ro?: boolean;
}

export interface SysBlockDevice {
  name: string;
  /** major:minor */
  dev: string;
  /** 512-byte sectors */
  size: number;
  ro: boolean;
  removable: boolean;
  hasQueue: boolean;
  logicalBlockSize?: number;
  physicalBlockSize?: number;
  rotational?: boolean;
  model?: string;
  vendor?: string;
  serial?: string;
  wwid?: string;
  /** the resolved /sys/block/<name>/device path (bus topology; USB shows up in it) */
  devicePath?: string;
  slaves: string[];
  holders: string[];
  dm?: { name: string; uuid: string };
  md?: { level?: string; metadataVersion?: string };
  partitions: SysPartition[];
}

function read(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return undefined;
  }
}

function list(p: string): string[] {
  try {
    return readdirSync(p).sort();
  } catch {
    return [];
  }
}

const num = (s: string | undefined): number | undefined => (s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : undefined);

export function snapshotSysBlock(root = "/sys"): SysBlockDevice[] {
  const out: SysBlockDevice[] = [];
  for (const name of list(join(root, "block"))) {
    const d = join(root, "block", name);
    const dev: SysBlockDevice = {
      name,
      dev: read(join(d, "dev")) ?? "",
      size: num(read(join(d, "size"))) ?? 0,
      ro: read(join(d, "ro")) === "1",
      removable: read(join(d, "removable")) === "1",
      hasQueue: existsSync(join(d, "queue")),
      slaves: list(join(d, "slaves")),
      holders: list(join(d, "holders")),
      partitions: [],
    };
    const lbs = num(read(join(d, "queue/logical_block_size")));
    if (lbs !== undefined) dev.logicalBlockSize = lbs;
    const pbs = num(read(join(d, "queue/physical_block_size")));
    if (pbs !== undefined) dev.physicalBlockSize = pbs;
    const rot = read(join(d, "queue/rotational"));
    if (rot !== undefined) dev.rotational = rot === "1";
    const model = read(join(d, "device/model"));
    if (model) dev.model = model;
    const vendor = read(join(d, "device/vendor"));
    if (vendor) dev.vendor = vendor;
    // virtio-blk has /sys/block/vda/serial, NVMe and SCSI have it under device/
    const serial = read(join(d, "serial")) || read(join(d, "device/serial"));
    if (serial) dev.serial = serial;
    const wwid = read(join(d, "wwid")) || read(join(d, "device/wwid"));
    if (wwid) dev.wwid = wwid;
    try {
      dev.devicePath = readlinkSync(join(d, "device"));
    } catch {}
    const dmName = read(join(d, "dm/name"));
    if (dmName !== undefined) dev.dm = { name: dmName, uuid: read(join(d, "dm/uuid")) ?? "" };
    if (existsSync(join(d, "md"))) {
      const md: { level?: string; metadataVersion?: string } = {};
      const level = read(join(d, "md/level"));
      if (level) md.level = level;
      const meta = read(join(d, "md/metadata_version"));
      if (meta) md.metadataVersion = meta;
      dev.md = md;
    }
    for (const sub of list(d)) {
      const p = join(d, sub);
      const partNo = num(read(join(p, "partition")));
      if (partNo === undefined) continue;
      const part: SysPartition = { name: sub, partition: partNo, start: num(read(join(p, "start"))) ?? 0, size: num(read(join(p, "size"))) ?? 0 };
      if (read(join(p, "ro")) === "1") part.ro = true;
      dev.partitions.push(part);
    }
    dev.partitions.sort((a, b) => a.partition - b.partition);
    out.push(dev);
  }
  return out;
}
