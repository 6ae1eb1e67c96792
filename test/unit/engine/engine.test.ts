import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ExitTasks } from "../../../src/engine/exit-tasks.ts";
import { acquireLock } from "../../../src/engine/lock.ts";
import { Logger, logTimestamp } from "../../../src/engine/log.ts";
import { entryId, mergeStage, parseHookName, type Module } from "../../../src/engine/module.ts";
import { findWorkflow, placementError, WORKFLOWS } from "../../../src/engine/workflows.ts";
import { MODULES } from "../../../src/stages/index.ts";
import { missingPrograms } from "../../../src/stages/init/950-check-missing-programs.ts";
import { nfsMountpoints } from "../../../src/stages/init/100-check-stale-nfs-mounts.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "rear-test-engine."));
const mod = (order: number, name: string): Module => ({ stage: "prep", order, name, run() {} });

describe("module order (ReaR's SourceStage)", () => {
  test("by number, then by name; hooks interleave", () => {
    const entries = mergeStage([mod(300, "b"), mod(100, "z"), mod(300, "a")], [{ stage: "prep", order: 200, name: "mine", path: "/etc/rear/stages/prep/200_mine.sh" }, { stage: "prep", order: 300, name: "a", path: "/h/300_a.sh" }]);
    expect(entries.map(entryId)).toEqual(["prep/100_z", "/etc/rear/stages/prep/200_mine.sh", "prep/300_a", "/h/300_a.sh", "prep/300_b"]);
  });
  test("hook names", () => {
    expect(parseHookName("150_fix_things.sh")).toEqual({ order: 150, name: "fix_things" });
    expect(parseHookName("fix.sh")).toBeUndefined();
    expect(parseHookName("15_fix.sh")).toBeUndefined();
  });
  test("built-in module ids are unique", () => {
    // as ReaR's script names: one number may serve several methods (backup/NETFS/500, backup/EXTERNAL/500)
    const ids = MODULES.map((m) => `${m.stage}/${m.order}_${m.name}`);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("workflows (ReaR's lib/*-workflow.sh)", () => {
  const stagesOf = (n: string, s = {}) => findWorkflow(n)!.stages!(s);
  test("stage lists", () => {
    expect(stagesOf("mkrescue")).toEqual(["prep", "layout/save", "rescue", "build", "pack", "output"]);
    expect(stagesOf("mkbackup")).toEqual(["prep", "layout/save", "rescue", "build", "pack", "output", "backup"]);
    expect(stagesOf("recover")).toEqual(["setup", "verify", "layout/prepare", "layout/recreate", "restore", "finalize", "wrapup"]);
    expect(stagesOf("checklayout")).toEqual(["layout/precompare", "prep", "layout/save", "layout/compare"]);
  });
  test("mkbackup with BACKUP_URL=iso:// backs up before the ISO is made", () => {
    expect(stagesOf("mkbackup", { BACKUP_URL: "iso:///backup", OUTPUT: "ISO" })).toEqual(["prep", "layout/save", "rescue", "build", "pack", "backup", "output"]);
  });
  test("every workflow ReaR has is known", () => {
    const names = WORKFLOWS.map((w) => w.name);
    for (const n of ["mkrescue", "mkbackup", "mkbackuponly", "recover", "restoreonly", "layoutonly", "mountonly", "checklayout", "savelayout", "dump", "format", "udev", "validate", "shell", "help", "finalizeonly", "mkopalpba", "opaladmin", "mkboot"]) {
      expect(names).toContain(n);
    }
  });
  test("placement", () => {
    expect(placementError(findWorkflow("recover")!, false, false)).toContain("only supported inside the rescue system");
    expect(placementError(findWorkflow("recover")!, false, true)).toBeUndefined();
    expect(placementError(findWorkflow("mkbackup")!, true, false)).toContain("cannot run inside the rescue system");
    expect(placementError(findWorkflow("dump")!, true, false)).toBeUndefined();
  });
});

describe("lock", () => {
  test("a second holder is refused and told the PID; released on release()", async () => {
    const d = tmp();
    const a = await acquireLock(`${d}/rear.lock`, 4242);
    expect(a.ok).toBe(true);
    const b = await acquireLock(`${d}/rear.lock`, 1);
    expect(b).toEqual({ ok: false, heldBy: "4242" });
    if (a.ok) a.release();
    const c = await acquireLock(`${d}/rear.lock`, 7);
    expect(c.ok).toBe(true);
    if (c.ok) c.release();
    rmSync(d, { recursive: true });
  });
});

describe("exit tasks", () => {
  test("run last-first, once, and all of them even when one fails", async () => {
    const ran: string[] = [];
    const t = new ExitTasks();
    t.add("a", () => void ran.push("a"));
    const b = t.add("b", () => {
      throw new Error("boom");
    });
    t.add("c", async () => void ran.push("c"));
    const errors: string[] = [];
    await t.runAll((label) => errors.push(label));
    await t.runAll();
    expect(ran).toEqual(["c", "a"]);
    expect(errors).toEqual(["b"]);
    t.remove(b);
  });
});

describe("logger", () => {
  test("timestamps as ReaR's date format", () => {
    expect(logTimestamp(BigInt(new Date(2026, 0, 2, 3, 4, 5).getTime()) * 1_000_000n + 123n)).toBe("2026-01-02 03:04:05.000000123");
    // one clock: consecutive stamps never go back
    const a = logTimestamp();
    const b = logTimestamp();
    expect(a <= b).toBe(true);
  });
  test("buffers until opened; the file is 0600; rotates; terminal split", () => {
    const d = tmp();
    writeFileSync(`${d}/x.log`, "previous\n");
    let out = "";
    let err = "";
    const l = new Logger({ stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }, false, false);
    l.log("early");
    l.open(`${d}/x.log`);
    l.print("verbose only");
    l.logPrint("logged, verbose only");
    l.userOutput("always");
    l.error("ERROR: bad");
    l.debug("debug only");
    l.log("two\nlines");
    l.close();
    const text = readFileSync(`${d}/x.log`, "utf8");
    expect(statSync(`${d}/x.log`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${d}/x.log.old`, "utf8")).toBe("previous\n");
    expect(text).toContain(" early\n");
    expect(text).toContain(" logged, verbose only\n");
    expect(text).not.toContain("debug only");
    expect(text).toMatch(/ two\n  lines\n/);
    expect(out).toBe("always\n");
    expect(err).toBe("ERROR: bad\n");
    rmSync(d, { recursive: true });
  });
});

describe("init modules", () => {
  test("missing programs", () => {
    expect(missingPrograms(["bash", "nope", "bash"], (p) => (p === "bash" ? "/bin/bash" : undefined))).toEqual(["nope"]);
  });
  test("NFS mounts from /proc/mounts", () => {
    expect(nfsMountpoints("srv:/x /mnt/a\\040b nfs4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\nh:/y /b nfs rw 0 0\n")).toEqual(["/mnt/a b", "/b"]);
  });
});

describe("unit tier guard", () => {
  test("no real command can run in unit tests", () => {
    const { execSync } = require("../../../src/sys/exec.ts");
    expect(() => execSync(["true"])).toThrow(/unit tests must not run real commands/);
    expect(() => Bun.spawnSync(["true"])).toThrow(/unit tests must not run real commands/);
  });
});
