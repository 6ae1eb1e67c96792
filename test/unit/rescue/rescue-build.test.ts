// The pure parts of mkrescue: features chosen by the layout, kernel detection, the boot menus, the
// xorriso command, URLs, the rescue kernel command line, and the rescue tree's copy rules (on temp dirs).

import { describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { grubConfig, grubEarlyConfig, isoDateStamp, isolinuxConfig, menuTimeout, serialFromCmdline, xorrisoArgs, type MenuInput } from "../../../src/output/iso-config.ts";
import { cifsPassword, mountArgv, parseUrl, UrlError } from "../../../src/output/url.ts";
import { addAnyStorage, chooseFeatures, mediumModules } from "../../../src/rescue/features.ts";
import { bzImageVersion, kernelCandidates } from "../../../src/rescue/kernel.ts";
import { localMedium, needsFromLayout, urlScheme } from "../../../src/rescue/needs.ts";
import { makeExcluder, RescueTree } from "../../../src/rescue/tree.ts";
import { rescueCmdline } from "../../../src/stages/output/write-output.ts";
import { rescueForOtherMachines, shellAssign } from "../../../src/stages/rescue/populate.ts";

const cfg = (v: Record<string, string | string[]>) => ({
  str: (n: string) => {
    const x = v[n];
    return x === undefined ? "" : typeof x === "string" ? x : (x[0] ?? "");
  },
  arr: (n: string) => {
    const x = v[n];
    return x === undefined ? [] : typeof x === "string" ? [x] : x;
  },
});

const LAYOUT = `disk /dev/vda 10737418240 gpt
part /dev/vda 536870912 1048576 rear-noname boot /dev/vda1
part /dev/vda 10199498752 537919488 rear-noname none /dev/vda2
raidarray /dev/md0 metadata=1.2 level=raid1 raid-devices=2 uuid=a:b:c:d name=0 devices=/dev/vdb,/dev/vdc
crypt /dev/mapper/cr /dev/md0 type=luks2 cipher=aes-xts-plain64 key_size=512 hash=sha256 uuid=11111111-2222-3333-4444-555555555555
lvmdev /dev/vg /dev/mapper/cr aaaa 2000000
lvmgrp /dev/vg 4096 500 2048000
lvmvol /dev/vg pool 104857600b thin-pool
lvmvol /dev/vg data 104857600b thin thinpool:pool
fs /dev/vda1 /boot/efi vfat uuid=1234-ABCD label= options=rw
fs /dev/vg/data / xfs uuid=22222222-2222-2222-2222-222222222222 label= options=rw
swap /dev/vda3 uuid=33333333-3333-3333-3333-333333333333 label=
`;

describe("features chosen by the layout", () => {
  const doc = readDisklayout(LAYOUT, "disklayout.conf").doc;
  const needs = needsFromLayout(doc, { firmware: "uefi", bootloader: "EFI" }, cfg({ BACKUP: "NETFS", BACKUP_URL: "nfs://srv/export", REQUIRED_PROGS: ["bash", "tar"] }), { ssh: false });

  test("the layout's stacks, file systems and boot firmware are read off", () => {
    expect(needs.lvm).toBe(true);
    expect(needs.lvmThin).toBe(true);
    expect(needs.md).toBe(true);
    expect([...needs.mdLevels]).toEqual(["raid1"]);
    expect(needs.luks).toBe(true);
    expect(needs.swap).toBe(true);
    expect(needs.uefi).toBe(true);
    expect([...needs.fsTypes].sort()).toEqual(["vfat", "xfs"]);
    expect(needs.backupScheme).toBe("nfs");
  });

  test("each feature comes with why, its required programs and its modules", () => {
    const c = chooseFeatures(needs);
    const names = c.features.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(["base", "partitioning", "lvm", "mdraid", "luks", "xfs", "vfat", "swap", "grub-efi", "netfs-nfs", "backup-tar", "config"]));
    expect(names).not.toContain("btrfs");
    expect(names).not.toContain("ext");
    expect(names).not.toContain("grub-bios");
    expect(c.required.get("mdadm")).toEqual(["mdraid"]);
    expect(c.required.get("thin_check")).toEqual(["lvm"]);
    expect(c.required.get("mount.nfs")).toEqual(["netfs-nfs"]);
    expect(c.required.get("tar")).toEqual(expect.arrayContaining(["base", "backup-tar", "config"]));
    expect(c.required.get("efibootmgr")).toEqual(["grub-efi"]);
    expect([...c.modules.keys()]).toEqual(expect.arrayContaining(["dm_thin_pool", "md_mod", "raid1", "dm_crypt", "xfs", "vfat", "nfs"]));
    // a required program is not also listed as optional
    for (const p of c.required.keys()) expect(c.optional.has(p)).toBe(false);
  });

  test("a BIOS GRUB machine with ext4 and no LVM gets neither LVM nor the EFI tools", () => {
    const d = readDisklayout("disk /dev/sda 1000000000 msdos\npart /dev/sda 999000000 1048576 primary boot /dev/sda1\nfs /dev/sda1 / ext4 uuid=x label= options=rw\n", "x").doc;
    const c = chooseFeatures(needsFromLayout(d, { firmware: "bios", bootloader: "GRUB2" }, cfg({}), { ssh: false }));
    const names = c.features.map((f) => f.name);
    expect(names).toEqual(["base", "partitioning", "ext", "grub-bios"]);
    expect(c.modules.get("ext4")).toEqual(["ext"]);
  });

  test("a btrfs-only machine backed up to an ext4 REAR-000 disk: the rescue kernel gets ext4 to mount it (uefi-btrfs-subvols)", () => {
    const d = readDisklayout("disk /dev/sda 1000000000 gpt\npart /dev/sda 999000000 1048576 rear-noname none /dev/sda1\nfs /dev/sda1 / btrfs uuid=x label= options=rw\n", "x").doc;
    const conf = cfg({ BACKUP: "NETFS", BACKUP_URL: "usb:///dev/disk/by-label/REAR-000" });
    const c = chooseFeatures(needsFromLayout(d, { firmware: "bios", bootloader: "GRUB2" }, conf, { ssh: false, mediumFsTypes: new Set(["ext4"]) }));
    expect(c.features.find((f) => f.name === "backup-medium")?.why).toBe("BACKUP_URL or OUTPUT_URL is on a local ext4 medium");
    expect(c.modules.get("ext4")).toEqual(["backup-medium"]);
    expect(c.features.map((f) => f.name)).not.toContain("ext");
    // a usb:// disk not attached at mkrescue: what rear format and USB sticks use
    expect(mediumModules(new Set(["unknown"]))).toEqual(["ext4", "vfat", "fat", "nls_cp437", "nls_iso8859_1"]);
    expect(mediumModules(new Set(["ext3", "xfs"]))).toEqual(["ext4", "xfs"]);
    expect(chooseFeatures(needsFromLayout(d, { firmware: "bios", bootloader: "GRUB2" }, conf, { ssh: false })).features.map((f) => f.name)).not.toContain("backup-medium");
    expect(localMedium("usb:///dev/disk/by-label/REAR-000")).toEqual({ device: "/dev/disk/by-label/REAR-000" });
    expect(localMedium("file:///srv/backup")).toEqual({ path: "/srv/backup" });
    expect(localMedium("nfs://srv/export")).toBeUndefined();
    expect(localMedium("")).toBeUndefined();
  });

  test("BACKUP=RSYNC needs rsync, and ssh too when it goes over ssh (every URL form but the daemon's '::')", () => {
    const d = readDisklayout("disk /dev/sda 1000000000 msdos\npart /dev/sda 999000000 1048576 primary boot /dev/sda1\nfs /dev/sda1 / ext4 uuid=x label= options=rw\n", "x").doc;
    const pick = (url: string) => chooseFeatures(needsFromLayout(d, { firmware: "bios", bootloader: "GRUB2" }, cfg({ BACKUP: "RSYNC", BACKUP_URL: url }), { ssh: false }));
    for (const url of ["bk@srv:/data", "rsync://srv/data"]) {
      const c = pick(url);
      expect(c.features.find((f) => f.name === "backup-rsync")?.why).toBe("BACKUP=RSYNC over ssh");
      expect(c.required.get("rsync")).toEqual(["backup-rsync"]);
      expect(c.required.get("ssh")).toEqual(["backup-rsync"]);
      expect(c.optional.has("ssh")).toBe(false);
    }
    for (const url of ["rsync://srv::/mod/data", "srv::mod"]) {
      const c = pick(url);
      expect(c.required.get("rsync")).toEqual(["backup-rsync"]);
      expect(c.required.has("ssh")).toBe(false);
      expect(c.optional.get("ssh")).toEqual(["backup-rsync"]);
    }
  });
});

