// The disks present now, as recover sees them before it touches anything: which disks exist, their size
// and identity (for mapping the saved disks onto them), and what is on them (labels, mounts, holders —
// for the safety checks). Built from `lsblk -J -b -O -p` (one call shows the whole tree) and the
// /dev/disk/by-id links. Sample of what it reads:
//   {"blockdevices": [{"name": "/dev/vda", "type": "disk", "size": 4294967296, "ro": false, "rm": false,
//     "serial": "src1", "wwn": null, "log-sec": 512, "mountpoints": [null], "children": [
//       {"name": "/dev/vda1", "type": "part", "fstype": "linux_raid_member", "label": "source:root", "children": [
//         {"name": "/dev/md0", "type": "raid1", "fstype": "ext4", "mountpoints": ["/"]}]}]}]}
// Pure.

import { DISK_NAME } from "./probe-keys.ts";

/** Something on a target disk: a partition, or a device stacked on it (md, dm, LUKS). */
export interface TargetNode {
  device: string;
  /** lsblk TYPE: part, raid1, lvm, crypt, md, … */
  type: string;
  sizeBytes: number;
  fstype?: string;
  label?: string;
  partlabel?: string;
  uuid?: string;
  partuuid?: string;
  /** where it is mounted; "[SWAP]" for active swap */
  mountpoints: string[];
  /** 0 for partitions (or the disk's direct holders), deeper for what is stacked on them */
  depth: number;
}

export interface TargetDisk {
  device: string;
  sizeBytes: number;
  logicalSectorSize: number;
  readOnly: boolean;
  removable: boolean;
  serial?: string;
  wwn?: string;
  model?: string;
  transport?: string;
  byId: string[];
  /** the disk's own filesystem/label (a whole-disk filesystem, an ISO) */
  fstype?: string;
  label?: string;
  uuid?: string;
  ptuuid?: string;
  pttype?: string;
  mountpoints: string[];
  /** everything on the disk, parents before children */
  children: TargetNode[];
}

export interface TargetProbe {
  disks: TargetDisk[];
}

interface LsblkNode {
  name: string;
  type?: string;
  size?: number | string | null;
  ro?: boolean | string | null;
  rm?: boolean | string | null;
  serial?: string | null;
  wwn?: string | null;
  model?: string | null;
  tran?: string | null;
  label?: string | null;
  partlabel?: string | null;
  uuid?: string | null;
  partuuid?: string | null;
  ptuuid?: string | null;
  pttype?: string | null;
  fstype?: string | null;
  mountpoint?: string | null;
  mountpoints?: (string | null)[];
  "log-sec"?: number | string | null;
  children?: LsblkNode[];
}

const bool = (v: boolean | string | null | undefined) => v === true || v === "1";
const num = (v: number | string | null | undefined) => (v === null || v === undefined ? 0 : Number(v));
const opt = (v: string | null | undefined) => (v === null || v === undefined || v === "" ? undefined : v.trim());
const mounts = (n: LsblkNode) => [...(n.mountpoints ?? []), n.mountpoint].filter((m): m is string => !!m).filter((m, i, a) => a.indexOf(m) === i);

/**
 * The disks of an lsblk tree. `includeLoop` adds loop devices (tests on loop disks; recover never
 * offers them). CD-ROMs, zram, device-mapper and md devices at the top level are not disks.
 */
export function targetsFromLsblk(json: string, byId: Record<string, string> = {}, opts: { includeLoop?: boolean } = {}): TargetProbe {
  let tree: { blockdevices?: LsblkNode[] };
  try {
    tree = JSON.parse(json) as { blockdevices?: LsblkNode[] };
  } catch (e) {
    throw new Error(`cannot read lsblk's JSON output: ${(e as Error).message}`);
  }
  const disks: TargetDisk[] = [];
  const seen = new Set<string>();
  for (const n of tree.blockdevices ?? []) {
    const base = n.name.replace(/^\/dev\//, "");
    const isDisk = n.type === "disk" && DISK_NAME.test(base);
    const isLoop = n.type === "loop" && opts.includeLoop && num(n.size) > 0;
    if ((!isDisk && !isLoop) || seen.has(n.name)) continue;
    seen.add(n.name);
    const children: TargetNode[] = [];
    const walk = (c: LsblkNode, depth: number) => {
      if (!children.some((x) => x.device === c.name)) {
        children.push({
          device: c.name,
          type: c.type ?? "",
          sizeBytes: num(c.size),
          mountpoints: mounts(c),
          depth,
          ...(opt(c.fstype) ? { fstype: opt(c.fstype) } : {}),
          ...(opt(c.label) ? { label: opt(c.label) } : {}),
          ...(opt(c.partlabel) ? { partlabel: opt(c.partlabel) } : {}),
          ...(opt(c.uuid) ? { uuid: opt(c.uuid) } : {}),
          ...(opt(c.partuuid) ? { partuuid: opt(c.partuuid) } : {}),
        });
      }
      for (const cc of c.children ?? []) walk(cc, depth + 1);
    };
    for (const c of n.children ?? []) walk(c, 0);
    const d: TargetDisk = {
      device: n.name,
      sizeBytes: num(n.size),
      logicalSectorSize: num(n["log-sec"]) || 512,
      readOnly: bool(n.ro),
      removable: bool(n.rm),
      byId: Object.entries(byId).filter(([, t]) => t === n.name).map(([id]) => id).sort(),
      mountpoints: mounts(n),
      children,
    };
    const set = <K extends keyof TargetDisk>(k: K, v: TargetDisk[K] | undefined) => {
      if (v !== undefined) d[k] = v;
    };
    set("serial", opt(n.serial));
    set("wwn", opt(n.wwn));
    set("model", opt(n.model));
    set("transport", opt(n.tran));
    set("fstype", opt(n.fstype));
    set("label", opt(n.label));
    set("uuid", opt(n.uuid));
    set("ptuuid", opt(n.ptuuid));
    set("pttype", opt(n.pttype));
    disks.push(d);
  }
  return { disks };
}

/** Every device on a disk (the disk itself first), for matching labels, uuids and mounts. */
export function nodesOf(d: TargetDisk): TargetNode[] {
  const self: TargetNode = {
    device: d.device, type: "disk", sizeBytes: d.sizeBytes, mountpoints: d.mountpoints, depth: -1,
    ...(d.fstype ? { fstype: d.fstype } : {}), ...(d.label ? { label: d.label } : {}), ...(d.uuid ? { uuid: d.uuid } : {}),
  };
  return [self, ...d.children];
}
