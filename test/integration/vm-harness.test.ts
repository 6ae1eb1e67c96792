// The VM harness's driver against a real QEMU: a guest that never powers off is killed at its timeout
// and reported as such (no image needed: SeaBIOS with no bootable disk waits for ever).

import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
  const r = await runVm({ name: "hang", firmware: "bios", disks: [], serialLog, timeoutSec: 4, accel: "tcg", memMiB: 128, markers: [{ text: "never printed", timeoutSec: 60 }] });
  expect(r.timedOut).toBe(true);
  expect(r.exitCode).toBeNull();
  expect(r.durationMs).toBeGreaterThanOrEqual(4000);
  expect(r.durationMs).toBeLessThan(15000);
  expect(qemuUsing(serialLog)).toEqual([]);
  rmSync(dir, { recursive: true });
});

test("a marker that does not come in time ends the run early", async () => {
  const dir = mkdtempSync("/tmp/rear-test-vm.");
  const serialLog = join(dir, "late.serial.log");
  const r = await runVm({ name: "late", firmware: "bios", disks: [], serialLog, timeoutSec: 60, accel: "tcg", memMiB: 128, markers: [{ text: "never printed", timeoutSec: 3 }] });
  expect(r).toMatchObject({ timedOut: true, missedMarker: "never printed", exitCode: null });
  expect(r.durationMs).toBeLessThan(15000);
  expect(qemuUsing(serialLog)).toEqual([]);
  rmSync(dir, { recursive: true });
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
