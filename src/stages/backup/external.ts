// BACKUP=EXTERNAL: the user's own commands back up and restore (ReaR's backup/EXTERNAL/default/500_make_backup.sh,
// restore/EXTERNAL/default/400_restore_backup.sh, and EXTERNAL_CHECK in the verify stage).
// ReaR evals the arrays with bash; so do we, with the configuration's variables exported to it (ctx.env),
// and an exit code listed in EXTERNAL_IGNORE_ERRORS counts as success.

import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { exec } from "../../sys/exec.ts";

/** bash's `eval "${ARRAY[@]}"`: the elements joined with blanks, evaluated as one command line. */
export function evalLine(words: readonly string[]): string {
  return words.filter((w) => w !== "").join(" ");
}

/** Whether an exit code is success for EXTERNAL (0, or one of EXTERNAL_IGNORE_ERRORS). */
export function externalOk(code: number, ignore: readonly string[]): boolean {
  return code === 0 || ignore.some((i) => i.trim() !== "" && Number(i) === code);
}

async function runExternal(ctx: Context, setting: string, what: string): Promise<void> {
  const line = evalLine(ctx.config.arr(setting));
  if (!line) throw new WorkflowError(`BACKUP=EXTERNAL needs ${setting}`, `set ${setting} in /etc/rear/local.conf to the command that does the ${what}`);
  ctx.log.logPrint(`Running ${setting}: ${line}`);
  // ReaR evaluates it in its own shell, where every setting is a variable: the scalar ones are given
  // to bash (TARGET_FS_ROOT, BACKUP_URL, …); secrets only when they are exported
  const vars: Record<string, string> = {};
  for (const [k, v] of ctx.config.entries()) if (typeof v === "string" && !ctx.config.isSecret(k) && /^[A-Z_][A-Z0-9_]*$/.test(k)) vars[k] = v;
  const r = await exec(["bash", "-c", `eval "$1"`, "external", line], { env: { ...vars, ...ctx.env }, what: `the ${what} (${setting})` });
  if (r.stdout.trim()) ctx.log.log(r.stdout.trimEnd());
  if (!externalOk(r.code, ctx.config.arr("EXTERNAL_IGNORE_ERRORS"))) {
    throw new WorkflowError(`${setting} failed with exit code ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`, `fix the command, or list that exit code in EXTERNAL_IGNORE_ERRORS if it means success`);
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
