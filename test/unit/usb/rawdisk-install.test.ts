// RAWDISK_INSTALL_GPT_PARTITION_NAME: which local partitions receive the rescue system's EFI partition.

import { describe, expect, test } from "bun:test";
import { bootEntryHint, installPlan, partitionNumber, partitionsFromLsblk, type PartitionInfo } from "../../../src/output/rawdisk-install.ts";

const MiB = 1048576;
const lsblk = JSON.stringify({
  blockdevices: [
    {
      name: "/dev/sda", type: "disk", partlabel: null, fstype: null, mountpoints: [null], size: 100 * 1024 * MiB, pkname: null,
      children: [
        { name: "/dev/sda1", type: "part", partlabel: "EFI System Partition", fstype: "vfat", mountpoints: ["/boot/efi"], size: 512 * MiB, pkname: "/dev/sda" },
        { name: "/dev/sda2", type: "part", partlabel: "Rescue", fstype: null, mountpoints: [null], size: 300 * MiB, pkname: "/dev/sda" },
        { name: "/dev/sda3", type: "part", partlabel: "Rescue", fstype: "ext4", mountpoints: [null], size: 300 * MiB, pkname: "/dev/sda" },
        { name: "/dev/sda4", type: "part", partlabel: "Rescue", fstype: "vfat", mountpoints: ["/mnt"], size: 300 * MiB, pkname: "/dev/sda" },
        { name: "/dev/sda5", type: "part", partlabel: "Rescue", fstype: "vfat", mountpoints: [null], size: 20 * MiB, pkname: "/dev/sda" },
        { name: "/dev/sda6", type: "part", partlabel: "Rescue", fstype: "vfat", mountpoints: [null], size: 200 * MiB, pkname: "/dev/sda" },
        { name: "/dev/sda7", type: "part", partlabel: "Rescue copy", fstype: null, mountpoints: [null], size: 300 * MiB, pkname: "/dev/sda" },
      ],
    },
    { name: "/dev/nvme0n1", type: "disk", size: 10 * MiB * 1024, children: [{ name: "/dev/nvme0n1p2", type: "part", partlabel: "Rescue", fstype: "", mountpoints: [], size: "209715200" }] },
  ],
});

describe("RAWDISK_INSTALL_GPT_PARTITION_NAME", () => {
  test("lsblk's JSON: partitions with their disk, label, file system, mounts and size", () => {
    const p = partitionsFromLsblk(lsblk);
    expect(p.map((x) => x.path)).toEqual(["/dev/sda1", "/dev/sda2", "/dev/sda3", "/dev/sda4", "/dev/sda5", "/dev/sda6", "/dev/sda7", "/dev/nvme0n1p2"]);
    expect(p[0]).toEqual({ path: "/dev/sda1", partlabel: "EFI System Partition", fstype: "vfat", mountpoints: ["/boot/efi"], bytes: 512 * MiB, disk: "/dev/sda" });
    expect(p[7]!.disk).toBe("/dev/nvme0n1"); // no PKNAME: the parent node
    expect(p[7]!.bytes).toBe(200 * MiB);
  });
  test("as ReaR: empty or vfat, not mounted; new: large enough; the name matches whole", () => {
    const plan = installPlan(partitionsFromLsblk(lsblk), "Rescue", 100 * MiB);
    expect(plan.install.map((p) => p.path)).toEqual(["/dev/sda2", "/dev/sda6", "/dev/nvme0n1p2"]);
    expect(plan.skip).toEqual([
      { path: "/dev/sda3", why: "it holds a ext4 file system (must be vfat or empty)" },
      { path: "/dev/sda4", why: "it is mounted at /mnt" },
      { path: "/dev/sda5", why: "it has 20 MiB, the rescue system needs 100 MiB" },
    ]);
    expect(installPlan(partitionsFromLsblk(lsblk), "Nothing", MiB)).toEqual({ install: [], skip: [] });
  });
  test("the boot entry the user makes, printed", () => {
    const p: PartitionInfo = { path: "/dev/nvme0n1p12", partlabel: "Rescue", fstype: "", mountpoints: [], bytes: 0, disk: "/dev/nvme0n1" };
    expect(partitionNumber(p.path)).toBe("12");
    expect(bootEntryHint(p, "Rescue System")).toBe("efibootmgr --create --disk /dev/nvme0n1 --part 12 --label 'Rescue System' --loader '\\EFI\\BOOT\\BOOTX64.EFI'");
  });
});
