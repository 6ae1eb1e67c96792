// BACKUP=REQUESTRESTORE (ReaR's default method): rear makes no backup; at recover the files are
// restored into TARGET_FS_ROOT by other means. ReaR's restore/REQUESTRESTORE/default/200_prompt_user_to_start_restore.sh
// prints REQUESTRESTORE_TEXT and opens a shell (REQUESTRESTORE_COMMAND in its history), then asks
// whether the restore is done. With REQUESTRESTORE_FINISHED_FILE the restore is driven from outside
// (a backup server pushing the files): rear waits, showing how much has arrived, until that file
// appears below TARGET_FS_ROOT; REQUESTRESTORE_ABORT_FILE appearing there stops the recovery.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isUnattended, userInputFor } from "../../engine/ask.ts";
import type { Context } from "../../engine/context.ts";
import { WorkflowError } from "../../engine/errors.ts";
import type { Module } from "../../engine/module.ts";
import { progressLine } from "../../engine/progress.ts";
import { usedBytes } from "../../sys/fs-usage.ts";
import { exec } from "../../sys/exec.ts";


/** The marker file's path below the target (ReaR's files are relative to /mnt/local). */
export function markerPath(target: string, file: string): string {
  return join(target, file.replace(/^\/+/, ""));
}

async function waitForMarkers(ctx: Context, target: string, finished: string, abort: string): Promise<void> {
  const done = markerPath(target, finished);
  const stop = abort ? markerPath(target, abort) : "";
  const pollMs = Number(ctx.env.REAR_TEST_POLL_MS) || 2000;
  ctx.log.logUserOutput(`Waiting for ${done} to appear (REQUESTRESTORE_FINISHED_FILE)${stop ? `; ${stop} stops the recovery (REQUESTRESTORE_ABORT_FILE)` : ""}`);
  const base = usedBytes(target);
  const t0 = performance.now();
  let last = t0;
  for (;;) {
    if (stop && existsSync(stop)) throw new WorkflowError(`The restore was aborted: ${stop} (REQUESTRESTORE_ABORT_FILE) appeared`, "find out on the backup server why, then run the recovery again");
    if (existsSync(done)) break;
    await Bun.sleep(pollMs);
    const now = performance.now();
    if (now - last >= 10_000) {
      last = now;
      ctx.log.print(progressLine("Restored", Math.max(0, usedBytes(target) - base), (now - t0) / 1000));
    }
  }
  ctx.log.logPrint(`${done} appeared: the restore is finished (${Math.round(Math.max(0, usedBytes(target) - base) / 1048576)} MiB arrived in ${Math.round((performance.now() - t0) / 1000)} s)`);
}

async function restoreInShell(ctx: Context, target: string, command: string): Promise<void> {
  if (isUnattended(ctx) || !process.stdin.isTTY) {
    throw new WorkflowError(
      `BACKUP=REQUESTRESTORE needs the files restored into ${target} by hand, which cannot be done ${isUnattended(ctx) ? "in an unattended recovery" : "without a terminal"}`,
      "set REQUESTRESTORE_FINISHED_FILE (and REQUESTRESTORE_ABORT_FILE) so that rear waits for the restore from outside, or use a backup method rear restores (NETFS, RSYNC, EXTERNAL)",
    );
  }
  if (command) ctx.log.logUserOutput(`Use the following command to restore the backup to your system in '${target}':\n\n    ${command}\n`);
  ctx.log.logUserOutput(`Restore your backup in the shell that opens now${command ? " (the command is in its history: arrow up)" : ""} and type exit when finished.`);
  const dir = mkdtempSync(join(ctx.workArea!.tmpDir, "requestrestore."));
  const hist = join(dir, "history");
  writeFileSync(hist, command ? `${command}\n` : "", { mode: 0o600 });
  writeFileSync(join(dir, "rc"), `[ -r /etc/bash.bashrc ] && . /etc/bash.bashrc\nHISTFILE=${hist}\nhistory -r ${hist}\nPS1='REQUESTRESTORE ${target} # '\ncd ${target}\n`);
  try {
    for (;;) {
      await exec(["bash", "--rcfile", join(dir, "rc"), "-i"], { interactive: true, env: { ...ctx.env, TARGET_FS_ROOT: target } });
      const a = userInputFor(ctx).ask({
        id: "REQUESTRESTORE_FINISHED",
        prompt: `Did you restore the backup to ${target}? Are you ready to continue recovery?`,
        choices: ["Yes, continue the recovery", "No, open the shell again", "Abort the recovery"],
        default: 1,
      });
      if (a.choice === 0) return;
      if (a.choice === 2) throw new WorkflowError("The recovery was aborted after REQUESTRESTORE", "run rear recover again when the backup can be restored");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const requestRestore: Module = {
  stage: "restore",
  order: 200,
  name: "prompt_user_to_start_restore",
  what: "restore/REQUESTRESTORE/default/200_prompt_user_to_start_restore.sh (+ waiting for REQUESTRESTORE_FINISHED_FILE)",
  when: (ctx) => ctx.config.str("BACKUP") === "REQUESTRESTORE" && (ctx.workflow.name === "recover" || ctx.workflow.name === "restoreonly"),
  async run(ctx) {
    const c = ctx.config;
    const target = c.str("TARGET_FS_ROOT") || "/mnt/local";
    if (!existsSync(target)) throw new WorkflowError(`${target} (TARGET_FS_ROOT) does not exist`, "recreate and mount the layout first (rear layoutonly, or rear recover does both)");
    if (c.str("REQUESTRESTORE_TEXT")) ctx.log.logUserOutput(c.str("REQUESTRESTORE_TEXT"));
    const finished = c.str("REQUESTRESTORE_FINISHED_FILE");
    if (finished) await waitForMarkers(ctx, target, finished, c.str("REQUESTRESTORE_ABORT_FILE"));
    else await restoreInShell(ctx, target, c.str("REQUESTRESTORE_COMMAND"));
  },
};
