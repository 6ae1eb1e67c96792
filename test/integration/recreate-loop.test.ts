// Layout recreation for real, as root, on loop disks: a GPT "machine" (ESP, ext4 root, xfs, swap, btrfs
// with a mounted subvolume) is saved with `rear savelayout`, its disk is detached (as a dead disk), and
// `rear -p -n layoutonly` recreates the layout on blank loop disks of the same size, 30% bigger, 1% and
// 10% smaller (the last file system's data still fits), and refuses one too small for the data. Each result is saved again and compared with the original (modulo the disk name and the
// resized last partition). Then: an apply killed at a random step and run again gives the same end
// state; the rendered diskrestore.sh run by bash gives the same result as the plan; and an answer
// "Abort" at the confirmation leaves the disk untouched. ReaR never looks at loop devices;
// REAR_LAYOUT_INCLUDE_LOOP=1 makes ours treat them as disks. Everything mounted or attached is released.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readDisklayout } from "../../src/layout/disklayout/read.ts";
import { entryLine } from "../../src/layout/disklayout/write.ts";
import { activeEntries, type Entry } from "../../src/layout/model.ts";
import { must, run } from "./sys.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;
let base = "";
const loops = new Set<string>();
let original: Entry[] = [];
let srcDisk = "";

function attach(file: string, bytes: number): string {
  must(["truncate", "-s", String(bytes), file]);
  const dev = must(["losetup", "-f", "--show", "-P", file]).trim();
  loops.add(dev);
  return dev;
}
function detach(dev: string): void {
  run(["losetup", "-d", dev]);
  loops.delete(dev);
}
const conf = () => join(base, "conf");
const env = (varDir: string) => ({ REAR_VAR: varDir, TMPDIR: base, REAR_LAYOUT_INCLUDE_LOOP: "1" });
const rear = (varDir: string, args: string[], extra: Record<string, string> = {}) => run([DIST, "-c", conf(), ...args], { env: { ...env(varDir), ...extra } });
const target = () => join(base, "target");

/** The saved layout of a disk with mountpoints below `root` seen as the machine's own, only that disk's lines. */
function savedLayout(varDir: string, disk: string, root: string): Entry[] {
  const r = rear(varDir, ["savelayout"]);
  if (r.code !== 0) throw new Error(`savelayout failed: ${r.stderr}`);
  const doc = readDisklayout(readFileSync(join(varDir, "lib/rear/layout/disklayout.conf"), "utf8")).doc;
  const strip = (mp: string) => (mp === root ? "/" : mp.startsWith(`${root}/`) ? mp.slice(root.length) : mp);
  return activeEntries(doc)
    .filter((e) => JSON.stringify(e).includes(`"${disk}`))
    .map((e) => ("mountpoint" in e ? ({ ...e, mountpoint: strip(e.mountpoint) } as Entry) : e));
}

/** Lines with the disk renamed back to the source's name and without what differs by design. */
function normalized(entries: Entry[], disk: string, opts: { ignoreLastPartSize?: boolean } = {}): string[] {
  const last = entries.filter((e) => e.kw === "part").sort((a, b) => (a as { startBytes: number }).startBytes - (b as { startBytes: number }).startBytes).pop();
  return entries
    .map((e) => {
      let x = e;
      if (x.kw === "disk") x = { ...x, sizeBytes: 0 };
      if (opts.ignoreLastPartSize && x.kw === "part" && last && x.device === (last as { device: string }).device) x = { ...x, sizeBytes: 0 };
      // ext's reserved block percentage is saved rounded down and recreated from that: it may lose a point
      if (x.kw === "fs" && x.opts.reserved_blocks) x = { ...x, opts: { ...x.opts, reserved_blocks: "" } };
      return entryLine(x).replaceAll(disk, "DISK");
    })
    .sort();
}

function unmountTarget(): void {
  run(["umount", "-R", target()]);
}

