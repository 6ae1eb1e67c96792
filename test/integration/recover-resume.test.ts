// recover run again (issue 15), for real, as root, on a loop disk: a two-filesystem machine is saved,
// its disk wiped, and `rear -p -n recover` with BACKUP=EXTERNAL (a restore command that fails until the
// test lets it finish) recreates it. The restored tree has no boot loader, so finalize always stops
// with "NO BOOT LOADER" — the point where a recover run again must continue:
//   1. the restore fails → run again: "did not finish: restoring again", into the same filesystems;
//   2. finalize fails → run again: "resuming after the restore", the restore is not run again;
//   3. the rescue system's memory lost (a power cut: the record and the plan in /var/lib/rear gone, the
//      filesystems unmounted) → run again: the record on the recreated root is found, the layout is
//      kept (a file written after the restore is still there), the restore is not run again;
//   4. `--restart` → the layout is made anew and the restore runs again;
//   5. finalizeonly on what recover left mounted; with nothing mounted, a clear error.
// Everything mounted or attached is released.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { must, run } from "./sys.ts";

const DIST = join(import.meta.dir, "../../dist/rear");
const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;
let base = "";
let disk = "";

const conf = () => join(base, "conf");
const varDir = () => join(base, "var");
const target = () => join(base, "target");
const runs = () => join(base, "restore-runs");
const rear = (args: string[]) => run([DIST, "-c", conf(), ...args], { env: { REAR_VAR: varDir(), TMPDIR: base, REAR_LAYOUT_INCLUDE_LOOP: "1" } });
const restoreCount = () => (existsSync(runs()) ? readFileSync(runs(), "utf8").split("\n").filter(Boolean).length : 0);

function unmountAll(): void {
  // finalize's bind mounts are lazy-unmounted by its exit task; whatever is left goes here
  run(["umount", "-R", "--lazy", target()]);
}

/** What a reboot of the rescue system loses: everything recover wrote into its /var/lib/rear; the mounts. */
function powerCut(): void {
  unmountAll();
  const lib = join(varDir(), "lib/rear");
  for (const p of ["recover", "finalize", "restore", "layout/plan.json", "layout/diskrestore.sh", "layout/recreate"]) rmSync(join(lib, p), { recursive: true, force: true });
}