describe("kernel", () => {
  test("ReaR's candidates in its order", () => {
    expect(kernelCandidates("6.1.0-27-amd64").slice(0, 2)).toEqual(["/boot/vmlinuz-6.1.0-27-amd64", "/boot/vmlinux-6.1.0-27-amd64"]);
  });
  test("the version string of a bzImage setup header", () => {
    const b = new Uint8Array(0x400);
    b.set([0x48, 0x64, 0x72, 0x53], 0x202); // HdrS
    const off = 0x100; // pointer + 0x200 = 0x300
    b[0x20e] = off & 0xff;
    b[0x20f] = off >> 8;
    b.set(new TextEncoder().encode("6.1.0-27-amd64 (debian-kernel@lists.debian.org) #1 SMP"), 0x300);
    expect(bzImageVersion(b)).toBe("6.1.0-27-amd64");
    expect(bzImageVersion(new Uint8Array(0x400))).toBeUndefined();
  });
});

describe("boot menus and the ISO command", () => {
  const m: MenuInput = { host: "web1", kernel: "kernel", initrd: "initrd.zst", cmdline: "console=ttyS0,115200", isoDefault: "automatic", recoverMode: "unattended", timeoutSec: 5, serial: { unit: 0, speed: 115200 }, version: "3" };

  test("isolinux: ReaR's labels, the default entry, the automatic options, a serial line", () => {
    const c = isolinuxConfig(m);
    expect(c).toContain("serial 0 115200\n");
    expect(c).toContain("default rear-automatic\n");
    expect(c).toContain("timeout 50\n");
    expect(c).toContain("  append initrd=initrd.zst console=ttyS0,115200 auto_recover unattended\n");
    expect(c).toContain("  append initrd=initrd.zst console=ttyS0,115200\n");
    expect(c).toMatch(/label boothd0\n.*\n  localboot 0x80/);
    // exactly one menu default, under the default label
    expect(c.match(/menu default/g)?.length).toBe(1);
    expect(c).toMatch(/label rear-automatic\n.*\n  menu default/);
  });

  test("GRUB: the same entries, the default by index, serial terminal", () => {
    const c = grubConfig({ ...m, isoDefault: "boothd", kernel: "/isolinux/kernel", initrd: "/isolinux/initrd.zst" });
    expect(c).toContain("set default=2\n");
    expect(c).toContain("terminal_output serial console");
    expect(c).toContain("  linux /isolinux/kernel console=ttyS0,115200 auto_recover unattended\n");
    expect(c).toContain("  initrd /isolinux/initrd.zst\n");
    expect(grubEarlyConfig("2026-11-23-01-02-03-00")).toContain("search --no-floppy --set=root --fs-uuid 2026-11-23-01-02-03-00");
  });

  test("GRUB2_DEFAULT_BOOT and GRUB2_TIMEOUT (ReaR's names of its entries) when set", () => {
    const g = (o: object) => grubConfig({ ...m, kernel: "/k", initrd: "/i", ...o });
    expect(g({ isoDefault: "boothd", grubDefault: "rear", grubTimeoutSec: 5 })).toContain("set default=0\nset timeout=5\n");
    expect(g({ isoDefault: "automatic", grubDefault: "rear" })).toContain("set default=1\n");
    expect(g({ isoDefault: "automatic", grubDefault: "chainloader" })).toContain("set default=2\n");
    expect(g({ isoDefault: "automatic", grubDefault: "reboot" })).toContain("set default=3\n");
    expect(g({ isoDefault: "automatic" })).toContain("set default=1\n");
  });

  test("timeouts as ReaR: 5 s for the automatic entry, else ISO_SYSLINUX_TIMEOUT or USER_INPUT_TIMEOUT", () => {
    expect(menuTimeout("automatic", "", "300")).toBe(5);
    expect(menuTimeout("boothd", "", "30")).toBe(30);
    expect(menuTimeout("manual", "2", "30")).toBe(2);
  });

  test("the serial console of the command line", () => {
    expect(serialFromCmdline("quiet console=tty0 console=ttyS1,9600n8")).toEqual({ unit: 1, speed: 9600 });
    expect(serialFromCmdline("console=tty0")).toBeUndefined();
  });

  test("the ISO's date is GRUB's volume UUID", () => {
    expect(isoDateStamp(new Date(Date.UTC(2026, 10, 23, 1, 2, 3, 450)))).toEqual({ modificationDate: "2026112301020345", uuid: "2026-11-23-01-02-03-45" });
  });

  test("xorriso: El Torito for isolinux and the EFI image, hybrid MBR and GPT", () => {
    const a = xorrisoArgs({ xorriso: "/usr/bin/xorriso", out: "/o.iso", volid: "REAR-ISO", dir: "/t/isofs", modificationDate: "2026112301020345", bios: { isolinuxBin: "isolinux/isolinux.bin", bootCat: "isolinux/boot.cat", hybridMbr: "/usr/lib/ISOLINUX/isohdpfx.bin" }, efiImage: "boot/efiboot.img", extraOpts: [] });
    const s = a.join(" ");
    expect(s).toContain("-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin");
    expect(s).toContain("-eltorito-alt-boot -e boot/efiboot.img -no-emul-boot -isohybrid-gpt-basdat");
    expect(a.at(-1)).toBe("/t/isofs");
    const uefiOnly = xorrisoArgs({ xorriso: "x", out: "o", volid: "V", dir: "d", modificationDate: "1", efiImage: "boot/efiboot.img", extraOpts: ["-quiet"] }).join(" ");
    expect(uefiOnly).not.toContain("eltorito-alt-boot");
    expect(uefiOnly).toContain("-e boot/efiboot.img -no-emul-boot -quiet d");
  });
});

