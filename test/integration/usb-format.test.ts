// `rear format` on loop devices (root; they stand for USB disks, which this machine has none of): the
// refusals leave the disk as it was, the formats give the table, partitions, labels and ext4 settings
// ReaR's format gives.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

// every test runs rear (mkrescue builds an initramfs): seconds on an idle machine, more beside a VM run
setDefaultTimeout(120_000);

const DIST = join(import.meta.dir, "../../dist/rear");
let base: string;
let loop: string;
let img: string;

function rear(args: string[], env: Record<string, string> = {}) {
  return run([DIST, "-c", join(base, "etc"), ...args], { env: { REAR_VAR: join(base, "var"), ...env } });
}
/** sha256 of the first 4 MiB of the disk (the partition table and the start of the first partition) */
function head(): string {
  const fd = openSync(img, "r");
  const b = Buffer.alloc(4 << 20);
  readSync(fd, b, 0, b.length, 0);
  closeSync(fd);
  return createHash("sha256").update(b).digest("hex");
}
const label = (dev: string) => run(["blkid", "-p", "-o", "value", "-s", "LABEL", dev]).stdout.trim();
const fstype = (dev: string) => run(["blkid", "-p", "-o", "value", "-s", "TYPE", dev]).stdout.trim();

beforeAll(() => {
  base = mkdtempSync("/tmp/rear-test-format.");
  mkdirSync(join(base, "etc"));
  writeFileSync(join(base, "etc/local.conf"), "");
  img = join(base, "usb.img");
  must(["truncate", "-s", "3G", img]);
  loop = must(["losetup", "--find", "--show", "--partscan", img]).trim();
});

afterAll(() => {
  run(["umount", join(base, "mnt")]);
  run(["losetup", "-d", loop]);
  rmSync(base, { recursive: true, force: true });
});

describe("rear format refuses, and changes nothing", () => {
  test("a disk that is not removable, without --yes", () => {
    const before = head();
    const r = rear(["format", loop]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Refusing to format ${loop}: it is not a removable disk`);
    expect(head()).toBe(before);
  });
  test("--yes, but the confirmation is not 'Yes'; and no terminal to ask", () => {
    const before = head();
    const no = rear(["format", "--", "--yes", loop], { USER_INPUT_USB_DEVICE_CONFIRM_FORMAT: "yes" });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain(`${loop} was not formatted (the answer was not 'Yes')`);
    const none = rear(["format", "--", "--yes", loop]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("USER_INPUT_USB_DEVICE_CONFIRM_FORMAT");
    expect(head()).toBe(before);
  });
  test("an option ReaR's format does not have; no device; a file that is no device", () => {
    expect(rear(["format", "--", "--yess", loop]).code).toBe(1);
    expect(rear(["format"]).stderr).toContain("rear format needs the DEVICE to format");
    expect(rear(["format", img]).stderr).toContain(`${img} is neither a block device nor a tape`);
  });
});

describe("rear format formats", () => {
  test("--bios: msdos, one bootable ext4 partition labelled REAR-000, no periodic checks, ACLs", () => {
    const r = rear(["-v", "format", "--", "--bios", "--yes", loop], { USER_INPUT_USB_DEVICE_CONFIRM_FORMAT: "Yes" });
    if (r.code !== 0) throw new Error(`${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toContain(`rear format erases everything on ${loop}:`);
    const p = must(["parted", "-s", "-m", loop, "unit", "MiB", "print"]);
    expect(p).toMatch(/:msdos:/);
    expect(p).toMatch(/^1:8(\.00)?MiB:3072MiB:3064MiB:ext4::boot;$/m);
    expect(label(`${loop}p1`)).toBe("REAR-000");
    expect(fstype(`${loop}p1`)).toBe("ext4");
    const t = must(["tune2fs", "-l", `${loop}p1`]);
    expect(t).toMatch(/^Maximum mount count:\s+-1$/m);
    expect(t).toMatch(/^Check interval:\s+0/m);
    expect(t).toMatch(/^Default mount options:.*acl/m);
  });
  test("--efi over the previous format: GPT, REAR-EFI (FAT32, esp) then REAR-000 (legacy_boot); the disk given by its partition", () => {
    const r = rear(["-v", "format", "--", "--efi", "--yes", `${loop}p1`], { USER_INPUT_USB_DEVICE_CONFIRM_FORMAT: "Yes" });
    if (r.code !== 0) throw new Error(`${r.stdout}\n${r.stderr}`);
    expect(r.stdout).toContain(`${loop}p1: 3.0 GiB`);
    const p = must(["parted", "-s", "-m", loop, "unit", "MiB", "print"]);
    expect(p).toMatch(/:gpt:/);
    expect(p).toMatch(/^1:8(\.00)?MiB:1032MiB:1024MiB:fat32:REAR-EFI:boot, esp;$/m);
    expect(p).toMatch(/^2:1032MiB:3071MiB:2039MiB:ext4:REAR-000:legacy_boot;$/m);
    expect(label(`${loop}p1`)).toBe("REAR-EFI");
    expect(fstype(`${loop}p1`)).toBe("vfat");
    expect(label(`${loop}p2`)).toBe("REAR-000");
  });
  test("a mounted partition of it: refused, the disk as it was", () => {
    mkdirSync(join(base, "mnt"), { recursive: true });
    must(["mount", `${loop}p2`, join(base, "mnt")]);
    const before = head();
    const r = rear(["format", "--", "--yes", loop], { USER_INPUT_USB_DEVICE_CONFIRM_FORMAT: "Yes" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${loop} is in use: ${loop}p2 is mounted on ${join(base, "mnt")}`);
    must(["umount", join(base, "mnt")]);
    expect(head()).toBe(before);
  });
});
