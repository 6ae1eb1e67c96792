// What goes into the rescue system, chosen by the layout and the configuration — dracut's modules with
// check / depends / install, as data. Each feature says why it is included (the layout has LVM, the
// backup goes to NFS, …) and brings its programs, files and kernel modules; the build copies them and
// the preflight reports every missing required program with the feature that needs it, before any work.
//
// ReaR's counterparts: prep/GNU/Linux/2xx_include_* (LVM, MD, multipath, dhclient, grub, uefi tools),
// conf/GNU/Linux.conf PROGS/REQUIRED_PROGS, rescue/GNU/Linux/240_kernel_modules (filesystem modules).
// Pure: no I/O.

export interface RescueNeeds {
  /** file system types the layout creates (fs entries), e.g. ext4, xfs, btrfs, vfat */
  fsTypes: ReadonlySet<string>;
  lvm: boolean;
  lvmThin: boolean;
  lvmRaid: boolean;
  md: boolean;
  /** RAID levels of the md arrays, as mdadm names them (raid1, raid5, linear, …) */
  mdLevels: ReadonlySet<string>;
  luks: boolean;
  multipath: boolean;
  swap: boolean;
  /** recovery/bootloader: GRUB2, GRUB, EFI, GRUB2-EFI, … */
  bootloader?: string;
  uefi: boolean;
  /** BACKUP method (NETFS, RSYNC, …) and the schemes of BACKUP_URL and OUTPUT_URL */
  backup: string;
  backupScheme: string;
  outputScheme: string;
  /** BACKUP=RSYNC over ssh (rsync://host/path, host:/path; not the daemon's ::): the restore needs ssh */
  backupOverSsh?: boolean;
  /** file system types of the local medium BACKUP_URL/OUTPUT_URL name (usb://, file://), as blkid saw it at
   *  mkrescue; "unknown" when a usb:// disk was not attached then */
  mediumFsTypes?: ReadonlySet<string>;
  /** sshd is wanted (a root password for ssh, or authorized keys) and present */
  ssh: boolean;
  /** from the configuration: PROGS, REQUIRED_PROGS, LIBS, COPY_AS_IS, MODULES_LOAD */
  progs: readonly string[];
  requiredProgs: readonly string[];
  /** BACKUP=COVE: REQUIRED_PROGS_COVE */
  coveProgs?: readonly string[];
}

export interface Feature {
  name: string;
  /** why it is included; undefined: not included */
  check(n: RescueNeeds): string | undefined;
  /** programs that must exist (a missing one stops mkrescue) */
  required?: (n: RescueNeeds) => string[];
  /** programs copied when they exist */
  optional?: (n: RescueNeeds) => string[];
  /** files and directories copied when they exist (globs allowed) */
  files?: (n: RescueNeeds) => string[];
  /** kernel modules (names) the rescue system needs for this feature */
  modules?: (n: RescueNeeds) => string[];
}

const always = (why: string) => () => why;

const EXT = ["ext2", "ext3", "ext4", "ext4dev"];

