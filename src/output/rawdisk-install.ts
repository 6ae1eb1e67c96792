// RAWDISK_INSTALL_GPT_PARTITION_NAME (ReaR's 280_create_bootable_disk_image.sh): besides the image, the
// rescue system's EFI partition is copied into every local GPT partition with that name, so that the machine
// itself can boot its rescue system (from a boot entry the user makes). As ReaR: only when the image boots by
// UEFI, only into partitions that are empty or VFAT and not mounted. Better than ReaR: a partition smaller
// than the rescue system is skipped and said so (ReaR's dd would write a truncated file system and fail
// half-way), and the efibootmgr command that makes the boot entry is printed.

/** A partition as `lsblk -J -b -p -o NAME,TYPE,PARTLABEL,FSTYPE,MOUNTPOINTS,SIZE,PKNAME` shows it. */
export interface PartitionInfo {
  path: string;
  partlabel: string;
  fstype: string;
  mountpoints: string[];
  bytes: number;
  /** the whole disk (/dev/sda for /dev/sda3) */
  disk: string;
}

interface LsblkNode {
  name?: string;
  type?: string;
  partlabel?: string | null;
  fstype?: string | null;
  mountpoints?: (string | null)[];
  mountpoint?: string | null;
  size?: number | string;
  pkname?: string | null;
  children?: LsblkNode[];
}

/** The partitions in lsblk's JSON (nested or flat). */
export function partitionsFromLsblk(json: string): PartitionInfo[] {
  const out: PartitionInfo[] = [];
  const walk = (nodes: LsblkNode[] | undefined, parent: string) => {
    for (const n of nodes ?? []) {
      if (n.type === "part" && n.name) {
        out.push({
          path: n.name,
          partlabel: n.partlabel ?? "",
          fstype: n.fstype ?? "",
          mountpoints: [...(n.mountpoints ?? []), n.mountpoint ?? null].filter((m): m is string => !!m),
          bytes: Number(n.size ?? 0),
          disk: n.pkname ?? parent,
        });
      }
      walk(n.children, n.name ?? parent);
    }
  };
  walk((JSON.parse(json) as { blockdevices?: LsblkNode[] }).blockdevices, "");
  const seen = new Set<string>();
  return out.filter((p) => !seen.has(p.path) && seen.add(p.path));
}

export interface InstallPlan {
  install: PartitionInfo[];
  skip: { path: string; why: string }[];
}

/** Which partitions named `name` receive the rescue system's FAT partition of `fatBytes`. */
export function installPlan(parts: PartitionInfo[], name: string, fatBytes: number): InstallPlan {
  const plan: InstallPlan = { install: [], skip: [] };
  const mib = (b: number) => `${Math.floor(b / 1048576)} MiB`;
  for (const p of parts.filter((x) => x.partlabel === name)) {
    if (p.fstype !== "" && p.fstype !== "vfat") plan.skip.push({ path: p.path, why: `it holds a ${p.fstype} file system (must be vfat or empty)` });
    else if (p.mountpoints.length > 0) plan.skip.push({ path: p.path, why: `it is mounted at ${p.mountpoints.join(", ")}` });
    else if (p.bytes < fatBytes) plan.skip.push({ path: p.path, why: `it has ${mib(p.bytes)}, the rescue system needs ${mib(fatBytes)}` });
    else plan.install.push(p);
  }
  return plan;
}

/** The partition's number on its disk (/dev/sda3 → 3, /dev/nvme0n1p2 → 2), for efibootmgr. */
export function partitionNumber(path: string): string {
  return /(\d+)$/.exec(path)?.[1] ?? "";
}

/** The efibootmgr command that makes a boot entry for an installed partition (rear makes none: as ReaR). */
export function bootEntryHint(p: PartitionInfo, label: string): string {
  return `efibootmgr --create --disk ${p.disk.startsWith("/") ? p.disk : `/dev/${p.disk}`} --part ${partitionNumber(p.path)} --label '${label.replace(/'/g, "")}' --loader '\\EFI\\BOOT\\BOOTX64.EFI'`;
}