beforeAll(() => {
  if (!isRoot) return;
  base = mkdtempSync("/var/tmp/rear-it-recreate.");
  chmodSync(base, 0o755);
  mkdirSync(join(conf(), "mappings"), { recursive: true, mode: 0o755 });
  writeFileSync(join(conf(), "local.conf"), `BOOTLOADER=GRUB2\nTARGET_FS_ROOT=${target()}\n`, { mode: 0o644 });
  srcDisk = attach(join(base, "src.img"), 700 * MiB);
  must(["sfdisk", "-q", srcDisk], "label: gpt\nsize=32MiB, type=U, name=ESP\nsize=96MiB, type=L, name=root\nsize=300MiB, type=L, name=data\nsize=64MiB, type=S\ntype=L, name=bt\n");
  run(["partx", "-u", srcDisk]);
  must(["mkfs.vfat", "-n", "ESP", `${srcDisk}p1`]);
  must(["mkfs.ext4", "-q", "-F", "-L", "root", `${srcDisk}p2`]);
  must(["mkfs.xfs", "-q", "-f", "-L", "data", `${srcDisk}p3`]);
  must(["mkswap", "-q", "-L", "swp", `${srcDisk}p4`]);
  must(["mkfs.btrfs", "-q", "-f", "-L", "bt", `${srcDisk}p5`]);
  const m = join(base, "m");
  mkdirSync(m);
  must(["mount", `${srcDisk}p2`, m]);
  try {
    mkdirSync(join(m, "data"));
    mkdirSync(join(m, "bt"));
    must(["mount", `${srcDisk}p3`, join(m, "data")]);
    must(["mount", `${srcDisk}p5`, join(m, "bt")]);
    must(["btrfs", "subvolume", "create", join(m, "bt/@home")]);
    mkdirSync(join(m, "home"));
    must(["mount", "-o", "subvol=@home", `${srcDisk}p5`, join(m, "home")]);
    must(["swapon", `${srcDisk}p4`]);
    try {
      const v = join(base, "var");
      original = savedLayout(v, srcDisk, m);
      // the saved layout as it would be on the machine itself: its mountpoints at /, only this disk
      const f = join(v, "lib/rear/layout/disklayout.conf");
      const text = readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("#") || !l.trim() || l.includes(srcDisk))
        .map((l) => l.replaceAll(` ${m}/`, " /").replaceAll(` ${m} `, " / "))
        .join("\n");
      writeFileSync(f, text, { mode: 0o600 });
    } finally {
      run(["swapoff", `${srcDisk}p4`]);
    }
  } finally {
    run(["umount", "-R", m]);
  }
  // the old disk is gone, as on a machine whose disk died
  detach(srcDisk);
});

afterAll(() => {
  if (!isRoot) return;
  unmountTarget();
  for (const l of [...loops]) detach(l);
  // REAR_TEST_KEEP=1 keeps the logs and var dirs for a look
  if (base && process.env.REAR_TEST_KEEP !== "1") rmSync(base, { recursive: true, force: true });
});

/** A fresh var dir with the saved layout (recover works on a copy in the rescue system). */
function freshVar(name: string): string {
  const v = join(base, `var-${name}`);
  rmSync(v, { recursive: true, force: true });
  must(["cp", "-a", join(base, "var"), v]);
  return v;
}

function recreateOnto(name: string, bytes: number, extra: Record<string, string> = {}): { disk: string; varDir: string; out: string } {
  const disk = attach(join(base, `${name}.img`), bytes);
  writeFileSync(join(conf(), "mappings/disk_mappings"), `${srcDisk} ${disk}\n`);
  const varDir = freshVar(name);
  const r = rear(varDir, ["-p", "-n", "-v", "layoutonly"], extra);
  if (r.code !== 0) throw new Error(`layoutonly onto ${name} failed (${r.code}): ${r.stdout}${r.stderr}`);
  return { disk, varDir, out: r.stdout + r.stderr };
}

function checkAndRelease(name: string, disk: string, opts: { ignoreLastPartSize?: boolean } = {}): Entry[] {
  // the layout only has active swap: switch the recreated one on while it is saved
  const swaps = original.flatMap((e) => (e.kw === "swap" ? [e.device.replace(srcDisk, disk)] : []));
  try {
    for (const sw of swaps) must(["swapon", sw]);
    const now = savedLayout(join(base, `var-${name}-check`), disk, target());
    expect(normalized(now, disk, opts)).toEqual(normalized(original, srcDisk, opts));
    return now;
  } finally {
    for (const sw of swaps) run(["swapoff", sw]);
    unmountTarget();
    detach(disk);
  }
}

