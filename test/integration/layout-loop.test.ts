// savelayout, checklayout and showlayout for real, as root, on a "machine" made of two loop disks:
// GPT (ESP vfat, ext4, xfs — at least 300 MB —, swap) and MBR (primary ext4, extended with a logical btrfs). ReaR never
// looks at loop devices; REAR_LAYOUT_INCLUDE_LOOP=1 makes ours treat them as disks. Everything mounted
// or attached here is released afterwards.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readDisklayout } from "../../src/layout/disklayout/read.ts";
import { activeEntries } from "../../src/layout/model.ts";
import { must, run } from "./sys.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
const isRoot = process.getuid?.() === 0;
let base = "";
const loops: string[] = [];
const mounts: string[] = [];

function attach(file: string, mib: number): string {
  must(["truncate", "-s", `${mib}M`, file]);
  const dev = must(["losetup", "-f", "--show", "-P", file]).trim();
  loops.push(dev);
  return dev;
}
function mount(dev: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  must(["mount", dev, dir]);
  mounts.push(dir);
}

const rearEnv = () => ({ REAR_VAR: join(base, "var"), TMPDIR: base, REAR_LAYOUT_INCLUDE_LOOP: "1" });
const rear = (args: string[]) => run([DIST, "-c", join(base, "conf"), ...args], { env: rearEnv() });

let gpt = "";
let swapOn = false;
let mbr = "";

beforeAll(() => {
  if (!isRoot) return;
  base = mkdtempSync("/var/tmp/rear-it-layout.");
  chmodSync(base, 0o755);
  mkdirSync(join(base, "conf"), { mode: 0o755 });
  // not below /tmp or /mnt (AUTOEXCLUDE_PATH); the host's own disk cannot be read in every sandbox
  writeFileSync(join(base, "conf/local.conf"), "BOOTLOADER=GRUB2\n", { mode: 0o644 });
  gpt = attach(join(base, "gpt.img"), 800);
  must(["sfdisk", "-q", gpt], "label: gpt\nsize=64MiB, type=U, name=ESP\nsize=96MiB, type=L, name=root\nsize=320MiB, type=L\ntype=S\n");
  mbr = attach(join(base, "mbr.img"), 400);
  must(["sfdisk", "-q", mbr], "label: dos\nsize=64MiB, type=L, bootable\ntype=E\nsize=200MiB, type=L\n");
  for (const d of [gpt, mbr]) run(["partx", "-a", d]);
  must(["mkfs.vfat", "-n", "ESP", `${gpt}p1`]);
  must(["mkfs.ext4", "-q", "-F", "-L", "root fs", `${gpt}p2`]);
  must(["mkfs.xfs", "-q", "-f", "-L", "data", `${gpt}p3`]);
  must(["mkswap", "-q", "-L", "swp", `${gpt}p4`]);
  must(["mkfs.ext4", "-q", "-F", `${mbr}p1`]);
  must(["mkfs.btrfs", "-q", "-f", "-L", "bt", `${mbr}p5`]);
  const m = join(base, "m");
  mount(`${gpt}p2`, m);
  // this host's kernel cannot mount vfat: the ESP stays unmounted here (the VM fixtures cover vfat)
  mount(`${gpt}p3`, join(m, "data"));
  mount(`${mbr}p1`, join(m, "boot"));
  mount(`${mbr}p5`, join(m, "bt"));
  must(["btrfs", "subvolume", "create", join(m, "bt/@home")]);
  must(["swapon", `${gpt}p4`]);
  swapOn = true;
});

