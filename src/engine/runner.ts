// Runs the stages of a workflow: for each stage, the built-in modules whose when() holds, merged with
// the user's hook scripts, in ReaR's order. `-s` prints what would run (ReaR: "Source <script>");
// `-S` asks before each; every stage is timed in the log.

import type { Context } from "./context.ts";
import { entryId, mergeStage, type HookScript, type Module, type StageEntry } from "./module.ts";
import type { StageName } from "./workflows.ts";

export interface StagePlan {
  stage: StageName;
  entries: StageEntry[];
}

export interface RunnerDeps {
  modules: readonly Module[];
  findHooks(stage: StageName): HookScript[];
  runHook(ctx: Context, hook: HookScript): Promise<void>;
}

export function planStages(ctx: Context, stages: readonly StageName[], deps: RunnerDeps): StagePlan[] {
  return stages.map((stage) => ({
    stage,
    entries: mergeStage(
      deps.modules.filter((m) => m.stage === stage && (m.when ? m.when(ctx) : true)),
      deps.findHooks(stage),
    ),
  }));
}

export async function runStages(ctx: Context, stages: readonly StageName[], deps: RunnerDeps): Promise<void> {
  const plan = planStages(ctx, stages, deps);
  for (const { stage, entries } of plan) {
    if (ctx.cli.simulate) {
      for (const e of entries) ctx.log.logPrint(`Source ${entryId(e)}`);
      if (entries.length === 0) ctx.log.log(`Stage '${stage}' has no modules`);
      continue;
    }
    if (entries.length === 0) {
      ctx.log.log(`Finished running empty '${stage}' stage`);
      continue;
    }
    const t0 = performance.now();
    ctx.log.log(`======================\nRunning '${stage}' stage\n======================`);
    for (const e of entries) {
      const id = entryId(e);
      if (ctx.cli.stepByStep) ctx.readLine(`Press ENTER to include '${id}' ...`);
      ctx.log.log(`Including ${id}`);
      if (e.kind === "module") await e.module.run(ctx);
      else await deps.runHook(ctx, e.hook);
      // a module may end the workflow early, successfully (a dry run has printed its plan)
      if (ctx.state.stopWorkflow) {
        ctx.log.log(`Stopping the workflow after ${id}: ${String(ctx.state.stopWorkflow)}`);
        return;
      }
    }
    ctx.log.log(`Finished running '${stage}' stage in ${Math.round((performance.now() - t0) / 1000)} seconds`);
  }
}
