// `rear format DEVICE`: what it may format, and the plan that makes a REAR-000 medium (ReaR's
// format/USB/default/200_check_usb_layout.sh, 300_format_usb_disk.sh, 350_label_usb_disk.sh). Better than
// ReaR: the running system's disk, a disk in use (mounted, swap, a member of RAID, LVM or LUKS) and a
// read-only one are refused outright; a disk that is not removable needs --yes and the typed confirmation;
// the plan lists what is on the disk now (every partition, file system and label it erases) before
// anything happens, and is data: --dry-run prints it. Pure.

import type { TargetDisk } from "../layout/targets.ts";

export interface FormatFlags {
  efi: boolean;
  bios: boolean;
  force: boolean;
  yes: boolean;
}

export interface FormatSettings {
  /** USB_DEVICE_FILESYSTEM (ext2, ext3, ext4, btrfs, …) */
  fs: string;
  /** USB_DEVICE_FILESYSTEM_LABEL */
  label: string;
  /** USB_DEVICE_FILESYSTEM_PARAMS, split */
  params: string[];
  /** USB_DEVICE_FILESYSTEM_PERCENTAGE: how much of the disk the data partition takes */
  percentage: number;
  /** USB_UEFI_PART_SIZE, MiB */
  efiMiB: number;
  /** USB_PARTITION_ALIGN_BLOCK_SIZE, MiB */
  alignMiB: number;
  /** the running machine boots by UEFI (the default table when neither --efi nor --bios is given) */
  uefiMachine: boolean;
}

export interface FormatStep {
  argv: string[];
  summary: string;
}

export interface FormatPlan {
  disk: string;
  table: "gpt" | "msdos";
  /** the data partition (REAR-000) and, on GPT, the EFI system partition */
  dataPartition: string;
  efiPartition?: string;
  /** lines saying what is on the disk now and is lost */
  erases: string[];
  steps: FormatStep[];
}

const MiB = 1024 * 1024;

