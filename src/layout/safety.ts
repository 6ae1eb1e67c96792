// What recover must never overwrite, and the checks that all run before the first step that changes a
// disk (reference §5.8; ReaR's write protection: WRITE_PROTECTED_ID_TYPES / _IDS / _FS_LABEL_PATTERNS).
// A disk is protected when it holds the rescue medium or the backup (labels REAR-000 and REAR-ISO, the
// BACKUP_URL device), the running system's root, something with a write-protected id or label, or when
// the kernel says it is read-only. A disk to be overwritten must also not be in use: mounted or swap.
// Pure.

import type { Plan } from "./plan/types.ts";
import { nodesOf, type TargetDisk, type TargetProbe } from "./targets.ts";

export interface ProtectRules {
  /** glob patterns of filesystem labels (REAR-000, REAR-ISO and WRITE_PROTECTED_FS_LABEL_PATTERNS) */
  labelPatterns: string[];
  /** WRITE_PROTECTED_IDS */
  ids: string[];
  /** WRITE_PROTECTED_ID_TYPES: UUID PTUUID PARTUUID WWN */
  idTypes: string[];
  /** devices that hold the backup (resolved from BACKUP_URL), with why */
  backupDevices: { device: string; why: string }[];
  /** where the filesystems are recreated: mounts below it are our own (a resumed plan) */
  targetRoot: string;
}

export const REAR_LABELS = ["REAR-000", "REAR-ISO", "REAR-ISO_*", "REAR-EFI"];

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

/** Protected disks with the reason, by disk device. */
export function protectedDisks(t: TargetProbe, r: ProtectRules): Map<string, string> {
  const out = new Map<string, string>();
  const labels = r.labelPatterns.map((p) => ({ p, re: globToRegExp(p) }));
  for (const d of t.disks) {
    const why: string[] = [];
    if (d.readOnly) why.push("it is read-only");
    for (const n of nodesOf(d)) {
      for (const l of labels) if (n.label && l.re.test(n.label)) why.push(`${n.device} has the label ${n.label} (rescue medium or backup)`);
      if (n.mountpoints.includes("/")) why.push(`${n.device} is the running system's root filesystem`);
      const ids: [string, string | undefined][] = [["UUID", n.uuid], ["PARTUUID", n.partuuid]];
      for (const [type, v] of ids) if (v && r.idTypes.includes(type) && r.ids.includes(v)) why.push(`${n.device} has the write-protected ${type} ${v}`);
    }
    if (d.ptuuid && r.idTypes.includes("PTUUID") && r.ids.includes(d.ptuuid)) why.push(`its partition table id ${d.ptuuid} is write-protected`);
    if (d.wwn && r.idTypes.includes("WWN") && r.ids.includes(d.wwn)) why.push(`its WWN ${d.wwn} is write-protected`);
    for (const b of r.backupDevices) if (nodesOf(d).some((n) => n.device === b.device)) why.push(`${b.device} holds the backup (${b.why})`);
    if (why.length) out.set(d.device, [...new Set(why)].join("; "));
  }
  return out;
}

/**
 * Everything that must hold before the plan may touch a disk. `resuming`: a plan already partly applied,
 * whose own mounts under the target root and own stacked devices are expected.
 */
export function checkPlanSafety(plan: Plan, t: TargetProbe, prot: Map<string, string>, opts: { targetRoot: string; resuming: boolean }): string[] {
  const errors: string[] = [];
  const touched = new Set<string>([...plan.wipe, ...Object.values(plan.mapping)]);
  for (const l of plan.layout) if (l.t === "entry" && l.entry.kw === "disk") touched.add(l.entry.device);
  const byName = new Map(t.disks.map((d) => [d.device, d]));
  for (const dev of touched) {
    const d = byName.get(dev);
    if (!d) {
      errors.push(`${dev} is not there (the plan would write to it)`);
      continue;
    }
    const why = prot.get(dev);
    if (why) errors.push(`${dev} must not be overwritten: ${why}`);
    for (const n of inUse(d, opts)) errors.push(n);
  }
  return errors;
}

function inUse(d: TargetDisk, opts: { targetRoot: string; resuming: boolean }): string[] {
  const out: string[] = [];
  const ours = (m: string) => opts.resuming && (m === opts.targetRoot || m.startsWith(`${opts.targetRoot}/`) || m.includes("/layout/recreate/"));
  for (const n of nodesOf(d)) {
    for (const m of n.mountpoints) {
      if (ours(m)) continue;
      if (m === "[SWAP]") out.push(`${n.device} on ${d.device} is in use as swap: run 'swapoff ${n.device}' first`);
      else out.push(`${n.device} on ${d.device} is mounted at ${m}: unmount it first ('umount ${m}')`);
    }
  }
  return out;
}
