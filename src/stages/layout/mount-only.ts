// mountonly (ReaR 2.6+): the rescue system as live media to repair a machine. layout/prep-for-mount
// reads the saved layout (with the disk mapping file applied when there is one) and makes the mount
// plan; layout/do-mount assembles RAID, opens LUKS (asking for passphrases), activates LVM and mounts
// the filesystems under /mnt/local. Nothing is created or formatted.

import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { applyMapping } from "../../layout/mapping.ts";
import { activeEntries } from "../../layout/model.ts";
import { buildMountPlan } from "../../layout/plan/mount.ts";
import { renderDiskrestore } from "../../layout/plan/render.ts";
import { applyPlan } from "../../recreate/apply.ts";
import { probeTargets } from "../../recreate/probe-targets.ts";
import { readMappingFile } from "../../recreate/saved-layout.ts";
import { VERSION } from "../../version.ts";
import { describePlan, loadSavedLayout, recreatePaths, recreateState } from "./prepare-recreate.ts";
import { writePrivateFile } from "./private-files.ts";
import { applyDepsFor } from "./run-recreate.ts";

const prepare: Module = {
  stage: "layout/prep-for-mount",
  order: 100,
  name: "make_mount_plan",
  what: "layout/prep-for-mount/default (mount code from the saved layout)",
  async run(ctx) {
    const s = loadSavedLayout(ctx);
    let doc = s.saved.doc;
    const { file: mapFile, map } = readMappingFile(ctx.paths.configDir);
    if (map) {
      doc = applyMapping(doc, map).doc;
      ctx.log.logPrint(`Disk names mapped with ${mapFile}`);
    }
    const targets = await probeTargets(ctx.env);
    const missing = activeEntries(doc).flatMap((e) => (e.kw === "disk" && !targets.disks.some((d) => d.device === e.device) ? [e.device] : []));
    if (missing.length) throw new WorkflowError(`The saved disk(s) ${missing.join(" ")} are not here`, `map them onto the disks here in ${mapFile} ('<saved disk> <disk now>' per line)`);
    const p = recreatePaths(ctx);
    s.plan = buildMountPlan(doc, { targetRoot: ctx.config.str("TARGET_FS_ROOT") || "/mnt/local", workDir: p.workDir, layoutSha256: s.saved.sha256 });
    const script = `${p.workDir}/mount.sh`;
    writePrivateFile(script, renderDiskrestore(s.plan, { hostname: ctx.config.str("HOSTNAME"), layoutFile: s.saved.file, version: VERSION, title: "mount.sh: opens and mounts the saved layout", checks: "always" }), [`${ctx.paths.varDir}/layout`], 0o700);
    ctx.log.log(describePlan(s.plan));
    ctx.log.logPrint(`The mount plan: ${s.plan.steps.length} steps (${script})`);
  },
};

const doMount: Module = {
  stage: "layout/do-mount",
  order: 100,
  name: "mount_filesystems",
  what: "layout/do-mount/default",
  async run(ctx) {
    const s = recreateState(ctx);
    const plan = s.plan!;
    const r = await applyPlan(plan, applyDepsFor(ctx, plan, activeEntries(s.saved.doc), false), () => "fix the cause (or mount the rest by hand) and run 'rear mountonly' again: what is mounted stays", "always");
    ctx.log.logUserOutput(`The filesystems of the machine are mounted at ${plan.targetRoot} (${r.ran} steps run, ${r.found} were already done). Repair it there (chroot ${plan.targetRoot}); unmount with 'umount -R ${plan.targetRoot}'.`);
  },
};

export const MOUNT_ONLY_MODULES: readonly Module[] = [prepare, doMount];
