// BACKUP=COVE's pure half (src/backup/cove.ts): kernel options, the token, ClientTool's command line and
// answers, following a restore, finding the ProcessController.

import { describe, expect, test } from "bun:test";
import { coveKernelOptions, installDirMode, installerFileName, maskToken, missingPrograms, NOT_INSTALLED, parseStatus, processControllerPids, restoreStartArgv, tokenProblem, watchRestore } from "../../../src/backup/cove.ts";

describe("BACKUP=COVE", () => {
  test("cove_installer=, cove_token=, cove_timestamp= from the kernel command line; empty ones are absent", () => {
    expect(coveKernelOptions("BOOT_IMAGE=/kernel root=/dev/ram0 cove_rescue_media cove_installer=https://x/y.run cove_token=abc#def cove_timestamp=1700000000 unattended")).toEqual({
      installer: "https://x/y.run", token: "abc#def", timestamp: "1700000000",
    });
    expect(coveKernelOptions("cove_token= quiet")).toEqual({});
    expect(coveKernelOptions("")).toEqual({});
  });

  test("the Backup Manager's programs: which are missing", () => {
    expect(missingPrograms("/opt/MXB", (p) => p !== "/opt/MXB/bin/ClientTool")).toEqual(["bin/ClientTool"]);
    expect(missingPrograms("/opt/MXB", () => true)).toEqual([]);
    expect(NOT_INSTALLED).toBe("The Backup Manager is either not installed or corrupted");
  });

  test("a token goes into the installer's name: no '/', '#', blanks; not too short", () => {
    expect(tokenProblem("a1b2c3d4e5f6")).toBeUndefined();
    expect(tokenProblem("short")).toMatch(/shorter than 8/);
    expect(tokenProblem("abc/defghij")).toMatch(/'\/', '#'/);
    expect(tokenProblem("abc#defghij")).toMatch(/'\/', '#'/);
    expect(tokenProblem("abc defghij")).toMatch(/blank/);
    expect(tokenProblem("abc\u0007defghij")).toMatch(/control/);
    expect(installerFileName("a1b2c3d4e5f6")).toBe("cove#v1#a1b2c3d4e5f6#.run");
    expect(maskToken("./cove#v1#a1b2c3d4e5f6#.run: token a1b2c3d4e5f6 refused", "a1b2c3d4e5f6")).toBe("./cove#v1#<token>#.run: token <token> refused");
    expect(maskToken("nothing", undefined)).toBe("nothing");
  });

  test("control.restore.start as ReaR's pull request calls it; -time only with a timestamp", () => {
    expect(restoreStartArgv("/opt/MXB/bin/ClientTool", "/mnt/local", "/opt/MXB", "")).toEqual([
      "/opt/MXB/bin/ClientTool", "control.restore.start", "-datasource", "FileSystem", "-restore-to", "/mnt/local", "-exclude", "/opt/MXB", "-session-search-policy", "OldestIfRequestedNotFound",
    ]);
    expect(restoreStartArgv("c", "/mnt/local", "/opt/MXB", "1700000000").slice(-2)).toEqual(["-time", "1700000000"]);
  });

  test("control.status.get: the first line that says something", () => {
    expect(parseStatus("\n  Idle  \nmore\n")).toBe("Idle");
    expect(parseStatus("")).toBe("");
  });

  test("following a restore: waiting, running, done, and what is a failure", () => {
    expect(watchRestore("Idle", false, 5)).toEqual({ kind: "waiting" });
    expect(watchRestore("Idle", false, 121).kind).toBe("failed");
    expect(watchRestore("Scanning", false, 1)).toEqual({ kind: "running", state: "Scanning" });
    expect(watchRestore("Restore", true, 100)).toEqual({ kind: "running", state: "Restore" });
    expect(watchRestore("Idle", true, 100)).toEqual({ kind: "done" });
    expect(watchRestore("Failed", true, 10)).toEqual({ kind: "failed", why: "the Backup Manager is in the state 'Failed', not restoring" });
    expect(watchRestore("", true, 10)).toEqual({ kind: "failed", why: "ClientTool control.status.get printed nothing" });
  });

  test("the ProcessController: its program under the install directory, or a script of that name run by a shell", () => {
    const procs = [
      { pid: 10, exe: "/opt/MXB/bin/ProcessController", argv: ["/opt/MXB/bin/ProcessController"] },
      { pid: 11, exe: "/usr/bin/dash", argv: ["/bin/sh", "/data/MXB/bin/ProcessController"] },
      { pid: 12, exe: "/usr/bin/dash", argv: ["/bin/sh", "/elsewhere/bin/ProcessController"] },
      { pid: 13, exe: "/usr/bin/grep", argv: ["grep", "x", "/opt/MXB/bin/ProcessController"] },
    ];
    expect(processControllerPids(procs, ["/opt/MXB", "/data/MXB/"])).toEqual([10, 11]);
  });
});

describe("installDirMode", () => {
  test("the source's mode from rescue.conf; 0755 for an image without it or a value that is not octal", () => {
    expect(installDirMode("0700")).toBe(0o700);
    expect(installDirMode("750")).toBe(0o750);
    expect(installDirMode("")).toBe(0o755);
    expect(installDirMode("rwx")).toBe(0o755);
    expect(installDirMode("0999")).toBe(0o755);
  });
});