/** /dev/sdb → /dev/sdb1; /dev/nvme0n1, /dev/loop0, /dev/mmcblk0 → …p1 (the kernel's naming). */
export function partitionDevice(disk: string, n: number): string {
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

/** Why this disk must not be formatted at all (exit 1), or undefined. */
export function formatRefusal(d: TargetDisk): string | undefined {
  const all = [{ device: d.device, mountpoints: d.mountpoints, type: "disk", depth: -1, fstype: d.fstype }, ...d.children];
  if (d.readOnly) return `${d.device} is read-only`;
  for (const n of all) {
    const mps = n.mountpoints.filter((m) => m && m !== "[SWAP]");
    if (mps.includes("/")) return `${d.device} holds the running system (${n.device} is mounted on /)`;
    if (mps.length) return `${d.device} is in use: ${n.device} is mounted on ${mps.join(", ")} (unmount it first)`;
    if (n.mountpoints.includes("[SWAP]")) return `${d.device} is in use: ${n.device} is active swap (swapoff it first)`;
  }
  // something stacked on it that is in use: a RAID, an LVM volume group or an opened LUKS volume
  const stacked = d.children.filter((c) => c.depth > 0);
  if (stacked.length) return `${d.device} is in use: ${stacked.map((c) => `${c.device} (${c.type})`).join(", ")} ${stacked.length > 1 ? "are" : "is"} built on it (stop or close ${stacked.length > 1 ? "them" : "it"} first)`;
  return undefined;
}

/** A disk counts as removable when the kernel says so or it hangs on USB (a USB hard disk has rm=0). */
export const isRemovable = (d: TargetDisk): boolean => d.removable || d.transport === "usb";

/** What is on the disk now, one line each: what formatting it erases. */
export function erasedContent(d: TargetDisk): string[] {
  const size = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(b / MiB)} MiB`);
  const lines = [`${d.device}: ${size(d.sizeBytes)}${d.model ? `, ${d.model.trim()}` : ""}${d.transport ? `, ${d.transport}` : ""}${d.pttype ? `, ${d.pttype} partition table` : ", no partition table"}`];
  if (d.fstype) lines.push(`  the whole disk: ${d.fstype}${d.label ? ` labelled ${d.label}` : ""}`);
  for (const c of d.children) lines.push(`  ${c.device}: ${size(c.sizeBytes)}${c.fstype ? ` ${c.fstype}` : ""}${c.label ? ` labelled ${c.label}` : ""}${c.partlabel ? ` (${c.partlabel})` : ""}`);
  if (!d.fstype && d.children.length === 0) lines.push("  nothing the kernel recognises");
  return lines;
}

/** The table: GPT with an EFI system partition for --efi or a UEFI machine, msdos for --bios or a BIOS one. */
export function formatTable(f: FormatFlags, uefiMachine: boolean): "gpt" | "msdos" {
  if (f.efi) return "gpt";
  if (f.bios) return "msdos";
  return uefiMachine ? "gpt" : "msdos";
}

/** Problems of the settings (the message names the setting and its value). */
export function settingsProblems(s: FormatSettings): string[] {
  const p: string[] = [];
  if (!/^(ext[234]|btrfs|xfs)$/.test(s.fs)) p.push(`USB_DEVICE_FILESYSTEM='${s.fs}' is not one rear can keep backups and rescue systems on (ext2, ext3, ext4, btrfs or xfs)`);
  if (!(s.percentage >= 1 && s.percentage <= 100)) p.push(`USB_DEVICE_FILESYSTEM_PERCENTAGE='${s.percentage}' is not between 1 and 100`);
  if (!(s.efiMiB >= 32)) p.push(`USB_UEFI_PART_SIZE='${s.efiMiB}' is too small for an EFI system partition (at least 32 MiB)`);
  if (!(s.alignMiB >= 1)) p.push(`USB_PARTITION_ALIGN_BLOCK_SIZE='${s.alignMiB}' is not a whole number of MiB of 1 or more`);
  if (!/^[A-Za-z0-9._-]{1,16}$/.test(s.label)) p.push(`USB_DEVICE_FILESYSTEM_LABEL='${s.label}' is not a file system label (1-16 letters, digits, '.', '_' or '-')`);
  return p;
}

export function planFormat(d: TargetDisk, f: FormatFlags, s: FormatSettings): FormatPlan {
  const disk = d.device;
  const table = formatTable(f, s.uefiMachine);
  const align = s.alignMiB;
  // ReaR rounds the ESP to the alignment so that the data partition starts aligned too
  const efiMiB = Math.max(align, Math.round(s.efiMiB / align) * align);
  const steps: FormatStep[] = [];
  // old signatures (a previous RAID, LVM or file system) would confuse blkid and udev afterwards
  for (const c of [...d.children].reverse()) steps.push({ argv: ["wipefs", "--all", "--force", c.device], summary: `Erase the signatures on ${c.device}` });
  steps.push({ argv: ["wipefs", "--all", "--force", disk], summary: `Erase the partition table and signatures of ${disk}` });
  const parted = (...a: string[]) => ["parted", "-s", "-a", "optimal", disk, ...a];
  steps.push({ argv: parted("mklabel", table), summary: `Create a ${table} partition table on ${disk}` });
  const diskMiB = Math.floor(d.sizeBytes / MiB);
  let n = 1;
  let start = align;
  let efiPartition: string | undefined;
  if (table === "gpt") {
    efiPartition = partitionDevice(disk, n);
    steps.push({ argv: parted("mkpart", "REAR-EFI", "fat32", `${start}MiB`, `${start + efiMiB}MiB`), summary: `Create the EFI system partition ${efiPartition} (${efiMiB} MiB)` });
    steps.push({ argv: parted("set", String(n), "esp", "on"), summary: `Mark ${efiPartition} as the EFI system partition` });
    start += efiMiB;
    n++;
  }
  const dataPartition = partitionDevice(disk, n);
  const end = s.percentage >= 100 ? "100%" : `${Math.max(start + 1, Math.floor((diskMiB * s.percentage) / 100))}MiB`;
  steps.push({ argv: parted("mkpart", table === "gpt" ? s.label : "primary", s.fs, `${start}MiB`, end), summary: `Create the data partition ${dataPartition} (${s.percentage}% of the disk)` });
  // BIOS boots the data partition (extlinux): "boot" on msdos, "legacy_boot" on GPT (ReaR's boot_partition_flag)
  steps.push({ argv: parted("set", String(n), table === "gpt" ? "legacy_boot" : "boot", "on"), summary: `Mark ${dataPartition} bootable by BIOS` });
  steps.push({ argv: ["partprobe", disk], summary: `Tell the kernel about the new partitions of ${disk}` });
  steps.push({ argv: ["udevadm", "settle"], summary: "Wait for udev to create the partitions' device nodes" });
  if (efiPartition) steps.push({ argv: ["mkfs.vfat", "-F", "32", "-n", "REAR-EFI", efiPartition], summary: `Make a FAT32 file system labelled REAR-EFI on ${efiPartition}` });
  const labelOpt = s.fs === "xfs" || s.fs === "btrfs" ? ["-L", s.label, "-f"] : ["-F", "-L", s.label];
  steps.push({ argv: [`mkfs.${s.fs}`, ...labelOpt, ...s.params, dataPartition], summary: `Make an ${s.fs} file system labelled ${s.label} on ${dataPartition}` });
  // ReaR: no forced checks on a medium plugged in now and then; ACLs for the backup's files
  if (/^ext[234]$/.test(s.fs)) steps.push({ argv: ["tune2fs", "-c", "0", "-i", "0", "-o", s.fs === "ext2" ? "acl" : "acl,journal_data_ordered", dataPartition], summary: `No periodic checks on ${dataPartition}, ACLs on` });
  steps.push({ argv: ["udevadm", "settle"], summary: `Wait for udev to publish /dev/disk/by-label/${s.label}` });
  return { disk, table, dataPartition, ...(efiPartition ? { efiPartition } : {}), erases: erasedContent(d), steps };
}