describe("URLs", () => {
  test("ReaR's url helpers and the three-slash rule", () => {
    expect(parseUrl("file:///var/lib/rear/output")).toEqual({ scheme: "file", host: "", path: "/var/lib/rear/output" });
    expect(parseUrl("nfs://srv/export/rear")).toEqual({ scheme: "nfs", host: "srv", path: "/export/rear" });
    expect(parseUrl("backup@srv:/data")).toEqual({ scheme: "rsync", host: "backup@srv", path: "/data" });
    // every form of BACKUP=RSYNC's URLs (ReaR's rsync-functions.sh): host as written, the daemon's module in the path
    expect(parseUrl("srv::rear/hosts")).toEqual({ scheme: "rsync", host: "srv", path: "/rear/hosts" });
    expect(parseUrl("rsync://bk@srv:8730::/rear/x")).toEqual({ scheme: "rsync", host: "bk@srv:8730", path: "/rear/x" });
    expect(parseUrl("rsync://srv/data")).toEqual({ scheme: "rsync", host: "srv", path: "/data" });
    expect(parseUrl("rsync://[fd00::1]:22/d")).toEqual({ scheme: "rsync", host: "[fd00::1]:22", path: "/d" });
    expect(() => parseUrl("rsync://srv::/", "BACKUP_URL")).toThrow(UrlError);
    expect(parseUrl("sshfs://root@srv:2222/backups")).toEqual({ scheme: "sshfs", host: "root@srv:2222", path: "/backups" });
    expect(() => parseUrl("file://var/lib")).toThrow(UrlError);
    expect(() => parseUrl("usb://dev/disk/by-label/REAR-000")).toThrow(/three slashes/);
    expect(urlScheme("usb:///dev/sdb1")).toBe("usb");
  });
  test("mount commands", () => {
    expect(mountArgv(parseUrl("file:///x"), "/mnt", "")).toBeUndefined();
    expect(mountArgv(parseUrl("nfs://srv/export"), "/m", "")).toEqual(["mount", "-t", "nfs", "-o", "rw,noatime", "srv:/export", "/m"]);
    expect(mountArgv(parseUrl("cifs://srv/share"), "/m", "")).toEqual(["mount", "-t", "cifs", "-o", "rw,guest", "//srv/share", "/m"]);
    expect(mountArgv(parseUrl("usb:///dev/disk/by-label/REAR-000"), "/m", "")).toEqual(["mount", "-o", "rw,noatime", "/dev/disk/by-label/REAR-000", "/m"]);
    // sshfs: the port as -p (never host:port:path), and ssh never asks (BatchMode) unless the options say otherwise
    expect(mountArgv(parseUrl("sshfs://root@srv/backups"), "/m", "")).toEqual(["sshfs", "root@srv:/backups", "/m", "-o", "rw,noatime,BatchMode=yes"]);
    expect(mountArgv(parseUrl("sshfs://root@srv:2222/backups"), "/m", "ro,IdentityFile=/k")).toEqual(["sshfs", "root@srv:/backups", "/m", "-o", "ro,IdentityFile=/k,BatchMode=yes", "-p", "2222"]);
    expect(mountArgv(parseUrl("sshfs://[fd00::1]:22/b"), "/m", "rw,batchmode=no")).toEqual(["sshfs", "[fd00::1]:/b", "/m", "-o", "rw,batchmode=no", "-p", "22"]);
    expect(mountArgv(parseUrl("rsync://srv/x"), "/m", "")).toBeUndefined();
  });
  test("a cifs password never on the mount command line (the -d log, a failed mount's error): mount.cifs gets it as PASSWD", () => {
    // found by the VM test (test/vm/lib/backup.ts): `mount -t cifs -o username=u,password=…` was in the -d
    // log's "Running:" line and in the error of a mount with a wrong password
    expect(mountArgv(parseUrl("cifs://srv/share"), "/m", "username=u,password=S3cret,vers=3.0")).toEqual(["mount", "-t", "cifs", "-o", "username=u,vers=3.0", "//srv/share", "/m"]);
    expect(mountArgv(parseUrl("cifs://srv/share"), "/m", "ro,username=u,password=S3cret")!.join(" ")).not.toContain("S3cret");
    expect(mountArgv(parseUrl("cifs://srv/share"), "/m", "password=S3cret")).toEqual(["mount", "-t", "cifs", "-o", "rw", "//srv/share", "/m"]);
    expect(cifsPassword("username=u,password=S3cret,vers=3.0")).toEqual({ options: "username=u,vers=3.0", password: "S3cret" });
    expect(cifsPassword("ro,pass=p")).toEqual({ options: "ro", password: "p" });
    // mount.cifs's forms: username=USER%PASSWORD, and ",," for a comma inside the password
    expect(cifsPassword("username=u%pw,ro")).toEqual({ options: "username=u,ro", password: "pw" });
    expect(cifsPassword("password=a,,b,,,ro")).toEqual({ options: "ro", password: "a,b," });
    expect(cifsPassword("credentials=/root/.smb,ro")).toEqual({ options: "credentials=/root/.smb,ro" });
    expect(cifsPassword("")).toEqual({ options: "" });
  });
});

