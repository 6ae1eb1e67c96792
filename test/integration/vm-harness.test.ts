// The VM harness's driver against a real QEMU: a guest that never powers off is killed at its timeout
// and reported as such (no image needed: SeaBIOS with no bootable disk waits for ever).

import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runVm } from "../vm/lib/qemu.ts";

function qemuUsing(path: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(path)) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

test("a guest that hangs is killed at its timeout and reported", async () => {
  const dir = mkdtempSync("/tmp/rear-test-vm.");
  const serialLog = join(dir, "hang.serial.log");
  try {
    const r = await runVm({ name: "hang", firmware: "bios", disks: [], serialLog, timeoutSec: 4, accel: "tcg", memMiB: 128, markers: [{ text: "never printed", timeoutSec: 60 }] });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.durationMs).toBeGreaterThanOrEqual(4000);
    expect(r.durationMs).toBeLessThan(15000);
    expect(qemuUsing(serialLog)).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a marker that does not come in time ends the run early", async () => {
  const dir = mkdtempSync("/tmp/rear-test-vm.");
  const serialLog = join(dir, "late.serial.log");
  try {
    const r = await runVm({ name: "late", firmware: "bios", disks: [], serialLog, timeoutSec: 60, accel: "tcg", memMiB: 128, markers: [{ text: "never printed", timeoutSec: 3 }] });
    expect(r).toMatchObject({ timedOut: true, missedMarker: "never printed", exitCode: null });
    expect(r.durationMs).toBeLessThan(15000);
    expect(qemuUsing(serialLog)).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { backupJob, buildJob, verifyJob } from "../vm/lib/cycle.ts";
import { listScenarios, loadScenario } from "../vm/lib/scenario.ts";

test("the guest job scripts of every scenario are valid bash, with the intended text", () => {
  for (const n of listScenarios()) {
    const s = loadScenario(n);
    for (const job of [buildJob(s), backupJob(s, "rear27"), verifyJob()]) {
      const p = Bun.spawnSync(["bash", "-n"], { stdin: new TextEncoder().encode(job.script) });
      expect({ n, err: p.stderr.toString() }).toEqual({ n, err: "" });
    }
    // template literals drop unknown backslash escapes: make sure the regexes reach bash intact
    expect(buildJob(s).script).toContain("grep -Eqv '^[[:space:]]*(#|$)' /target/etc/crypttab");
    expect(buildJob(s).script).toContain("printf 'canary content\\n'");
  }
});

import { captureJob } from "../vm/lib/capture.ts";
import { listLayouts, loadLayout } from "../vm/lib/layouts.ts";

test("the guest job scripts and recipes of every layout are valid bash", () => {
  const parses = (text: string) => Bun.spawnSync(["bash", "-n"], { stdin: new TextEncoder().encode(text) }).stderr.toString();
  for (const withOurs of [true, false]) expect(parses(captureJob(withOurs).script)).toBe("");
  expect(captureJob(true).script).toContain("tr -d ' \\n'");
  for (const n of listLayouts()) {
    const l = loadLayout(n);
    const job = buildJob(l);
    for (const [name, text] of [["job.sh", job.script], ...Object.entries(job.files ?? {})] as const) {
      if (typeof text === "string") expect({ n, name, err: parses(text) }).toEqual({ n, name, err: "" });
    }
    expect(job.script.includes("./post-install.sh")).toBe(l.postInstall !== undefined);
  }
});

test("fstab: a btrfs subvolume gets subvol=, the other mounts are as before", () => {
  const script = buildJob(loadLayout("btrfs-subvols")).script;
  const fstab = script.slice(script.indexOf("{\n  echo \"# written"), script.indexOf("} > /target/etc/fstab") + 1);
  const fake = `findmnt() { printf '%s\\n' "/target /dev/vda2[/@] btrfs /@" "/target/home /dev/vda2[/@home] btrfs /@home" "/target/boot/efi /dev/vda1 vfat /" "/target/srv /dev/vdb1 ext4 /"; }
blkid() { if [ "$1" = -t ]; then echo /dev/vda3; else echo "U\${*: -1}"; fi; }
`;
  const p = Bun.spawnSync(["bash", "-euo", "pipefail"], { stdin: new TextEncoder().encode(fake + fstab) });
  expect(p.stdout.toString().split("\n").slice(1, 6)).toEqual([
    "UUID=U/dev/vda2 / btrfs subvol=/@ 0 1",
    "UUID=U/dev/vda2 /home btrfs subvol=/@home 0 2",
    "UUID=U/dev/vda1 /boot/efi vfat umask=0077 0 2",
    "UUID=U/dev/vdb1 /srv ext4 defaults 0 2",
    "UUID=U/dev/vda3 none swap sw 0 0",
  ]);
});

import { recreateJob } from "../vm/lib/recreate.ts";

test("the recreate job of every layout is valid bash, and its layout filter keeps only the source disks' lines", () => {
  const parses = (text: string) => Bun.spawnSync(["bash", "-n"], { stdin: new TextEncoder().encode(text) }).stderr.toString();
  for (const n of listLayouts()) {
    const job = recreateJob(loadLayout(n), { rear27: true, migrate: true });
    expect({ n, err: parses(job.script) }).toEqual({ n, err: "" });
    expect(job.script).toContain(`NSRC=${loadLayout(n).sourceDisks.length} `);
    const body = job.files?.["recreate.sh"];
    expect(typeof body === "string" && parses(body)).toBe("");
  }
  // as_on_source of recreate.sh: the lines of the other disks commented out, /target taken off the mountpoints
  const body = recreateJob(loadLayout("lvm-thin"), { rear27: false, migrate: false }).files!["recreate.sh"] as string;
  const fn = body.slice(body.indexOf("as_on_source() {"), body.indexOf("\n}\n", body.indexOf("as_on_source() {")) + 3);
  const dir = mkdtempSync("/tmp/rear-test-recreate.");
  const file = join(dir, "disklayout.conf");
  writeFileSync(file, "# a comment /dev/vdb\ndisk /dev/vda 100 gpt\ndisk /dev/vdb 100 gpt\npart /dev/vdb 10 1 p none /dev/vdb1\nlvmdev /dev/vg0 /dev/vdb1 U 9\nfs /dev/vdab / ext4 uuid=x\nfs /dev/vda2 /target ext4 uuid=y\nfs /dev/vda3 /target/home xfs uuid=z\nbtrfsmountedsubvol /dev/vda4 /target/var rw,subvol=/@var @var\n");
  const p = Bun.spawnSync(["bash", "-c", `${fn}\nOTHERS=$'/dev/vdb\\n/dev/vdc'\nas_on_source "$1" /target && cat "$1"`, "bash", file]);
  expect(p.stdout.toString().split("\n")).toEqual([
    "# a comment /dev/vdb",
    "disk /dev/vda 100 gpt",
    "#disk /dev/vdb 100 gpt",
    "#part /dev/vdb 10 1 p none /dev/vdb1",
    "#lvmdev /dev/vg0 /dev/vdb1 U 9",
    "fs /dev/vdab / ext4 uuid=x",
    "fs /dev/vda2 / ext4 uuid=y",
    "fs /dev/vda3 /home xfs uuid=z",
    "btrfsmountedsubvol /dev/vda4 /var rw,subvol=/@var @var",
    "",
  ]);
  rmSync(dir, { recursive: true });
});
