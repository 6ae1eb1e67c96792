// User hook scripts: $CONFIG_DIR/stages/<stage>/NNN_name.sh (e.g. /etc/rear/stages/layout/save/150_x.sh)
// run at their place among the built-in modules of that stage, with bash. They see every configuration
// variable (exported ones in their environment too), and run in the work area's tmp/ as their current
// directory. Changes they make to variables do not flow back into rear: settings belong in the
// configuration files. A non-zero exit stops the workflow, as ReaR's Error() in a script would.

import { readdirSync, statSync } from "node:fs";
import { decodeBytes, fsPath } from "../sys/bytes.ts";
import { bashQuote } from "../config/bash-eval.ts";
import { trustHint, trustProblem } from "../config/trust.ts";
import { runBashWithConfig } from "./bash-run.ts";
import type { Context } from "./context.ts";
import { WorkflowError } from "./errors.ts";
import { parseHookName, type HookScript } from "./module.ts";
import type { StageName } from "./workflows.ts";

export function findHooks(configDir: string, stage: StageName, warn: (m: string) => void): HookScript[] {
  const dir = `${configDir}/stages/${stage}`;
  let names: string[];
  try {
    // byte-exact names (a hook directory under a -c path with Latin-1 bytes, say)
    names = readdirSync(fsPath(dir), { encoding: "buffer" }).map((b) => decodeBytes(b)).sort();
  } catch {
    return [];
  }
  const hooks: HookScript[] = [];
  for (const f of names) {
    const p = parseHookName(f);
    if (!p) {
      warn(`Ignoring ${dir}/${f}: hook scripts are named NNN_name.sh (a 3-digit number gives their place)`);
      continue;
    }
    hooks.push({ stage, order: p.order, name: p.name, path: `${dir}/${f}` });
  }
  return hooks;
}

export async function runHook(ctx: Context, hook: HookScript, trustedUids: number[]): Promise<void> {
  let st;
  try {
    const s = statSync(fsPath(hook.path));
    st = { isFile: s.isFile(), uid: s.uid, mode: s.mode };
  } catch {}
  const problem = trustProblem(hook.path, st, trustedUids, ctx.config.arr("TRUSTED_FILES"));
  if (problem) throw new WorkflowError(`hook script ${hook.path} ${problem}`, trustHint(hook.path, problem));
  // the configuration (secrets included) reaches bash in a 0600 file, never on its command line
  const flags = ctx.cli.debugscripts ? `set -${ctx.cli.debugscripts}\n` : "";
  const r = await runBashWithConfig(ctx, { name: hook.path, body: `${flags}source ${bashQuote(hook.path)}` });
  if (r.code !== 0) {
    throw new WorkflowError(
      `hook script ${hook.path} failed with exit code ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split("\n").slice(-1)[0]}` : ""}`,
      "see the log for its output; fix or remove the script",
    );
  }
}
