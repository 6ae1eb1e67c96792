// OUTPUT=USB's menus and bookkeeping (src/output/usb-config.ts).

import { describe, expect, test } from "bun:test";
import { extlinuxConfig, retention, usbGrubConfig, usbGrubEarlyConfig, usbMenuDefault, usbPrefix, USB_GRUB_EFI_MODULES } from "../../../src/output/usb-config.ts";

const menu = {
  host: "laptop", cmdline: "console=ttyS0,115200", isoDefault: "automatic", recoverMode: "unattended", timeoutSec: 5, version: "3.0", label: "REAR-000",
  systems: [{ dir: "rear/laptop/20261206.2150", kernel: "kernel", initrd: "initrd.zst" }, { dir: "rear/laptop/20261201.0900", kernel: "kernel", initrd: "initrd.cgz" }],
};

describe("OUTPUT=USB", () => {
  test("ReaR's USB_PREFIX: rear/<host>/<YYYYmmdd.HHMM>, or USB_SUFFIX", () => {
    expect(usbPrefix("laptop", "", new Date(2026, 11, 6, 21, 5))).toBe("rear/laptop/20261206.2105");
    expect(usbPrefix("laptop", "weekly", new Date())).toBe("rear/laptop/weekly");
  });
  test("USB_RETAIN_BACKUP_NR: the one just written and the newest others", () => {
    expect(retention(["20261101.1000", "20261201.1000", "20261206.2150", "20261115.1000"], "20261206.2150", 2)).toEqual({ keep: ["20261206.2150", "20261201.1000"], remove: ["20261115.1000", "20261101.1000"] });
    expect(retention(["x"], "x", 1)).toEqual({ keep: ["x"], remove: [] });
    expect(retention(["a", "b"], "b", 1)).toEqual({ keep: ["b"], remove: ["a"] });
  });
  test("extlinux: each label names its own kernel; automatic: the newest system unattended is the default", () => {
    const c = extlinuxConfig(menu);
    expect(c).toContain("default rear-automatic-0\n");
    expect(c).toContain("label rear-automatic-0\n  menu label ^Automatic Recover laptop (20261206.2150)\n  kernel /rear/laptop/20261206.2150/kernel\n  append initrd=/rear/laptop/20261206.2150/initrd.zst console=ttyS0,115200 auto_recover unattended\n");
    expect(c).toContain("label rear-1\n  menu label Recover laptop (20261201.0900)\n  kernel /rear/laptop/20261201.0900/kernel\n  append initrd=/rear/laptop/20261201.0900/initrd.cgz console=ttyS0,115200\n");
    expect(c).toContain("label boothd\n  menu label Boot the ^local disk (hd1)\n  com32 chain.c32\n  append hd1\n");
    expect(c).toContain("timeout 50\n");
    expect(extlinuxConfig({ ...menu, isoDefault: "boothd", serial: { unit: 0, speed: 115200 } })).toMatch(/^serial 0 115200$[\s\S]*^default boothd$/m);
    expect(extlinuxConfig({ ...menu, isoDefault: "manual" })).toContain("default rear-0\n");
  });
  test("GRUB (UEFI): finds the data partition by label, the same entries and default", () => {
    const g = usbGrubConfig(menu);
    expect(g).toContain("search --no-floppy --label --set=root REAR-000\n");
    expect(g).toContain("set default=rear-automatic-0\n");
    expect(g).toContain("  linux /rear/laptop/20261206.2150/kernel console=ttyS0,115200 auto_recover unattended\n  initrd /rear/laptop/20261206.2150/initrd.zst\n");
    expect(usbGrubEarlyConfig("REAR-000")).toBe("search --no-floppy --label --set=root REAR-000\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n");
    expect(USB_GRUB_EFI_MODULES).toContain("ext2");
    expect(USB_GRUB_EFI_MODULES).not.toContain("iso9660");
  });
});

describe("usbMenuDefault", () => {
  test("USB_RECOVER_MODE / ISO_RECOVER_MODE with ReaR's default ISO_DEFAULT (boothd): the automatic entry", () => {
    expect(usbMenuDefault("boothd", "unattended")).toBe("automatic");
    expect(usbMenuDefault("", "unattended")).toBe("automatic");
  });
  test("no recover mode: ReaR's boothd; a chosen ISO_DEFAULT stays", () => {
    expect(usbMenuDefault("boothd", "")).toBe("boothd");
    expect(usbMenuDefault("", "")).toBe("boothd");
    expect(usbMenuDefault("manual", "unattended")).toBe("manual");
    expect(usbMenuDefault("boothd1", "unattended")).toBe("boothd1");
    expect(usbMenuDefault("automatic", "")).toBe("automatic");
  });
});
