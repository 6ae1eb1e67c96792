// finalizeonly (ReaR 2.6+): only make an already restored tree under /mnt/local boot — after a restore
// by hand, or after recover stopped in finalize and the cause was fixed. The disk mapping is the one
// layoutonly/recover used in this rescue system (its plan), else the mapping file, else none; the
// restored system must be mounted (mountonly does that). Every finalize step runs: finalizeonly keeps
// no record of what an earlier run did.

import { existsSync, readFileSync } from "node:fs";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { applyMapping } from "../../layout/mapping.ts";
import { PLAN_FORMAT, type Plan } from "../../layout/plan/types.ts";
import { readMappingFile } from "../../recreate/saved-layout.ts";
import { exec } from "../../sys/exec.ts";
import { loadSavedLayout, recreatePaths } from "../layout/prepare-recreate.ts";

const finalizeOnly = (ctx: Context) => ctx.workflow.name === "finalizeonly";

const mappingOfRecovery: Module = {
  stage: "layout/prepare",
  order: 30,
  name: "mapping_of_recovery",
  what: "(new) finalizeonly: the disk mapping of the plan that made the layout, or the mapping file",
  when: finalizeOnly,
  run(ctx) {
    const s = loadSavedLayout(ctx);
    const p = recreatePaths(ctx);
    if (existsSync(p.plan)) {
      try {
        const plan = JSON.parse(readFileSync(p.plan, "utf8")) as Plan;
        if (plan.format === PLAN_FORMAT && plan.layoutSha256 === s.saved.sha256) {
          s.plan = plan;
          s.mapping = plan.mapping;
          const moved = Object.entries(plan.mapping).filter(([a, b]) => a !== b);
          ctx.log.logPrint(`The disk mapping of ${p.plan}: ${moved.length ? moved.map(([a, b]) => `${a} → ${b}`).join(", ") : "every disk as it was"}`);
          return;
        }
        ctx.log.logPrint(`${p.plan} was made from another layout: not used`);
      } catch {
        ctx.log.logPrint(`${p.plan} cannot be read: not used`);
      }
    }
    const { file, map } = readMappingFile(ctx.paths.configDir);
    s.mapping = map ?? {};
    if (map) {
      s.doc = applyMapping(s.saved.doc, map).doc;
      ctx.log.logPrint(`Disk names mapped with ${file}`);
    } else ctx.log.logPrint("No plan and no mapping file: every disk is taken to have its saved name");
  },
};

const restoredTreeMounted: Module = {
  stage: "verify",
  order: 100,
  name: "restored_system_mounted",
  what: "(new) finalizeonly: the restored system is mounted where finalize works",
  when: finalizeOnly,
  async run(ctx) {
    const root = ctx.config.str("TARGET_FS_ROOT") || "/mnt/local";
    if ((await exec(["mountpoint", "-q", root])).code !== 0) {
      throw new WorkflowError(`Nothing is mounted at ${root}: finalizeonly works on a restored system mounted there`, "mount it with 'rear mountonly' (or recreate and restore it with 'rear recover'), then run 'rear finalizeonly' again");
    }
    if (!existsSync(`${root}/etc/fstab`)) throw new WorkflowError(`${root} holds no restored system (no ${root}/etc/fstab)`, "restore the backup first ('rear restoreonly'), then run 'rear finalizeonly' again");
  },
};

export const FINALIZE_ONLY_MODULES: readonly Module[] = [mappingOfRecovery, restoredTreeMounted];
