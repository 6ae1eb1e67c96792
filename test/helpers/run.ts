// Runs rear's start-up sequence in-process with captured output.

import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type RunDeps } from "../../src/cli/run.ts";
import { realConfigIo } from "../../src/config/io.ts";
import { DEBIAN_OS_RELEASE } from "./config.ts";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runRear(argv: string[], over: Partial<RunDeps> & { env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const code = await run({
    argv,
    env: { PATH: "/usr/bin:/bin", ...(over.env ?? {}) },
    execPath: "/nonexistent/rear",
    uid: 0,
    streams: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    isRescueSystem: () => false,
    readLine: () => undefined,
    configIo: realConfigIo,
    releaseFiles: () => ({ osRelease: DEBIAN_OS_RELEASE }),
    machine: "x86_64",
    ...over,
  });
  return { code, stdout, stderr };
}

/** A temporary REAR_VAR and TMPDIR, so runs never touch /var. */
export function sandbox(): { varDir: string; tmp: string; env: Record<string, string>; cleanup(): void } {
  const base = mkdtempSync(join(tmpdir(), "rear-test-run."));
  chmodSync(base, 0o755);
  const varDir = join(base, "var");
  const tmp = join(base, "tmp");
  require("node:fs").mkdirSync(tmp);
  return { varDir, tmp, env: { REAR_VAR: varDir, TMPDIR: tmp }, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