export const FEATURES: readonly Feature[] = [
  {
    name: "base",
    check: always("every rescue system: shell, core tools, udev, kernel modules, tar"),
    required: () => ["bash", "mount", "umount", "modprobe", "udevadm", "setsid", "tar", "blkid", "lsblk"],
    optional: () => [
      // coreutils, util-linux and friends the recovery and a person at the console use (ReaR's PROGS)
      "sh", "dash", "ls", "cp", "mv", "rm", "ln", "mkdir", "rmdir", "chmod", "chown", "chgrp", "cat", "echo", "printf", "touch",
      "head", "tail", "cut", "tr", "truncate", "fallocate", "sort", "uniq", "wc", "tee", "date", "sleep", "sync", "stat", "readlink", "realpath", "basename",
      "dirname", "env", "uname", "id", "true", "false", "test", "[", "expr", "seq", "du", "df", "dd", "od", "md5sum", "sha256sum",
      "sha1sum", "mktemp", "mknod", "mkfifo", "chroot", "nproc", "timeout", "nohup", "stty", "tty", "yes", "pwd", "cmp", "diff",
      "grep", "egrep", "sed", "awk", "gawk", "mawk", "find", "xargs", "less", "more", "vi", "vim", "vim.tiny", "nano", "gzip", "gunzip",
      "zcat", "zstd", "xz", "bzip2", "cpio", "file", "ps", "kill", "pkill", "pgrep", "free", "top", "uptime", "hostname", "dmesg",
      "findmnt", "blockdev", "losetup", "partx", "wipefs", "mountpoint", "fsfreeze", "lscpu", "chmem", "agetty", "sulogin",
      "insmod", "rmmod", "lsmod", "modinfo", "depmod", "kmod", "loadkeys", "dumpkeys", "setfont", "clear", "reset", "tput",
      "ldconfig", "ldd", "getent", "killall5", "mesg", "script", "sysctl", "logger", "rev", "column", "hexdump", "strings",
      "getfattr", "setfattr", "getfacl", "setfacl", "attr", "bc", "ethtool", "ping", "ip",
    ],
    files: () => [
      "/lib/systemd/systemd-udevd", "/usr/lib/systemd/systemd-udevd", "/sbin/udevd",
      // udev's rules and helpers (FEATURE_FILES_EXCLUDE leaves its hardware database out)
      "/lib/udev", "/usr/lib/udev", "/etc/udev/udev.conf", "/etc/udev/rules.d",
      "/etc/modprobe.d", "/lib/modprobe.d", "/usr/lib/modprobe.d", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
      "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/host.conf", "/etc/resolv.conf", "/etc/services",
      "/etc/protocols", "/etc/localtime", "/etc/os-release", "/usr/lib/os-release", "/etc/inputrc", "/etc/mke2fs.conf",
      "/usr/lib/locale/C.utf8", "/usr/share/terminfo/l/linux", "/usr/share/terminfo/v/vt100", "/usr/share/terminfo/v/vt102",
      "/usr/share/terminfo/v/vt220", "/usr/share/terminfo/x/xterm", "/usr/share/terminfo/x/xterm-256color", "/usr/share/terminfo/d/dumb",
      "/usr/share/terminfo/s/screen", "/lib/terminfo/l/linux", "/lib/terminfo/v/vt100", "/lib/terminfo/v/vt102", "/lib/terminfo/v/vt220",
      "/lib/terminfo/x/xterm", "/lib/terminfo/x/xterm-256color", "/lib/terminfo/d/dumb", "/lib/terminfo/s/screen",
      "/etc/alternatives/awk", "/etc/alternatives/vi", "/etc/alternatives/less",
    ],
    // the rescue medium itself (ISO, USB) and USB keyboards
    modules: () => ["sr_mod", "cdrom", "isofs", "usb_storage", "uas", "usbhid", "hid_generic", "loop", "squashfs", "overlay", "vfat", "nls_cp437", "nls_iso8859_1", "nls_utf8"],
  },
  {
    name: "partitioning",
    check: always("recreating partition tables"),
    required: () => ["sfdisk", "wipefs"],
    optional: () => ["parted", "partprobe", "sgdisk", "gdisk", "fdisk", "kpartx"],
  },
  {
    name: "lvm",
    check: (n) => (n.lvm ? "the layout has LVM volume groups" : undefined),
    required: (n) => ["lvm", "dmsetup", ...(n.lvmThin ? ["thin_check"] : [])],
    // lvm is one binary; the command names are links ReaR makes (build/GNU/Linux/005_create_symlinks.sh)
    optional: (n) => ["vgs", "pvs", "lvs", ...(n.lvmThin ? ["thin_dump", "thin_repair", "thin_restore", "pdata_tools"] : [])],
    files: () => ["/etc/lvm/lvm.conf", "/etc/lvm/lvmlocal.conf", "/etc/lvm/profile"],
    modules: (n) => ["dm_mod", "dm_snapshot", "dm_mirror", ...(n.lvmThin ? ["dm_thin_pool"] : []), ...(n.lvmRaid ? ["dm_raid"] : [])],
  },
  {
    name: "mdraid",
    check: (n) => (n.md ? "the layout has software RAID (md) arrays" : undefined),
    required: () => ["mdadm"],
    files: () => ["/etc/mdadm/mdadm.conf", "/etc/mdadm.conf"],
    modules: (n) => ["md_mod", ...[...n.mdLevels].map((l) => (/^raid[456]$/.test(l) ? "raid456" : l))],
  },
  {
    name: "luks",
    check: (n) => (n.luks ? "the layout has LUKS encrypted volumes" : undefined),
    required: () => ["cryptsetup", "dmsetup"],
    // the crypto API loads ciphers by name (crypto-aes, crypto-xts), not as module dependencies
    modules: () => ["dm_mod", "dm_crypt", "aes_generic", "aesni_intel", "xts", "cbc", "ecb", "sha256_generic", "sha512_generic", "algif_skcipher", "af_alg", "cryptd", "essiv", "crc32c_generic"],
  },
  {
    name: "multipath",
    check: (n) => (n.multipath ? "the layout has multipath devices" : undefined),
    required: () => ["multipath", "dmsetup"],
    optional: () => ["multipathd", "kpartx"],
    files: () => ["/etc/multipath.conf", "/etc/multipath"],
    modules: () => ["dm_multipath", "dm_round_robin", "scsi_dh_alua"],
  },
  {
    name: "ext",
    check: (n) => (EXT.some((t) => n.fsTypes.has(t)) ? `the layout has ${EXT.filter((t) => n.fsTypes.has(t)).join(", ")} file systems` : undefined),
    required: () => ["mke2fs", "tune2fs"],
    optional: () => ["mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "e2fsck", "fsck.ext4", "e2label", "dumpe2fs", "resize2fs", "debugfs", "fsck"],
    files: () => ["/etc/mke2fs.conf"],
    modules: (n) => EXT.filter((t) => n.fsTypes.has(t)).map((t) => (t === "ext4dev" ? "ext4" : t === "ext2" || t === "ext3" ? "ext4" : t)),
  },
  {
    name: "xfs",
    check: (n) => (n.fsTypes.has("xfs") ? "the layout has XFS file systems" : undefined),
    required: () => ["mkfs.xfs", "xfs_admin"],
    optional: () => ["xfs_repair", "xfs_db", "xfs_io", "xfs_info", "xfs_growfs", "fsck.xfs"],
    modules: () => ["xfs"],
  },
  {
    name: "btrfs",
    check: (n) => (n.fsTypes.has("btrfs") ? "the layout has btrfs file systems" : undefined),
    // chattr: a no-COW subvolume (+C) is made so again (the plan's step; uefi-btrfs-subvols' rescue lacked it)
    required: () => ["mkfs.btrfs", "btrfs", "chattr"],
    optional: () => ["btrfstune", "fsck.btrfs", "btrfsck", "lsattr"],
    modules: () => ["btrfs"],
  },
  {
    name: "vfat",
    check: (n) => (n.fsTypes.has("vfat") || n.uefi ? "the layout has FAT file systems (the EFI system partition)" : undefined),
    required: () => ["mkfs.vfat"],
    optional: () => ["mkdosfs", "fsck.vfat", "dosfsck", "fatlabel", "dosfslabel"],
    modules: () => ["vfat", "fat", "nls_cp437", "nls_iso8859_1"],
  },
  {
    // a machine whose own disks are all btrfs must still mount its ext4 REAR-000 backup disk
    name: "backup-medium",
    check: (n) => (n.mediumFsTypes?.size ? `BACKUP_URL or OUTPUT_URL is on a local ${[...n.mediumFsTypes].join(", ")} medium` : undefined),
    modules: (n) => mediumModules(n.mediumFsTypes ?? new Set()),
  },
  {
    name: "swap",
    check: (n) => (n.swap ? "the layout has swap" : undefined),
    required: () => ["mkswap"],
    optional: () => ["swapon", "swapoff", "swaplabel"],
  },
  {
    name: "grub-bios",
    check: (n) => (!n.uefi && /^GRUB2?$/.test(n.bootloader ?? "") ? `the boot loader is ${n.bootloader} (BIOS)` : undefined),
    required: () => ["grub-install"],
    optional: () => ["grub-mkconfig", "grub-probe", "grub-bios-setup", "grub-mkimage", "grub-editenv", "update-grub", "grub-mkdevicemap", "grub2-install", "grub2-mkconfig", "grub2-probe", "grub2-bios-setup", "grub2-editenv"],
    files: () => ["/usr/lib/grub/i386-pc", "/etc/default/grub", "/etc/grub.d"],
  },
  {
    name: "grub-efi",
    check: (n) => (n.uefi ? `the machine boots with UEFI (${n.bootloader ?? "boot loader unknown"})` : undefined),
    required: () => ["efibootmgr"],
    optional: () => ["grub-install", "grub-mkconfig", "grub-probe", "grub-mkimage", "grub-editenv", "update-grub", "grub2-install", "grub2-mkconfig", "mokutil"],
    files: () => ["/usr/lib/grub/x86_64-efi", "/usr/lib/grub/x86_64-efi-signed", "/usr/lib/shim", "/etc/default/grub", "/etc/grub.d"],
    modules: () => ["efivarfs", "vfat", "nls_cp437", "nls_iso8859_1"],
  },
  {
    name: "netfs-nfs",
    check: (n) => (/^nfs4?$/.test(n.backupScheme) || /^nfs4?$/.test(n.outputScheme) ? "BACKUP_URL or OUTPUT_URL is on NFS" : undefined),
    required: () => ["mount.nfs"],
    optional: () => ["mount.nfs4", "umount.nfs", "rpcbind", "rpc.statd", "rpcinfo", "showmount"],
    files: () => ["/etc/netconfig", "/etc/nfsmount.conf"],
    modules: () => ["nfs", "nfsv3", "nfsv4", "sunrpc", "lockd"],
  },
  {
    name: "netfs-cifs",
    check: (n) => (n.backupScheme === "cifs" || n.outputScheme === "cifs" ? "BACKUP_URL or OUTPUT_URL is on CIFS" : undefined),
    required: () => ["mount.cifs"],
    modules: () => ["cifs"],
  },
  {
    name: "netfs-sshfs",
    check: (n) => (n.backupScheme === "sshfs" ? "BACKUP_URL is on sshfs" : undefined),
    required: () => ["sshfs", "ssh"],
    optional: () => ["fusermount", "fusermount3"],
    modules: () => ["fuse"],
  },
  {
    name: "backup-tar",
    check: (n) => (n.backup === "NETFS" ? "BACKUP=NETFS restores with GNU tar" : undefined),
    required: () => ["tar", "gzip"],
    optional: () => ["zstd", "xz", "bzip2", "lzop", "pigz", "openssl", "gpg", "split"],
  },
  {
    name: "backup-rsync",
    check: (n) => (n.backup === "RSYNC" ? (n.backupOverSsh ? "BACKUP=RSYNC over ssh" : "BACKUP=RSYNC") : undefined),
    required: (n) => ["rsync", ...(n.backupOverSsh ? ["ssh"] : [])],
    optional: () => ["ssh"],
  },
  {
    // the Backup Manager's installer is a makeself archive: a shell script that unpacks its tar payload
    name: "backup-cove",
    check: (n) => (n.backup === "COVE" ? "BACKUP=COVE: the Backup Manager's installer runs in the rescue system" : undefined),
    required: (n) => ["sh", "tar", "gzip", "dd", "head", "tail", "cksum", "mktemp", "sed", "cp", ...(n.coveProgs ?? [])],
    optional: () => ["md5sum", "sha256sum", "xz", "bzip2", "zstd", "df", "awk", "id", "uname", "setsid", "nohup"],
  },
  {
    name: "backup-borg",
    check: (n) => (n.backup === "BORG" ? "BACKUP=BORG" : undefined),
    required: () => ["borg"],
  },
  {
    name: "sshd",
    check: (n) => (n.ssh ? "SSH access to the rescue system (SSH_ROOT_PASSWORD or root's authorized_keys)" : undefined),
    required: () => ["sshd", "ssh-keygen"],
    optional: () => ["ssh", "scp", "sftp", "/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server"],
    files: () => ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d", "/etc/ssh/ssh_config", "/etc/ssh/ssh_config.d", "/etc/ssh/moduli", "/root/.ssh/authorized_keys"],
  },
  {
    name: "config",
    check: (n) => (n.progs.length || n.requiredProgs.length ? "PROGS and REQUIRED_PROGS of the configuration" : undefined),
    required: (n) => [...n.requiredProgs],
    optional: (n) => [...n.progs],
  },
];

/**
 * Left out of the features' files (tar --exclude patterns): udev's hardware database (hwdb.bin and its
 * sources, 20 MiB of vendor and model names nothing in a recovery reads).
 */
export const FEATURE_FILES_EXCLUDE = ["udev/hwdb.d", "udev/hwdb.bin"];

export interface FeatureChoice {
  /** included features and why */
  features: { name: string; why: string }[];
  /** program → the features that need it (required ones stop mkrescue when missing) */
  required: Map<string, string[]>;
  optional: Map<string, string[]>;
  files: Map<string, string[]>;
  modules: Map<string, string[]>;
}

function add(m: Map<string, string[]>, keys: readonly string[], feature: string): void {
  for (const k of keys) {
    const v = m.get(k);
    if (!v) m.set(k, [feature]);
    else if (!v.includes(feature)) v.push(feature);
  }
}

/** The features the rescue system needs, with everything they bring (check → install). */
/** Kernel modules that mount a medium of these file system types ("unknown": what `rear format` and USB
 *  sticks use — ext2/3/4 and FAT). */
export function mediumModules(types: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const t of types) {
    if (t === "unknown") ["ext4", "vfat", "fat", "nls_cp437", "nls_iso8859_1"].forEach((m) => out.add(m));
    else if (EXT.includes(t)) out.add("ext4");
    else if (t === "vfat" || t === "msdos") ["vfat", "fat", "nls_cp437", "nls_iso8859_1"].forEach((m) => out.add(m));
    else if (/^[a-z0-9_]+$/.test(t)) out.add(t);
  }
  return [...out];
}

