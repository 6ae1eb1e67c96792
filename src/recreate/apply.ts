// Runs a plan's steps in order (ReaR's layout/recreate/default/200_run_layout_code.sh, but one
// command at a time, so a failure names the command and what it said). A step that succeeded leaves
// a done marker — the same file diskrestore.sh writes — and a rerun skips it; the first failure stops
// the run and says what to do next. The side effects come in through ApplyDeps, so the order, the
// markers and the resuming are unit-tested without running anything.

import { WorkflowError } from "../engine/errors.ts";
import type { Plan, Step } from "../layout/plan/types.ts";
import type { ExecResult } from "../sys/exec.ts";

export interface ApplyDeps {
  run(argv: readonly string[], stdin?: string): Promise<ExecResult>;
  isDone(id: string): boolean;
  markDone(id: string): void;
  exists(device: string): boolean;
  sleep(ms: number): Promise<void>;
  /** the passphrase of a LUKS device, asked for once */
  passphrase(name: string, device: string): string;
  progress(text: string): void;
  log(text: string): void;
}

export interface ApplyResult {
  ran: number;
  skipped: number;
  /** steps whose effect was already there (skipIf) */
  found: number;
}

export class StepFailed extends WorkflowError {
  constructor(
    readonly step: Step,
    readonly index: number,
    readonly total: number,
    /** the exit code, or the device that did not appear after the command succeeded */
    readonly code: number | { missing: string },
    readonly stderrTail: string,
    hint: string,
  ) {
    super(
      typeof code === "number"
        ? `Step ${index}/${total} '${step.summary}' failed: '${step.argv.join(" ")}' exited with ${code}${stderrTail ? `: ${stderrTail}` : ""}`
        : `Step ${index}/${total} '${step.summary}': '${step.argv.join(" ")}' succeeded, but ${code.missing} did not appear within 10 seconds`,
      hint,
    );
    this.name = "StepFailed";
  }
}

const tail = (s: string) => s.trim().split("\n").filter(Boolean).slice(-3).join(" / ");

async function waitFor(devices: readonly string[], deps: ApplyDeps): Promise<string | undefined> {
  for (const d of devices) {
    let i = 0;
    while (!deps.exists(d) && i++ < 100) await deps.sleep(100);
    if (!deps.exists(d)) return d;
  }
  return undefined;
}

/**
 * Runs the plan's steps in order. `checks`: when the steps' skipIf checks count — "resume" (layout
 * recreation: only when resuming this plan; on a first run what is on the disks is not ours) or
 * "always" (mountonly: every step brings up what is not up yet).
 */
export async function applyPlan(plan: Plan, deps: ApplyDeps, hint: (done: number) => string, checks: "resume" | "always" = "resume"): Promise<ApplyResult> {
  const total = plan.steps.length;
  const r: ApplyResult = { ran: 0, skipped: 0, found: 0 };
  // skipIf checks only count when resuming this plan: on a first run, a filesystem or mount already
  // there is not ours (the same disks recreated without a wipe still carry the old filesystems)
  const resuming = checks === "always" || plan.steps.some((s) => !s.always && deps.isDone(s.id));
  for (const [i, s] of plan.steps.entries()) {
    const n = i + 1;
    if (!s.always && deps.isDone(s.id)) {
      r.skipped++;
      deps.log(`[${n}/${total}] done before: ${s.summary}`);
      continue;
    }
    if ((resuming || s.checkAlways) && s.skipIf && (await deps.run(s.skipIf)).code === 0) {
      deps.progress(`[${n}/${total}] ${s.summary}: already done`);
      deps.markDone(s.id);
      r.found++;
      continue;
    }
    deps.progress(`[${n}/${total}] ${s.summary}`);
    const stdin = s.secret ? deps.passphrase(s.secret.name, s.secret.device) : s.stdin;
    let res = await deps.run(s.argv, stdin);
    if (res.code !== 0 && s.fallback) {
      deps.progress(`  '${s.argv[0]}' failed (${tail(res.stderr) || `exit ${res.code}`}); retrying with: ${s.fallback.join(" ")}`);
      res = await deps.run(s.fallback, stdin);
    }
    if (res.code !== 0) {
      if (s.optional) {
        deps.log(`[${n}/${total}] optional step failed (exit ${res.code}), going on: ${tail(res.stderr)}`);
      } else {
        throw new StepFailed(s, n, total, res.code, tail(res.stderr), hint(i));
      }
    }
    if (s.waitFor?.length) {
      const missing = await waitFor(s.waitFor, deps);
      if (missing) throw new StepFailed(s, n, total, { missing }, "", hint(i));
    }
    if (!s.always) deps.markDone(s.id);
    r.ran++;
  }
  return r;
}
