// The user's own commands around a recovery (ReaR's setup/default/010_pre_recovery_script.sh and
// wrapup/default/500_post_recovery_script.sh): PRE_RECOVERY_COMMANDS then PRE_RECOVERY_SCRIPT before
// anything else, POST_RECOVERY_SCRIPT then POST_RECOVERY_COMMANDS at the end — each as ReaR evaluates it
// (`eval "$command"` per element; `eval "${SCRIPT[@]}"`, so a string and an array both work), with the
// configuration set, given to bash in a private file (never on a command line). A failure stops
// recover (ReaR ignores it; a recovery that goes on after its own preparation failed is not safe).
// Then the good-bye and the logs: the complete log, the layout, the plan and the finalize record are
// copied into the recovered system's /var/log/rear/recover (0700), as ReaR's 990_copy_logfile.sh.

import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { runBashWithConfig } from "../../engine/bash-run.ts";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";

const recovering = (ctx: Context) => ctx.workflow.name === "recover" || ctx.workflow.name === "finalizeonly";

async function runUserCommands(ctx: Context, setting: string, mode: "each" | "whole"): Promise<void> {
  const words = ctx.config.arr(setting).filter((w) => w.trim() !== "");
  if (!words.length) return;
  // the commands come from the configuration bash already holds: nothing of them on a command line
  const body = mode === "each" ? `for __rear_c in "\${${setting}[@]}"; do [ -n "$__rear_c" ] || continue; eval "$__rear_c" || exit $?; done` : `eval "\${${setting}[@]}"`;
  ctx.log.logPrint(`Running ${setting}: ${words.join(mode === "each" ? " ; " : " ")}`);
  const r = await runBashWithConfig(ctx, { name: setting, body, what: setting });
  if (r.stdout.trim()) ctx.log.log(r.stdout.trimEnd());
  if (r.code !== 0) {
    throw new WorkflowError(`${setting} failed with exit code ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split("\n").slice(-1)[0]}` : ""}`, `fix or remove ${setting} in ${ctx.paths.configDir}/local.conf`);
  }
}

export const preRecoveryScript: Module = {
  stage: "setup",
  order: 10,
  name: "pre_recovery_script",
  what: "setup/default/010_pre_recovery_script.sh",
  when: recovering,
  async run(ctx) {
    if (ctx.args.includes("--dry-run")) {
      for (const n of ["PRE_RECOVERY_COMMANDS", "PRE_RECOVERY_SCRIPT"]) if (ctx.config.arr(n).some((w) => w.trim())) ctx.log.logUserOutput(`Dry run: ${n} would run first: ${ctx.config.arr(n).join(" ")}`);
      return;
    }
    await runUserCommands(ctx, "PRE_RECOVERY_COMMANDS", "each");
    await runUserCommands(ctx, "PRE_RECOVERY_SCRIPT", "whole");
  },
};

export const postRecoveryScript: Module = {
  stage: "wrapup",
  order: 500,
  name: "post_recovery_script",
  what: "wrapup/default/500_post_recovery_script.sh",
  when: recovering,
  async run(ctx) {
    await runUserCommands(ctx, "POST_RECOVERY_SCRIPT", "whole");
    await runUserCommands(ctx, "POST_RECOVERY_COMMANDS", "each");
  },
};

/** Copies what explains this recovery into the recovered system, at the very end (the complete log). */
export const copyRecoverLogs: Module = {
  stage: "wrapup",
  order: 990,
  name: "copy_logfile",
  what: "wrapup/default/990_copy_logfile.sh",
  when: recovering,
  run(ctx) {
    const root = ctx.config.str("TARGET_FS_ROOT") || "/mnt/local";
    const dest = join(root, "var/log/rear/recover");
    const copy = () => {
      if (!existsSync(join(root, "var"))) return;
      mkdirSync(dest, { recursive: true, mode: 0o700 });
      chmodSync(dest, 0o700);
      for (const sub of ["layout", "recovery", "restore", "finalize", "recover"]) {
        const from = join(ctx.paths.varDir, sub);
        if (existsSync(from) && statSync(from).isDirectory()) cpSync(from, join(dest, sub), { recursive: true });
      }
      if (ctx.log.path && existsSync(ctx.log.path)) {
        const name = ctx.log.path.split("/").pop()!;
        copyFileSync(ctx.log.path, join(dest, name));
        chmodSync(join(dest, name), 0o600);
      }
      for (const f of readdirSync(dest)) if (statSync(join(dest, f)).isFile()) chmodSync(join(dest, f), 0o600);
    };
    // as an exit task, so the log is complete; also when a later step fails
    ctx.exitTasks.add(`copy the recover log into ${dest}`, copy);
  },
};

export const goodBye: Module = {
  stage: "wrapup",
  order: 980,
  name: "good_bye",
  what: "wrapup/default/980_good_bye.sh",
  when: recovering,
  run(ctx) {
    const root = ctx.config.str("TARGET_FS_ROOT") || "/mnt/local";
    ctx.log.logUserOutput(`Finished '${ctx.workflow.name}'. The recovered system is mounted at '${root}'.`);
    ctx.log.logUserOutput(`Its log, layout and finalize record are in ${root}/var/log/rear/recover. Check ${root}/etc/fstab if you like, then reboot.`);
  },
};

export const SETUP_WRAPUP_MODULES: readonly Module[] = [preRecoveryScript, postRecoveryScript, goodBye, copyRecoverLogs];
