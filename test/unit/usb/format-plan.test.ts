// `rear format`'s checks and plan (src/usb/format-plan.ts): what it refuses, the table, the steps.

import { describe, expect, test } from "bun:test";
import type { TargetDisk } from "../../../src/layout/targets.ts";
import { erasedContent, formatRefusal, formatTable, isRemovable, partitionDevice, planFormat, settingsProblems } from "../../../src/usb/format-plan.ts";

const GiB = 1024 ** 3;
function disk(o: Partial<TargetDisk> = {}): TargetDisk {
  return { device: "/dev/sdb", sizeBytes: 16 * GiB, logicalSectorSize: 512, readOnly: false, removable: true, byId: [], mountpoints: [], children: [], transport: "usb", model: "Cruzer", ...o };
}
const part = (device: string, o: Partial<TargetDisk["children"][number]> = {}) => ({ device, type: "part", sizeBytes: GiB, mountpoints: [], depth: 0, ...o });
const settings = { fs: "ext4", label: "REAR-000", params: [], percentage: 100, efiMiB: 1024, alignMiB: 8, uefiMachine: false };
const flags = { efi: false, bios: false, force: false, yes: false };

describe("rear format: what it refuses", () => {
  test("the running system's disk, a mounted or swapping disk, one with RAID/LVM/LUKS on it, a read-only one", () => {
    expect(formatRefusal(disk({ children: [part("/dev/sdb1", { mountpoints: ["/"] })] }))).toBe("/dev/sdb holds the running system (/dev/sdb1 is mounted on /)");
    expect(formatRefusal(disk({ children: [part("/dev/sdb1", { mountpoints: ["/media/stick"] })] }))).toBe("/dev/sdb is in use: /dev/sdb1 is mounted on /media/stick (unmount it first)");
    expect(formatRefusal(disk({ children: [part("/dev/sdb2", { mountpoints: ["[SWAP]"] })] }))).toBe("/dev/sdb is in use: /dev/sdb2 is active swap (swapoff it first)");
    expect(formatRefusal(disk({ children: [part("/dev/sdb1", { fstype: "LVM2_member" }), { device: "/dev/mapper/vg-lv", type: "lvm", sizeBytes: GiB, mountpoints: [], depth: 1 }] }))).toBe(
      "/dev/sdb is in use: /dev/mapper/vg-lv (lvm) is built on it (stop or close it first)",
    );
    expect(formatRefusal(disk({ readOnly: true }))).toBe("/dev/sdb is read-only");
    expect(formatRefusal(disk({ children: [part("/dev/sdb1", { fstype: "ext4", label: "REAR-000" })] }))).toBeUndefined();
  });
  test("removable: the kernel's flag, or a disk on USB", () => {
    expect(isRemovable(disk())).toBe(true);
    expect(isRemovable(disk({ removable: false, transport: "usb" }))).toBe(true);
    expect(isRemovable(disk({ removable: false, transport: "sata" }))).toBe(false);
  });
  test("settings that cannot make a medium are named with their value", () => {
    expect(settingsProblems(settings)).toEqual([]);
    expect(settingsProblems({ ...settings, fs: "vfat", percentage: 0, efiMiB: 10, alignMiB: 0, label: "REAR 000" })).toEqual([
      "USB_DEVICE_FILESYSTEM='vfat' is not one rear can keep backups and rescue systems on (ext2, ext3, ext4, btrfs or xfs)",
      "USB_DEVICE_FILESYSTEM_PERCENTAGE='0' is not between 1 and 100",
      "USB_UEFI_PART_SIZE='10' is too small for an EFI system partition (at least 32 MiB)",
      "USB_PARTITION_ALIGN_BLOCK_SIZE='0' is not a whole number of MiB of 1 or more",
      "USB_DEVICE_FILESYSTEM_LABEL='REAR 000' is not a file system label (1-16 letters, digits, '.', '_' or '-')",
    ]);
  });
});

