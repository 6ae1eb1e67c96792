// ReaR's init/default/100_check_stale_nfs_mounts.sh: a stale NFS mount makes later commands (df,
// find, tar) hang for ever, so every workflow checks first that each NFS mount answers within 5 s.

import { readFileSync } from "node:fs";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { execSync } from "../../sys/exec.ts";

/** NFS mountpoints in /proc/self/mounts text. */
export function nfsMountpoints(mounts: string): string[] {
  return mounts
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[2] === "nfs" || f[2] === "nfs4")
    .map((f) => (f[1] ?? "").replace(/\\040/g, " "));
}

export const checkStaleNfsMounts: Module = {
  stage: "init",
  order: 100,
  name: "check_stale_nfs_mounts",
  what: "init/default/100_check_stale_nfs_mounts.sh",
  run(ctx) {
    let text = "";
    try {
      text = readFileSync("/proc/self/mounts", "utf8");
    } catch {
      return;
    }
    for (const mp of nfsMountpoints(text)) {
      const r = execSync(["timeout", "5", "stat", "-f", mp]);
      if (r.code !== 0) throw new WorkflowError(`The NFS mount at ${mp} does not answer (stale)`, `unmount it (umount -f -l ${mp}) and run rear again`);
      ctx.log.log(`NFS mount ${mp} answers`);
    }
  },
};
