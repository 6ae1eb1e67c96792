// The finalize plan: which disks get GRUB, which loader the NVRAM entry starts, whether the initramfs is
// rebuilt — each with its reason.

import { describe, expect, test } from "bun:test";
import { readDisklayout } from "../../../src/layout/disklayout/read.ts";
import { bootTargets, chooseEfiLoader, disksBelow, initramfsDecision, planFinalize, type FinalizeInput } from "../../../src/finalize/plan.ts";
import { activeEntries } from "../../../src/layout/model.ts";
import { recoverPrograms } from "../../../src/stages/recover/verify-tools.ts";
import { requirePrograms } from "../../../src/stages/rescue/preflight.ts";
import { packageHint } from "../../../src/sys/packages.ts";

const doc = (text: string) => readDisklayout(text, "t.conf").doc;

const BIOS = doc(`disk /dev/vda 6442450944 msdos
part /dev/vda 5367660544 1048576 primary boot /dev/vda1
part /dev/vda 1073741824 5368709120 primary none /dev/vda2
fs /dev/vda1 / ext4 uuid=11111111-2222-3333-4444-555555555555 label=root options=rw
swap /dev/vda2 uuid=21111111-2222-3333-4444-555555555555 label=swap
`);

const MIRROR = doc(`disk /dev/vda 6442450944 gpt
disk /dev/vdb 6442450944 gpt
part /dev/vda 1048576 1048576 rear-noname bios_grub /dev/vda1
part /dev/vda 5367660544 2097152 rear-noname raid /dev/vda2
part /dev/vdb 1048576 1048576 rear-noname bios_grub /dev/vdb1
part /dev/vdb 5367660544 2097152 rear-noname raid /dev/vdb2
raidarray /dev/md0 metadata=1.2 level=raid1 raid-devices=2 uuid=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd devices=/dev/vda2,/dev/vdb2
fs /dev/md0 / ext4 uuid=11111111-2222-3333-4444-555555555555 label= options=rw
`);

const UEFI = doc(`disk /dev/vda 6442450944 gpt
part /dev/vda 536870912 1048576 EFI%20System boot,esp /dev/vda1
part /dev/vda 5367660544 537919488 rear-noname none /dev/vda2
fs /dev/vda2 / ext4 uuid=11111111-2222-3333-4444-555555555555 label= options=rw
fs /dev/vda1 /boot/efi vfat uuid=ABCD-1234 label= options=rw
`);

const base = (over: Partial<FinalizeInput> = {}): FinalizeInput => ({
  layout: BIOS, mapping: { "/dev/vda": "/dev/vda" }, uuidChanges: {}, uefi: false, bootloader: "GRUB2", grubInstallDevices: [], rebuildInitramfs: "", newDrivers: [],
  target: { initramfsTool: "update-initramfs", grubInstall: "grub-install", grubMkconfig: "grub-mkconfig", grubCfg: "boot/grub/grub.cfg", espFiles: [], selinux: false },
  ...over,
});

describe("boot loader targets", () => {
  test("BIOS: the disk that holds / (no /boot)", () => {
    expect(bootTargets(base()).biosDisks).toEqual(["/dev/vda"]);
  });
  test("BIOS: every member of a mirrored root", () => {
    expect(bootTargets(base({ layout: MIRROR })).biosDisks).toEqual(["/dev/vda", "/dev/vdb"]);
    expect(disksBelow(activeEntries(MIRROR), "fs:/")).toEqual(["/dev/vda", "/dev/vdb"]);
  });
  test("GRUB2_INSTALL_DEVICES wins", () => {
    expect(bootTargets(base({ grubInstallDevices: ["/dev/vdb"] })).biosDisks).toEqual(["/dev/vdb"]);
  });
  test("UEFI: the ESP's disk and partition number, shim before GRUB, the fallback path last", () => {
    const t = bootTargets(base({ layout: UEFI, uefi: true, target: { ...base().target, espFiles: ["EFI/debian/grubx64.efi", "EFI/debian/shimx64.efi", "EFI/debian/mmx64.efi"] } }));
    expect(t.esp).toEqual({ mountpoint: "/boot/efi", device: "/dev/vda1", disk: "/dev/vda", partNumber: 1 });
    expect(t.efiLoader).toBe("\\EFI\\debian\\shimx64.efi");
    expect(chooseEfiLoader(["EFI/fedora/grubx64.efi"])).toEqual({ dir: "EFI/fedora", file: "grubx64.efi" });
    expect(chooseEfiLoader(["EFI/BOOT/BOOTX64.EFI"])).toEqual({ dir: "EFI/BOOT", file: "BOOTX64.EFI" });
    expect(chooseEfiLoader([])).toBeUndefined();
  });
  test("NVMe partition numbers", () => {
    const nv = doc(`disk /dev/nvme0n1 6442450944 gpt
part /dev/nvme0n1 536870912 1048576 EFI%20System boot,esp /dev/nvme0n1p1
part /dev/nvme0n1 5367660544 537919488 rear-noname none /dev/nvme0n1p2
fs /dev/nvme0n1p2 / ext4 uuid=11111111-2222-3333-4444-555555555555 label= options=rw
fs /dev/nvme0n1p1 /boot/efi vfat uuid=ABCD-1234 label= options=rw
`);
    expect(bootTargets(base({ layout: nv, uefi: true, target: { ...base().target, espFiles: ["EFI/debian/grubx64.efi"] } })).esp?.partNumber).toBe(1);
  });
});

