// Which package provides a program, on the families of live systems people recover from (a distribution's
// live ISO, SystemRescue, a cloud rescue mode): so that "mkfs.xfs is missing" comes with what to install.
// Pure data; a program not listed gets no package name rather than a guess.

export interface Packages {
  debian: string;
  rhel: string;
  suse: string;
}

const same = (p: string): Packages => ({ debian: p, rhel: p, suse: p });

const TABLE: [readonly string[], Packages][] = [
  [["mkfs.xfs", "xfs_admin", "xfs_repair", "xfs_growfs", "xfs_db"], same("xfsprogs")],
  [["mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mke2fs", "tune2fs", "e2label", "e2fsck", "resize2fs", "dumpe2fs", "chattr", "lsattr"], same("e2fsprogs")],
  [["mkfs.btrfs", "btrfs", "btrfstune"], { debian: "btrfs-progs", rhel: "btrfs-progs", suse: "btrfsprogs" }],
  [["mkfs.vfat", "mkfs.fat", "fatlabel", "dosfslabel", "fsck.vfat"], same("dosfstools")],
  [["sfdisk", "fdisk"], { debian: "fdisk", rhel: "util-linux", suse: "util-linux" }],
  [["mkswap", "swaplabel", "wipefs", "blkid", "partx", "lsblk", "findmnt", "blockdev"], same("util-linux")],
  [["mount", "umount", "losetup", "swapon", "swapoff"], { debian: "mount", rhel: "util-linux", suse: "util-linux" }],
  [["parted", "partprobe"], same("parted")],
  [["sgdisk", "gdisk"], same("gdisk")],
  [["mdadm"], same("mdadm")],
  [["cryptsetup"], { debian: "cryptsetup-bin", rhel: "cryptsetup", suse: "cryptsetup" }],
  [["lvm", "pvcreate", "vgcreate", "lvcreate", "vgchange", "lvchange", "pvs", "vgs", "lvs", "vgcfgrestore", "lvconvert", "vgscan", "pvscan", "lvremove", "vgremove", "pvremove", "lvextend", "lvresize"], same("lvm2")],
  [["dmsetup"], { debian: "dmsetup", rhel: "device-mapper", suse: "device-mapper" }],
  [["udevadm"], { debian: "udev", rhel: "systemd-udev", suse: "udev" }],
  [["tar"], same("tar")],
  [["gzip", "gunzip"], same("gzip")],
  [["zstd"], same("zstd")],
  [["xz"], { debian: "xz-utils", rhel: "xz", suse: "xz" }],
  [["bzip2"], same("bzip2")],
  [["lzop"], same("lzop")],
  [["lzip"], same("lzip")],
  [["rsync"], same("rsync")],
  [["efibootmgr"], same("efibootmgr")],
  [["chroot", "sync", "cp", "mv", "dd"], same("coreutils")],
  [["openssl"], same("openssl")],
  [["ssh-keygen"], { debian: "openssh-client", rhel: "openssh", suse: "openssh-clients" }],
  [["mount.nfs"], { debian: "nfs-common", rhel: "nfs-utils", suse: "nfs-client" }],
  [["mount.cifs"], same("cifs-utils")],
  [["sshfs"], { debian: "sshfs", rhel: "fuse-sshfs", suse: "sshfs" }],
];

const BY_PROGRAM = new Map<string, Packages>(TABLE.flatMap(([progs, p]) => progs.map((x) => [x, p] as const)));

export function packagesOf(program: string): Packages | undefined {
  return BY_PROGRAM.get(program.replace(/^.*\//, ""));
}

/** "package xfsprogs" or "packages: Debian/Ubuntu fdisk, RHEL/Fedora util-linux, SUSE util-linux" or "". */
export function packageHint(program: string): string {
  const p = packagesOf(program);
  if (!p) return "";
  if (p.debian === p.rhel && p.rhel === p.suse) return `package ${p.debian}`;
  return `packages: Debian/Ubuntu ${p.debian}, RHEL/Fedora ${p.rhel}, SUSE ${p.suse}`;
}
