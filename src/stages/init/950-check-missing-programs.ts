// ReaR's init/default/950_check_missing_programs.sh: REQUIRED_PROGS must all be present, since the
// rescue system is useless without them. Checked before any work starts, for the workflows that build
// a rescue system (ReaR checks for every workflow, which makes `rear dump` fail on a machine that lacks
// cpio, say; a dump needs none of them).

import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { which } from "../../sys/exec.ts";

// (not udev: it only starts UDEV_WORKFLOW, which checks for itself)
export const BUILDS_RESCUE = new Set(["mkrescue", "mkbackup", "mkopalpba", "mkboot"]);

export function missingPrograms(required: readonly string[], find: (p: string) => string | undefined): string[] {
  return [...new Set(required)].filter((p) => p !== "" && !find(p));
}

export const checkMissingPrograms: Module = {
  stage: "init",
  order: 950,
  name: "check_missing_programs",
  what: "init/default/950_check_missing_programs.sh",
  when: (ctx) => BUILDS_RESCUE.has(ctx.workflow.name),
  run(ctx) {
    const missing = missingPrograms(ctx.config.arr("REQUIRED_PROGS"), (p) => which(p, ctx.env.PATH ?? ""));
    if (missing.length > 0) {
      throw new WorkflowError(`Cannot find required programs: ${missing.join(" ")}`, "install them (they must be in the rescue system), or remove them from REQUIRED_PROGS if you really do not need them");
    }
  },
};