export function chooseFeatures(n: RescueNeeds, features: readonly Feature[] = FEATURES): FeatureChoice {
  const c: FeatureChoice = { features: [], required: new Map(), optional: new Map(), files: new Map(), modules: new Map() };
  for (const f of features) {
    const why = f.check(n);
    if (why === undefined) continue;
    c.features.push({ name: f.name, why });
    add(c.required, f.required?.(n) ?? [], f.name);
    add(c.optional, f.optional?.(n) ?? [], f.name);
    add(c.files, f.files?.(n) ?? [], f.name);
    add(c.modules, f.modules?.(n) ?? [], f.name);
  }
  for (const p of c.required.keys()) c.optional.delete(p);
  return c;
}

/** The storage features a rescue image for other machines may need whatever this machine's layout is. */
const ANY_STORAGE = ["lvm", "mdraid", "luks", "ext", "xfs", "btrfs", "vfat", "swap"];

/**
 * A rescue image meant for other machines too (RECOVERY_UPDATE_URL: one image for a fleet, each machine's
 * layout downloaded at recover) must recreate layouts this machine does not have: every storage
 * feature's programs, files and kernel modules are added — as optional, copied where this system has them,
 * so mkrescue never fails for a tool only another machine could need. What is still missing is named by
 * recover's own check before any disk is touched ("The recovery needs programs this system does not have").
 * ReaR has no such notion: its image has what its own layout needed, and RECOVERY_UPDATE_URL cannot add programs.
 */
