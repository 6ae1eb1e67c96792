// `rear mkrescue` on this machine with the compiled binary: the preflight, the rescue tree, the
// initramfs and the ISO for real. This host has no kernel of its own in /boot (nor /lib/modules), so
// KERNEL_FILE names a placeholder and MODULES=(no_modules); booting real images is the VM tier's job
// (`bun run test:vm rescue`). What is checked: the ISO's files and boot records, mode 0600, the
// initramfs unpacked by the real cpio, and programs of it run chrooted into it (ReaR's 990_verify_rootfs
// does `chroot rootfs bash -c true`): bash, our binary, lvm-free tools with their libraries.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let out: string;
let conf: string;
let unpacked: string;
let mk: { code: number | null; stdout: string; stderr: string };

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error("dist/rear is missing: run `bun run build` first (`npm test` does)");
  base = mkdtempSync("/tmp/rear-test-mkrescue.");
  out = join(base, "out");
  conf = join(base, "etc-rear");
  mkdirSync(conf);
  const kernel = join(base, "vmlinuz-placeholder");
  writeFileSync(kernel, "not a kernel: the integration tier does not boot\n");
  writeFileSync(
    join(conf, "local.conf"),
    [`OUTPUT=ISO`, `KERNEL_FILE=${kernel}`, `MODULES=( no_modules )`, `ISO_DIR=${out}`, `BOOTLOADER=GRUB2`, `ISO_DEFAULT=automatic`, `ISO_RECOVER_MODE=unattended`, `KERNEL_CMDLINE="console=ttyS0,115200"`, `{ TTY_ROOT_PASSWORD='s3cret-console-pw' ; } 2>>/dev/$SECRET_OUTPUT_DEV`, `{ BACKUP_PROG_CRYPT_KEY='s3cret-backup-key' ; } 2>>/dev/$SECRET_OUTPUT_DEV`, `{ GALAXY11_PASSWORD='agent-login' ; } 2>>/dev/$SECRET_OUTPUT_DEV`, ""].join("\n"),
  );
  mk = run([DIST, "-c", conf, "-v", "mkrescue"]);
  unpacked = join(base, "initramfs");
  mkdirSync(unpacked);
}, 300_000);

afterAll(() => {
  for (const d of ["proc", "dev"]) run(["umount", "-l", join(unpacked, d)]);
  rmSync(base, { recursive: true, force: true });
});