describe("the initramfs is rebuilt only when needed", () => {
  test("identical hardware: skipped, and the log says why", () => {
    expect(initramfsDecision(base())).toEqual({ rebuild: false, why: expect.stringContaining("same disks, same UUIDs, same drivers") });
  });
  test("other disks, changed UUIDs, other drivers, or REBUILD_INITRAMFS=yes: rebuilt; =no: never", () => {
    expect(initramfsDecision(base({ mapping: { "/dev/vda": "/dev/nvme0n1" } })).rebuild).toBe(true);
    expect(initramfsDecision(base({ uuidChanges: { a: "b" } })).rebuild).toBe(true);
    expect(initramfsDecision(base({ newDrivers: ["nvme"] })).rebuild).toBe(true);
    expect(initramfsDecision(base({ newDrivers: ["nvme"] })).why).toContain("(nvme)");
    expect(initramfsDecision(base({ rebuildInitramfs: "yes" })).why).toBe("REBUILD_INITRAMFS=yes");
    expect(initramfsDecision(base({ rebuildInitramfs: "no", newDrivers: ["nvme"] })).rebuild).toBe(false);
    expect(initramfsDecision(base({ rebuildInitramfs: "yes", target: { ...base().target, initramfsTool: undefined } as FinalizeInput["target"] })).rebuild).toBe(false);
  });
});

