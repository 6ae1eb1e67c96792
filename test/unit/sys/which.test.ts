// which() looks where the commands rear runs are looked up: the workflow's PATH (exec's environment).
// udev starts RUN programs with no PATH at all; rear udev then found no systemd-run, took setsid and stayed in
// udevd's sandbox (the VM udev scenario's first complete run).
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setExecEnv, which } from "../../../src/sys/exec.ts";

describe("which", () => {
  afterEach(() => setExecEnv(undefined));
  test("the workflow's PATH, not the process's, when no path is given", () => {
    const d = mkdtempSync(join(tmpdir(), "rear-which."));
    writeFileSync(join(d, "systemd-run"), "#!/bin/sh\n");
    chmodSync(join(d, "systemd-run"), 0o755);
    writeFileSync(join(d, "notexec"), "");
    expect(which("systemd-run", "")).toBeUndefined();
    setExecEnv({ PATH: `/nonexistent:${d}` });
    expect(which("systemd-run")).toBe(join(d, "systemd-run"));
    expect(which("notexec")).toBeUndefined();
    expect(which("systemd-run", "/nonexistent")).toBeUndefined(); // an explicit path still wins
    rmSync(d, { recursive: true });
  });
});
