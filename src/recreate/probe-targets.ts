// The impure edge of recreation: what disks are there now (one `lsblk -J -b -O -p`, the by-id links)
// and which devices hold the backup (BACKUP_URL), for the mapping and the safety checks.

import { realpathSync } from "node:fs";
import { WorkflowError } from "../engine/errors.ts";
import { deviceLinks } from "../layout/probe/collect.ts";
import { type TargetProbe, targetsFromLsblk } from "../layout/targets.ts";
import { exec } from "../sys/exec.ts";

export async function probeTargets(env: Record<string, string | undefined>): Promise<TargetProbe> {
  const r = await exec(["lsblk", "-J", "-b", "-O", "-p"], { env: { ...env, LC_ALL: "C" } });
  if (r.code !== 0) throw new WorkflowError(`Cannot list the disks: 'lsblk -J -b -O -p' exited ${r.code}: ${r.stderr.trim()}`, "is util-linux' lsblk in the rescue system?");
  // udev symlinks point at ../../sdX: resolve them to /dev/sdX
  const byId: Record<string, string> = {};
  for (const [k, v] of Object.entries(deviceLinks("/dev/disk/by-id"))) {
    try {
      byId[k] = realpathSync(v);
    } catch {}
  }
  return targetsFromLsblk(r.stdout, byId, { includeLoop: env.REAR_LAYOUT_INCLUDE_LOOP === "1" });
}

/** The device under a BACKUP_URL, when it is a local one (usb://, file:// on a local filesystem). */
export async function backupDevices(url: string, env: Record<string, string | undefined>): Promise<{ device: string; why: string }[]> {
  const out: { device: string; why: string }[] = [];
  const m = /^(usb|file):\/\/(\/.*)$/.exec(url);
  if (!m) return out;
  if (m[1] === "usb") {
    try {
      out.push({ device: realpathSync(m[2]!), why: `BACKUP_URL=${url}` });
    } catch {}
    return out;
  }
  const r = await exec(["findmnt", "-n", "-o", "SOURCE", "-T", m[2]!], { env: { ...env, LC_ALL: "C" } });
  const src = r.stdout.trim().replace(/\[.*\]$/, "");
  if (r.code === 0 && src.startsWith("/dev/")) out.push({ device: src, why: `BACKUP_URL=${url}` });
  return out;
}