describe("mkrescue on this machine", () => {
  test("it succeeds and says what it made", () => {
    if (mk.code !== 0) throw new Error(`mkrescue exited ${mk.code}:\n${mk.stdout}\n${mk.stderr}`);
    expect(mk.stdout).toMatch(/Created initrd\.(zst|cgz) with (zstd|gzip)/);
    expect(mk.stdout).toMatch(/Wrote ISO image: .*rear-.*\.iso \(\d+ MiB; boots by BIOS and UEFI\)/);
  });

  test("the ISO is private and has isolinux, GRUB's config, the EFI image and the rescue system", () => {
    const iso = must(["sh", "-c", `ls ${out}/*.iso`]).trim();
    expect(statSync(iso).mode & 0o777).toBe(0o600);
    const files = must(["xorriso", "-indev", iso, "-find", "/", "-type", "f"]).replace(/'/g, "");
    for (const f of ["/isolinux/isolinux.bin", "/isolinux/ldlinux.c32", "/isolinux/menu.c32", "/isolinux/isolinux.cfg", "/isolinux/kernel", "/boot/grub/grub.cfg", "/boot/efiboot.img"]) expect(files).toContain(f);
    expect(files).toMatch(/\/isolinux\/initrd\.(zst|cgz)/);
    // El Torito: a BIOS entry and a UEFI entry; the hybrid MBR for USB sticks
    const report = must(["xorriso", "-indev", iso, "-report_el_torito", "plain"]);
    expect(report).toMatch(/El Torito boot img : +1 +BIOS/);
    expect(report).toMatch(/El Torito boot img : +2 +UEFI/);
    const mbr = readFileSync(iso).subarray(510, 512);
    expect([...mbr]).toEqual([0x55, 0xaa]);
    // the menus: unattended automatic recovery as the default, on the serial console
    must(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/isolinux/isolinux.cfg", join(base, "isolinux.cfg")]);
    const cfg = readFileSync(join(base, "isolinux.cfg"), "utf8");
    expect(cfg).toContain("default rear-automatic");
    expect(cfg).toMatch(/append initrd=initrd\.\S+ console=ttyS0,115200 auto_recover unattended/);
    // the EFI image holds GRUB, which finds this ISO by its volume date
    must(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot/efiboot.img", join(base, "efiboot.img")]);
    expect(must(["mdir", "-i", join(base, "efiboot.img"), "::/EFI/BOOT"])).toMatch(/BOOTX64\s+EFI/);
  });

  test("the initramfs unpacks with the real cpio and its programs run chrooted into it", () => {
    const iso = must(["sh", "-c", `ls ${out}/*.iso`]).trim();
    const name = must(["sh", "-c", `xorriso -indev ${iso} -find /isolinux -name 'initrd*' 2>/dev/null`]).trim().replace(/'/g, "");
    const initrd = join(base, "initrd");
    must(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", name, initrd]);
    chmodSync(initrd, 0o600);
    const decompress = name.endsWith(".zst") ? "zstd -dc" : "gzip -dc";
    must(["sh", "-c", `cd ${unpacked} && ${decompress} ${initrd} | cpio -idm --quiet`]);
    const want = ["init", "etc/rear-release", "etc/scripts/system-setup", "usr/sbin/rear", "bin/bash", "bin/sfdisk", "bin/udevadm", "dev/console", "etc/rear/local.conf", "var/lib/rear/layout/disklayout.conf"];
    expect(want.filter((p) => !existsSync(join(unpacked, p)))).toEqual([]);
    expect(statSync(join(unpacked, "dev/console")).isCharacterDevice()).toBe(true);
    // no hardware database; root's console password only as a SHA-512 hash in a private shadow, never in the log
    expect(existsSync(join(unpacked, "lib/udev/hwdb.bin"))).toBe(false);
    expect(statSync(join(unpacked, "etc/shadow")).mode & 0o777).toBe(0o600);
    const rootLine = readFileSync(join(unpacked, "etc/shadow"), "utf8").split("\n").find((l) => l.startsWith("root:"))!;
    const hash = rootLine.split(":")[1]!;
    expect(hash).toMatch(/^\$6\$/);
    expect(must(["openssl", "passwd", "-6", "-salt", hash.split("$")[2]!, "s3cret-console-pw"]).trim()).toBe(hash);
    expect(readFileSync(join(unpacked, "etc/scripts/setup.conf"), "utf8")).toContain("TTY_ROOT_PASSWORD_SET=1");
    // the console keyboard of this machine, when there is a console to read it from
    if (run(["dumpkeys", "-f"]).code === 0) expect(readFileSync(join(unpacked, "etc/dumpkeys.out"), "utf8")).toContain("keycode");
    const logs = must(["sh", "-c", "cat /var/log/rear/rear-*.log"]);
    expect(logs).not.toContain("s3cret-console-pw");
    // secrets are not in the rescue system's configuration (ReaR's 960_remove_encryption_keys): the backup key is asked for at restore
    const conf = readFileSync(join(unpacked, "etc/rear/local.conf"), "utf8");
    expect(conf).toContain("BACKUP_PROG_CRYPT_KEY removed by rear mkrescue");
    // a backup product's credentials stay (as ReaR): its agent logs in with them during the recovery
    expect(conf).toContain("GALAXY11_PASSWORD='agent-login'");
    expect(run(["grep", "-r", "-l", "-e", "s3cret-backup-key", "-e", "s3cret-console-pw", join(unpacked, "etc")]).stdout).toBe("");
    const bash = run(["chroot", unpacked, "/bin/bash", "-c", "echo chrooted-ok"]);
    expect(bash.stdout.trim()).toBe("chrooted-ok");
    for (const argv of [["sfdisk", "--version"], ["blkid", "--version"], ["tar", "--version"], ["udevadm", "--version"], ["mkfs.ext4", "-V"]]) {
      const r = run(["chroot", unpacked, ...argv]);
      if (r.code !== 0) throw new Error(`${argv.join(" ")} in the rescue tree exited ${r.code}: ${r.stderr}`);
    }
    // our binary needs /proc (Bun's runtime): mounted as the rescue system's /init does
    mkdirSync(join(unpacked, "proc"), { recursive: true });
    must(["mount", "-t", "proc", "proc", join(unpacked, "proc")]);
    try {
      const v = run(["chroot", unpacked, "/usr/sbin/rear", "--version"]);
      expect(v.stdout).toMatch(/^Relax-and-Recover \S+/);
    } finally {
      run(["umount", join(unpacked, "proc")]);
    }
  });
});

describe("OUTPUT=RAMDISK to a file:// OUTPUT_URL", () => {
  test("kernel and initramfs files, private, with VERSION, under OUTPUT_PREFIX; KEEP_OLD_OUTPUT_COPY keeps the previous ones", () => {
    const url = join(base, "results");
    const c = join(base, "etc-rear-ramdisk");
    mkdirSync(c);
    writeFileSync(
      join(c, "local.conf"),
      [`OUTPUT=RAMDISK`, `KERNEL_FILE=${join(base, "vmlinuz-placeholder")}`, `MODULES=( no_modules )`, `BOOTLOADER=GRUB2`, `OUTPUT_URL=file://${url}`, `OUTPUT_PREFIX=box`, `RAMDISK_SUFFIX=box`, `KEEP_OLD_OUTPUT_COPY=yes`, `REAR_INITRD_COMPRESSION=gzip`, ""].join("\n"),
    );
    for (let i = 0; i < 2; i++) {
      const r = run([DIST, "-c", c, "-v", "mkrescue"]);
      if (r.code !== 0) throw new Error(`mkrescue (RAMDISK) exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
      expect(r.stdout).toContain("Wrote the rescue kernel and initramfs: kernel-box, initramfs-box.img");
    }
    for (const f of ["kernel-box", "initramfs-box.img", "VERSION"]) expect(statSync(join(url, "box", f)).mode & 0o777).toBe(0o600);
    expect(existsSync(join(url, "box.old", "initramfs-box.img"))).toBe(true);
    expect(readFileSync(join(url, "box", "VERSION"), "utf8")).toMatch(/using Backup .* and Output RAMDISK/);
    // gzip, as asked: the kernel's gzip magic
    expect([...readFileSync(join(url, "box", "initramfs-box.img")).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
  }, 120_000);
});

describe("mkbackup: the rescue ISO and the NETFS backup in one run", () => {
  test("both land in BACKUP_URL/NETFS_PREFIX (OUTPUT_URL defaults to BACKUP_URL), the archive with its sha256", () => {
    const img = join(base, "backup.img");
    must(["truncate", "-s", "400M", img]);
    must(["mkfs.ext4", "-q", "-F", img]);
    const l = must(["losetup", "--find", "--show", img]).trim();
    const mnt = join(base, "backup-target");
    mkdirSync(mnt);
    must(["mount", l, mnt]);
    try {
      const data = join(base, "data");
      mkdirSync(data);
      writeFileSync(join(data, "file"), "backed up\n");
      const c = join(base, "etc-rear-mkbackup");
      mkdirSync(c);
      writeFileSync(
        join(c, "local.conf"),
        [`OUTPUT=ISO`, `BACKUP=NETFS`, `BACKUP_URL=file://${mnt}`, `NETFS_PREFIX=box`, `OUTPUT_PREFIX=box`, `KERNEL_FILE=${join(base, "vmlinuz-placeholder")}`, `MODULES=( no_modules )`, `BOOTLOADER=GRUB2`,
          `ISO_DIR=${join(base, "iso-mkbackup")}`, `BACKUP_ONLY_INCLUDE=yes`, `BACKUP_PROG_INCLUDE=( ${data} )`, `BACKUP_PROG_EXCLUDE=()`, ""].join("\n"),
      );
      const r = run([DIST, "-c", c, "-v", "mkbackup"]);
      if (r.code !== 0) throw new Error(`mkbackup exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
      const files = must(["ls", join(mnt, "box")]).trim().split("\n").sort();
      expect(files).toEqual(expect.arrayContaining(["VERSION", "backup.log", "backup.tar.gz", "backup.tar.gz.sha256"]));
      expect(files.some((f) => /^rear-.*\.iso$/.test(f))).toBe(true);
      must(["sh", "-c", `cd ${join(mnt, "box")} && sha256sum -c --quiet backup.tar.gz.sha256`]);
      expect(must(["tar", "-tzf", join(mnt, "box", "backup.tar.gz")])).toContain(`${data.slice(1)}/file`);
    } finally {
      run(["umount", mnt]);
      run(["losetup", "-d", l]);
    }
  }, 180_000);

  test("BACKUP_URL=iso:///backup: the backup is inside the ISO; restoreonly finds the medium by its label and restores from it", () => {
    const data = join(base, "iso-data");
    mkdirSync(data);
    writeFileSync(join(data, "file"), "in the ISO\n");
    const isoDir = join(base, "iso-backup");
    const volid = `REAR-IT-${process.pid}`;
    const lines = [`OUTPUT=ISO`, `BACKUP=NETFS`, `BACKUP_URL=iso:///backup`, `ISO_VOLID=${volid}`, `KERNEL_FILE=${join(base, "vmlinuz-placeholder")}`, `MODULES=( no_modules )`, `BOOTLOADER=GRUB2`,
      `ISO_DIR=${isoDir}`, `ISO_PREFIX=box`, `BACKUP_ONLY_INCLUDE=yes`, `BACKUP_PROG_INCLUDE=( ${data} )`, `BACKUP_PROG_EXCLUDE=()`];
    const c = join(base, "etc-rear-iso");
    mkdirSync(c);
    writeFileSync(join(c, "local.conf"), [...lines, ""].join("\n"));
    const r = run([DIST, "-c", c, "-v", "mkbackup"]);
    if (r.code !== 0) throw new Error(`mkbackup exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const iso = join(isoDir, "box.iso");
    const listing = must(["xorriso", "-indev", iso, "-find", "/backup", "-exec", "lsdl", "--"]);
    expect(listing).toContain("/backup/backup.tar.gz");
    expect(listing).toContain("/backup/backup.tar.gz.sha256");
    // mkbackuponly cannot put a backup into an ISO it does not make
    const only = run([DIST, "-c", c, "mkbackuponly"]);
    expect(only.code).toBe(2);
    expect(only.stderr).toContain("puts the backup into the rescue ISO, which mkbackuponly does not make");
    // the recovery side: the ISO attached (as a CD drive would be), found by ISO_VOLID
    const loop = must(["losetup", "--find", "--show", "--read-only", iso]).trim();
    try {
      const back = join(base, "iso-restored");
      mkdirSync(back);
      const rc = join(base, "etc-rear-iso-restore");
      mkdirSync(rc);
      writeFileSync(join(rc, "local.conf"), [...lines, `TARGET_FS_ROOT=${back}`, ""].join("\n"));
      const rr = run([DIST, "-c", rc, "-p", "-v", "restoreonly"]);
      if (!readFileSync("/proc/filesystems", "utf8").includes("iso9660")) {
        // a kernel without ISO 9660 (this machine's): the medium is found by its label, the mount fails
        // clearly (the restore itself is checked in the rescue VM test, from the CD it boots from)
        expect(rr.code).toBe(2);
        expect(rr.stderr).toContain(`Cannot mount the rescue medium ${loop} (labelled ${volid})`);
        return;
      }
      if (rr.code !== 0) throw new Error(`restoreonly exited ${rr.code}:\n${rr.stdout}\n${rr.stderr}`);
      expect(rr.stdout).toContain("Backup archive verified: SHA-256 matches backup.tar.gz.sha256");
      expect(readFileSync(join(back, data.slice(1), "file"), "utf8")).toBe("in the ISO\n");
      expect(must(["cat", "/proc/mounts"])).not.toContain(iso);
    } finally {
      run(["losetup", "-d", loop]);
    }
  }, 180_000);

  test("ISO_MAX_SIZE: the backup is split in volumes, the first in the bootable ISO, each further one in an ISO labelled <ISO_VOLID>_NN; one manifest lists them all", () => {
    const data = join(base, "split-data");
    mkdirSync(data);
    must(["sh", "-c", `head -c 150M /dev/urandom > ${data}/random`]);
    const isoDir = join(base, "iso-split");
    const volid = `REAR-SPLIT-${process.pid % 10000}`;
    const c = join(base, "etc-rear-split");
    mkdirSync(c);
    // no compression (random data): the archive is ~150 MiB; the first ISO's room decides the volume size
    const plain = [`OUTPUT=ISO`, `BACKUP=NETFS`, `BACKUP_URL=iso:///backup`, `ISO_VOLID=${volid}`, `KERNEL_FILE=${join(base, "vmlinuz-placeholder")}`, `MODULES=( no_modules )`, `BOOTLOADER=GRUB2`,
      `ISO_DIR=${isoDir}`, `ISO_PREFIX=split`, `BACKUP_ONLY_INCLUDE=yes`, `BACKUP_PROG_INCLUDE=( ${data} )`, `BACKUP_PROG_EXCLUDE=()`, "BACKUP_PROG_COMPRESS_OPTIONS=()", "BACKUP_PROG_COMPRESS_SUFFIX="];
    writeFileSync(join(c, "local.conf"), [...plain, "ISO_MAX_SIZE=50", ""].join("\n"));
    const small = run([DIST, "-c", c, "mkbackup"]);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/ISO_MAX_SIZE=50 leaves -?\d+ MiB for the backup beside the rescue system on the first ISO; at least 100 MiB are needed \(set ISO_MAX_SIZE to \d+ or more\)/);
    const need = Number(/set ISO_MAX_SIZE to (\d+)/.exec(small.stderr)![1]);
    writeFileSync(join(c, "local.conf"), [...plain, `ISO_MAX_SIZE=${need}`, ""].join("\n"));
    const r = run([DIST, "-c", c, "-v", "mkbackup"]);
    if (r.code !== 0) throw new Error(`mkbackup exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    expect(readdirSync(isoDir).sort()).toEqual(["split.iso", "split_01.iso"]);
    expect(statSync(join(isoDir, "split.iso")).size).toBeLessThanOrEqual(need * 1048576);
    expect(statSync(join(isoDir, "split_01.iso")).mode & 0o777).toBe(0o600);
    const ls = (iso: string) => must(["xorriso", "-indev", iso, "-find", "/backup", "-type", "f", "--"]).trim().split("\n").map((l) => l.replace(/'/g, "")).sort();
    expect(ls(join(isoDir, "split.iso"))).toEqual(["/backup/backup.log", "/backup/backup.tar.00", "/backup/backup.tar.sha256"]);
    expect(ls(join(isoDir, "split_01.iso"))).toEqual(["/backup/backup.tar.01"]);
    expect(must(["blkid", "-o", "value", "-s", "LABEL", join(isoDir, "split_01.iso")]).trim()).toBe(`${volid}_01`);
    // the volumes out of the ISOs, checked with sha256sum against the one manifest, make the archive again
    const out = join(base, "split-out");
    mkdirSync(out);
    must(["xorriso", "-osirrox", "on", "-indev", join(isoDir, "split.iso"), "-extract", "/backup", out]);
    must(["xorriso", "-osirrox", "on", "-indev", join(isoDir, "split_01.iso"), "-extract", "/backup/backup.tar.01", join(out, "backup.tar.01")]);
    must(["sh", "-c", `cd ${out} && sha256sum -c --quiet backup.tar.sha256`]);
    expect(must(["sh", "-c", `cd ${out} && cat backup.tar.00 backup.tar.01 | tar -t`])).toContain(`${data.slice(1)}/random`);
    rmSync(data, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }, 300_000);
});