afterAll(() => {
  if (!isRoot) return;
  if (swapOn) run(["swapoff", `${gpt}p4`]);
  for (const d of mounts.reverse()) run(["umount", "-l", d]);
  for (const l of loops) run(["losetup", "-d", l]);
  if (base) rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!isRoot)("layout on loop devices", () => {
  test("savelayout writes ReaR's files", () => {
    expect(existsSync(DIST)).toBe(true);
    const r = rear(["savelayout"]);
    expect(r.stderr).not.toContain("ERROR");
    expect(r.code).toBe(0);
    const f = join(base, "var/lib/rear/layout/disklayout.conf");
    expect(statSync(f).mode & 0o777).toBe(0o600);
    const text = readFileSync(f, "utf8");
    const es = activeEntries(readDisklayout(text, f).doc);
    const line = (kw: string, dev: string) => es.find((e) => e.kw === kw && "device" in e && e.device === dev);
    expect(line("disk", gpt)).toMatchObject({ label: "gpt", sizeBytes: 800 * 1048576 });
    expect(line("part", `${gpt}p1`)).toMatchObject({ name: "ESP", flags: ["boot", "esp"], startBytes: 1048576, sizeBytes: 64 * 1048576 });
    expect(line("part", `${mbr}p1`)).toMatchObject({ name: "primary", flags: ["boot"] });
    expect(line("part", `${mbr}p2`)).toMatchObject({ name: "extended" });
    expect(line("part", `${mbr}p5`)).toMatchObject({ name: "logical", sizeBytes: 200 * 1048576 });
    const fs = (mp: string) => es.find((e) => e.kw === "fs" && e.mountpoint === join(base, "m", mp).replace(/\/$/, ""));
    expect(fs("")).toMatchObject({ fstype: "ext4", opts: { label: "root\\bfs", blocksize: expect.any(String) } });
    expect(fs("data")).toMatchObject({ fstype: "xfs", opts: { label: "data" } });
    expect(fs("bt")).toMatchObject({ fstype: "btrfs", opts: { label: "bt" } });
    expect(text).toContain(`btrfsnormalsubvol ${mbr}p5 ${join(base, "m/bt")} 256 @home`);
    expect(es.find((e) => e.kw === "swap")).toMatchObject({ device: `${gpt}p4`, opts: { label: "swp" } });
    const v = join(base, "var/lib/rear");
    expect(readFileSync(join(v, "recovery/bootloader"), "utf8")).toBe("GRUB2\n");
    expect(readFileSync(join(v, "recovery/mountpoint_device"), "utf8")).toContain(`${join(base, "m")} ${gpt}p2\n`);
    expect(readFileSync(join(v, "layout/diskdeps.conf"), "utf8")).toContain(`${gpt}p1 ${gpt}\n`);
    expect(existsSync(join(v, `layout/xfs/${gpt.slice(5)}p3.xfs`))).toBe(true);
    expect(JSON.parse(readFileSync(join(v, "layout/layout.json"), "utf8"))).toMatchObject({ format: "rear-layout/1" });
  });

  test("checklayout: unchanged → 0; a filesystem unmounted → 1 with the difference", () => {
    expect(rear(["checklayout"]).code).toBe(0);
    const dir = join(base, "m/data");
    must(["umount", dir]);
    try {
      const r = rear(["-v", "checklayout"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("Disk layout has changed");
      expect(r.stdout).toContain(`- fs ${gpt}p3 ${dir} xfs`);
      const j = rear(["checklayout", "--json"]);
      expect(j.code).toBe(1);
      expect(JSON.parse(j.stdout.slice(j.stdout.indexOf("{")))).toMatchObject({ changed: true, layout: { same: false } });
    } finally {
      must(["mount", `${gpt}p3`, dir]);
    }
    expect(rear(["checklayout"]).code).toBe(0);
  });

  test("showlayout prints the tree; --format disklayout gives the file back", () => {
    const f = join(base, "var/lib/rear/layout/disklayout.conf");
    const t = run([DIST, "showlayout", f]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`disk ${gpt}  800 MiB  gpt`);
    expect(t.stdout).toContain("└─ swap  label swp");
    expect(run([DIST, "showlayout", "--format", "disklayout", f]).stdout).toBe(readFileSync(f, "utf8"));
    writeFileSync(join(base, "bad.conf"), "disk /dev/sda 1 msdos\npart /dev/sda x 1 primary none /dev/sda1\n");
    const bad = run([DIST, "showlayout", join(base, "bad.conf")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${join(base, "bad.conf")}:2: partition size must be a whole number`);
  });
});
