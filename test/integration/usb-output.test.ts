// OUTPUT=USB on a loop device made by `rear format -- --bios` (this host's kernel has no vfat: the UEFI half,
// GRUB on the EFI system partition, is the VM tier's): the rescue systems under rear/<host>/<suffix>/, the
// oldest pruned to USB_RETAIN_BACKUP_NR, extlinux installed with the syslinux MBR, a menu whose default
// entry recovers unattended without anyone editing it. The kernel is a placeholder (nothing boots here).

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

// every test runs rear (mkrescue builds an initramfs): seconds on an idle machine, more beside a VM run
setDefaultTimeout(120_000);

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let loop: string;
const mnt = () => join(base, "mnt");

function conf(extra: string[]): void {
  writeFileSync(join(base, "etc/local.conf"), [
    "OUTPUT=USB", "BACKUP=REQUESTRESTORE", `USB_DEVICE=${loop}p1`, `KERNEL_FILE=${join(base, "vmlinuz")}`, "MODULES=( no_modules )", "BOOTLOADER=GRUB2",
    "ISO_DEFAULT=automatic", "ISO_RECOVER_MODE=unattended", 'KERNEL_CMDLINE="console=ttyS0,115200"', "USB_RETAIN_BACKUP_NR=2", ...extra, "",
  ].join("\n"));
}
const rear = (args: string[], env: Record<string, string> = {}) => run([DIST, "-c", join(base, "etc"), ...args], { env: { REAR_VAR: join(base, "var"), ...env } });

beforeAll(() => {
  base = mkdtempSync("/tmp/rear-test-usb-output.");
  mkdirSync(join(base, "etc"));
  writeFileSync(join(base, "vmlinuz"), "not a kernel: the integration tier does not boot\n");
  must(["truncate", "-s", "2G", join(base, "usb.img")]);
  loop = must(["losetup", "--find", "--show", "--partscan", join(base, "usb.img")]).trim();
  writeFileSync(join(base, "etc/local.conf"), "");
  const f = rear(["format", "--", "--bios", "--yes", loop], { USER_INPUT_USB_DEVICE_CONFIRM_FORMAT: "Yes" });
  if (f.code !== 0) throw new Error(`rear format failed: ${f.stderr}`);
}, 120_000);

afterAll(() => {
  run(["umount", mnt()]);
  run(["losetup", "-d", loop]);
  rmSync(base, { recursive: true, force: true });
});

describe("OUTPUT=USB", () => {
  test("the disk not plugged in: the preflight says so, nothing is built", () => {
    conf([]);
    writeFileSync(join(base, "etc/local.conf"), readFileSync(join(base, "etc/local.conf"), "utf8").replace(`USB_DEVICE=${loop}p1`, "USB_DEVICE=/dev/disk/by-label/NO-SUCH-DISK"));
    const r = rear(["mkrescue"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("/dev/disk/by-label/NO-SUCH-DISK is missing (the USB disk's data partition the rescue system is written to)");
  });

  test("three runs: the two newest kept, a menu of them, extlinux and the syslinux MBR", () => {
    for (const s of ["a", "b", "c"]) {
      conf([`USB_SUFFIX=${s}`]);
      const r = rear(["-v", "mkrescue"]);
      if (r.code !== 0) throw new Error(`mkrescue (${s}) exited ${r.code}: ${r.stdout}\n${r.stderr}`);
      expect(r.stdout).toContain(`Wrote the rescue system to ${loop}p1 (rear/`);
      expect(r.stdout).toContain("it boots by BIOS (extlinux)");
    }
    expect(run(["findmnt", "-S", `${loop}p1`]).code).not.toBe(0); // unmounted again
    mkdirSync(mnt(), { recursive: true });
    must(["mount", "-o", "ro", `${loop}p1`, mnt()]);
    try {
      const host = readdirSync(join(mnt(), "rear"))[0]!;
      expect(readdirSync(join(mnt(), "rear", host)).sort()).toEqual(["b", "c"]);
      for (const s of ["b", "c"]) {
        expect(existsSync(join(mnt(), "rear", host, s, "kernel"))).toBe(true);
        expect(readdirSync(join(mnt(), "rear", host, s)).some((f) => /^initrd\.(zst|cgz)$/.test(f))).toBe(true);
      }
      for (const f of ["ldlinux.sys", "ldlinux.c32", "menu.c32", "chain.c32", "libutil.c32", "libcom32.c32"]) expect(existsSync(join(mnt(), "boot/syslinux", f))).toBe(true);
      const cfg = readFileSync(join(mnt(), "boot/syslinux/extlinux.conf"), "utf8");
      // the default is a label with its own kernel: the newest system, recovering unattended
      expect(cfg).toContain("default rear-automatic-0\n");
      expect(cfg).toMatch(new RegExp(`label rear-automatic-0\\n.*\\n  kernel /rear/${host}/c/kernel\\n  append initrd=/rear/${host}/c/initrd\\.(zst|cgz) console=ttyS0,115200 auto_recover unattended\\n`));
      expect(cfg).toContain(`kernel /rear/${host}/b/kernel`);
      expect(cfg).not.toContain(`/rear/${host}/a/`);
      expect(cfg).toContain("serial 0 115200");
    } finally {
      must(["umount", mnt()]);
    }
    // the MBR's boot code is syslinux's (msdos), the partition table is kept
    const fd = openSync(join(base, "usb.img"), "r");
    const head = Buffer.alloc(512);
    readSync(fd, head, 0, 512, 0);
    closeSync(fd);
    expect(head.subarray(0, 440).equals(readFileSync("/usr/lib/syslinux/mbr/mbr.bin").subarray(0, 440))).toBe(true);
    expect(must(["parted", "-s", "-m", loop, "print"])).toMatch(/^1:.*:ext4::boot;$/m);
  }, 240_000);

  test("rear -s mkrescue lists the USB output module", () => {
    conf([]);
    const r = rear(["-s", "mkrescue"]);
    expect(r.stdout).toContain("Source output/800_write_usb_medium");
    expect(r.stdout).not.toContain("output/800_write_rescue_medium");
  });
});