export function addAnyStorage(c: FeatureChoice, n: RescueNeeds, why: string, features: readonly Feature[] = FEATURES): void {
  const any: RescueNeeds = {
    ...n,
    fsTypes: new Set([...n.fsTypes, "ext4", "xfs", "btrfs", "vfat"]),
    lvm: true, lvmThin: true, lvmRaid: true, md: true, luks: true, swap: true,
    mdLevels: new Set([...n.mdLevels, "raid0", "raid1", "raid10", "raid5", "linear"]),
  };
  const had = new Set(c.features.map((f) => f.name));
  const added: string[] = [];
  for (const f of features) {
    if (!ANY_STORAGE.includes(f.name) || f.check(any) === undefined) continue;
    if (!had.has(f.name)) added.push(f.name);
    const tag = had.has(f.name) ? f.name : `${f.name} (other machines)`;
    for (const p of [...(f.required?.(any) ?? []), ...(f.optional?.(any) ?? [])]) if (!c.required.has(p)) add(c.optional, [p], tag);
    add(c.files, f.files?.(any) ?? [], tag);
    add(c.modules, f.modules?.(any) ?? [], tag);
  }
  if (added.length) c.features.push({ name: "any-storage", why: `${why}: ${added.join(", ")} as well, where this system has them` });
}

