// The programs a layout plan (and, for recover, the restore and finalize after it) will run: checked before
// the first write (layout/recreate check_tools) and listed by --dry-run.

import type { Context } from "../../engine/context.ts";
import type { Plan } from "../../layout/plan/types.ts";
import { recoverProgramsOf } from "../recover/verify-tools.ts";

/** Every program the plan runs, with the first step that needs it; for recover also the restore's and
 *  finalize's, so that one list names everything this system lacks (on a live system running a PORTABLE
 *  archive: what to install before anything is written). */
export function programsNeeded(ctx: Pick<Context, "workflow" | "config">, plan: Plan): [string, string][] {
  const need = new Map<string, string>();
  for (const st of plan.steps) {
    for (const argv of [st.argv, ...(st.fallback ? [st.fallback] : [])]) {
      const prog = argv[0];
      if (!prog || prog === "bash" || prog === "sh" || need.has(prog)) continue;
      need.set(prog, st.summary);
    }
  }
  const all: [string, string][] = [...need].map(([p, why]) => [p, `${why.charAt(0).toLowerCase()}${why.slice(1)}`]);
  if (ctx.workflow.name === "recover") all.push(...recoverProgramsOf(ctx));
  return all;
}

