// How commands and results travel between the host and a guest without a network: two small raw disks.
// The input disk (serial "harness-in") holds a plain tar archive with job.sh and its files; the guest's
// harness-run extracts it, runs job.sh, and writes $HARNESS_OUT as a tar archive onto the output disk
// (serial "harness-out"). No file system, no loop device, no mount on the host.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { VmDisk } from "./qemu.ts";
import { createDisk } from "./qemu.ts";
import { sh } from "./sh.ts";

export interface Job {
  /** bash, run in the guest with $HARNESS_OUT set; its exit code is reported */
  script: string;
  /** further files next to job.sh: name → text, or { copy: host path } */
  files?: Record<string, string | { copy: string; mode?: number }>;
}

export interface Channel {
  disks: VmDisk[];
  inImg: string;
  outImg: string;
}

export async function prepareChannel(dir: string, job: Job, outSizeMiB = 64): Promise<Channel> {
  const stage = join(dir, "in");
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  writeFileSync(join(stage, "job.sh"), job.script, { mode: 0o755 });
  for (const [name, f] of Object.entries(job.files ?? {})) {
    const p = join(stage, name);
    mkdirSync(join(p, ".."), { recursive: true });
    if (typeof f === "string") writeFileSync(p, f, { mode: 0o755 });
    else {
      copyFileSync(f.copy, p);
      await sh(["chmod", (f.mode ?? 0o755).toString(8), p]);
    }
  }
  const inImg = join(dir, "harness-in.img");
  const outImg = join(dir, "harness-out.img");
  await sh(["tar", "-cf", inImg, "-C", stage, "."]);
  // a disk is a whole number of 512-byte sectors; tar's records (10 KiB) already are
  rmSync(outImg, { force: true });
  await createDisk(outImg, outSizeMiB);
  return {
    inImg,
    outImg,
    disks: [
      { file: inImg, bus: "virtio", serial: "harness-in", readonly: true },
      { file: outImg, bus: "virtio", serial: "harness-out" },
    ],
  };
}

export interface JobResult {
  /** undefined when the job never finished (no results on the output disk) */
  exitCode?: number;
  jobMs?: number;
  log: string;
  dir: string;
}

export async function readResults(ch: Channel, dir: string): Promise<JobResult> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // An untouched output disk is all zeros, which tar reads as an empty archive.
  await sh(["tar", "-xf", ch.outImg, "-C", dir], { allowFail: true });
  const read = (n: string) => (existsSync(join(dir, n)) ? readFileSync(join(dir, n), "utf8").trim() : undefined);
  const code = read("exit-code");
  const ms = read("job-ms");
  return { ...(code !== undefined ? { exitCode: Number(code) } : {}), ...(ms !== undefined ? { jobMs: Number(ms) } : {}), log: read("job.log") ?? "", dir };
}