describe("rear format: the plan", () => {
  test("partition names as the kernel gives them", () => {
    expect(partitionDevice("/dev/sdb", 1)).toBe("/dev/sdb1");
    expect(partitionDevice("/dev/nvme0n1", 2)).toBe("/dev/nvme0n1p2");
    expect(partitionDevice("/dev/loop3", 1)).toBe("/dev/loop3p1");
    expect(partitionDevice("/dev/mmcblk0", 1)).toBe("/dev/mmcblk0p1");
  });
  test("the table: --efi or a UEFI machine GPT, --bios or a BIOS machine msdos", () => {
    expect(formatTable({ ...flags, efi: true }, false)).toBe("gpt");
    expect(formatTable({ ...flags, bios: true }, true)).toBe("msdos");
    expect(formatTable(flags, true)).toBe("gpt");
    expect(formatTable(flags, false)).toBe("msdos");
  });
  test("BIOS: one data partition, bootable, ext4 labelled REAR-000, no periodic checks; old signatures erased first", () => {
    const p = planFormat(disk({ children: [part("/dev/sdb1", { fstype: "vfat", label: "STICK" })] }), flags, settings);
    expect(p).toMatchObject({ disk: "/dev/sdb", table: "msdos", dataPartition: "/dev/sdb1" });
    expect(p.efiPartition).toBeUndefined();
    expect(p.steps.map((s) => s.argv.join(" "))).toEqual([
      "wipefs --all --force /dev/sdb1",
      "wipefs --all --force /dev/sdb",
      "parted -s -a optimal /dev/sdb mklabel msdos",
      "parted -s -a optimal /dev/sdb mkpart primary ext4 8MiB 100%",
      "parted -s -a optimal /dev/sdb set 1 boot on",
      "partprobe /dev/sdb",
      "udevadm settle",
      "mkfs.ext4 -F -L REAR-000 /dev/sdb1",
      "tune2fs -c 0 -i 0 -o acl,journal_data_ordered /dev/sdb1",
      "udevadm settle",
    ]);
    expect(p.erases).toEqual(["/dev/sdb: 16.0 GiB, Cruzer, usb, no partition table", "  /dev/sdb1: 1.0 GiB vfat labelled STICK"]);
  });
  test("UEFI: an aligned EFI system partition (REAR-EFI, FAT32) before the data partition (legacy_boot for BIOS); percentage and params", () => {
    const p = planFormat(disk({ device: "/dev/nvme1n1", sizeBytes: 10 * GiB }), { ...flags, efi: true }, { ...settings, efiMiB: 500, percentage: 50, params: ["-m", "0"] });
    expect(p).toMatchObject({ table: "gpt", efiPartition: "/dev/nvme1n1p1", dataPartition: "/dev/nvme1n1p2" });
    const argv = p.steps.map((s) => s.argv.join(" "));
    expect(argv).toContain("parted -s -a optimal /dev/nvme1n1 mkpart REAR-EFI fat32 8MiB 512MiB");
    expect(argv).toContain("parted -s -a optimal /dev/nvme1n1 set 1 esp on");
    expect(argv).toContain("parted -s -a optimal /dev/nvme1n1 mkpart REAR-000 ext4 512MiB 5120MiB");
    expect(argv).toContain("parted -s -a optimal /dev/nvme1n1 set 2 legacy_boot on");
    expect(argv).toContain("mkfs.vfat -F 32 -n REAR-EFI /dev/nvme1n1p1");
    expect(argv).toContain("mkfs.ext4 -F -L REAR-000 -m 0 /dev/nvme1n1p2");
  });
  test("what it erases, for a disk with a whole-disk file system and for an empty one", () => {
    expect(erasedContent(disk({ fstype: "iso9660", label: "REAR-ISO", pttype: "dos" }))).toEqual(["/dev/sdb: 16.0 GiB, Cruzer, usb, dos partition table", "  the whole disk: iso9660 labelled REAR-ISO"]);
    expect(erasedContent(disk({ model: undefined, transport: undefined }))).toEqual(["/dev/sdb: 16.0 GiB, no partition table", "  nothing the kernel recognises"]);
  });
});
