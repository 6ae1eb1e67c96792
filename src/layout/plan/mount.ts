// The plan of `mountonly` (ReaR's layout/prep-for-mount and layout/do-mount, reference §2): use the
// rescue system as live media to repair a machine — assemble its RAID arrays, open its LUKS volumes,
// activate its volume groups and mount its filesystems under /mnt/local, in dependency order, without
// creating or formatting anything. Every step checks whether its effect is already there, so running
// it again is harmless.
// Pure.

import { buildDeps, creationOrder } from "../deps.ts";
import { activeEntries, type LayoutDoc } from "../model.ts";
import { PlanContext } from "./context.ts";
import { planMount, planMountedSubvol } from "./filesystems.ts";
import { seededUuids } from "./uuids.ts";
import { PLAN_FORMAT, type Plan } from "./types.ts";

export function buildMountPlan(doc: LayoutDoc, o: { targetRoot: string; workDir: string; layoutSha256: string }): Plan {
  const c = new PlanContext({
    doc, facts: {}, targets: { disks: [] }, mapping: {}, wipe: [], xfsInfo: {}, lvmCfg: {}, allowVgcfgrestore: false, uuids: seededUuids("mountonly"),
    cryptsetupOptions: [], xfsOptions: () => undefined, targetRoot: o.targetRoot, workDir: o.workDir, layoutSha256: o.layoutSha256,
  });
  const entries = activeEntries(doc);
  const g = buildDeps(entries);
  for (const id of creationOrder(g)) {
    const e = g.entries.get(id)!;
    switch (e.kw) {
      case "raidarray": {
        const devices = (e.opts.devices ?? "").split(",").filter(Boolean);
        c.add(id, "assemble", `Assemble RAID ${e.device}`, ["mdadm", "--assemble", e.device, ...(e.opts.uuid ? [`--uuid=${e.opts.uuid}`] : []), "--run", ...devices], {
          mutates: false, skipIf: ["mdadm", "--detail", e.device], waitFor: [e.device],
        });
        break;
      }
      case "crypt": {
        const name = e.device.replace(/^\/dev\/mapper\//, "");
        // the key file (if any) is inside the filesystems that are not mounted yet: the passphrase opens it
        c.add(id, "luks-open", `Open LUKS volume ${e.source} as ${name}`, ["cryptsetup", "open", "--key-file=-", e.source, name], {
          mutates: false, secret: { kind: "luks-passphrase", name, device: e.source }, skipIf: ["test", "-b", e.device], waitFor: [e.device],
        });
        break;
      }
      case "lvmgrp": {
        const vg = e.vg.replace(/^\/dev\//, "");
        c.add(id, "vgchange", `Activate volume group ${vg}`, ["lvm", "vgchange", "-ay", vg], { mutates: false });
        break;
      }
      case "fs":
        if (e.fstype === "swap") break;
        planMount(c, id, e.device, e.mountpoint, e.fstype, e.opts.options);
        break;
      case "btrfsmountedsubvol":
        planMountedSubvol(c, e, entries);
        break;
      default:
        break; // disks, partitions, PVs, LVs and swap exist already
    }
  }
  return {
    format: PLAN_FORMAT, layoutSha256: o.layoutSha256, mapping: {}, wipe: [], steps: c.steps, layout: [], unhandled: [], uuidChanges: [], luksKeys: [],
    mounts: c.mounts, targetRoot: o.targetRoot, doneDir: `${o.workDir}/mount-done`,
  };
}