beforeAll(() => {
  if (!isRoot) return;
  base = mkdtempSync("/var/tmp/rear-it-resume.");
  chmodSync(base, 0o755);
  mkdirSync(conf(), { recursive: true, mode: 0o755 });
  must(["truncate", "-s", String(256 * MiB), join(base, "disk.img")]);
  disk = must(["losetup", "-f", "--show", "-P", join(base, "disk.img")]).trim();
  must(["sfdisk", "-q", disk], "label: dos\nsize=128MiB, type=83, bootable\ntype=83\n");
  run(["partx", "-u", disk]);
  must(["mkfs.ext4", "-q", "-F", "-L", "root", `${disk}p1`]);
  must(["mkfs.ext4", "-q", "-F", "-L", "data", `${disk}p2`]);
  // the tree the restore brings back: fstab by UUID, as a real system's
  const src = join(base, "src");
  mkdirSync(join(src, "etc"), { recursive: true });
  mkdirSync(join(src, "data"), { recursive: true });
  const uuid = (d: string) => must(["blkid", "-s", "UUID", "-o", "value", d]).trim();
  writeFileSync(join(src, "etc/fstab"), `UUID=${uuid(`${disk}p1`)} / ext4 defaults 0 1\nUUID=${uuid(`${disk}p2`)} /data ext4 defaults 0 2\n`);
  writeFileSync(join(src, "data/payload"), "restored data\n");
  // save the layout with the filesystems mounted where the machine has them
  mkdirSync(target());
  must(["mount", `${disk}p1`, target()]);
  mkdirSync(join(target(), "data"));
  must(["mount", `${disk}p2`, join(target(), "data")]);
  writeFileSync(
    join(conf(), "local.conf"),
    [
      `TARGET_FS_ROOT=${target()}`,
      "BOOTLOADER=GRUB2",
      "USING_UEFI_BOOTLOADER=no",
      "BACKUP=EXTERNAL",
      // fails until the test lets it finish; counts its runs
      `EXTERNAL_RESTORE='echo run >> ${runs()}; cp -a ${src}/. "$TARGET_FS_ROOT"/ && test -e ${base}/restore-may-finish'`,
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  try {
    const r = rear(["savelayout"]);
    if (r.code !== 0) throw new Error(`savelayout failed: ${r.stderr}`);
  } finally {
    unmountAll();
  }
  const f = join(varDir(), "lib/rear/layout/disklayout.conf");
  const text = readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("#") || !l.trim() || l.includes(disk))
    .map((l) => l.replaceAll(` ${target()}/`, " /").replaceAll(` ${target()} `, " / "))
    .join("\n");
  writeFileSync(f, text, { mode: 0o600 });
  // the disk dies: blank
  must(["wipefs", "-a", `${disk}p1`]);
  must(["wipefs", "-a", `${disk}p2`]);
  must(["wipefs", "-a", disk]);
  must(["dd", "if=/dev/zero", `of=${disk}`, "bs=1M", "count=4", "conv=fsync", "status=none"]);
  run(["partx", "-d", disk]);
});

afterAll(() => {
  if (!isRoot) return;
  unmountAll();
  if (disk) run(["losetup", "-d", disk]);
  if (base && process.env.REAR_TEST_KEEP !== "1") rmSync(base, { recursive: true, force: true });
});

describe.skipIf(!isRoot)("recover run again (loop disk, root)", () => {
  test("the saved layout has both filesystems", () => {
    const l = readFileSync(join(varDir(), "lib/rear/layout/disklayout.conf"), "utf8");
    expect(l).toMatch(/^fs \S+p1 \/ ext4 /m);
    expect(l).toMatch(/^fs \S+p2 \/data ext4 /m);
  });

  test("a restore that failed is done again into the same filesystems", () => {
    const first = rear(["-p", "-n", "-v", "recover"]);
    expect(first.code).not.toBe(0);
    expect(first.stderr + first.stdout).toContain("EXTERNAL_RESTORE failed");
    expect(restoreCount()).toBe(1);
    writeFileSync(join(target(), "data/written-between-runs"), "x");
    writeFileSync(join(base, "restore-may-finish"), "");
    const second = rear(["-p", "-n", "-v", "recover"]);
    const out = second.stdout + second.stderr;
    expect(out).toContain("did not finish: restoring again into the same filesystems");
    expect(out).toMatch(/Resuming the plan of .*: \d+ of \d+ steps are done/);
    expect(restoreCount()).toBe(2);
    // the filesystems were not made again
    expect(existsSync(join(target(), "data/written-between-runs"))).toBe(true);
    expect(readFileSync(join(target(), "data/payload"), "utf8")).toBe("restored data\n");
    // the restored tree has no boot loader: recover stops in finalize, loudly
    expect(second.code).not.toBe(0);
    expect(out).toContain("NO BOOT LOADER WAS INSTALLED");
    expect(existsSync(join(target(), ".rear-recover-state.json"))).toBe(true);
  });

  test("after a failure in finalize: resuming after the restore, which is not run again", () => {
    const r = rear(["-p", "-n", "-v", "recover"]);
    const out = r.stdout + r.stderr;
    expect(out).toContain("resuming after the restore");
    expect(out).toContain("not restoring it again");
    expect(restoreCount()).toBe(2);
    expect(out).toContain("NO BOOT LOADER WAS INSTALLED");
  });

  test("after a power cut: the record on the recreated root is found, the layout kept, the restore not run again", () => {
    powerCut();
    expect(run(["findmnt", target()]).code).not.toBe(0);
    const r = rear(["-p", "-n", "-v", "recover"]);
    const out = r.stdout + r.stderr;
    expect(out).toContain("These disks hold the recover that began");
    expect(out).toContain("resuming after the restore");
    expect(out).toContain("not restoring it again");
    expect(restoreCount()).toBe(2);
    expect(existsSync(join(target(), "data/written-between-runs"))).toBe(true);
    expect(out).toContain("NO BOOT LOADER WAS INSTALLED");
  });

  test("--restart makes the layout anew and restores again", () => {
    unmountAll();
    const r = rear(["-p", "-n", "-v", "recover", "--restart"]);
    const out = r.stdout + r.stderr;
    expect(out).not.toContain("resuming after");
    expect(restoreCount()).toBe(3);
    expect(existsSync(join(target(), "data/written-between-runs"))).toBe(false);
    expect(readFileSync(join(target(), "data/payload"), "utf8")).toBe("restored data\n");
    expect(out).toContain("NO BOOT LOADER WAS INSTALLED");
  });

  test("finalizeonly finalizes the mounted restored system with the plan's mapping; with nothing mounted it says what to do", () => {
    const r = rear(["-p", "-n", "-v", "finalizeonly"]);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/The disk mapping of .*plan\.json: every disk as it was/);
    expect(out).toContain("Finalizing the recovered system (BIOS, boot loader GRUB2)");
    expect(out).toContain("NO BOOT LOADER WAS INSTALLED");
    expect(r.code).toBe(2);
    expect(restoreCount()).toBe(3);
    unmountAll();
    const none = rear(["-p", "-n", "finalizeonly"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`Nothing is mounted at ${target()}: finalizeonly works on a restored system mounted there`);
  });

  test("a blank disk with no record: nothing is taken for an interrupted recover", () => {
    unmountAll();
    powerCut();
    must(["wipefs", "-a", `${disk}p1`]);
    must(["wipefs", "-a", `${disk}p2`]);
    const r = rear(["-p", "-n", "-v", "recover"]);
    const out = r.stdout + r.stderr;
    expect(out).not.toContain("resuming after");
    expect(out).not.toContain("These disks hold");
    expect(restoreCount()).toBe(4);
  });
});