describe.skipIf(!isRoot)("layoutonly on loop disks (root)", () => {
  test("the saved machine has the components we recreate", () => {
    const kinds = new Set(original.map((e) => (e.kw === "fs" ? `fs:${e.fstype}` : e.kw)));
    for (const k of ["disk", "part", "fs:ext4", "fs:xfs", "fs:btrfs", "swap", "btrfsmountedsubvol"]) expect(kinds.has(k)).toBe(true);
  });

  test("onto a blank disk of the same size: the same layout, same UUIDs and labels", () => {
    const { disk, out } = recreateOnto("same", 700 * MiB);
    checkAndRelease("same", disk);
    expect(out).toContain("Disk layout created");
    expect(out).toContain("The recreated layout is the planned one");
  });

  test("mountonly mounts a recreated machine again, in order, and a second run changes nothing", () => {
    const { disk, varDir } = recreateOnto("mount", 700 * MiB);
    unmountTarget();
    const first = rear(varDir, ["-p", "-n", "mountonly"]);
    const second = rear(varDir, ["-p", "-n", "mountonly"]);
    const mounted = run(["findmnt", "-R", "-n", "-l", "-o", "TARGET", target()]).stdout.trim().split("\n");
    checkAndRelease("mount", disk);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("0 steps run");
    expect(mounted).toEqual([target(), join(target(), "data"), join(target(), "bt"), join(target(), "home")]);
  });

  test("onto a 30% bigger disk: the last partition grows to the end", () => {
    const { disk } = recreateOnto("bigger", 910 * MiB);
    const now = checkAndRelease("bigger", disk, { ignoreLastPartSize: true });
    const last = now.filter((e) => e.kw === "part").pop() as { startBytes: number; sizeBytes: number };
    expect(last.startBytes + last.sizeBytes).toBeGreaterThan(900 * MiB);
  });

  test("onto a 1% smaller disk: the last partition shrinks to fit", () => {
    const { disk, out } = recreateOnto("smaller", 693 * MiB);
    checkAndRelease("smaller", disk, { ignoreLastPartSize: true });
    expect(out).toMatch(/Resizing .*p5/);
  });

  test("onto a 10% smaller disk: beyond ReaR's 2% limit, but the data on the last partition fits, so it shrinks", () => {
    const { disk, out } = recreateOnto("smaller10", 630 * MiB);
    checkAndRelease("smaller10", disk, { ignoreLastPartSize: true });
    expect(out).toMatch(/more than AUTOSHRINK_DISK_SIZE_LIMIT_PERCENTAGE=2, but the \d+ MiB in use on \S+p5 \(\S*bt\) fit in \d+ MiB: it shrinks/);
    expect(out).toMatch(/Resizing .*p5/);
  });

  test("onto a disk too small for the data: refused before anything is written, with the size of disk needed", () => {
    const disk = attach(join(base, "small.img"), 560 * MiB);
    try {
      writeFileSync(join(conf(), "mappings/disk_mappings"), `${srcDisk} ${disk}\n`);
      const r = rear(freshVar("small"), ["-p", "-n", "layoutonly"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is too small for the data: \S+p5 \(\S*bt\) holds \d+ MiB and needs at least \d+ MiB, it would get \d+ MiB; the disk needs at least \d+ MiB/);
      expect(run(["blkid", "-p", disk]).code).toBe(2); // no signature at all: nothing was written
    } finally {
      detach(disk);
    }
  });

  test("killed at a random step and run again: the same end state", async () => {
    const disk = attach(join(base, "killed.img"), 700 * MiB);
    writeFileSync(join(conf(), "mappings/disk_mappings"), `${srcDisk} ${disk}\n`);
    const varDir = freshVar("killed");
    const doneDir = join(varDir, "lib/rear/layout/recreate/done");
    const stopAt = 3 + Math.floor(Math.random() * 14);
    const p = Bun.spawn([DIST, "-c", conf(), "-p", "-n", "layoutonly"], { env: { ...process.env, ...env(varDir) }, stdout: "ignore", stderr: "ignore" });
    let killed = false;
    for (let i = 0; i < 600 && p.exitCode === null; i++) {
      if (existsSync(doneDir) && readdirSync(doneDir).length >= stopAt) {
        p.kill("SIGKILL");
        killed = true;
        break;
      }
      await Bun.sleep(5);
    }
    await p.exited;
    // the run must have been stopped in the middle, or this tests nothing
    expect(killed).toBe(true);
    expect(p.signalCode).toBe("SIGKILL");
    // commands the killed run had started finish on their own
    for (let i = 0; i < 100 && run(["pgrep", "-f", disk]).code === 0; i++) await Bun.sleep(100);
    const done = existsSync(doneDir) ? readdirSync(doneDir).length : 0;
    const r = rear(varDir, ["-p", "-n", "layoutonly"]);
    expect(r.code).toBe(0);
    expect(done).toBeGreaterThanOrEqual(stopAt);
    expect(r.stdout + r.stderr).toContain("Resuming the plan");
    checkAndRelease("killed", disk);
  });

  test("diskrestore.sh run by bash gives the same layout as the plan; 'Abort' at the confirmation touches nothing", () => {
    const disk = attach(join(base, "script.img"), 700 * MiB);
    writeFileSync(join(conf(), "mappings/disk_mappings"), `${srcDisk} ${disk}\n`);
    const varDir = freshVar("script");
    const r = rear(varDir, ["-p", "-n", "layoutonly"], { USER_INPUT_WIPE_DISKS_CONFIRMATION: "Abort" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("nothing was changed");
    expect(run(["blkid", "-p", disk]).code).toBe(2); // no signature at all
    const script = join(varDir, "lib/rear/layout/diskrestore.sh");
    const s = run(["bash", script], { env: { PATH: process.env.PATH ?? "" } });
    expect(s.code).toBe(0);
    expect(s.stdout).toContain("Disk layout created.");
    // a second run does nothing: every step is done (only the marker-less preparing steps run)
    const again = run(["bash", script]);
    expect(again.stdout).not.toContain("Running:");
    checkAndRelease("script", disk);
  });
});
