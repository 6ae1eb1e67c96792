// PRE_BACKUP_SCRIPT and POST_BACKUP_SCRIPT (ReaR's backup/default/010_pre_backup_script.sh and
// 990_post_backup_script.sh): the first thing and the last thing of the backup stage, for every BACKUP
// method — stop a database before, start it again after. Each is evaluated as ReaR does,
// `eval "${PRE_BACKUP_SCRIPT[@]}"`, so a string and an array both work, in a bash that has the whole
// configuration (runBashWithConfig: in a 0600 file, never on a command line — it holds secrets).
//
// POST also runs when the backup fails or is interrupted: ReaR registers it as an exit task before it
// runs PRE (AddExitTask) and removes that task when it runs POST at the end (RemoveExitTask). ReaR does
// so only when PRE_BACKUP_SCRIPT is set; we register it whenever POST_BACKUP_SCRIPT is set, because a
// POST that restarts a service must run after a failed backup whether or not a PRE stopped it.
//
// Unlike ReaR, which ignores their exit status, a failing PRE stops the backup before anything is
// written (exit 2: the backup would be made of a system in the wrong state), and a failing POST fails
// the run (exit 2) after a backup that was made — the user must learn that the service did not start.

import type { Context } from "../../engine/context.ts";
import { runBashWithConfig } from "../../engine/bash-run.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { ExitTask } from "../../engine/exit-tasks.ts";
import type { Module } from "../../engine/module.ts";

/** bash's `eval "${ARRAY[@]}"`: the elements joined with blanks, evaluated as one command line. */
export function evalLine(words: readonly string[]): string {
  return words.filter((w) => w !== "").join(" ");
}

/** The bash body that evaluates a setting as ReaR does; the value comes from the configuration prelude. */
export function evalBody(setting: string): string {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(setting)) throw new Error(`not a variable name: ${setting}`);
  return `eval "\${${setting}[@]}"`;
}

/**
 * The last lines of what a script printed on stderr, bash's name for the temporary file it ran from
 * ("/var/tmp/rear.X/tmp/.config-1a2b.sh: line 290: …") replaced by the setting's name.
 */
export function scriptSaid(stderr: string, setting: string): string {
  return stderr.replace(/\S*\/\.config-[0-9a-f]+\.sh: (line \d+: )?/g, `${setting}: `).trim().split("\n").filter(Boolean).slice(-3).join(" / ");
}

/** Runs PRE_ or POST_BACKUP_SCRIPT; its exit status and the last lines of its stderr. */
export async function runBackupScript(ctx: Context, setting: "PRE_BACKUP_SCRIPT" | "POST_BACKUP_SCRIPT"): Promise<{ code: number; said: string }> {
  ctx.log.log(`Running ${setting} '${evalLine(ctx.config.arr(setting))}'`);
  const r = await runBashWithConfig(ctx, { body: evalBody(setting), name: setting, what: setting });
  if (r.stdout.trim()) ctx.log.log(r.stdout.trimEnd());
  return { code: r.code, said: scriptSaid(r.stderr, setting) };
}

const has = (ctx: Context, setting: string) => evalLine(ctx.config.arr(setting)) !== "";

const STATE = "postBackupTask";

export const preBackupScript: Module = {
  stage: "backup",
  order: 10,
  name: "pre_backup_script",
  what: "backup/default/010_pre_backup_script.sh (PRE_BACKUP_SCRIPT; POST_BACKUP_SCRIPT as an exit task)",
  when: (ctx) => has(ctx, "PRE_BACKUP_SCRIPT") || has(ctx, "POST_BACKUP_SCRIPT"),
  async run(ctx) {
    if (has(ctx, "POST_BACKUP_SCRIPT")) {
      ctx.state[STATE] = ctx.exitTasks.add("POST_BACKUP_SCRIPT (the backup did not end normally)", async () => {
        const r = await runBackupScript(ctx, "POST_BACKUP_SCRIPT");
        if (r.code !== 0) ctx.log.error(`POST_BACKUP_SCRIPT failed (exit ${r.code})${r.said ? `: ${r.said}` : ""}`);
      });
    }
    if (!has(ctx, "PRE_BACKUP_SCRIPT")) return;
    const r = await runBackupScript(ctx, "PRE_BACKUP_SCRIPT");
    if (r.code !== 0) {
      throw new WorkflowError(
        `PRE_BACKUP_SCRIPT failed (exit ${r.code})${r.said ? `: ${r.said}` : ""}; no backup was made`,
        `fix PRE_BACKUP_SCRIPT in ${ctx.paths.configDir}/local.conf (it runs as bash's eval "\${PRE_BACKUP_SCRIPT[@]}" with the configuration set); its output is in ${ctx.log.path ?? "rear's log"}`,
      );
    }
  },
};

export const postBackupScript: Module = {
  stage: "backup",
  order: 990,
  name: "post_backup_script",
  what: "backup/default/990_post_backup_script.sh (POST_BACKUP_SCRIPT)",
  when: (ctx) => has(ctx, "POST_BACKUP_SCRIPT"),
  async run(ctx) {
    const task = ctx.state[STATE] as ExitTask | undefined;
    if (task) ctx.exitTasks.remove(task);
    delete ctx.state[STATE];
    const r = await runBackupScript(ctx, "POST_BACKUP_SCRIPT");
    if (r.code !== 0) {
      throw new WorkflowError(
        `POST_BACKUP_SCRIPT failed (exit ${r.code})${r.said ? `: ${r.said}` : ""}; the backup itself was made`,
        `fix POST_BACKUP_SCRIPT in ${ctx.paths.configDir}/local.conf and do by hand what it should have done; its output is in ${ctx.log.path ?? "rear's log"}`,
      );
    }
  },
};