describe("the rescue kernel command line", () => {
  test("KERNEL_CMDLINE, then the host's COPY_KERNEL_PARAMETERS and consoles", () => {
    expect(rescueCmdline("quiet", ["net.ifnames", "biosdevname"], "BOOT_IMAGE=/vmlinuz root=UUID=x net.ifnames=0 console=ttyS0,115200")).toBe("quiet net.ifnames=0 console=ttyS0,115200");
    expect(rescueCmdline("console=tty0 net.ifnames=1", ["net.ifnames"], "net.ifnames=0 console=ttyS0")).toBe("console=tty0 net.ifnames=1");
  });
  test("shell assignments are quoted", () => {
    expect(shellAssign("X", "it's $HOME")).toBe(`X='it'\\''s $HOME'`);
  });
});

describe("the rescue tree", () => {
  test("files at their paths, symlink chains kept and followed, excludes, broken links found", () => {
    const t = mkdtempSync(join(tmpdir(), "rear-tree-"));
    try {
      const host = join(t, "host");
      const root = join(t, "root");
      mkdirSync(join(host, "usr/lib/x"), { recursive: true });
      mkdirSync(join(host, "etc/alternatives"), { recursive: true });
      mkdirSync(join(host, "usr/bin"), { recursive: true });
      writeFileSync(join(host, "usr/lib/x/libfoo.so.1.2"), "lib");
      symlinkSync("libfoo.so.1.2", join(host, "usr/lib/x/libfoo.so.1"));
      writeFileSync(join(host, "usr/bin/mawk"), "awk");
      symlinkSync("/etc/alternatives/awk", join(host, "usr/bin/awk"));
      symlinkSync("/usr/bin/mawk", join(host, "etc/alternatives/awk"));
      mkdirSync(join(host, "etc/skip/sub"), { recursive: true });
      writeFileSync(join(host, "etc/skip/keep.conf"), "k");
      writeFileSync(join(host, "etc/skip/sub/x.bak"), "b");
      // the skeleton's flat /bin
      mkdirSync(join(root, "bin"), { recursive: true });
      mkdirSync(join(root, "usr"), { recursive: true });
      symlinkSync("../bin", join(root, "usr/bin"));
      const tree = new RescueTree(root, host);
      expect(tree.add("/usr/lib/x/libfoo.so.1")).toBe(true);
      expect(readlinkSync(join(root, "usr/lib/x/libfoo.so.1"))).toBe("libfoo.so.1.2");
      expect(readFileSync(join(root, "usr/lib/x/libfoo.so.1.2"), "utf8")).toBe("lib");
      tree.add("/usr/bin/awk");
      expect(readlinkSync(join(root, "bin/awk"))).toBe("/etc/alternatives/awk");
      expect(readFileSync(join(root, "bin/mawk"), "utf8")).toBe("awk");
      expect(lstatSync(join(root, "usr/bin")).isSymbolicLink()).toBe(true);
      expect(tree.add("/nonexistent")).toBe(false);
      tree.add("/etc/skip", { recursive: true, exclude: makeExcluder(["*.bak"]) });
      expect(readFileSync(join(root, "etc/skip/keep.conf"), "utf8")).toBe("k");
      expect(() => lstatSync(join(root, "etc/skip/sub/x.bak"))).toThrow();
      expect(tree.brokenLinks()).toEqual([]);
      symlinkSync("/usr/lib/x/gone", join(root, "bin/dangling"));
      expect(tree.brokenLinks()).toEqual([["/bin/dangling", "/usr/lib/x/gone"]]);
      expect(tree.copied).toEqual(["/usr/lib/x/libfoo.so.1.2", "/usr/bin/mawk", "/etc/skip/keep.conf"]);
    } finally {
      rmSync(t, { recursive: true, force: true });
    }
  });

  test("tar-like excludes match a path or any tail of it", () => {
    const ex = makeExcluder(["/var/lib/rear/output/*", "dev/shm", "udev/hwdb.d"]);
    expect(ex("/var/lib/rear/output/rear-x.iso")).toBe(true);
    expect(ex("/var/lib/rear/layout/disklayout.conf")).toBe(false);
    expect(ex("/dev/shm")).toBe(true);
    expect(ex("/usr/lib/udev/hwdb.d")).toBe(true);
    expect(ex("/usr/lib/udev/rules.d")).toBe(false);
  });
});

