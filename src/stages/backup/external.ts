// BACKUP=EXTERNAL: the user's own commands back up and restore (ReaR's backup/EXTERNAL/default/500_make_backup.sh,
// restore/EXTERNAL/default/400_restore_backup.sh, and EXTERNAL_CHECK in the verify stage).
// ReaR evals the settings in its own shell, `eval "${EXTERNAL_BACKUP[@]}"`: so do we, in a bash that has
// the whole configuration as variables (runBashWithConfig: from a 0600 file, never on a command line,
// where every local user could read a password written into the command), and an exit code listed in
// EXTERNAL_IGNORE_ERRORS counts as success.

import type { Context } from "../../engine/context.ts";
import { runBashWithConfig } from "../../engine/bash-run.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { evalBody, evalLine, scriptSaid } from "./backup-scripts.ts";

export { evalLine };

/** Whether an exit code is success for EXTERNAL (0, or one of EXTERNAL_IGNORE_ERRORS). */
export function externalOk(code: number, ignore: readonly string[]): boolean {
  return code === 0 || ignore.some((i) => i.trim() !== "" && Number(i) === code);
}

async function runExternal(ctx: Context, setting: string, what: string): Promise<void> {
  const line = evalLine(ctx.config.arr(setting));
  if (!line) throw new WorkflowError(`BACKUP=EXTERNAL needs ${setting}`, `set ${setting} in ${ctx.paths.configDir}/local.conf to the command that does the ${what}`);
  ctx.log.logPrint(`Running ${setting}: ${line}`);
  const r = await runBashWithConfig(ctx, { body: evalBody(setting), name: setting, what: `the ${what} (${setting})` });
  if (r.stdout.trim()) ctx.log.log(r.stdout.trimEnd());
  if (!externalOk(r.code, ctx.config.arr("EXTERNAL_IGNORE_ERRORS"))) {
    throw new WorkflowError(`${setting} failed with exit code ${r.code}: ${scriptSaid(r.stderr, setting) || "it printed nothing"}`, `fix the command, or list that exit code in EXTERNAL_IGNORE_ERRORS if it means success`);
  }
  if (r.code !== 0) ctx.log.log(`${setting} exited ${r.code}, which EXTERNAL_IGNORE_ERRORS lists: taken as success`);
}

const external = (ctx: Context) => ctx.config.str("BACKUP") === "EXTERNAL";

export const makeExternalBackup: Module = {
  stage: "backup",
  order: 500,
  name: "make_external_backup",
  what: "backup/EXTERNAL/default/500_make_backup.sh",
  when: (ctx) => external(ctx) && (ctx.workflow.name === "mkbackup" || ctx.workflow.name === "mkbackuponly"),
  run: (ctx) => runExternal(ctx, "EXTERNAL_BACKUP", "backup"),
};

export const checkExternalBackup: Module = {
  stage: "verify",
  order: 500,
  name: "check_external_backup",
  what: "verify/EXTERNAL: EXTERNAL_CHECK",
  when: (ctx) => external(ctx) && ctx.config.arr("EXTERNAL_CHECK").some((w) => w !== "") && (ctx.workflow.name === "recover" || ctx.workflow.name === "restoreonly"),
  run: (ctx) => runExternal(ctx, "EXTERNAL_CHECK", "check that the backup can be restored"),
};

export const restoreExternalBackup: Module = {
  stage: "restore",
  order: 400,
  name: "restore_external_backup",
  what: "restore/EXTERNAL/default/400_restore_backup.sh",
  when: (ctx) => external(ctx) && (ctx.workflow.name === "recover" || ctx.workflow.name === "restoreonly"),
  run: (ctx) => runExternal(ctx, "EXTERNAL_RESTORE", "restore"),
};