describe("disks that only moved (same UUIDs, same drivers)", () => {
  test("the initramfs and GRUB's configuration are made anew only if the rewrite changed a file; new drivers or UUIDs always", () => {
    const moved = base({ mapping: { "/dev/vda": "/dev/vdb", "/dev/vdb": "/dev/vda" } });
    expect(initramfsDecision(moved)).toMatchObject({ rebuild: true, onlyIfRewritten: true });
    const p = planFinalize(moved);
    expect(p.steps.find((s) => s.id === "initramfs")).toMatchObject({ run: true, onlyIfRewritten: true });
    expect(p.steps.find((s) => s.id === "grub-mkconfig")).toMatchObject({ run: true, onlyIfRewritten: true });
    expect(initramfsDecision({ ...moved, newDrivers: ["nvme"] }).onlyIfRewritten).toBeUndefined();
    expect(initramfsDecision({ ...moved, uuidChanges: { a: "b" } }).onlyIfRewritten).toBeUndefined();
    expect(planFinalize({ ...moved, uuidChanges: { a: "b" } }).steps.find((s) => s.id === "grub-mkconfig")!.onlyIfRewritten).toBeUndefined();
    // a step that does not run carries no condition
    expect(planFinalize(base()).steps.some((s) => s.onlyIfRewritten)).toBe(false);
  });
  test("rewroteAny: the originals the rewrite keeps in the recovered system", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { rewroteAny } = await import("../../../src/stages/recover/finalize.ts");
    const root = mkdtempSync(join(tmpdir(), "rewrote-"));
    try {
      expect(rewroteAny(root)).toBe(false);
      const d = join(root, "var/log/rear/recover/finalize/saved_original_files/etc");
      mkdirSync(d, { recursive: true });
      expect(rewroteAny(root)).toBe(false);
      writeFileSync(join(d, "fstab"), "x");
      expect(rewroteAny(root)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the whole plan", () => {
  test("BIOS, identical: bind mounts and grub-install run; rewriting, initramfs, grub-mkconfig, relabel skipped", () => {
    const p = planFinalize(base());
    const run = Object.fromEntries(p.steps.map((s) => [s.id, s.run]));
    expect(run).toEqual({ "bind-mounts": true, "rewrite-devices": false, initramfs: false, "grub-mkconfig": false, "grub-install": true, "selinux-relabel": false });
  });
  test("UEFI on other disks: rewriting, initramfs, grub-mkconfig, the NVRAM entry and the fallback run", () => {
    const p = planFinalize(base({ layout: UEFI, uefi: true, mapping: { "/dev/sda": "/dev/vda" }, target: { ...base().target, espFiles: ["EFI/debian/shimx64.efi", "EFI/debian/grubx64.efi"] } }));
    const run = Object.fromEntries(p.steps.map((s) => [s.id, s.run]));
    expect(run).toEqual({ "bind-mounts": true, "rewrite-devices": true, initramfs: true, "grub-mkconfig": true, "grub-install-efi": false, efibootmgr: true, "efi-fallback": true, "selinux-relabel": false });
  });
  test("UEFI with an ESP restored empty: GRUB goes into it first (when the restored system has its EFI modules), then the entry and the fallback", () => {
    const p = planFinalize(base({ layout: UEFI, uefi: true, target: { ...base().target, grubEfi: true } }));
    const run = Object.fromEntries(p.steps.map((s) => [s.id, s.run]));
    expect(run).toMatchObject({ "grub-install-efi": true, efibootmgr: true, "efi-fallback": true });
    expect(p.steps.find((s) => s.id === "grub-install-efi")?.why).toBe("the restored ESP holds no boot loader");
    const q = planFinalize(base({ layout: UEFI, uefi: true }));
    expect(q.steps.find((s) => s.id === "grub-install-efi")).toMatchObject({ run: false, why: "the restored system has no grub-install with x86_64-efi modules" });
  });
  test("LUKS volumes made with a temporary key get their restored key files first", () => {
    const p = planFinalize(base({ luksKeyfiles: [{ name: "home_crypt", keyfile: "/etc/keys/home.key" }] }));
    expect(p.steps[1]).toMatchObject({ id: "luks-keyfiles", run: true });
    expect(p.steps[1]!.what).toContain("home_crypt: /etc/keys/home.key");
    expect(planFinalize(base()).steps.some((s) => s.id === "luks-keyfiles")).toBe(false);
  });
  test("no way to install a boot loader says why", () => {
    const p = planFinalize(base({ target: { ...base().target, grubInstall: undefined } as FinalizeInput["target"] }));
    expect(p.steps.find((s) => s.id === "grub-install")).toMatchObject({ run: false, why: "the restored system has no grub-install or grub2-install" });
    const q = planFinalize(base({ layout: UEFI, uefi: true }));
    expect(q.steps.find((s) => s.id === "efibootmgr")).toMatchObject({ run: false, why: expect.stringContaining("holds no shimx64.efi") });
  });
});


describe("the programs recover checks before the first write", () => {
  test("NETFS: tar and the decompressor its options name; UEFI: efibootmgr; always chroot, mount, sync", () => {
    const names = (o: Parameters<typeof recoverPrograms>[0]) => recoverPrograms(o).map(([p]) => p);
    expect(names({ backup: "NETFS", backupProg: "", compressOptions: ["--gzip"], uefi: false })).toEqual(["chroot", "mount", "sync", "tar", "gzip"]);
    expect(names({ backup: "NETFS", backupProg: "/usr/bin/tar", compressOptions: ["--use-compress-program=pigz"], uefi: true })).toEqual(["chroot", "mount", "sync", "/usr/bin/tar", "pigz", "efibootmgr"]);
    expect(names({ backup: "NETFS", backupProg: "tar", compressOptions: ["--zstd", "-Ilz4"], uefi: false })).toEqual(["chroot", "mount", "sync", "tar", "zstd", "lz4"]);
    expect(names({ backup: "RSYNC", backupProg: "", compressOptions: ["--gzip"], uefi: false })).toEqual(["chroot", "mount", "sync"]);
  });
});


describe("requirePrograms", () => {
  test("one error naming every missing program with what it is for; nothing when all are here", () => {
    const said: string[] = [];
    const ctx = { env: { PATH: "/nonexistent" }, log: { log: (t: string) => said.push(t) } } as never;
    expect(() => requirePrograms(ctx, [["sh", "run scripts"], ["no-such-prog-x", "recreate something"], ["no-such-prog-y", "restore"]], "The plan")).toThrow(
      "The plan needs programs this system does not have, nothing was changed: no-such-prog-x (to recreate something); no-such-prog-y (to restore)",
    );
    requirePrograms(ctx, [["sh", "run scripts"]], "The plan");
    expect(said).toEqual(["The plan: its programs are all here: sh"]);
  });
  test("on a live system (-p): each missing program with its package on Debian/Ubuntu, RHEL/Fedora and SUSE, each named once", () => {
    const ctx = { env: { PATH: "/nonexistent" }, log: { log: () => {} } } as never;
    let err: Error | undefined;
    try {
      requirePrograms(ctx, [["mkfs.xfs", "make the xfs file system on /dev/vda2"], ["sfdisk", "partition /dev/vda"], ["mkfs.xfs", "make another"], ["no-such-prog", "x"]], "The recovery", { portable: true, find: () => undefined });
    } catch (e) {
      err = e as Error;
    }
    expect(err!.message).toBe(
      "The recovery needs programs this system does not have, nothing was changed: mkfs.xfs (to make the xfs file system on /dev/vda2; package xfsprogs); " +
        "sfdisk (to partition /dev/vda; packages: Debian/Ubuntu fdisk, RHEL/Fedora util-linux, SUSE util-linux); no-such-prog (to x)",
    );
    expect((err as unknown as { hint: string }).hint).toBe("install them on this live system (the packages named), then run rear -p recover again");
  });
  test("package names", () => {
    expect(packageHint("/sbin/mkfs.btrfs")).toBe("packages: Debian/Ubuntu btrfs-progs, RHEL/Fedora btrfs-progs, SUSE btrfsprogs");
    expect(packageHint("lvcreate")).toBe("package lvm2");
    expect(packageHint("cryptsetup")).toBe("packages: Debian/Ubuntu cryptsetup-bin, RHEL/Fedora cryptsetup, SUSE cryptsetup");
    expect(packageHint("frobnicate")).toBe("");
  });
});