describe("a rescue image for other machines (RECOVERY_UPDATE_URL)", () => {
  const ext4 = readDisklayout("disk /dev/sda 1000000000 msdos\npart /dev/sda 999000000 1048576 primary boot /dev/sda1\nfs /dev/sda1 / ext4 uuid=x label= options=rw\n", "x").doc;
  const needs = needsFromLayout(ext4, { firmware: "bios", bootloader: "GRUB2" }, cfg({}), { ssh: false });

  test("said when RECOVERY_UPDATE_URL or recovery_update_url= on KERNEL_CMDLINE is set, not otherwise", () => {
    expect(rescueForOtherMachines(cfg({ RECOVERY_UPDATE_URL: "https://x/{uuid}.tar.gz" }))).toContain("RECOVERY_UPDATE_URL is set");
    expect(rescueForOtherMachines(cfg({ KERNEL_CMDLINE: "console=ttyS0 recovery_update_url=https://10.0.2.100/{uuid}.tar.gz" }))).toContain("KERNEL_CMDLINE");
    expect(rescueForOtherMachines(cfg({ KERNEL_CMDLINE: "console=ttyS0 no_recovery_update_url=x" }))).toBeUndefined();
    expect(rescueForOtherMachines(cfg({}))).toBeUndefined();
  });

  test("an ext4 machine's image gets LVM, MD, LUKS, xfs and btrfs tools as optional, never required (the fleet run lacked lvm)", () => {
    const c = chooseFeatures(needs);
    const required = [...c.required.keys()];
    addAnyStorage(c, needs, "RECOVERY_UPDATE_URL is set");
    expect([...c.required.keys()]).toEqual(required);
    for (const p of ["lvm", "dmsetup", "thin_check", "mdadm", "cryptsetup", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat", "mkswap"]) expect(c.optional.has(p)).toBe(true);
    expect(c.optional.get("lvm")).toEqual(["lvm (other machines)"]);
    expect(c.optional.has("mke2fs")).toBe(false); // required by this machine's own ext feature
    expect([...c.modules.keys()]).toEqual(expect.arrayContaining(["dm_mod", "dm_thin_pool", "md_mod", "raid1", "raid456", "dm_crypt", "xfs", "btrfs", "vfat"]));
    expect(c.features.find((f) => f.name === "any-storage")?.why).toBe("RECOVERY_UPDATE_URL is set: lvm, mdraid, luks, xfs, btrfs, vfat, swap as well, where this system has them");
    for (const p of c.required.keys()) expect(c.optional.has(p)).toBe(false);
  });
});
